"""What `harness run` prints: the result table, and with `--dry-run` the plan of stage keys."""

from __future__ import annotations

import statistics
from typing import Any

from harness import stages
from harness.config import RunConfig
from harness.console import stdout_console
from harness.errors import HarnessError
from harness.fingerprint import model_fingerprint
from harness.method_runs import MethodRun, for_method
from harness.methods import get_method
from harness.store import RunStore


def print_results(records: list[dict[str, Any]]) -> None:
    """One row per result record: each benchmark's pass@k and tokens, a column per plugin metric, method stats.

    `traces` is how many teacher traces the method was given and `examples` how many it trained
    on; `dropped traces` says why each of the others gave none, one line per reason.
    """
    from rich.table import Table

    from harness.eval.metrics import PASS_AT_K, extra_keys

    table = Table(title="harness run results")
    table.add_column("method", style="bold")
    benches = list(dict.fromkeys(b for r in records for b in r["benchmarks"]))
    metric_names = list(dict.fromkeys(
        m for r in records for res in r["benchmarks"].values() for m in res.get("metrics", {}) if PASS_AT_K.writes(m)
    ))
    extra = list(dict.fromkeys(
        k for r in records for res in r["benchmarks"].values() for k in extra_keys(res.get("metrics", {}))
    ))
    for b in benches:
        for m in metric_names:
            table.add_column(f"{b}\n{m}", justify="right")
        table.add_column(f"{b}\ntokens", justify="right")
        for key in extra:  # a plugin's metrics, as they reported them
            table.add_column(f"{b}\n{key}", justify="right")
    for column in ("traces", "examples", "dropped traces", "kept prefix", "steps", "trained tokens"):
        table.add_column(column, justify="right")
    for r in records:
        table.add_row(*_result_row(r, benches, metric_names, extra))
    stdout_console().print(table)


def _result_row(r: dict[str, Any], benches: list[str], metric_names: list[str], extra: list[str]) -> list[str]:
    from harness.eval.report import plain

    row = [record_label(r)]
    for b in benches:
        metrics = r["benchmarks"].get(b, {}).get("metrics", {})
        for m in metric_names:
            row.append(_pct(metrics.get(m), metrics.get(f"{m}_ci")))
        tokens = metrics.get("mean_tokens")
        row.append("-" if tokens is None else f"{tokens:.0f}")
        row += [plain(metrics.get(key)) for key in extra]
    stats = r.get("method_stats") or {}
    training = r.get("training") or {}
    ratios = stats.get("kept_prefix_ratios")
    dropped = stats.get("dropped") or {}
    row.append(str(stats.get("traces", (r.get("teacher_data") or {}).get("num_traces", "-"))))
    row.append(str(training.get("examples", stats.get("kept", "-"))))
    row.append("\n".join(f"{reason} {n}" for reason, n in dropped.items() if n) or "-")
    row.append(f"{statistics.fmean(ratios):.2f}" if ratios else "-")
    row.append(str(training.get("steps", "-")))
    row.append(str(training.get("trained_tokens", "-")))
    return row


def record_label(record: dict[str, Any]) -> str:
    """The method name, with the parameters its declared variants differ in (`fixed_trunc:ratio=0.25`)."""
    name = record["method"]
    try:
        names = sorted({k for variant in get_method(name).variants for k in variant})
    except HarnessError:  # a record of a method that is not installed here
        names = []
    params = record.get("method_params") or {}
    shown = ",".join(f"{k}={params[k]}" for k in names if k in params)
    return f"{name}:{shown}" if shown else name


def _pct(value: float | None, ci: list[float] | None) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.1f}"
    if ci:
        text += f" [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]"
    return text


def print_plan(cfg: RunConfig, store: RunStore, runs: list[MethodRun]) -> None:
    """Print every stage key that can be known without running anything, and what is already done.

    Each status is the store's own check: `done`, `damaged (recomputes): why`, `partial
    (resumes)` or `todo`. Nothing is written, not even a lock.
    """
    from rich.table import Table

    rows: list[tuple[str, str, str, str]] = []
    student, student_id = cfg.student.model, None
    if student.startswith("synth:"):
        from harness.synth.world import MODEL_DIR, student_stage

        world = student_stage(cfg.world, store, student.split(":", 1)[1])
        rows.append(("world", student, world.key, world.status()))
        if world.done:
            student_id = model_fingerprint(str(world.path / MODEL_DIR))
    else:
        student_id = model_fingerprint(student)
    teacher = stages.teacher_stage(cfg, store)
    rows.append(("teacher", cfg.teacher.source, teacher.key, teacher.status()))
    for run in runs:
        rows += _method_plan(for_method(cfg, run.name), store, run, teacher.key, student_id)
    table = Table(title=f"dry run: stages under {store.root} (nothing was run)")
    for column in ("stage", "what", "key", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    stdout_console().print(table)


def _method_plan(cfg: RunConfig, store: RunStore, run: MethodRun, teacher_key: str,
                 student_id: str | None) -> list[tuple[str, str, str, str]]:
    """The method, train and eval rows of one method selector."""
    name, spec = run.selector, get_method(run.name)
    if student_id is None:
        return [("method", name, "? (needs the student)", "todo")]
    method = stages.method_stage(cfg, store, spec, run.params, teacher_key, student_id)
    rows = [("method", name, method.key, method.status())]
    model_id: str | None = student_id
    if spec.trains:
        train = stages.train_stage(cfg, store, method.key, student_id, run.name)
        rows.append(("train", name, train.key, train.status()))
        model_id = model_fingerprint(str(train.path / "model")) if train.done else None
    for b in cfg.eval.benchmarks:
        if model_id is None:
            rows.append(("eval", f"{name}/{b}", "? (needs the trained model)", "todo"))
            continue
        stage = stages.eval_stage(cfg, store, model_id, b)
        rows.append(("eval", f"{name}/{b}", stage.key, stage.status()))
    return rows
