"""What the training device supports, asked before training starts."""

from __future__ import annotations


def bf16_problem() -> str | None:
    """Why bf16 training cannot run here, in transformers' own terms, or None.

    transformers refuses bf16 without a bf16-capable GPU (or XLA) with a `ValueError` when
    the trainer's arguments are built, which in a pipeline is after the teacher and method
    stages; `harness.preflight` and the trainer ask this first and say it in one line.
    """
    from transformers.utils import is_torch_bf16_gpu_available, is_torch_xla_available

    if is_torch_bf16_gpu_available() or is_torch_xla_available():
        return None
    return ("train.bf16 is set but this machine has no GPU with bfloat16 support (transformers refuses to train "
            "there); run on such a GPU (Ampere or newer), or --set train.bf16=false to train in float32")
