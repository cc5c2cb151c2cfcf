"""Benchmark registry: `@register_benchmark("name")` on a `Benchmark` subclass or factory.

Plugins add benchmarks through the `harness.benchmarks` entry-point group. Every
benchmark's content is pinned by `benchmark_checksum`, recorded with every result.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
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


def _available(module: str) -> bool:
    # A built-in module that is not there (a partial checkout) must not break the others.
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


BENCHMARKS: Registry = Registry(
    kind="benchmark",
    group="harness.benchmarks",
    builtins=tuple(m for m in ("harness.eval.hub_benchmarks", "harness.synth.benchmarks") if _available(m)),
)


def register_benchmark(name: str):
    return BENCHMARKS.register(name)


def get_benchmark(name: str) -> Benchmark:
    obj = BENCHMARKS.get(name)
    return obj() if isinstance(obj, type) else obj


def benchmark_checksum(problems: Sequence[Problem]) -> str:
    """sha256 over the (id, problem, answer) triples in order: what the scores depend on."""
    blob = json.dumps([[p.id, p.problem, p.answer] for p in problems], ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()
