"""Teacher-data sources behind one interface: `SOURCES.get(name)(cfg, work_dir) -> SourceResult`.

A source turns its input (the s1K-1.1 dataset, a teacher model's generations, the built-in
synthetic teacher) into trace records with the fields of `harness.methods.Trace`, and
reports every problem it could not use with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.registries import SOURCES

TRACE_FIELDS = ("id", "problem", "answer", "long_cot", "short_cot", "source", "teacher")


@dataclass
class SourceResult:
    records: list[dict[str, Any]]
    dropped: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}
    notes: dict[str, Any] = field(default_factory=dict)  # source-specific counts for the summary


SourceFn = Callable[[RunConfig, Path], SourceResult]
# Built-ins are lazy entries of `harness.registries.SOURCES` (synth here, s1k and model in
# their own modules, which import this one and are imported only when chosen); plugins
# register through the `harness.teacher_sources` entry-point group or `register_source`.
def register_source(name: str) -> Callable[[SourceFn], SourceFn]:
    return SOURCES.register(name)


def get_source(name: str) -> SourceFn:
    return SOURCES.get(name)


def synth_source(cfg: RunConfig, work_dir: Path) -> SourceResult:
    """The built-in programmatic teacher on the synthetic teacher stream."""
    from harness.synth.teacher import synth_traces

    n = cfg.teacher.num_problems if cfg.teacher.limit is None else min(cfg.teacher.num_problems, cfg.teacher.limit)
    return SourceResult(records=[{k: r[k] for k in TRACE_FIELDS} for r in synth_traces(cfg.world, n)])
