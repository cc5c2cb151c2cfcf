"""Baseline distillation methods; importing this package registers them."""

from baselines import fixed_trunc as _fixed_trunc  # noqa: F401  (registers fixed_trunc)
from baselines import mix_cot as _mix_cot  # noqa: F401  (registers mix_cot)
from baselines import simple as _simple  # noqa: F401  (registers full_cot, short_cot, none)
