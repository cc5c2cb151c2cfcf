"""P-ALIGN: adaptive prefix alignment; importing this package registers the method."""

from palign import method as _method  # noqa: F401  (registers `palign`)
