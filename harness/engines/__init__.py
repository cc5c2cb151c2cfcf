"""Inference engines behind one small interface (`base.py`), built by name from the engine registry (`factory.py`)."""

from harness.engines.base import Completion, Engine, GenerationRequest
from harness.engines.factory import load_engine

__all__ = ["Completion", "Engine", "GenerationRequest", "load_engine"]
