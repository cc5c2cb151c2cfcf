"""Every registry of the harness, in one place (lm-eval's `lm_eval/api/registry.py`).

Each kind has one `Registry`, its built-ins and its entry-point group. This module imports
nothing but the registry class, so configuration checks and CLI choices can list the names
of every kind without importing an engine, a dataset library or a method, and without an
import cycle: a kind's own module imports its registry from here, never the other way round.

| registry    | entry-point group          | an entry is                                              |
|-------------|----------------------------|----------------------------------------------------------|
| METHODS     | harness.methods            | `harness.methods.MethodSpec` (`@register_method`)        |
| BENCHMARKS  | harness.benchmarks         | a `harness.eval.benchmarks.Benchmark` class or instance  |
| SOURCES     | harness.teacher_sources    | `fn(cfg: RunConfig, work_dir: Path) -> SourceResult`     |
| ENGINES     | harness.engines            | a class `Engine(model: str, cfg: EngineConfig)`          |
| JUDGES      | harness.judges             | a judge class with `create(generator, **settings)`; palign registers its own |
| GRADERS     | harness.graders            | `fn(gold, output, strip_thinking) -> bool`, a second opinion beside math-verify |
| METRICS     | harness.metrics            | a `harness.eval.metrics` metric object                   |
"""

from __future__ import annotations

from typing import Any

from harness.registry import Registry


METHODS: Registry[Any] = Registry("method", "harness.methods", builtins=("baselines", "palign"))

BENCHMARKS: Registry[Any] = Registry(
    "benchmark", "harness.benchmarks",
    builtins=("harness.eval.hub_benchmarks", "harness.synth.benchmarks"),
)

SOURCES: Registry[Any] = Registry("teacher source", "harness.teacher_sources", lazy={
    "synth": "harness.teacher.sources:synth_source",
    "s1k": "harness.teacher.s1k:s1k_source",
    "model": "harness.teacher.model_source:model_source",
})

# `auto` is not an engine: `harness.engines.factory.choose_engine` resolves it to one of these.
ENGINES: Registry[Any] = Registry("engine", "harness.engines", lazy={
    "transformers": "harness.engines.hf:HFEngine",
    "vllm": "harness.engines.vllm_engine:VLLMEngine",
})
AUTO_ENGINE = "auto"

# The core names no judge: they belong to the methods that judge (palign registers
# `rollout` and `self` when it is imported, as the method registry imports it).
JUDGES: Registry[Any] = Registry("judge", "harness.judges")

GRADERS: Registry[Any] = Registry("grader", "harness.graders", lazy={
    "boxed_string": "harness.eval.grading:audit_grade",
})

METRICS: Registry[Any] = Registry("metric", "harness.metrics", builtins=("harness.eval.metrics",))

ALL: tuple[Registry[Any], ...] = (METHODS, BENCHMARKS, SOURCES, ENGINES, JUDGES, GRADERS, METRICS)


def engine_names() -> list[str]:
    """What `engine.name` and `--engine` accept."""
    return [AUTO_ENGINE, *ENGINES.names()]


def judge_names() -> list[str]:
    """Registered judges; the built-in ones arrive with the methods that define them."""
    METHODS.names()
    return JUDGES.names()
