"""Baseline distillation methods; importing this package registers them."""

from baselines import fixed_trunc as _fixed_trunc  # noqa: F401  (registers fixed_trunc)
from baselines import simple as _simple  # noqa: F401  (registers full_cot, short_cot, none)
