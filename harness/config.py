"""Typed configuration for a whole run, one dataclass per component (TRL style).

A run is described by `RunConfig`. Presets live in `configs/*.yaml` and mirror these
dataclasses section by section; command-line overrides are dotted keys
(`--set train.learning_rate=1e-4`). Unknown keys and wrong types are user errors.

This module holds `RunConfig`, the synthetic world's section and `resolve_run_config`; the
other sections with their range checks are `harness.config_sections` and the layers
(presets, files, overrides, typed conversion) `harness.config_layers`. Their public names
are re-exported here, so `from harness.config import X` works for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config_layers import (CONFIGS_DIR, DEFAULT_PRESET, field_help, from_dict, layered, load_yaml, merge,
                                   nested, parse_override, preset_path, to_dict, to_yaml, yaml_value)
from harness.config_sections import (DTYPES, MAX_GRADER_TIMEOUT, MAX_NEW_TOKENS, MAX_SEED, PAPER_INSTRUCTION,
                                     REST_OF_CONTEXT, SCHEDULERS, EngineConfig, EvalConfig, MethodConfig, SamplingConfig,
                                     StudentConfig, TeacherConfig, TrainConfig, check_engine, check_eval, check_sampled,
                                     check_sampling, check_seed, check_teacher, data_parallel_problem)
from harness.config_sections import finite as _finite
from harness.config_sections import need as _need

__all__ = [
    "CONFIGS_DIR", "DEFAULT_PRESET", "DTYPES", "MAX_GRADER_TIMEOUT", "MAX_NEW_TOKENS", "MAX_SEED", "PAPER_INSTRUCTION",
    "REST_OF_CONTEXT", "SCHEDULERS", "EngineConfig", "EvalConfig", "MethodConfig", "RunConfig", "SamplingConfig",
    "StudentConfig", "TeacherConfig", "TrainConfig", "WorldConfig", "check_engine", "check_eval", "check_ranges",
    "check_sampled", "check_sampling", "check_seed", "check_teacher", "check_world", "data_parallel_problem",
    "field_help", "from_dict", "load_yaml", "merge", "nested", "parse_override", "preset_path", "resolve_run_config",
    "to_dict", "to_yaml", "yaml_value",
]


@dataclass
class WorldConfig:
    """The built-in synthetic world (version 2): problem generator, programmatic teacher, tiny students."""

    seed: int = field(default=0, metadata={"help": "Seed for problems, teacher traces, tokenizer and student pretraining."})
    pretrain_problems: int = field(default=16000, metadata={"help": "Routine problems (concise solutions) used to pretrain the base student."})
    pretrain_epochs: float = field(default=2.0, metadata={"help": "Epochs of student pretraining."})
    pretrain_drills: int = field(default=0, metadata={"help": "Short arithmetic drills (chains of routine operations, no story) added to pretraining."})
    context_length: int = field(default=512, metadata={"help": "Student context length (max position embeddings)."})
    verbosity: float = field(default=1.0, metadata={"help": "Teacher verbosity multiplier: restatements, slips and hedges."})
    redundancy: float = field(default=1.0, metadata={"help": "Teacher redundancy: re-checks between steps and the final verification pass."})
    wrong_fraction: float = field(default=0.0, metadata={"help": "Fraction of teacher CoTs made deliberately wrong."})
    benchmark_size: int = field(default=400, metadata={"help": "Problems in synth_target (the key-step tier)."})
    routine_benchmark_size: int = field(default=200, metadata={"help": "Problems in synth_routine (retention)."})


@dataclass
class RunConfig:
    """Everything `harness run` needs, teacher to leaderboard record."""

    seed: int = field(default=0, metadata={"help": "Run seed: method sampling, training and evaluation (teacher data is shared across seeds)."})
    world: WorldConfig = field(default_factory=WorldConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)


def resolve_run_config(
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[dict[str, Any]] | None = None,
    base_preset: str | None = DEFAULT_PRESET,
) -> RunConfig:
    """Defaults <- preset <- --config file <- command-line overrides, then type-checked.

    `base_preset` is the preset used when neither `preset` nor `config_file` is given;
    None starts from the dataclass defaults (`harness eval` and `harness train`, whose
    defaults are not the synthetic world's).
    """
    cfg = from_dict(RunConfig, layered(preset, config_file, overrides, base_preset), "config")
    check_ranges(cfg)
    return cfg


def check_ranges(cfg: RunConfig) -> None:
    """Every value that type-checks but cannot work, refused when the config resolves, before any stage runs.

    Without this they fail late (an unknown engine after the teacher stage is built, a zero
    batch size after the method stage), or not at all (a negative limit silently drops
    problems, n=0 evaluates nothing). Method parameters are checked by each method's own
    dataclass when a command resolves its methods.
    """
    check_seed(cfg.seed)
    check_world(cfg.world)
    check_teacher(cfg.teacher)
    check_sampling(cfg.method.sampling, "method.sampling")
    check_eval(cfg.eval)
    check_engine(cfg.engine)
    cfg.train.check("train")


# Ranges of the synthetic world's settings; a field the world does not have is skipped.
WORLD_RANGES: tuple[tuple[str, Any, str], ...] = (
    ("seed", lambda v: 0 <= v <= MAX_SEED, f"an integer in [0, {MAX_SEED}]"),
    ("pretrain_problems", lambda v: v >= 1, ">= 1"),
    ("pretrain_epochs", lambda v: v > 0, "> 0"),
    ("context_length", lambda v: v >= 16, ">= 16"),
    ("verbosity", lambda v: v >= 0, ">= 0"),
    ("redundancy", lambda v: v >= 0, ">= 0"),
    ("wrong_fraction", lambda v: 0 <= v <= 1, "in [0, 1]"),
    ("benchmark_size", lambda v: v >= 1, ">= 1"),
    ("routine_benchmark_size", lambda v: v >= 1, ">= 1"),
    ("pretrain_drills", lambda v: v >= 0, ">= 0"),
)


def check_world(world: WorldConfig, where: str = "world") -> None:
    for name, ok, allowed in WORLD_RANGES:
        if not hasattr(world, name):
            continue
        value = getattr(world, name)
        _finite(value, f"{where}.{name}")
        _need(ok(value), f"{where}.{name}", allowed, value)
