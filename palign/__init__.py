"""P-ALIGN: adaptive prefix alignment; importing this package registers the method."""
