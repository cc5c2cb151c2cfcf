"""`harness run`: student -> teacher -> method -> train -> eval -> result, each stage cached.

Every stage is a function from stored artifacts to stored artifacts. Its output folder is
named by the hash of exactly the inputs it depends on (`harness.keys`), so a rerun with
one setting changed recomputes only the stages that setting reaches; the log says
"reused <stage> <key>" or "computing <stage> <key>" for each. Interrupted stages resume
from their `.partial` folder (generation caches, trainer checkpoints).

With several methods (`--method all`) they share the student and the teacher traces, and
`--json PATH` receives a JSON list with one result record per method (a single method
writes one record object).
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import harness
from harness import keys
from harness.config import RunConfig
from harness.console import console, log, stdout_console
from harness.errors import HarnessError
from harness.fingerprint import model_fingerprint
from harness.jsonl import read_json, read_jsonl, write_json, write_jsonl
from harness.manifest import build_manifest, now
from harness.method_selection import MethodRun, resolve_methods
from harness.methods import MethodContext, MethodSpec, Trace, get_method
from harness.store import RunStore, Stage

SCHEMA = 1


def _for_method(cfg: RunConfig, name: str) -> RunConfig:
    return replace(cfg, method=replace(cfg.method, name=name))


# --------------------------------------------------------------------------- stages

def _announce(stage: Stage, force: bool) -> bool:
    """Log reuse or computation of `stage`; True when it must be computed.

    Called holding `stage.lock()`, so a stage another process is computing is waited for
    and then reused. A damaged or edited published folder is named in one line and recomputed.
    """
    if not force and stage.done:
        log(f"reused {stage.kind} {stage.key}")
        return False
    stage.report_damage()
    log(f"computing {stage.kind} {stage.key}")
    return True


def stage_student(cfg: RunConfig, store: RunStore, force: bool = False) -> str:
    """The student's local folder (synth:* students are built or reused in the world stage)."""
    from harness.synth.world import resolve_student, student_stage

    if not cfg.student.model.startswith("synth:"):
        return resolve_student(cfg.student.model, cfg.world, store, force=force)
    stage = student_stage(cfg.world, store, cfg.student.model.split(":", 1)[1])
    with stage.lock():
        _announce(stage, force)
        return resolve_student(cfg.student.model, cfg.world, store, force=force)


def stage_teacher(cfg: RunConfig, store: RunStore, force: bool = False) -> Path:
    """The completed teacher stage folder (traces.jsonl, summary.json)."""
    stage = teacher_stage(cfg, store)
    with stage.lock():
        _announce(stage, force)
        return Path(_teacher_api("make_traces")(cfg, store, force))


def teacher_stage(cfg: RunConfig, store: RunStore) -> Stage:
    """The teacher stage object (its key), without building anything."""
    return _teacher_api("teacher_stage")(cfg, store)


def _teacher_api(name: str):
    try:  # the contract's home is `harness.teacher`; the implementation lives in its `stage` module
        import harness.teacher as teacher

        return getattr(teacher, name)
    except (ImportError, AttributeError):
        import harness.teacher.stage as stage

        return getattr(stage, name)


def load_traces(teacher_dir: Path) -> list[Trace]:
    names = {f.name for f in dataclasses.fields(Trace)}
    return [Trace(**{k: v for k, v in rec.items() if k in names}) for rec in read_jsonl(teacher_dir / "traces.jsonl")]


def stage_method(cfg: RunConfig, store: RunStore, spec: MethodSpec, params: Any, traces: list[Trace],
                 teacher_key: str, student: str, student_id: str, engines: "EngineCache", force: bool = False) -> Path:
    """Run the method on the traces: `sft.jsonl` (SFTExample records) and `stats.json`."""
    stage = store.stage("method", keys.method_inputs(cfg, teacher_key, student_id, asdict(params)), label=spec.name)
    with stage.lock():
        if not _announce(stage, force):
            return stage.path
        return _compute_method(cfg, store, stage, spec, params, traces, student, engines, force)


def _compute_method(cfg: RunConfig, store: RunStore, stage: Stage, spec: MethodSpec, params: Any,
                    traces: list[Trace], student: str, engines: "EngineCache", force: bool) -> Path:
    started = now()
    work = stage.begin(force)
    ctx = MethodContext(
        student=student,
        engine_factory=lambda: engines.get(student),
        sampling=replace(cfg.method.sampling, seed=cfg.seed),
        seed=cfg.seed,
        work_dir=work,
        instruction=cfg.eval.instruction,
        enable_thinking=cfg.student.enable_thinking,
        max_length=cfg.train.max_length,
        grader_timeout=cfg.eval.grader_timeout,
        grader_workers=cfg.eval.grader_workers,
        store=store,
    )
    try:
        result = spec.fn(traces, params, ctx)
    finally:
        ctx.close()
    if spec.trains and not result.examples:
        raise HarnessError(f"method {spec.name!r} produced no training examples from {len(traces)} teacher traces "
                           f"(stats: {_short(result.stats)})")
    write_jsonl(work / "sft.jsonl", [e.to_record() for e in result.examples])
    write_json(work / "stats.json", result.stats)
    return stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, method=spec.name,
                                       examples=len(result.examples)))


def stage_train(cfg: RunConfig, store: RunStore, method_dir: Path, student: str, student_id: str,
                label: str, force: bool = False) -> tuple[str, dict[str, Any]]:
    """Fine-tune the student on the method's SFT data; returns (model folder, training report)."""
    stage = store.stage("train", keys.train_inputs(cfg, _key(method_dir), student_id), label=label)
    with stage.lock():
        if _announce(stage, force):
            from harness.trainer import train_sft

            started = now()
            work = stage.begin(force)
            report = train_sft(student, method_dir / "sft.jsonl", work / "model", cfg.train, seed=cfg.seed)
            write_json(work / "train_report.json", report)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, report=report))
        return str(stage.path / "model"), read_json(stage.path / "train_report.json")


def check_benchmarks(cfg: RunConfig) -> None:
    """Load every benchmark up front: missing data fails in one line before hours of training."""
    from harness.eval.benchmarks import get_benchmark

    for benchmark in cfg.eval.benchmarks:
        if not get_benchmark(benchmark).load(cfg.eval.data_dir):
            raise HarnessError(f"benchmark {benchmark!r} has no problems")


def eval_stage(cfg: RunConfig, store: RunStore, model_id: str, benchmark: str) -> Stage:
    from harness.eval.benchmarks import benchmark_checksum, get_benchmark

    checksum = benchmark_checksum(get_benchmark(benchmark).load(cfg.eval.data_dir))
    return store.stage("eval", keys.eval_inputs(cfg, model_id, benchmark, checksum), label=benchmark)


def stage_eval(cfg: RunConfig, store: RunStore, model: str, model_id: str, benchmark: str,
               engines: "EngineCache", force: bool = False) -> tuple[dict[str, Any], str]:
    """Evaluate one model on one benchmark; returns the runner's per-benchmark result and the stage key."""
    stage = eval_stage(cfg, store, model_id, benchmark)
    with stage.lock():
        if _announce(stage, force):
            from harness.eval.runner import evaluate_benchmark

            started = now()
            work = stage.begin(force)
            eval_cfg = replace(cfg.eval, sampling=replace(cfg.eval.sampling, seed=cfg.seed))
            result = evaluate_benchmark(engines.get(model), benchmark, eval_cfg, work, seed=cfg.seed,
                                        enable_thinking=cfg.student.enable_thinking)
            write_json(work / "result.json", result)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, benchmark=benchmark))
        return read_json(stage.path / "result.json"), stage.key


def stage_result(cfg: RunConfig, store: RunStore, record: dict[str, Any], upstream: dict[str, Any]) -> Path:
    """Store the result record under "result", keyed by every upstream stage it summarises; returns its path."""
    stage = store.stage("result", {"upstream": upstream}, label=record["method"])
    with stage.lock():
        if _announce(stage, False):
            work = stage.begin()
            write_json(work / "result.json", record)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, method=record["method"]))
    return stage.path / "result.json"


class EngineCache:
    """Loaded engines by model folder, each released as soon as no later stage needs it.

    A GPU holds one large model at a time: the student's engine is released before training
    starts, and each evaluated model's engine after its last benchmark, so an engine set to
    take most of the GPU's memory (vLLM) never competes with the trainer or the next model.
    """

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.engines: dict[str, Any] = {}

    def get(self, model: str) -> Any:
        if model not in self.engines:
            from harness.engines import load_engine

            self.engines[model] = load_engine(model, self.cfg.engine)
        return self.engines[model]

    def release(self, model: str | None = None) -> None:
        """Close and forget `model`'s engine (every engine when None) and return its memory."""
        from harness.engines.base import free_memory

        names = list(self.engines) if model is None else [model] if model in self.engines else []
        for name in names:
            engine = self.engines.pop(name)
            close = getattr(engine, "close", None)
            if close is not None:
                close()
            del engine
        if names:
            free_memory()


def _key(stage_dir: Path) -> str:
    return read_json(stage_dir / "manifest.json")["key"]


def _short(stats: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in stats.items() if not isinstance(v, list))[:300]


# --------------------------------------------------------------------------- one method, all methods

def run_method(cfg: RunConfig, store: RunStore, name: str, params: Any, traces: list[Trace], teacher_dir: Path,
               student: str, student_id: str, engines: EngineCache, force: bool) -> tuple[dict[str, Any], Path]:
    """One method from its stage to its stored result record; returns the record and its path."""
    spec = get_method(name)
    cfg = _for_method(cfg, name)
    teacher_key = _key(teacher_dir)
    method_dir = stage_method(cfg, store, spec, params, traces, teacher_key, student, student_id, engines, force)
    upstream = {"method": _key(method_dir)}
    if spec.trains:
        engines.release()  # the trainer gets the whole device
        model, training = stage_train(cfg, store, method_dir, student, student_id, name, force)
        model_id = model_fingerprint(model)
        upstream["train"] = _key(Path(model).parent)
    else:
        model, training, model_id = student, None, student_id
    evaluated = {b: stage_eval(cfg, store, model, model_id, b, engines, force) for b in cfg.eval.benchmarks}
    if spec.trains:
        engines.release(model)  # a trained model is evaluated once; the student's engine may serve the next method
    benchmarks = {b: result for b, (result, _) in evaluated.items()}
    upstream["eval"] = {b: key for b, (_, key) in evaluated.items()}
    record = {
        "schema": SCHEMA,
        "harness_version": harness.__version__,
        "method": name,
        "method_params": asdict(params),
        "seed": cfg.seed,
        "student": cfg.student.model,
        "teacher_data": {"source": cfg.teacher.source, "key": teacher_key, "num_traces": len(traces)},
        "benchmarks": benchmarks,
        "method_stats": read_json(method_dir / "stats.json"),
        "training": training,
        "manifest": build_manifest(cfg, seeds={"seed": cfg.seed}, keys=upstream, student_id=student_id),
    }
    path = stage_result(cfg, store, record, upstream)
    return read_json(path), path


def run_pipeline(cfg: RunConfig, methods: list[str], json_path: str | None = None, force: bool = False,
                 dry_run: bool = False) -> int:
    """Run every method selector in `methods` on the same student and teacher traces; print and save results."""
    if not methods:
        raise HarnessError("no method to run")
    store = RunStore()
    runs = resolve_methods(cfg, methods)
    if dry_run:
        print_plan(cfg, store, runs)
        return 0
    check_benchmarks(cfg)
    student = stage_student(cfg, store, force)
    student_id = model_fingerprint(student)
    teacher_dir = stage_teacher(cfg, store, force)
    traces = load_traces(teacher_dir)
    if not traces:
        raise HarnessError(f"the teacher stage produced no traces ({teacher_dir}); nothing to distil")
    engines = EngineCache(cfg)
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
    if records:
        print_results(records)
    if json_path:
        write_json(Path(json_path), records[0] if len(runs) == 1 else records)
        log(f"wrote {json_path}")
    out = stdout_console()
    for selector, path in paths:  # the run's last lines: where each result record is stored
        out.print(f"result record{'' if len(runs) == 1 else ' of ' + selector}: {path}", markup=False, highlight=False)
    if failures:
        raise HarnessError(f"{len(failures)} of {len(runs)} methods failed: " + "; ".join(failures))
    return 0


# --------------------------------------------------------------------------- output

def print_results(records: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from harness.eval.metrics import PASS_AT_K, extra_keys
    from harness.eval.report import plain

    table = Table(title="harness run results")
    table.add_column("method", style="bold")
    benches = list(dict.fromkeys(b for r in records for b in r["benchmarks"]))
    metric_names = list(dict.fromkeys(
        m for r in records for res in r["benchmarks"].values() for m in res.get("metrics", {}) if PASS_AT_K.writes(m)
    ))
    extra = list(dict.fromkeys(k for r in records for res in r["benchmarks"].values() for k in extra_keys(res.get("metrics", {}))))
    for b in benches:
        for m in metric_names:
            table.add_column(f"{b}\n{m}", justify="right")
        table.add_column(f"{b}\ntokens", justify="right")
        for key in extra:  # a plugin's metrics, as they reported them
            table.add_column(f"{b}\n{key}", justify="right")
    for column in ("examples", "dropped traces", "kept prefix", "steps", "trained tokens"):
        table.add_column(column, justify="right")
    for r in records:
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
        row.append(str(training.get("examples", stats.get("kept", "-"))))
        row.append("\n".join(f"{reason} {n}" for reason, n in dropped.items() if n) or "-")
        row.append(f"{statistics.fmean(ratios):.2f}" if ratios else "-")
        row.append(str(training.get("steps", "-")))
        row.append(str(training.get("trained_tokens", "-")))
        table.add_row(*row)
    stdout_console().print(table)


def record_label(record: dict[str, Any]) -> str:
    """The method name, with the parameters its declared variants differ in (`fixed_trunc:ratio=0.25`)."""
    name = record["method"]
    try:
        keys = sorted({k for variant in get_method(name).variants for k in variant})
    except HarnessError:  # a record of a method that is not installed here
        keys = []
    params = record.get("method_params") or {}
    shown = ",".join(f"{k}={params[k]}" for k in keys if k in params)
    return f"{name}:{shown}" if shown else name


def _pct(value: float | None, ci: list[float] | None) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.1f}"
    if ci:
        text += f" [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]"
    return text


# --------------------------------------------------------------------------- --dry-run

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
    teacher = teacher_stage(cfg, store)
    teacher_key = teacher.key
    rows.append(("teacher", cfg.teacher.source, teacher_key, teacher.status()))
    for run in runs:
        name = run.selector
        spec, mcfg = get_method(run.name), _for_method(cfg, run.name)
        if student_id is None:
            rows.append(("method", name, "? (needs the student)", "todo"))
            continue
        method = store.stage("method", keys.method_inputs(mcfg, teacher_key, student_id, asdict(run.params)),
                             label=spec.name)
        rows.append(("method", name, method.key, method.status()))
        model_id: str | None = student_id
        if spec.trains:
            train = store.stage("train", keys.train_inputs(mcfg, method.key, student_id), label=run.name)
            rows.append(("train", name, train.key, train.status()))
            model_id = model_fingerprint(str(train.path / "model")) if train.done else None
        for b in cfg.eval.benchmarks:
            if model_id is None:
                rows.append(("eval", f"{name}/{b}", "? (needs the trained model)", "todo"))
                continue
            stage = eval_stage(mcfg, store, model_id, b)
            rows.append(("eval", f"{name}/{b}", stage.key, stage.status()))
    table = Table(title=f"dry run: stages under {store.root} (nothing was run)")
    for column in ("stage", "what", "key", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    stdout_console().print(table)
