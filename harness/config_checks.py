"""Ranges of the config's values: what type-checks but cannot work, refused as one line naming the field.

Names (engines, benchmarks, teacher sources, graders) are looked up in `harness.registries`,
so the allowed values are whatever is registered, plugins included. The checks read the
config sections by attribute and import no dataclass: `harness.config` imports this module.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.registries import BENCHMARKS, GRADERS, SOURCES, engine_names

if TYPE_CHECKING:
    from harness.config import EngineConfig, EvalConfig, SamplingConfig, TeacherConfig

DTYPES = ("auto", "float32", "bfloat16", "float16")
# transformers' SchedulerType values (5.x), so a typo fails here and not after the method stage.
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
              "warmup_stable_decay", "greedy")
# Above any model's context today; a larger value is a typo that would allocate for hours.
MAX_NEW_TOKENS = 1 << 20
MAX_GRADER_TIMEOUT = 3600.0
MAX_SEED = 2**32 - 1  # numpy's seeds (bootstrap intervals) are unsigned 32-bit


def finite(value: float, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise HarnessError(f"{where} must be a finite number, got {value}")


def need(ok: bool, where: str, allowed: str, value: Any) -> None:
    if not ok:
        raise HarnessError(f"{where} must be {allowed}, got {value!r}")


def check_seed(seed: int, where: str = "seed") -> None:
    need(0 <= seed <= MAX_SEED, where, f"an integer in [0, {MAX_SEED}]", seed)


def check_sampling(s: SamplingConfig, where: str) -> None:
    """Decoding settings every engine can honour."""
    for name in ("temperature", "top_p", "repetition_penalty"):
        finite(getattr(s, name), f"{where}.{name}")
    need(s.temperature >= 0, f"{where}.temperature", ">= 0 (0 is greedy)", s.temperature)
    need(0 < s.top_p <= 1, f"{where}.top_p", "in (0, 1]", s.top_p)
    need(s.top_k >= 0, f"{where}.top_k", ">= 0 (0 disables it)", s.top_k)
    need(s.repetition_penalty > 0, f"{where}.repetition_penalty", "> 0 (1 disables it)", s.repetition_penalty)
    need(1 <= s.max_new_tokens <= MAX_NEW_TOKENS, f"{where}.max_new_tokens", f"in [1, {MAX_NEW_TOKENS}]",
         s.max_new_tokens)
    check_seed(s.seed, f"{where}.seed")


def check_engine(engine: EngineConfig, where: str = "engine") -> None:
    known = engine_names()
    if engine.name not in known:
        raise HarnessError(f"unknown engine {engine.name!r} (known: {', '.join(known)})")
    if engine.dtype not in DTYPES:
        raise HarnessError(f"{where}.dtype must be one of {', '.join(DTYPES)}, got {engine.dtype!r}")
    need(engine.device in ("auto", "cpu", "cuda") or engine.device.startswith("cuda:"), f"{where}.device",
         "auto, cpu, cuda or cuda:N", engine.device)
    need(engine.batch_size >= 1, f"{where}.batch_size", ">= 1", engine.batch_size)
    need(engine.tensor_parallel_size >= 1, f"{where}.tensor_parallel_size", ">= 1", engine.tensor_parallel_size)
    finite(engine.gpu_memory_utilization, f"{where}.gpu_memory_utilization")
    need(0 < engine.gpu_memory_utilization <= 1, f"{where}.gpu_memory_utilization", "in (0, 1]",
         engine.gpu_memory_utilization)
    need(engine.max_model_len is None or engine.max_model_len >= 1, f"{where}.max_model_len", ">= 1 (or unset)",
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
    need(ev.limit is None or ev.limit >= 1, f"{where}.limit", "at least 1 (or unset)", ev.limit)
    check_sampling(ev.sampling, f"{where}.sampling")
    finite(ev.grader_timeout, f"{where}.grader_timeout")
    need(0 < ev.grader_timeout <= MAX_GRADER_TIMEOUT, f"{where}.grader_timeout",
         f"in (0, {MAX_GRADER_TIMEOUT:g}] seconds", ev.grader_timeout)
    need(ev.grader_workers >= 1, f"{where}.grader_workers", ">= 1", ev.grader_workers)
    need(ev.bootstrap_samples >= 1, f"{where}.bootstrap_samples", ">= 1", ev.bootstrap_samples)
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
        raise HarnessError(f"{where}.benchmarks names {duplicate!r} twice")


def check_teacher(teacher: TeacherConfig, where: str = "teacher") -> None:
    if teacher.source not in SOURCES.names():  # a name check: the source's module is not imported yet
        SOURCES.get(teacher.source)  # unknown sources: one line listing the known ones
    need(teacher.limit is None or teacher.limit >= 1, f"{where}.limit", "at least 1 (or unset)", teacher.limit)
    if teacher.n < 1:
        raise HarnessError(f"{where}.n must be at least 1, got {teacher.n}")
    need(teacher.num_problems >= 1, f"{where}.num_problems", ">= 1", teacher.num_problems)
    need(teacher.ngram >= 1, f"{where}.ngram", ">= 1", teacher.ngram)
    check_sampling(teacher.sampling, f"{where}.sampling")
