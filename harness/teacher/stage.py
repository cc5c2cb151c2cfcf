"""The teacher store stage: traces.jsonl + summary.json, keyed by `harness.keys.teacher_inputs`."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import HarnessError
from harness.flag_names import spell
from harness.jsonl import read_jsonl, write_json, write_jsonl
from harness.store import RunStore

TRACES = "traces.jsonl"
SUMMARY = "summary.json"


def teacher_stage(cfg: RunConfig, store: RunStore):
    """The stage object: the teacher model's fingerprint is upstream for source=model."""
    from harness.fingerprint import file_digest, model_fingerprint
    from harness.keys import teacher_inputs

    local = {"problems": cfg.teacher.problems}
    if cfg.teacher.source == "s1k":
        local["dataset"] = cfg.teacher.dataset
    digests = {name: file_digest(value) for name, value in local.items() if value and Path(value).expanduser().is_file()}
    upstream = None
    if cfg.teacher.source == "model":
        if not cfg.teacher.model:
            raise HarnessError(f"teacher.source=model needs a teacher model: give {spell('teacher.model', 'PATH')}")
        upstream = model_fingerprint(cfg.teacher.model)
    benchmarks = None
    if cfg.teacher.decontaminate:
        from harness.teacher.contamination import benchmark_digest

        benchmarks = benchmark_digest(cfg.eval.data_dir)
    return store.stage("teacher", teacher_inputs(cfg, upstream, digests, benchmarks), label=cfg.teacher.source)


def make_traces(cfg: RunConfig, store: RunStore, force: bool = False, engine: Any = None) -> Path:
    """Build (or reuse) the teacher stage and return its completed folder."""
    from harness.teacher.sources import get_source

    source = get_source(cfg.teacher.source)
    stage = teacher_stage(cfg, store)
    with stage.lock():  # another process building the same traces is waited for, then reused
        if stage.done and not force:
            return stage.path
        return _build(cfg, store, stage, source, force, engine)


def _build(cfg: RunConfig, store: RunStore, stage, source, force: bool, engine: Any) -> Path:
    from harness.manifest import build_manifest, now
    from harness.teacher.contamination import check_contamination

    started = now()
    work = stage.begin(force)
    result = source(cfg, work, engine) if engine is not None else source(cfg, work)
    records, dropped = result.records, list(result.dropped)

    contamination = check_contamination(records, cfg.teacher.ngram, cfg.eval.data_dir)
    if cfg.teacher.decontaminate and contamination["flagged"]:
        bad = {f["id"]: f for f in contamination["flagged"]}
        records = [r for r in records if r["id"] not in bad]
        dropped += [{"id": i, "reason": f"contaminated: {f['benchmark']}/{f['benchmark_id']} ({f['match']})"} for i, f in bad.items()]
    contamination["decontaminated"] = cfg.teacher.decontaminate
    if not records:
        reasons = sorted({d["reason"] for d in dropped})
        raise HarnessError(f"no usable teacher traces from source {cfg.teacher.source!r}"
                           + (f" (dropped: {'; '.join(reasons[:3])})" if reasons else ""))

    summary = summarize(records, dropped, cfg, contamination, result.notes, store)
    write_jsonl(work / TRACES, records)
    write_json(work / SUMMARY, summary)
    manifest = build_manifest({"teacher": asdict(cfg.teacher), "world": asdict(cfg.world)}, seeds={"world": cfg.world.seed},
                              started=started, summary={k: summary[k] for k in ("num_traces", "num_dropped")})
    return stage.commit(manifest)


def load_traces(path: str | Path) -> list:
    """Traces of a teacher stage folder (or a traces.jsonl file) as `harness.methods.Trace`."""
    from harness.methods import Trace

    path = Path(path)
    file = path / TRACES if path.is_dir() else path
    rows = read_jsonl(file)
    if not rows:
        raise HarnessError(f"{file}: no teacher traces")
    fields = Trace.__dataclass_fields__
    try:
        return [Trace(**{k: v for k, v in row.items() if k in fields}) for row in rows]
    except TypeError as exc:
        raise HarnessError(f"{file}: not a traces file ({exc})") from None


def summarize(records: list[dict], dropped: list[dict], cfg: RunConfig, contamination: dict, notes: dict,
              store: RunStore | None = None) -> dict[str, Any]:
    count_tokens, unit = token_counter(_student_folder(cfg, store))
    reasons: dict[str, int] = {}
    for d in dropped:
        reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
    return {
        "source": cfg.teacher.source,
        "teacher": sorted({r["teacher"] for r in records}),
        "num_traces": len(records),
        "num_dropped": len(dropped),
        "dropped_reasons": reasons,
        "dropped": dropped,
        "token_unit": unit,
        "lengths": {
            field: {
                "sentences": _stats([len(_sentences(r[field])) for r in records]),
                "tokens": _stats([count_tokens(r[field]) for r in records]),
            }
            for field in ("long_cot", "short_cot")
        },
        "contamination": contamination,
        "notes": notes,
    }


def _stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0, "median": 0, "p90": 0, "max": 0, "total": 0}
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(values), 1),
        "median": statistics.median(values),
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "max": ordered[-1],
        "total": sum(values),
    }


def _sentences(text: str) -> list[str]:
    try:
        from harness.toolkit.splitter import split_sentences
    except ImportError:  # the splitter ships with the palign package; a plain rule otherwise
        import re

        return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    return [s for s in split_sentences(text) if s.strip()]


def _student_folder(cfg: RunConfig, store: RunStore | None) -> str:
    """The student's local folder when it exists already (a built-in student is never built here)."""
    model = cfg.student.model
    if model.startswith("synth:") and store is not None:
        try:
            from harness.synth.world import MODEL_DIR, student_stage

            stage = student_stage(cfg.world, store, model.split(":", 1)[1])
            if stage.done:
                return str(stage.path / MODEL_DIR)
        except Exception:  # token counts are a convenience; never fail the stage over them
            pass
    return model


def token_counter(student: str):
    """Count with the student's tokenizer when it is a local folder, else whitespace words."""
    from harness.fingerprint import looks_like_path

    if looks_like_path(student) and Path(student).expanduser().is_dir():
        try:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(str(Path(student).expanduser()))
            return (lambda text: len(tok(text, add_special_tokens=False)["input_ids"])), f"student tokens ({Path(student).name})"
        except Exception:  # an unreadable tokenizer is not worth failing the stage over
            pass
    return (lambda text: len(text.split())), "whitespace words"
