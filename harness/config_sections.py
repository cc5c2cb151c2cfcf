"""The config's sections, one dataclass per component (TRL style), each with its range check.

Sampling, engine, teacher, method, student, training and evaluation settings. A check
refuses, in one line naming the field and its allowed range, a value that type-checks but
cannot work; names (engines, benchmarks, teacher sources, graders) are looked up in
`harness.registries`, so whatever is registered, plugins included, is allowed.
`harness.config` assembles the sections into `RunConfig` and re-exports every name here.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError, brief
from harness.flag_names import spell
from harness.registries import AUTO_ENGINE, BENCHMARKS, GRADERS, SOURCES, engine_names

PAPER_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

DTYPES = ("auto", "float32", "bfloat16", "float16")
# transformers' SchedulerType values (5.x), so a typo fails here and not after the method stage.
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
              "warmup_stable_decay", "greedy")
# Above any model's context today; a larger value is a typo that would allocate for hours.
MAX_NEW_TOKENS = 1 << 20
# `max_new_tokens: context`: each request may generate up to the end of the model's context,
# however long its prompt (the P-ALIGN authors' continuations, vLLM with max_tokens = max_model_len).
REST_OF_CONTEXT = "context"
MAX_GRADER_TIMEOUT = 3600.0
MAX_SEED = 2**32 - 1  # numpy's seeds (bootstrap intervals) are unsigned 32-bit


def finite(value: float, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise HarnessError(f"{where} must be a finite number, got {value}")


def need(ok: bool, where: str, allowed: str, value: Any) -> None:
    if not ok:
        raise HarnessError(f"{where} must be {allowed}, got {brief(value)}")


def check_seed(seed: int, where: str = "seed") -> None:
    need(0 <= seed <= MAX_SEED, where, f"an integer in [0, {MAX_SEED}]", seed)


@dataclass
class SamplingConfig:
    """Decoding settings shared by every engine."""

    temperature: float = field(default=0.0, metadata={"help": "0 means greedy."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass."})
    top_k: int = field(default=0, metadata={"help": "Top-k cut; 0 disables it."})
    repetition_penalty: float = field(default=1.0, metadata={"help": "HF-style repetition penalty; 1.0 disables it."})
    max_new_tokens: int | str = field(default=256, metadata={
        "help": f"Maximum generated tokens per sample, or {REST_OF_CONTEXT}: up to the end of the model's context "
                "(engine.max_model_len), whatever the prompt's length."})
    seed: int = field(default=0, metadata={"help": "Sampling seed; each (problem, sample index) gets its own stream."})


@dataclass
class EngineConfig:
    """Which inference engine runs the student or teacher, and how."""

    name: str = field(default="auto", metadata={"help": "auto or a registered engine (transformers, vllm, a plugin's). auto picks vllm when importable and a GPU is present."})
    batch_size: int = field(default=64, metadata={"help": "Prompts per batch for the transformers engine."})
    cpu_processes: int = field(default=1, metadata={"help": "Transformers engine on CPU: decode in this many single-threaded processes (this one and forked helpers), each with a share of the rows. Samples are unchanged; it pays for small models, whose decoding is mostly Python overhead."})
    dtype: str = field(default="auto", metadata={"help": "auto | float32 | bfloat16 | float16."})
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda (transformers engine)."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM tensor parallelism."})
    data_parallel_size: int = field(default=1, metadata={"help": "vLLM: this many engines, each in its own process on its own tensor_parallel_size GPUs (data_parallel_size x tensor_parallel_size GPUs in all), each call's samples split between them. Not in stage keys: every sample keeps its own seed, whichever engine draws it."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vLLM memory fraction."})
    max_model_len: int | None = field(default=None, metadata={"help": "Context limit (prompt + new tokens) for both engines; None uses the model's own. Requests past it are refused."})


@dataclass
class TeacherConfig:
    """Where the teacher's chains of thought come from."""

    source: str = field(default="synth", metadata={"help": "A registered teacher source: synth | s1k | model, or a plugin's."})
    dataset: str = field(default="simplescaling/s1K-1.1", metadata={"help": "Hub dataset id (s1k) or local parquet/JSONL path."})
    split: str = field(default="train", metadata={"help": "Dataset split (s1k)."})
    model: str | None = field(default=None, metadata={"help": "Teacher model path or Hub id (source=model)."})
    problems: str | None = field(default=None, metadata={"help": "JSONL of {id, problem, answer} for source=model; default: synthetic teacher stream."})
    num_problems: int = field(default=300, metadata={"help": "Problems drawn from the synthetic teacher stream (synth, model)."})
    limit: int | None = field(default=None, metadata={"help": "Keep at most this many problems."})
    n: int = field(default=1, metadata={"help": "Samples per problem for source=model; the first correct one is kept (more than 1 needs sampling.temperature > 0)."})
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
            raise HarnessError(f"{where}.budget must be one of {' | '.join(self.BUDGETS)}, got {brief(self.budget)}")
        if self.budget == "steps" and self.max_steps is None:
            raise HarnessError(f"{where}.budget=steps needs {where}.max_steps, an integer >= 1 (it is unset)")
        if self.max_steps is not None and self.max_steps < 1:
            raise HarnessError(f"{where}.max_steps must be an integer >= 1 (or unset), got {self.max_steps}")
        if self.lr_scheduler_type not in SCHEDULERS:
            raise HarnessError(f"{where}.lr_scheduler_type must be one of {', '.join(SCHEDULERS)}, "
                               f"got {brief(self.lr_scheduler_type)}")
        for name in ("learning_rate", "num_train_epochs", "warmup_ratio", "weight_decay", "lora_dropout"):
            finite(getattr(self, name), f"{where}.{name}")
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
    n: int = field(default=1, metadata={"help": "Samples per problem; more than 1 needs sampling.temperature > 0."})
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
    budgets: list[int] = field(default_factory=list, metadata={"help": "Token budgets, each <= sampling.max_new_tokens: accuracy with each generation cut at each budget and graded again (no extra generation; harness.eval.budgets)."})


def check_sampling(s: SamplingConfig, where: str) -> None:
    """Decoding settings every engine can honour."""
    for name in ("temperature", "top_p", "repetition_penalty"):
        finite(getattr(s, name), f"{where}.{name}")
    need(s.temperature >= 0, f"{where}.temperature", ">= 0 (0 is greedy)", s.temperature)
    need(0 < s.top_p <= 1, f"{where}.top_p", "in (0, 1]", s.top_p)
    need(s.top_k >= 0, f"{where}.top_k", ">= 0 (0 disables it)", s.top_k)
    need(s.repetition_penalty > 0, f"{where}.repetition_penalty", "> 0 (1 disables it)", s.repetition_penalty)
    length = s.max_new_tokens
    need(length == REST_OF_CONTEXT or isinstance(length, int) and 1 <= length <= MAX_NEW_TOKENS,
         f"{where}.max_new_tokens", f"in [1, {MAX_NEW_TOKENS}] or {REST_OF_CONTEXT}", length)
    check_seed(s.seed, f"{where}.seed")


def check_sampled(count_setting: str, count: int, sampling: SamplingConfig, where: str) -> None:
    """`count` samples of one prompt need sampling: at temperature 0 they are one greedy text `count` times.

    pass@k of such copies equals pass@1, and a judge's k rollouts one vote, with nothing to
    say so; refused where the setting is checked, naming the fix as the running command spells it.
    """
    if count > 1 and sampling.temperature == 0:
        raise HarnessError(
            f"{count_setting} is {count} but {where}.temperature is 0 (greedy), so the {count} "
            f"samples would be one text {count} times; sample with {spell(f'{where}.temperature', '0.6')} "
            f"(or use {spell(count_setting, '1')})")


def check_budgets(budgets: list[int], max_new_tokens: int | str, where: str = "eval.budgets",
                  cap: str = "eval.sampling.max_new_tokens") -> list[int]:
    """The budgets, sorted and without repeats; a one-line error for one below 1 or above the cap."""
    if budgets and not isinstance(max_new_tokens, int):  # `context`: each sample's cap is what its prompt leaves
        raise HarnessError(f"{where} needs {cap} to be a number of tokens, not {max_new_tokens}: under {REST_OF_CONTEXT} "
                           "the cap differs from sample to sample")
    small = [b for b in budgets if b < 1]
    if small:
        raise HarnessError(f"{where} must each be at least 1, got {small[0]}")
    big = [b for b in budgets if b > max_new_tokens]
    if big:
        raise HarnessError(f"{where} has {big[0]}, above {cap} ({max_new_tokens}): a generation stopped at the cap "
                           f"cannot tell what a larger budget would give (raise {cap} or drop that budget)")
    return sorted(set(budgets))


def check_engine(engine: EngineConfig, where: str = "engine") -> None:
    known = engine_names()
    if engine.name not in known:
        raise HarnessError(f"unknown engine {brief(engine.name)} (known: {', '.join(known)})")
    if engine.dtype not in DTYPES:
        raise HarnessError(f"{where}.dtype must be one of {', '.join(DTYPES)}, got {brief(engine.dtype)}")
    need(engine.device in ("auto", "cpu", "cuda") or engine.device.startswith("cuda:"), f"{where}.device",
         "auto, cpu, cuda or cuda:N", engine.device)
    need(engine.batch_size >= 1, f"{where}.batch_size", ">= 1", engine.batch_size)
    need(engine.cpu_processes >= 1, f"{where}.cpu_processes", ">= 1", engine.cpu_processes)
    need(engine.tensor_parallel_size >= 1, f"{where}.tensor_parallel_size", ">= 1", engine.tensor_parallel_size)
    need(engine.data_parallel_size >= 1, f"{where}.data_parallel_size", ">= 1", engine.data_parallel_size)
    if engine.name != AUTO_ENGINE:  # auto's choice depends on the machine: checked when the engine is chosen
        problem = data_parallel_problem(engine, engine.name, where)
        if problem:
            raise HarnessError(problem)
    finite(engine.gpu_memory_utilization, f"{where}.gpu_memory_utilization")
    need(0 < engine.gpu_memory_utilization <= 1, f"{where}.gpu_memory_utilization", "in (0, 1]",
         engine.gpu_memory_utilization)
    need(engine.max_model_len is None or engine.max_model_len >= 1, f"{where}.max_model_len", ">= 1 (or unset)",
         engine.max_model_len)


def data_parallel_problem(engine: EngineConfig, name: str, where: str = "engine") -> str | None:
    """Why `engine.data_parallel_size` replicas cannot run on engine `name` (the one chosen), or None."""
    if engine.data_parallel_size == 1 or name == "vllm":
        return None
    chose = (f" ({where}.name=auto picks vllm only where it is installed and a GPU is present)"
             if engine.name == AUTO_ENGINE else "")
    return (f"{where}.data_parallel_size={engine.data_parallel_size} runs one vllm engine per GPU group, but engine "
            f"{name!r} was chosen{chose}; use --engine vllm, or --set {where}.data_parallel_size=1 "
            "(on CPU, engine.cpu_processes shares decoding between processes)")


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
        raise HarnessError(f"pass@{bad[0]} needs at least {bad[0]} samples per problem, but {where}.n is "
                           f"{ev.n}; use {spell(f'{where}.n', str(max(bad)))} or lower {spell(f'{where}.k')}")
    need(ev.limit is None or ev.limit >= 1, f"{where}.limit", "at least 1 (or unset)", ev.limit)
    check_sampling(ev.sampling, f"{where}.sampling")
    check_sampled(f"{where}.n", ev.n, ev.sampling, f"{where}.sampling")
    finite(ev.grader_timeout, f"{where}.grader_timeout")
    need(0 < ev.grader_timeout <= MAX_GRADER_TIMEOUT, f"{where}.grader_timeout",
         f"in (0, {MAX_GRADER_TIMEOUT:g}] seconds", ev.grader_timeout)
    need(ev.grader_workers >= 1, f"{where}.grader_workers", ">= 1", ev.grader_workers)
    need(ev.bootstrap_samples >= 1, f"{where}.bootstrap_samples", ">= 1", ev.bootstrap_samples)
    check_budgets(ev.budgets, ev.sampling.max_new_tokens, f"{where}.budgets", f"{where}.sampling.max_new_tokens")
    if ev.audit_grader is not None:
        graders = GRADERS.names()
        need(ev.audit_grader in graders, f"{where}.audit_grader", f"one of {', '.join(graders)} (or unset)",
             ev.audit_grader)
    if not ev.benchmarks:
        raise HarnessError(f"{where}.benchmarks is empty: give at least one benchmark (see `harness benchmarks`)")
    for name in ev.benchmarks:
        BENCHMARKS.get(name)  # unknown names: one line listing the known ones
    duplicate = next((b for i, b in enumerate(ev.benchmarks) if b in ev.benchmarks[:i]), None)
    if duplicate is not None:
        raise HarnessError(f"{where}.benchmarks names {brief(duplicate)} twice")


def check_teacher(teacher: TeacherConfig, where: str = "teacher") -> None:
    if teacher.source not in SOURCES.names():  # a name check: the source's module is not imported yet
        SOURCES.get(teacher.source)  # unknown sources: one line listing the known ones
    need(teacher.limit is None or teacher.limit >= 1, f"{where}.limit", "at least 1 (or unset)", teacher.limit)
    if teacher.n < 1:
        raise HarnessError(f"{where}.n must be at least 1, got {teacher.n}")
    need(teacher.num_problems >= 1, f"{where}.num_problems", ">= 1", teacher.num_problems)
    need(teacher.ngram >= 1, f"{where}.ngram", ">= 1", teacher.ngram)
    check_sampling(teacher.sampling, f"{where}.sampling")
    check_sampled(f"{where}.n", teacher.n, teacher.sampling, f"{where}.sampling")
