"""Inference engines behind one small interface; see `base.py`."""

from harness.engines.base import Completion, Engine, GenerationRequest, load_engine

__all__ = ["Completion", "Engine", "GenerationRequest", "load_engine"]
