"""`harness run`: student -> teacher -> method -> train -> eval -> result, each stage cached.

Every stage (`harness.stages`) is a function from stored artifacts to stored artifacts. Its
output folder is named by the hash of exactly the settings it runs with (`harness.keys`),
so a rerun with one setting changed recomputes only the stages that setting reaches; the
log says "reused <stage> <key>" or "computing <stage> <key>" for each. Interrupted stages
resume from their `.partial` folder (generation caches, trainer checkpoints). Before any
stage, `harness.preflight` checks the device, the engine, the student and the data; a
failure stops the run in one line (`--dry-run` lists every check and exits 2 on a failure).

With several methods (`--method all`) they share the student and the teacher traces, and
`--json PATH` receives a JSON list with one result record per method (a single method
writes one record object). Engines live only as long as a stage needs them: the student's
is released before training, each trained model's after its last benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import harness
from harness import preflight, stages
from harness.config import RunConfig
from harness.console import console, log, stdout_console
from harness.engine_cache import EngineCache
from harness.errors import HarnessError
from harness.fingerprint import model_fingerprint
from harness.jsonl import read_json, write_json
from harness.manifest import build_manifest
from harness.method_runs import MethodRun, all_selectors, for_method, method_params, parse_selector, resolve_methods
from harness.methods import Trace, get_method, recorded_params
from harness.records import vouch
from harness.run_report import print_plan, print_results, record_label
from harness.store import RunStore

SCHEMA = 1

__all__ = ["SCHEMA", "EngineCache", "MethodRun", "all_selectors", "method_params", "parse_selector", "record_label",
           "resolve_methods", "run_method", "run_pipeline"]


def run_method(cfg: RunConfig, store: RunStore, name: str, params: Any, traces: list[Trace], teacher_dir: Path,
               student: str, student_id: str, engines: EngineCache, force: bool) -> tuple[dict[str, Any], Path]:
    """One method from its stage to its stored result record; returns the record and its path."""
    spec = get_method(name)
    cfg = for_method(cfg, name)
    teacher_key = stages.stage_key(teacher_dir)
    method_dir = stages.stage_method(cfg, store, spec, params, traces, teacher_key, student, student_id, engines,
                                     force)
    upstream: dict[str, Any] = {"method": stages.stage_key(method_dir)}
    if spec.trains:
        engines.release()  # the trainer gets the whole device
        model, training = stages.stage_train(cfg, store, method_dir, student, student_id, name, force)
        model_id = model_fingerprint(model)
        upstream["train"] = stages.stage_key(Path(model).parent)
    else:
        model, training, model_id = student, None, student_id
    evaluated = {b: stages.stage_eval(cfg, store, model, model_id, b, engines, force) for b in cfg.eval.benchmarks}
    if spec.trains:
        engines.release(model)  # a trained model is evaluated once; the student's engine may serve the next method
    upstream["eval"] = {b: stage.key for b, (_, stage) in evaluated.items()}
    if cfg.eval.budgets:  # the budget stages follow from the eval stages and the budgets
        upstream["budgets"] = sorted(set(cfg.eval.budgets))
    record = {
        "schema": SCHEMA,
        "harness_version": harness.__version__,
        "method": name,
        "method_params": recorded_params(params),
        "seed": cfg.seed,
        "student": cfg.student.model,
        "teacher_data": {"source": cfg.teacher.source, "key": teacher_key, "num_traces": len(traces)},
        "benchmarks": {b: result for b, (result, _) in evaluated.items()},
        "method_stats": read_json(method_dir / "stats.json"),
        "training": training,
        "manifest": build_manifest(cfg, seeds={"seed": cfg.seed}, keys=upstream, student_id=student_id),
    }
    path = stages.stage_result(cfg, store, record, upstream)
    return read_json(path), path


def run_pipeline(cfg: RunConfig, methods: list[str], json_path: str | None = None, force: bool = False,
                 dry_run: bool = False, exemption: str | None = None) -> int:
    """Run every method selector in `methods` on the same student and teacher traces; print and save results."""
    if not methods:
        raise HarnessError("no method to run")
    store = RunStore()
    runs = resolve_methods(cfg, methods)
    checks = preflight.run_checks(cfg, runs, store)
    if dry_run:
        preflight.print_checks(checks, "dry run: checks before any stage")
        if not any(c.name in ("student", "teacher data") for c in preflight.failures(checks)):
            print_plan(cfg, store, runs)  # it needs the student's fingerprint and the teacher's key
        preflight.require(checks, listed=True)
        return 0
    preflight.require(checks)  # a run that would fail at training must not spend the teacher stage first
    student = stages.stage_student(cfg, store, force)
    student_id = model_fingerprint(student)
    teacher_dir = stages.stage_teacher(cfg, store, force)
    traces = stages.load_traces(teacher_dir)
    if not traces:
        raise HarnessError(f"the teacher stage produced no traces ({teacher_dir}); nothing to distil")
    engines = EngineCache(cfg.engine)
    records, paths, failures = [], [], []
    try:
        for run in runs:
            try:
                record, path = run_method(cfg, store, run.name, run.params, traces, teacher_dir, student, student_id,
                                          engines, force)
                records.append(record)
                paths.append((run.selector, path))
            except HarnessError as exc:
                if len(runs) == 1:
                    raise
                failures.append(f"{run.selector}: {exc}")
                console.print(f"[red]error[/red] {exc}")
    finally:
        engines.release()
    _report(records, paths, runs, json_path, exemption)
    if failures:
        raise HarnessError(f"{len(failures)} of {len(runs)} methods failed: " + "; ".join(failures))
    return 0


def _report(records: list[dict[str, Any]], paths: list[tuple[str, Path]], runs: list[MethodRun],
            json_path: str | None, exemption: str | None) -> None:
    if records:
        print_results(records)
    if json_path:
        # Checked again here: the tree may have changed while the run went on. The stages stay stored.
        vouch(records, json_path, exemption)
        write_json(Path(json_path), records[0] if len(runs) == 1 else records)
        log(f"wrote {json_path}")
    out = stdout_console()
    for selector, path in paths:  # the run's last lines: where each result record is stored
        out.print(f"result record{'' if len(runs) == 1 else ' of ' + selector}: {path}", markup=False, highlight=False)
