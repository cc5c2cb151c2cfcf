"""Benchmark registry: `@register_benchmark("name")` on a `Benchmark` subclass or factory.

Plugins add benchmarks through the `harness.benchmarks` entry-point group. Every
benchmark's content is pinned by `benchmark_checksum`, recorded with every result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.registries import BENCHMARKS


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


def register_benchmark(name: str) -> Callable[[Any], Any]:
    return BENCHMARKS.register(name)


def get_benchmark(name: str) -> Benchmark:
    obj = BENCHMARKS.get(name)
    return obj() if isinstance(obj, type) else obj


def benchmark_checksum(problems: Sequence[Problem]) -> str:
    """sha256 over the (id, problem, answer) triples in order: what the scores depend on."""
    blob = json.dumps([[p.id, p.problem, p.answer] for p in problems], ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()
