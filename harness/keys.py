"""Exactly which settings each stage's output depends on.

Every stage key is the hash of the dict returned here (see `harness.store`). Upstream
keys are part of downstream inputs, so a change propagates down the chain and nowhere
else. Settings that cannot change a stage's output (batch sizes, worker counts, the
store's location) are left out on purpose.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from harness.config import RunConfig

# Engine settings that can change generated text (numerics), unlike batch size or memory.
_ENGINE_OUTPUT_FIELDS = ("name", "dtype", "tensor_parallel_size", "max_model_len")


def world_inputs(cfg: RunConfig) -> dict[str, Any]:
    return {"world": asdict(cfg.world)}


def teacher_inputs(cfg: RunConfig, upstream: str | None, file_digests: dict[str, str] | None = None) -> dict[str, Any]:
    """`upstream` is the teacher model's fingerprint (source=model), else None.

    `file_digests` maps teacher fields that name local files (`dataset`, `problems`) to a
    digest of their content: the key then follows the data, not where it lies, so an edited
    file is never mistaken for the cached one and a moved file still hits the cache.
    """
    teacher = asdict(cfg.teacher)
    for name, digest in (file_digests or {}).items():
        teacher[name] = digest
    if cfg.teacher.source != "model":
        teacher.pop("sampling")
        teacher.pop("n")
        teacher.pop("model")
    if cfg.teacher.source == "synth":
        teacher.pop("dataset")
        teacher.pop("split")
    world = cfg.world
    synthetic = {
        "seed": world.seed,
        "verbosity": world.verbosity,
        "redundancy": world.redundancy,
        "wrong_fraction": world.wrong_fraction,
    }
    return {"teacher": teacher, "upstream": upstream, "world": synthetic if cfg.teacher.source != "s1k" else None}


def method_inputs(cfg: RunConfig, teacher_key: str, student_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The method generates with the student's engine and sizes examples to `train.max_length`."""
    return {
        "teacher": teacher_key,
        "method": cfg.method.name,
        "params": params,
        "sampling": asdict(cfg.method.sampling),
        "student": student_id,
        "instruction": cfg.eval.instruction,
        "enable_thinking": cfg.student.enable_thinking,
        "max_length": cfg.train.max_length,
        "engine": {k: v for k, v in asdict(cfg.engine).items() if k in _ENGINE_OUTPUT_FIELDS},
        "seed": cfg.seed,
    }


def train_inputs(cfg: RunConfig, method_key: str, student_id: str) -> dict[str, Any]:
    """The training settings that change the trained model (and its report).

    The budget decides the run length, so it is in the key together with the one field it
    uses: `max_steps` under `steps`, `num_train_epochs` under `epochs`; the other is ignored by
    the trainer and left out. LoRA's shape matters only with `use_lora`. Checkpoint and logging
    intervals do not change the weights, only how the report samples the loss curve, so they
    are left out too.
    """
    train = asdict(cfg.train)
    train.pop("save_steps")
    train.pop("logging_steps")
    train.pop("num_train_epochs" if cfg.train.budget == "steps" else "max_steps")
    if not cfg.train.use_lora:
        for name in ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules"):
            train.pop(name)
    return {"data": method_key, "student": student_id, "train": train, "seed": cfg.seed}


def eval_inputs(cfg: RunConfig, model_id: str, benchmark: str, benchmark_checksum: str | None = None) -> dict[str, Any]:
    ev = asdict(cfg.eval)
    for irrelevant in ("benchmarks", "grader_workers", "data_dir"):
        ev.pop(irrelevant)
    engine = {k: v for k, v in asdict(cfg.engine).items() if k in _ENGINE_OUTPUT_FIELDS}
    return {
        "model": model_id,
        "benchmark": benchmark,
        "checksum": benchmark_checksum,
        "eval": ev,
        "engine": engine,
        "enable_thinking": cfg.student.enable_thinking,
        "seed": cfg.seed,
    }
