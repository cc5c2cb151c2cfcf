"""Stage keys: exactly the resolved settings each stage runs with.

Every stage key is the hash of the dict returned here (see `harness.store`). Upstream
keys are part of downstream inputs, so a change propagates down the chain and nowhere
else. Where a stage runs with a value derived from the config rather than the config's
own field (the run seed replaces each sampling seed), the derivation lives here too
(`method_sampling`, `eval_settings`) and the stage runs with what this module returns:
the key and the run cannot drift apart, whichever command builds the stage.

Left out on purpose: settings that cannot change a stage's output (batch sizes, worker
counts, memory fractions, the store's location), settings of other stages, and fields the
stage's branch never reads (the s1K source never reads `teacher.num_problems`).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

# The generator's code version: a world that changes its problems or teacher is a new world.
from harness.synth.problems import WORLD_REVISION
from harness.config import EngineConfig, EvalConfig, RunConfig, SamplingConfig, WorldConfig

# Engine settings that can change generated text (which kernels, in which precision, how
# much context), unlike the batch size or the memory fraction.
ENGINE_OUTPUT_FIELDS = ("name", "dtype", "device", "tensor_parallel_size", "max_model_len")
# Evaluation settings that change no stored result: the benchmark list (each benchmark is
# its own stage), grader processes, where the data lies (its checksum is in the key), and the
# token budgets (each is its own stage after the evaluation's, `harness.stages.stage_budgets`).
EVAL_NOT_IN_KEY = ("benchmarks", "grader_workers", "data_dir", "budgets")
# Trainer settings that change neither the weights nor the report's numbers.
TRAIN_NOT_IN_KEY = ("save_steps", "logging_steps")
LORA_FIELDS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")


def engine_inputs(engine: EngineConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(engine).items() if k in ENGINE_OUTPUT_FIELDS}


# --------------------------------------------------------------------------- world

def world_inputs(world: WorldConfig, size: str) -> dict[str, Any]:
    """A built-in student (`synth:<size>`): every world setting its build reads.

    The tokenizer corpus holds synthetic teacher traces, so the teacher's settings
    (`verbosity`, `redundancy`, `wrong_fraction`) shape the student's vocabulary too.
    """
    from harness.synth.pretrain import LEARNING_RATES  # here: it imports transformers, keys is on every start-up

    return {"world": asdict(world), "version": WORLD_REVISION, "size": size,
            "pretraining": {"learning_rate": LEARNING_RATES[size]}}


# --------------------------------------------------------------------------- teacher

def teacher_inputs(cfg: RunConfig, upstream: str | None, file_digests: dict[str, str] | None = None,
                   benchmark_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The teacher stage: what its source reads, and what the contamination check reads.

    `upstream` is the teacher model's fingerprint (source=model), else None. `file_digests`
    maps teacher fields that name local files (`dataset`, `problems`) to a digest of their
    content: the key then follows the data, not where it lies, so an edited file is never
    mistaken for the cached one and a moved file still hits the cache. `benchmark_data` is,
    with decontamination on, the content digest of the benchmarks the check reads
    (`harness.teacher.contamination.benchmark_digest`), for the same reason.
    """
    teacher = {**asdict(cfg.teacher), **(file_digests or {})}
    picked = {name: teacher[name] for name in _teacher_fields(cfg)}
    inputs: dict[str, Any] = {"teacher": picked, "upstream": upstream}
    world = _teacher_world(cfg)
    if world is not None:
        inputs["world"] = world
    if cfg.teacher.source not in _BUILTIN_SOURCES or cfg.teacher.source == "model":
        # A teacher model is prompted and graded as the student is evaluated.
        inputs["prompt"] = {"instruction": cfg.eval.instruction, "grader_timeout": cfg.eval.grader_timeout}
        inputs["engine"] = engine_inputs(cfg.engine)
    if cfg.teacher.decontaminate:
        # Which benchmark problems are checked decides which traces are dropped.
        if benchmark_data is None:
            raise ValueError("teacher_inputs: decontamination needs the benchmark data's digest")
        inputs["benchmark_data"] = benchmark_data
    return inputs


_COMMON = ("source", "limit", "decontaminate", "ngram")
_BUILTIN_SOURCES = {
    "synth": ("num_problems",),
    "s1k": ("dataset", "split", "keep_uncheckable"),
    "model": ("problems", "n", "sampling"),  # the model itself is `upstream`, by content
}


def _teacher_fields(cfg: RunConfig) -> tuple[str, ...]:
    source = cfg.teacher.source
    if source not in _BUILTIN_SOURCES:  # a plugin source: assume it reads all of them
        return tuple(asdict(cfg.teacher))
    fields = _COMMON + _BUILTIN_SOURCES[source]
    if source == "model" and not cfg.teacher.problems:
        fields += ("num_problems",)  # drawn from the synthetic teacher stream
    return fields


def _teacher_world(cfg: RunConfig) -> dict[str, Any] | None:
    world, source = cfg.world, cfg.teacher.source
    if source == "synth" or source not in _BUILTIN_SOURCES:
        return {"seed": world.seed, "version": WORLD_REVISION, "verbosity": world.verbosity,
                "redundancy": world.redundancy, "wrong_fraction": world.wrong_fraction}
    if source == "model" and not cfg.teacher.problems:
        return {"seed": world.seed, "version": WORLD_REVISION}  # the synthetic problems; their CoTs come from the model
    return None


# --------------------------------------------------------------------------- method

def method_sampling(cfg: RunConfig) -> SamplingConfig:
    """What the method's generations sample with: `method.sampling`, seeded by the run seed."""
    return replace(cfg.method.sampling, seed=cfg.seed)


def method_inputs(cfg: RunConfig, teacher_key: str, student_id: str, params: dict[str, Any],
                  plugin: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a method's context gives it (`MethodContext`), less the grader's worker count.

    The method generates with the student's engine and sizes examples to `train.max_length`.
    `plugin`: a plugin method's code identity (`harness.plugins.code_identity`); a built-in
    method has none, and its key holds no such field, so built-in keys stay as they were.
    """
    inputs = {
        "teacher": teacher_key,
        "method": cfg.method.name,
        "params": params,
        "sampling": asdict(method_sampling(cfg)),
        "student": student_id,
        "instruction": cfg.eval.instruction,
        "enable_thinking": cfg.student.enable_thinking,
        "max_length": cfg.train.max_length,
        "grader_timeout": cfg.eval.grader_timeout,
        "engine": engine_inputs(cfg.engine),
        "seed": cfg.seed,
    }
    if plugin is not None:
        inputs["plugin"] = plugin
    return inputs


# --------------------------------------------------------------------------- train

def train_inputs(cfg: RunConfig, method_key: str, student_id: str) -> dict[str, Any]:
    """The training settings that change the trained model (and its report).

    The budget decides the run length, so it is in the key together with the one field it
    uses: `max_steps` under `steps`, `num_train_epochs` under `epochs`; the other is ignored by
    the trainer and left out. LoRA's shape matters only with `use_lora`. Checkpoint and logging
    intervals do not change the weights, only how the report samples the loss curve, so they
    are left out too.
    """
    train = asdict(cfg.train)
    for name in TRAIN_NOT_IN_KEY:
        train.pop(name)
    train.pop("num_train_epochs" if cfg.train.budget == "steps" else "max_steps")
    if not cfg.train.use_lora:
        for name in LORA_FIELDS:
            train.pop(name)
    return {"data": method_key, "student": student_id, "train": train, "seed": cfg.seed}


# --------------------------------------------------------------------------- eval

def eval_settings(cfg: RunConfig) -> EvalConfig:
    """What an eval stage runs with: `eval`, its sampling seeded by the run seed.

    `harness run` and `harness eval` both evaluate through this, so one stored stage serves
    both for the same model, benchmark and settings.
    """
    return replace(cfg.eval, sampling=replace(cfg.eval.sampling, seed=cfg.seed))


def eval_inputs(cfg: RunConfig, model_id: str, benchmark: str, benchmark_checksum: str | None = None) -> dict[str, Any]:
    ev = asdict(eval_settings(cfg))
    for name in EVAL_NOT_IN_KEY:
        ev.pop(name)
    return {
        "model": model_id,
        "benchmark": benchmark,
        "checksum": benchmark_checksum,
        "eval": ev,
        "engine": engine_inputs(cfg.engine),
        "enable_thinking": cfg.student.enable_thinking,
        "seed": cfg.seed,
    }
