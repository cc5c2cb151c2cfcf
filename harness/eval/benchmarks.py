"""Benchmark registry: `@register_benchmark("name")` on a `Benchmark` subclass or factory.

Plugins add benchmarks through the `harness.benchmarks` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.registry import Registry


@dataclass
class Problem:
    id: str
    problem: str
    answer: str


class Benchmark:
    """A named list of problems with gold answers. Subclasses implement `load`."""

    name: str = ""
    description: str = ""

    def load(self, data_dir: str | None = None) -> list[Problem]:
        raise NotImplementedError


BENCHMARKS: Registry = Registry(
    kind="benchmark",
    group="harness.benchmarks",
    builtins=("harness.eval.hub_benchmarks", "harness.synth.benchmarks"),
)


def register_benchmark(name: str):
    return BENCHMARKS.register(name)


def get_benchmark(name: str) -> Benchmark:
    obj = BENCHMARKS.get(name)
    return obj() if isinstance(obj, type) else obj
