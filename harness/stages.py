"""The stages of a run, each a function from stored artifacts to stored artifacts.

Every stage's folder is named by the hash of exactly the settings it runs with
(`harness.keys`); the log says "reused <stage> <key>" or "computing <stage> <key>" for
each. A stage is checked, computed and published under its lock, so a second process
that needs the same stage waits and then reuses it. `harness run` chains them
(`harness.pipeline`); `harness eval` runs the eval stage alone, so the two commands share
stored evaluations.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from harness import keys
from harness.config import RunConfig
from harness.console import log
from harness.engine_cache import EngineCache
from harness.errors import HarnessError
from harness.jsonl import read_json, read_jsonl, write_json, write_jsonl
from harness.manifest import build_manifest, now
from harness.method_drops import no_examples_message
from harness.methods import METHODS, MethodContext, MethodSpec, Trace, check_result, recorded_params
from harness.plugins import code_identity
from harness.store import RunStore, Stage


def announce(stage: Stage, force: bool) -> bool:
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


def stage_key(stage_dir: Path) -> str:
    """The key a published stage folder was stored under."""
    return read_json(stage_dir / "manifest.json")["key"]


# --------------------------------------------------------------------------- student and teacher

def stage_student(cfg: RunConfig, store: RunStore, force: bool = False) -> str:
    """The student's local folder (synth:* students are built or reused in the world stage)."""
    from harness.synth.world import resolve_student, student_stage

    if not cfg.student.model.startswith("synth:"):
        return resolve_student(cfg.student.model, cfg.world, store, force=force)
    stage = student_stage(cfg.world, store, cfg.student.model.split(":", 1)[1])
    with stage.lock():
        announce(stage, force)
        return resolve_student(cfg.student.model, cfg.world, store, force=force)


def stage_teacher(cfg: RunConfig, store: RunStore, force: bool = False) -> Path:
    """The completed teacher stage folder (traces.jsonl, summary.json)."""
    from harness.teacher.stage import make_traces

    stage = teacher_stage(cfg, store)
    with stage.lock():
        announce(stage, force)
        return Path(make_traces(cfg, store, force))


def teacher_stage(cfg: RunConfig, store: RunStore) -> Stage:
    """The teacher stage object (its key), without building anything."""
    from harness.teacher.stage import teacher_stage as build

    return build(cfg, store)


def load_traces(teacher_dir: Path) -> list[Trace]:
    names = {f.name for f in dataclasses.fields(Trace)}
    return [Trace(**{k: v for k, v in rec.items() if k in names}) for rec in read_jsonl(teacher_dir / "traces.jsonl")]


# --------------------------------------------------------------------------- method and train

def method_stage(cfg: RunConfig, store: RunStore, spec: MethodSpec, params: Any, teacher_key: str,
                 student_id: str) -> Stage:
    """`cfg.method.name` is the registered name (`method_runs.for_method`): a plugin's code is in the key."""
    plugin = code_identity(METHODS.entry_point(cfg.method.name), spec.fn)
    return store.stage("method", keys.method_inputs(cfg, teacher_key, student_id, recorded_params(params), plugin),
                       label=spec.name)


def stage_method(cfg: RunConfig, store: RunStore, spec: MethodSpec, params: Any, traces: list[Trace],
                 teacher_key: str, student: str, student_id: str, engines: EngineCache, force: bool = False) -> Path:
    """Run the method on the traces: `sft.jsonl` (SFTExample records) and `stats.json`."""
    stage = method_stage(cfg, store, spec, params, teacher_key, student_id)
    with stage.lock():
        if not announce(stage, force):
            return stage.path
        return _compute_method(cfg, store, stage, spec, params, traces, student, engines, force)


def _compute_method(cfg: RunConfig, store: RunStore, stage: Stage, spec: MethodSpec, params: Any,
                    traces: list[Trace], student: str, engines: EngineCache, force: bool) -> Path:
    started = now()
    work = stage.begin(force)
    ctx = MethodContext(
        student=student,
        engine_factory=lambda: engines.get(student),
        sampling=keys.method_sampling(cfg),
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
    check_result(spec.name, result)  # before anything is published: a fixed method's rerun computes afresh
    if spec.trains and not result.examples:
        raise HarnessError(no_examples_message(spec.name, len(traces), result.stats))
    write_jsonl(work / "sft.jsonl", [e.to_record() for e in result.examples])
    write_json(work / "stats.json", result.stats)
    return stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, method=spec.name,
                                       examples=len(result.examples)))


def train_stage(cfg: RunConfig, store: RunStore, method_key: str, student_id: str, label: str) -> Stage:
    return store.stage("train", keys.train_inputs(cfg, method_key, student_id), label=label)


def stage_train(cfg: RunConfig, store: RunStore, method_dir: Path, student: str, student_id: str,
                label: str, force: bool = False) -> tuple[str, dict[str, Any]]:
    """Fine-tune the student on the method's SFT data; returns (model folder, training report)."""
    stage = train_stage(cfg, store, stage_key(method_dir), student_id, label)
    with stage.lock():
        if announce(stage, force):
            from harness.trainer import train_sft

            started = now()
            work = stage.begin(force)
            report = train_sft(student, method_dir / "sft.jsonl", work / "model", cfg.train, seed=cfg.seed)
            write_json(work / "train_report.json", report)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, report=report))
        return str(stage.path / "model"), read_json(stage.path / "train_report.json")


# --------------------------------------------------------------------------- eval and result

def eval_stage(cfg: RunConfig, store: RunStore, model_id: str, benchmark: str) -> Stage:
    from harness.eval.benchmarks import benchmark_checksum, get_benchmark

    checksum = benchmark_checksum(get_benchmark(benchmark).load(cfg.eval.data_dir))
    return store.stage("eval", keys.eval_inputs(cfg, model_id, benchmark, checksum), label=benchmark)


def stage_eval(cfg: RunConfig, store: RunStore, model: str, model_id: str, benchmark: str,
               engines: EngineCache, force: bool = False) -> tuple[dict[str, Any], Stage]:
    """Evaluate one model on one benchmark; returns the runner's per-benchmark result and its stage.

    The engine is loaded only when the result is not stored already. A stored result is
    rescored from its samples by the metrics registered now, so a metric installed since the
    stage ran (a plugin's) reports too, for `harness run` and `harness eval` alike.
    """
    from harness.eval.runner import evaluate_benchmark, rescore

    settings = keys.eval_settings(cfg)
    stage = eval_stage(cfg, store, model_id, benchmark)
    with stage.lock():
        if not announce(stage, force):
            result = rescore(read_json(stage.path / "result.json"), settings, cfg.seed)
        else:
            started = now()
            work = stage.begin(force)
            result = evaluate_benchmark(engines.get(model), benchmark, settings, work, seed=cfg.seed,
                                        enable_thinking=cfg.student.enable_thinking)
            write_json(work / "result.json", result)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, model=model_id,
                                        benchmark=benchmark))
            result = read_json(stage.path / "result.json")
        if settings.budgets:  # under the eval stage's lock: its generations cannot change meanwhile
            result["budgets"] = stage_budgets(cfg, store, stage, result, model, force)
        return result, stage


def stage_budgets(cfg: RunConfig, store: RunStore, evaluated: Stage, result: dict[str, Any], model: str,
                  force: bool = False) -> dict[str, dict[str, Any]]:
    """Budget -> the metrics with every stored generation of `evaluated` cut at that many tokens
    (`harness.eval.budgets`), and the samples it cut.

    Each budget is its own stage, keyed by the eval stage and the budget, holding the cut samples
    graded again; the metrics are computed from them and the evaluation's samples when read.
    """
    from harness.config_sections import check_budgets
    from harness.eval.budgets import CUT_SAMPLES, budget_result, cut_samples, load_tokenizer
    from harness.eval.runner import load_problems

    settings = keys.eval_settings(cfg)
    benchmark = result["benchmark"]
    tokenizer = functools.cache(lambda: load_tokenizer(model))
    out = {}
    for budget in check_budgets(settings.budgets, settings.sampling.max_new_tokens):
        stage = store.stage("budget", {"eval": evaluated.key, "budget": budget}, label=benchmark)
        with stage.lock():
            if announce(stage, force):
                work = stage.begin(force)
                problems = load_problems(benchmark, settings)[0]
                write_json(work / CUT_SAMPLES, cut_samples(result, evaluated.path, problems, settings, budget,
                                                           tokenizer, work))
                stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, benchmark=benchmark, budget=budget))
            out[str(budget)] = budget_result(result, read_json(stage.path / CUT_SAMPLES), settings, cfg.seed)
    return out


def stage_result(cfg: RunConfig, store: RunStore, record: dict[str, Any], upstream: dict[str, Any]) -> Path:
    """Store the result record under "result", keyed by every upstream stage it summarises; returns its path."""
    stage = store.stage("result", {"upstream": upstream}, label=record["method"])
    with stage.lock():
        if announce(stage, False):
            work = stage.begin()
            write_json(work / "result.json", record)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, method=record["method"]))
    return stage.path / "result.json"
