"""Baseline distillation methods; importing this package registers them."""
