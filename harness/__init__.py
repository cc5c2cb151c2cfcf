"""Harness for long-chain reasoning distillation: teacher data, methods, one trainer, one eval."""

__version__ = "0.1.0"
