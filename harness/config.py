"""Typed configuration for a whole run, one dataclass per component (TRL style).

A run is described by `RunConfig`. Presets live in `configs/*.yaml` and mirror these
dataclasses section by section; command-line overrides are dotted keys
(`--set train.learning_rate=1e-4`). Unknown keys and wrong types are user errors.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError

PAPER_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_PRESET = "synthetic"


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


def to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)


def to_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check and convert one value to the annotated type, or raise a one-line error."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except HarnessError as exc:
                errors.append(str(exc))
        raise HarnessError(errors[0] if errors else f"{where}: bad value {value!r}")
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise HarnessError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(tp, value, where)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise HarnessError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise HarnessError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise HarnessError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise HarnessError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise HarnessError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise HarnessError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise HarnessError(f"{where}: expected a string, got {value!r}")
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config") -> Any:
    """Build dataclass `cls` from a (possibly partial) mapping; unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise HarnessError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `update` into a copy of `base` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        raise HarnessError(f"config file is a folder, not a file: {path}")
    if not path.is_file():
        raise HarnessError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise HarnessError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise HarnessError(f"{path}: malformed YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected a mapping at the top level")
    return data


def preset_path(name: str) -> Path:
    path = CONFIGS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))) or "none"
        raise HarnessError(f"unknown preset {name!r} (known: {known})")
    return path


def parse_override(text: str) -> dict[str, Any]:
    """`a.b.c=value` -> {"a": {"b": {"c": value}}}; the value is parsed as YAML scalar/list."""
    if "=" not in text:
        raise HarnessError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        value = raw
    out: dict[str, Any] = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def resolve_run_config(
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> RunConfig:
    """Defaults <- preset <- --config file <- command-line overrides, then type-checked."""
    data: dict[str, Any] = {}
    if config_file is None or preset is not None:
        data = merge(data, _load_preset(preset or DEFAULT_PRESET))
    if config_file is not None:
        data = merge(data, _load_with_include(Path(config_file)))
    for override in overrides or []:
        data = merge(data, override)
    cfg = from_dict(RunConfig, data, "config")
    check_ranges(cfg)
    return cfg


ENGINE_NAMES = ("auto", "transformers", "vllm")
DTYPES = ("auto", "float32", "bfloat16", "float16")
# transformers' SchedulerType values (5.x), so a typo fails here and not after the method stage.
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
              "warmup_stable_decay", "greedy")
# Above any model's context today; a larger value is a typo that would allocate for hours.
MAX_NEW_TOKENS = 1 << 20
MAX_GRADER_TIMEOUT = 3600.0
MAX_SEED = 2**32 - 1  # numpy's seeds (bootstrap intervals) are unsigned 32-bit


def _finite(value: float, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise HarnessError(f"{where} must be a finite number, got {value}")


def _need(ok: bool, where: str, allowed: str, value: Any) -> None:
    if not ok:
        raise HarnessError(f"{where} must be {allowed}, got {value!r}")


def check_seed(seed: int, where: str = "seed") -> None:
    _need(0 <= seed <= MAX_SEED, where, f"an integer in [0, {MAX_SEED}]", seed)


def check_sampling(s: SamplingConfig, where: str) -> None:
    """Decoding settings every engine can honour."""
    for name in ("temperature", "top_p", "repetition_penalty"):
        _finite(getattr(s, name), f"{where}.{name}")
    _need(s.temperature >= 0, f"{where}.temperature", ">= 0 (0 is greedy)", s.temperature)
    _need(0 < s.top_p <= 1, f"{where}.top_p", "in (0, 1]", s.top_p)
    _need(s.top_k >= 0, f"{where}.top_k", ">= 0 (0 disables it)", s.top_k)
    _need(s.repetition_penalty > 0, f"{where}.repetition_penalty", "> 0 (1 disables it)", s.repetition_penalty)
    _need(1 <= s.max_new_tokens <= MAX_NEW_TOKENS, f"{where}.max_new_tokens", f"in [1, {MAX_NEW_TOKENS}]",
          s.max_new_tokens)
    check_seed(s.seed, f"{where}.seed")


def check_engine(engine: EngineConfig, where: str = "engine") -> None:
    if engine.name not in ENGINE_NAMES:
        raise HarnessError(f"unknown engine {engine.name!r} (known: {', '.join(ENGINE_NAMES)})")
    if engine.dtype not in DTYPES:
        raise HarnessError(f"{where}.dtype must be one of {', '.join(DTYPES)}, got {engine.dtype!r}")
    _need(engine.device in ("auto", "cpu", "cuda") or engine.device.startswith("cuda:"), f"{where}.device",
          "auto, cpu, cuda or cuda:N", engine.device)
    _need(engine.batch_size >= 1, f"{where}.batch_size", ">= 1", engine.batch_size)
    _need(engine.tensor_parallel_size >= 1, f"{where}.tensor_parallel_size", ">= 1", engine.tensor_parallel_size)
    _finite(engine.gpu_memory_utilization, f"{where}.gpu_memory_utilization")
    _need(0 < engine.gpu_memory_utilization <= 1, f"{where}.gpu_memory_utilization", "in (0, 1]",
          engine.gpu_memory_utilization)
    _need(engine.max_model_len is None or engine.max_model_len >= 1, f"{where}.max_model_len", ">= 1 (or unset)",
          engine.max_model_len)


def check_eval(ev: EvalConfig, where: str = "eval") -> None:
    """Samples, pass@k, grading and benchmark names (looked up in the benchmark registry)."""
    if ev.n < 1:
        raise HarnessError(f"{where}.n must be at least 1, got {ev.n}")
    if not ev.k:
        raise HarnessError(f"{where}.k is empty: give at least one pass@k value")
    small = [k for k in ev.k if k < 1]
    if small:
        raise HarnessError(f"pass@{small[0]} is not defined: every k in {where}.k must be at least 1")
    bad = [k for k in ev.k if k > ev.n]
    if bad:
        raise HarnessError(f"pass@{bad[0]} needs at least {bad[0]} samples per problem, but {where}.n is {ev.n}")
    _need(ev.limit is None or ev.limit >= 1, f"{where}.limit", "at least 1 (or unset)", ev.limit)
    check_sampling(ev.sampling, f"{where}.sampling")
    _finite(ev.grader_timeout, f"{where}.grader_timeout")
    _need(0 < ev.grader_timeout <= MAX_GRADER_TIMEOUT, f"{where}.grader_timeout",
          f"in (0, {MAX_GRADER_TIMEOUT:g}] seconds", ev.grader_timeout)
    _need(ev.grader_workers >= 1, f"{where}.grader_workers", ">= 1", ev.grader_workers)
    _need(ev.bootstrap_samples >= 1, f"{where}.bootstrap_samples", ">= 1", ev.bootstrap_samples)
    if ev.audit_grader is not None:
        from harness.eval.grading import AUDIT_GRADERS

        _need(ev.audit_grader in AUDIT_GRADERS, f"{where}.audit_grader", f"one of {', '.join(AUDIT_GRADERS)} (or unset)",
              ev.audit_grader)
    if not ev.benchmarks:
        raise HarnessError(f"{where}.benchmarks is empty: give at least one benchmark (see `harness benchmarks`)")
    from harness.eval.benchmarks import BENCHMARKS

    for name in ev.benchmarks:
        BENCHMARKS.get(name)  # unknown names: one line listing the known ones
    duplicate = next((b for i, b in enumerate(ev.benchmarks) if b in ev.benchmarks[:i]), None)
    if duplicate is not None:
        raise HarnessError(f"{where}.benchmarks names {duplicate!r} twice")


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


def check_teacher(teacher: TeacherConfig, where: str = "teacher") -> None:
    from harness.teacher.sources import get_source

    get_source(teacher.source)  # unknown sources: one line listing the known ones
    _need(teacher.limit is None or teacher.limit >= 1, f"{where}.limit", "at least 1 (or unset)", teacher.limit)
    if teacher.n < 1:
        raise HarnessError(f"{where}.n must be at least 1, got {teacher.n}")
    _need(teacher.num_problems >= 1, f"{where}.num_problems", ">= 1", teacher.num_problems)
    _need(teacher.ngram >= 1, f"{where}.ngram", ">= 1", teacher.ngram)
    check_sampling(teacher.sampling, f"{where}.sampling")


def check_ranges(cfg: RunConfig) -> None:
    """Every value that type-checks but cannot work, refused when the config resolves, before any stage runs.

    Without this they fail late (an unknown engine after the teacher stage is built, a zero
    batch size after the method stage), or not at all (a negative limit silently drops
    problems, n=0 evaluates nothing). Method parameters are checked by each method's own
    dataclass when `harness run` resolves its methods.
    """
    check_seed(cfg.seed)
    check_world(cfg.world)
    check_teacher(cfg.teacher)
    check_sampling(cfg.method.sampling, "method.sampling")
    check_eval(cfg.eval)
    check_engine(cfg.engine)
    cfg.train.check("train")


def _load_preset(name: str) -> dict[str, Any]:
    return _load_with_include(preset_path(name))


def _load_with_include(path: Path, depth: int = 0) -> dict[str, Any]:
    """A YAML file may start from another preset with `include: NAME` (lm-eval style)."""
    if depth > 8:
        raise HarnessError(f"{path}: include chain too deep")
    data = load_yaml(path)
    parent = data.pop("include", None)
    if parent is None:
        return data
    return merge(_load_with_include(preset_path(str(parent)), depth + 1), data)


def field_help(cls: type) -> list[tuple[str, str, str]]:
    """(name, default, help) for each field, for `--help`-style listings."""
    rows = []
    for f in fields(cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "required"
        rows.append((f.name, default, f.metadata.get("help", "")))
    return rows
