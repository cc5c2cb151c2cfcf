"""Typed configuration for a whole run, one dataclass per component (TRL style).

A run is described by `RunConfig`. Presets live in `configs/*.yaml` and mirror these
dataclasses section by section; command-line overrides are dotted keys
(`--set train.learning_rate=1e-4`). Unknown keys and wrong types are user errors.

This module holds the dataclasses and `resolve_run_config`; the layers (presets, files,
overrides, typed conversion) are `harness.config_layers` and the range checks
`harness.config_checks`. Their public names are re-exported here, so `from harness.config
import X` keeps working for all of them.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config_checks import (DTYPES, MAX_GRADER_TIMEOUT, MAX_NEW_TOKENS, MAX_SEED, SCHEDULERS, check_engine,
                                   check_eval, check_sampling, check_seed, check_teacher)
from harness.config_checks import finite as _finite
from harness.config_checks import need as _need
from harness.config_layers import (CONFIGS_DIR, DEFAULT_PRESET, field_help, from_dict, layered, load_yaml, merge,
                                   nested, parse_override, preset_path, to_dict, to_yaml)
from harness.errors import HarnessError

__all__ = [
    "CONFIGS_DIR", "DEFAULT_PRESET", "DTYPES", "MAX_GRADER_TIMEOUT", "MAX_NEW_TOKENS", "MAX_SEED", "PAPER_INSTRUCTION",
    "SCHEDULERS", "EngineConfig", "EvalConfig", "MethodConfig", "RunConfig", "SamplingConfig", "StudentConfig",
    "TeacherConfig", "TrainConfig", "WorldConfig", "check_engine", "check_eval", "check_ranges", "check_sampling",
    "check_seed", "check_teacher", "check_world", "field_help", "from_dict", "load_yaml", "merge", "nested",
    "parse_override", "preset_path", "resolve_run_config", "to_dict", "to_yaml",
]

PAPER_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@dataclass
class WorldConfig:
    """The built-in synthetic world (version 2): problem generator, programmatic teacher, tiny students."""

    seed: int = field(default=0, metadata={"help": "Seed for problems, teacher traces, tokenizer and student pretraining."})
    pretrain_problems: int = field(default=8000, metadata={"help": "Routine problems (concise solutions) used to pretrain the base student."})
    pretrain_epochs: float = field(default=4.0, metadata={"help": "Epochs of student pretraining."})
    pretrain_drills: int = field(default=0, metadata={"help": "Short arithmetic drills (chains of routine operations, no story) added to pretraining."})
    context_length: int = field(default=512, metadata={"help": "Student context length (max position embeddings)."})
    verbosity: float = field(default=1.0, metadata={"help": "Teacher verbosity multiplier: restatements, slips and hedges."})
    redundancy: float = field(default=1.0, metadata={"help": "Teacher redundancy: re-checks between steps and the final verification pass."})
    wrong_fraction: float = field(default=0.0, metadata={"help": "Fraction of teacher CoTs made deliberately wrong."})
    benchmark_size: int = field(default=400, metadata={"help": "Problems in synth_target (the key-step tier)."})
    routine_benchmark_size: int = field(default=200, metadata={"help": "Problems in synth_routine (retention)."})


@dataclass
class SamplingConfig:
    """Decoding settings shared by every engine."""

    temperature: float = field(default=0.0, metadata={"help": "0 means greedy."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass."})
    top_k: int = field(default=0, metadata={"help": "Top-k cut; 0 disables it."})
    repetition_penalty: float = field(default=1.0, metadata={"help": "HF-style repetition penalty; 1.0 disables it."})
    max_new_tokens: int = field(default=256, metadata={"help": "Maximum generated tokens per sample."})
    seed: int = field(default=0, metadata={"help": "Sampling seed; each (problem, sample index) gets its own stream."})


@dataclass
class EngineConfig:
    """Which inference engine runs the student or teacher, and how."""

    name: str = field(default="auto", metadata={"help": "auto | transformers | vllm. auto picks vllm when importable and a GPU is present."})
    batch_size: int = field(default=64, metadata={"help": "Prompts per batch for the transformers engine."})
    dtype: str = field(default="auto", metadata={"help": "auto | float32 | bfloat16 | float16."})
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda (transformers engine)."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM tensor parallelism."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vLLM memory fraction."})
    max_model_len: int | None = field(default=None, metadata={"help": "Context limit (prompt + new tokens) for both engines; None uses the model's own. Requests past it are refused."})


@dataclass
class TeacherConfig:
    """Where the teacher's chains of thought come from."""

    source: str = field(default="synth", metadata={"help": "synth | s1k | model."})
    dataset: str = field(default="simplescaling/s1K-1.1", metadata={"help": "Hub dataset id (s1k) or local parquet/JSONL path."})
    split: str = field(default="train", metadata={"help": "Dataset split (s1k)."})
    model: str | None = field(default=None, metadata={"help": "Teacher model path or Hub id (source=model)."})
    problems: str | None = field(default=None, metadata={"help": "JSONL of {id, problem, answer} for source=model; default: synthetic teacher stream."})
    num_problems: int = field(default=300, metadata={"help": "Problems drawn from the synthetic teacher stream (synth, model)."})
    limit: int | None = field(default=None, metadata={"help": "Keep at most this many problems."})
    n: int = field(default=1, metadata={"help": "Samples per problem for source=model; the first correct one is kept."})
    keep_uncheckable: bool = field(default=False, metadata={"help": "Keep problems whose gold answer cannot be checked."})
    decontaminate: bool = field(default=False, metadata={"help": "Drop teacher problems that overlap a benchmark."})
    ngram: int = field(default=13, metadata={"help": "n-gram size of the contamination check (words)."})
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(temperature=0.6, top_p=0.9, max_new_tokens=4096))


@dataclass
class MethodConfig:
    """The distillation method and its own parameters (validated by the method's dataclass)."""

    name: str = field(default="palign", metadata={"help": "A registered method (`harness methods`)."})
    params: dict[str, Any] = field(default_factory=dict, metadata={"help": "Method parameters; see `harness methods`."})
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(temperature=0.6, top_p=0.9, repetition_penalty=1.05, max_new_tokens=256),
        metadata={"help": "Sampling for student continuations and judging inside the method."},
    )


@dataclass
class StudentConfig:
    """The model being distilled into."""

    model: str = field(default="synth:tiny", metadata={"help": "Local folder, Hub id, or synth:<size> for a built-in student."})
    enable_thinking: bool | None = field(default=None, metadata={"help": "Passed to chat templates that support it (Qwen3)."})


@dataclass
class TrainConfig:
    """The one SFT recipe every method shares (TRL SFTTrainer).

    `budget` decides how long every method trains: `epochs` runs `num_train_epochs` passes over
    the method's own data (so a method that keeps fewer examples takes fewer optimizer steps),
    `steps` runs exactly `max_steps` optimizer steps whatever the data size (the data is cycled
    as needed), so methods are compared at equal training compute. The field the budget does not
    use is ignored and left out of the train stage key.
    """

    BUDGETS: typing.ClassVar[tuple[str, ...]] = ("epochs", "steps")

    budget: str = field(default="epochs", metadata={"help": "Training budget: epochs | steps. epochs: num_train_epochs passes "
                                                            "over the data (the step count follows the data size); steps: "
                                                            "exactly max_steps optimizer steps for every method."})
    max_steps: int | None = field(default=None, metadata={"help": "Optimizer steps under budget=steps (required there, >= 1); "
                                                                  "ignored under budget=epochs."})
    learning_rate: float = field(default=1e-3, metadata={"help": "Peak learning rate (> 0)."})
    num_train_epochs: float = field(default=3.0, metadata={"help": "Passes over the data under budget=epochs (> 0); "
                                                                   "ignored under budget=steps."})
    per_device_train_batch_size: int = field(default=16, metadata={"help": "Examples per device per micro-batch (>= 1)."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches per optimizer step (>= 1)."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of the optimizer steps spent warming up, in [0, 1)."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "transformers scheduler name (cosine, linear, constant, ...)."})
    weight_decay: float = 0.0
    max_length: int = field(default=256, metadata={"help": "Tokens per example (>= 1); longer examples are cut and reported."})
    use_lora: bool = field(default=False, metadata={"help": "LoRA (peft) instead of full fine-tuning; a merged folder is written."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank (>= 1)."})
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    bf16: bool = field(default=False, metadata={"help": "bfloat16 mixed precision (GPU)."})
    gradient_checkpointing: bool = False
    save_steps: int = field(default=50, metadata={"help": "Checkpoint interval in optimizer steps (>= 1); a killed run resumes from the last one."})
    logging_steps: int = field(default=10, metadata={"help": "Loss logging interval in optimizer steps (>= 1)."})

    def check(self, where: str = "train") -> None:
        """Values that type-check but cannot train, as one-line errors naming the field and its range."""
        if self.budget not in self.BUDGETS:
            raise HarnessError(f"{where}.budget must be one of {' | '.join(self.BUDGETS)}, got {self.budget!r}")
        if self.budget == "steps" and self.max_steps is None:
            raise HarnessError(f"{where}.budget=steps needs {where}.max_steps, an integer >= 1 (it is unset)")
        if self.max_steps is not None and self.max_steps < 1:
            raise HarnessError(f"{where}.max_steps must be an integer >= 1 (or unset), got {self.max_steps}")
        if self.lr_scheduler_type not in SCHEDULERS:
            raise HarnessError(f"{where}.lr_scheduler_type must be one of {', '.join(SCHEDULERS)}, "
                               f"got {self.lr_scheduler_type!r}")
        for name in ("learning_rate", "num_train_epochs", "warmup_ratio", "weight_decay", "lora_dropout"):
            _finite(getattr(self, name), f"{where}.{name}")
        for name, value, ok, allowed in (
            ("learning_rate", self.learning_rate, self.learning_rate > 0, "> 0"),
            ("num_train_epochs", self.num_train_epochs, self.num_train_epochs > 0, "> 0"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
            ("lora_alpha", self.lora_alpha, self.lora_alpha > 0, "> 0"),
            ("lora_dropout", self.lora_dropout, 0 <= self.lora_dropout < 1, "in [0, 1)"),
            ("per_device_train_batch_size", self.per_device_train_batch_size, self.per_device_train_batch_size >= 1, ">= 1"),
            ("gradient_accumulation_steps", self.gradient_accumulation_steps, self.gradient_accumulation_steps >= 1, ">= 1"),
            ("max_length", self.max_length, self.max_length >= 1, ">= 1"),
            ("warmup_ratio", self.warmup_ratio, 0 <= self.warmup_ratio < 1, "in [0, 1)"),
            ("save_steps", self.save_steps, self.save_steps >= 1, ">= 1"),
            ("logging_steps", self.logging_steps, self.logging_steps >= 1, ">= 1"),
            ("lora_r", self.lora_r, self.lora_r >= 1, ">= 1"),
        ):
            if not ok:
                raise HarnessError(f"{where}.{name} must be {allowed}, got {value}")


@dataclass
class EvalConfig:
    """Benchmarks, samples per problem and grading."""

    benchmarks: list[str] = field(default_factory=lambda: ["synth_target", "synth_routine"])
    n: int = field(default=1, metadata={"help": "Samples per problem."})
    k: list[int] = field(default_factory=lambda: [1], metadata={"help": "pass@k values; each must be <= n."})
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    instruction: str = field(default=PAPER_INSTRUCTION, metadata={"help": "Prompt prefix; the problem follows on a new line."})
    strip_thinking: bool = field(default=True, metadata={"help": "Drop <think>...</think> before grading."})
    data_dir: str | None = field(default=None, metadata={"help": "Folder with <benchmark>.jsonl files (else HARNESS_DATA_DIR, else the Hub)."})
    limit: int | None = field(default=None, metadata={"help": "Evaluate only the first N problems of each benchmark."})
    grader_timeout: float = field(default=5.0, metadata={"help": "Hard wall-clock seconds per graded sample."})
    grader_workers: int = field(default=2, metadata={"help": "Grader worker processes."})
    audit_grader: str | None = field(default=None, metadata={"help": "Optional second grader reported as an audit, never OR-ed in."})
    bootstrap_samples: int = field(default=1000, metadata={"help": "Bootstrap resamples for confidence intervals."})


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
