"""The leaderboard's "Other metrics" table: metrics that no built-in writes, plugins' (`harness.metrics`).

The board's own tables recompute every built-in number from the per-sample outcomes. A
plugin's metric may need what a record does not keep, and a board must render the same
bytes wherever `--check` runs, installed plugins or not, so these are shown as each record
reports them (its benchmark's `metrics`): mean ± std over seeds. A setup whose records
carry no such metric gets no table, so boards without plugins are unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tabulate import tabulate

from harness.eval.metrics import extra_keys
from harness.leaderboard import Estimate, Row


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _reported(row: Row, bench: str) -> list[dict[str, Any]]:
    return [(r.data["benchmarks"].get(bench) or {}).get("metrics") or {} for r in row.records]


def reported_keys(rows: list[Row], benches: list[str]) -> list[str]:
    """Every number a record reports that no built-in metric writes, in first-seen order."""
    keys: dict[str, None] = {}
    for row in rows:
        for bench in benches:
            for metrics in _reported(row, bench):
                keys.update((k, None) for k in extra_keys(metrics) if _number(metrics[k]))
    return list(keys)


def reported_estimate(row: Row, bench: str, key: str) -> Estimate | None:
    """Mean and sample std (ddof=1) over seeds; None unless every seed's record reports a number."""
    values = [metrics.get(key) for metrics in _reported(row, bench)]
    if not values or not all(_number(v) for v in values):
        return None
    arr = np.asarray(values, dtype=float)
    return Estimate(float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else None)


def _cell(est: Estimate | None) -> str:
    if est is None:
        return "—"
    return f"{est.mean:.4g}" + ("" if est.std is None else f" ± {est.std:.2g}")


def other_metrics_section(rows: list[Row], benches: list[str]) -> list[str]:
    """The section's lines (heading included), or none when no record reports such a metric."""
    keys = reported_keys(rows, benches)
    if not keys:
        return []
    columns = [(bench, key) for key in keys for bench in benches]
    table = [[row.label, row.student, str(len(row.records))]
             + [_cell(reported_estimate(row, bench, key)) for bench, key in columns] for row in rows]
    headers = ["method", "student", "seeds", *(f"{bench} {key}" for bench, key in columns)]
    return ["### Other metrics", "",
            "Metrics from plugins (the `harness.metrics` registry), as each record reports them: mean ± std "
            "over seeds, 4 significant digits, — where a seed's record lacks the number. They are not "
            "recomputed from the samples here.", "",
            tabulate(table, headers=headers, tablefmt="github", disable_numparse=True), ""]
