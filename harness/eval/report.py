"""Console tables and JSON output shared by `harness eval` and `harness score`."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from harness.console import console
from harness.eval.metrics import AVG_AT_N, PASS_AT_K, extra_keys


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def metrics_table(results: dict[str, dict], title: str = "Results") -> Table:
    """One row per benchmark: pass@k with 95% CI, maj@k, avg@n, tokens, the shares cut at the token
    cap and without an answer, tokens of correct and incorrect samples, failure counts, then
    one column per metric no built-in writes (a plugin's), as it reported it."""
    table = Table(title=title)
    first = next(iter(results.values()))["metrics"]
    ks = sorted(int(name[len("pass@"):]) for name in first if PASS_AT_K.writes(name))
    avg = next((name for name in first if AVG_AT_N.writes(name)), None)
    extra = list(dict.fromkeys(key for r in results.values() for key in extra_keys(r["metrics"])))
    for col in ["benchmark", "problems", "n", *(f"pass@{k} [95% CI]" for k in ks), *(f"maj@{k}" for k in ks)]:
        table.add_column(col, justify="left" if col == "benchmark" else "right")
    for col in [avg or "avg@n", "tokens", "at cap %", "no answer %", "tokens correct (mean/median)",
                "tokens incorrect (mean/median)", "no answer", "timeout", "error", *extra]:
        table.add_column(col, justify="right")
    for name, result in results.items():
        m = result["metrics"]
        cells = [name, str(m["num_problems"]), str(m["n"])]
        for k in ks:
            lo, hi = m[f"pass@{k}_ci"]
            cells.append(f"{_pct(m[f'pass@{k}'])} [{_pct(lo)}, {_pct(hi)}]")
        cells += [_pct(m.get(f"maj@{k}")) for k in ks]
        tokens = m.get("mean_tokens")
        cells += [_pct(m.get(avg)) if avg else "-", "-" if tokens is None else f"{tokens:.0f}"]
        cells += [_pct(m.get("cap_share")), _pct(m.get("no_answer_share"))]
        cells += [_mean_median(m, "correct"), _mean_median(m, "incorrect")]
        cells += [str(m.get("no_answer", 0)), str(m.get("timeout", 0)), str(m.get("error", 0))]
        cells += [plain(m.get(key)) for key in extra]
        table.add_row(*cells)
    return table


def _mean_median(metrics: dict[str, Any], which: str) -> str:
    mean, median = metrics.get(f"tokens_{which}_mean"), metrics.get(f"tokens_{which}_median")
    return "-" if mean is None or median is None else f"{mean:.0f} / {median:.0f}"


def plain(value: Any) -> str:
    """A metric whose scale the harness does not know, as a number (4 significant digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    return f"{value:.4g}"


def budgets_table(results: dict[str, dict]) -> Table | None:
    """Accuracy against token budget: one row per benchmark and budget, then the evaluation's own cap."""
    rows = [(name, budget, r["budgets"][budget]["metrics"]) for name, r in results.items()
            for budget in sorted(r.get("budgets") or {}, key=int)]
    if not rows:
        return None
    rows += [(name, f"{r['generation']['sampling']['max_new_tokens']} (cap)", r["metrics"])
             for name, r in results.items() if r.get("budgets")]
    rows.sort(key=lambda row: list(results).index(row[0]))  # each benchmark's budgets, then its cap
    table = Table(title="accuracy against token budget (each generation cut at the budget and graded again)")
    ks = sorted(int(name[len("pass@"):]) for name in rows[0][2] if PASS_AT_K.writes(name))
    for col in ["benchmark", "budget", *(f"pass@{k}" for k in ks), "at budget %", "no answer %", "tokens"]:
        table.add_column(col, justify="left" if col == "benchmark" else "right")
    for name, budget, m in rows:
        tokens = m.get("mean_tokens")
        table.add_row(name, budget, *(_pct(m.get(f"pass@{k}")) for k in ks), _pct(m.get("cap_share")),
                      _pct(m.get("no_answer_share")), "-" if tokens is None else f"{tokens:.0f}")
    return table


def show(results: dict[str, dict], title: str = "Results") -> None:
    console.print(metrics_table(results, title))
    budgets = budgets_table(results)
    if budgets is not None:
        console.print(budgets)
    for name, result in results.items():
        if "audit" in result:
            a = result["audit"]
            console.print(f"{name}: audit grader {a['grader']!r} disagrees on {a['disagreements']}/{a['samples']} samples ({100 * a['rate']:.1f}%)")


def json_samples(samples: list[dict]) -> list[dict]:
    keep = ("index", "id", "sample", "outcome", "extracted", "num_tokens", "finish_reason")
    return [{k: s[k] for k in keep if k in s} for s in samples]
