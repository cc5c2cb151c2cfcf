"""Teacher stage: s1K-1.1 and synthetic sources, the store stage, summaries, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import resolve_run_config
from harness.errors import HarnessError
from harness.jsonl import read_jsonl
from harness.store import RunStore
from harness.teacher import load_traces, make_traces
from harness.teacher.s1k import extract_answer

S1K = Path(__file__).parent / "fixtures" / "s1k" / "s1k-1.1-sample.jsonl"


def cfg_for(**teacher):
    overrides = [{"teacher": teacher}, {"eval": {"data_dir": None}}]
    return resolve_run_config(overrides=overrides)


@pytest.mark.parametrize("solution, answer", [
    ("so $x = \\boxed{\\frac{14}{3}}$.", "\\frac{14}{3}"),
    ("first \\boxed{1} then \\boxed{\\sqrt{2}+1}", "\\sqrt{2}+1"),
    ("128", "128"),
    ("Working...\nThe final answer is 13.", "13"),
    ("#### 42", "42"),
    ("Suppose p/q in lowest terms; both are even, a contradiction. Hence it is irrational.", None),
    ("", None),
])
def test_extract_answer(solution, answer):
    assert extract_answer(solution) == answer


def test_s1k_fixture_becomes_traces_and_reports_uncheckable(tmp_path):
    store = RunStore(tmp_path / "store")
    path = make_traces(cfg_for(source="s1k", dataset=str(S1K)), store)
    traces = load_traces(path)
    rows = read_jsonl(S1K)
    assert len(traces) == len(rows) - 1
    by_problem = {t.problem: t for t in traces}
    for row in rows:
        if row["question"].startswith("Prove"):
            assert row["question"] not in by_problem
            continue
        t = by_problem[row["question"]]
        assert t.long_cot == row["deepseek_thinking_trajectory"] and t.short_cot == row["deepseek_attempt"]
        assert t.source == "s1k" and t.teacher == "deepseek-r1"
    assert {t.answer for t in traces} == {"\\frac{14}{3}", "128", "13", "1+\\sqrt{2}"}
    summary = json.loads((path / "summary.json").read_text())
    assert summary["num_traces"] == 4 and summary["dropped"] == [{"id": "s1k-0003", "reason": "no checkable answer in solution"}]
    assert summary["lengths"]["long_cot"]["tokens"]["max"] >= summary["lengths"]["short_cot"]["tokens"]["max"] > 0
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["stage"] == "teacher" and manifest["summary"]["num_traces"] == 4
    # the same settings reuse the stage; keep_uncheckable changes the key and keeps the proof
    assert make_traces(cfg_for(source="s1k", dataset=str(S1K)), store) == path
    kept = load_traces(make_traces(cfg_for(source="s1k", dataset=str(S1K), keep_uncheckable=True), store))
    assert len(kept) == len(rows) and any(t.answer == "" for t in kept)


def test_s1k_parquet_and_limit(tmp_path):
    import datasets

    parquet = tmp_path / "s1k.parquet"
    datasets.Dataset.from_list(read_jsonl(S1K)).to_parquet(str(parquet))
    traces = load_traces(make_traces(cfg_for(source="s1k", dataset=str(parquet), limit=2), RunStore(tmp_path / "s")))
    assert [t.id for t in traces] == ["s1k-0000", "s1k-0001"]


def test_s1k_offline_without_file_is_one_line_error(tmp_path):
    with pytest.raises(HarnessError, match="--dataset PATH") as err:
        make_traces(cfg_for(source="s1k"), RunStore(tmp_path))
    assert "\n" not in str(err.value)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "solution": "1"}) + "\n")
    with pytest.raises(HarnessError, match="missing s1K-1.1 column"):
        make_traces(cfg_for(source="s1k", dataset=str(bad)), RunStore(tmp_path))
    with pytest.raises(HarnessError, match="not found"):
        make_traces(cfg_for(source="s1k", dataset=str(tmp_path / "nope.parquet")), RunStore(tmp_path))


def test_synth_source_writes_traces(tmp_path):
    path = make_traces(cfg_for(source="synth", num_problems=20), RunStore(tmp_path))
    traces = load_traces(path)
    assert len(traces) == 20 and len({t.id for t in traces}) == 20
    assert all(t.long_cot and t.short_cot and t.answer and t.source == "synth" for t in traces)
    summary = json.loads((path / "summary.json").read_text())
    assert summary["lengths"]["long_cot"]["sentences"]["mean"] > summary["lengths"]["short_cot"]["sentences"]["mean"]


def test_load_traces_errors(tmp_path):
    empty = tmp_path / "traces.jsonl"
    empty.write_text("")
    with pytest.raises(HarnessError, match="no teacher traces"):
        load_traces(tmp_path)
    with pytest.raises(HarnessError, match="not found"):
        load_traces(tmp_path / "missing.jsonl")


def test_unknown_source_is_user_error(tmp_path):
    with pytest.raises(HarnessError, match="unknown teacher source"):
        make_traces(cfg_for(source="nope"), RunStore(tmp_path))


def test_teacher_cli_prints_summary_and_writes_json(tmp_path, capsys, monkeypatch):
    from harness.cli import main

    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))  # restored after the test (the CLI sets it)
    out = tmp_path / "summary.json"
    rc = main(["teacher", "--source", "s1k", "--dataset", str(S1K), "--store", str(tmp_path / "store"), "--json", str(out)])
    assert rc == 0
    summary = json.loads(out.read_text())
    assert summary["num_traces"] == 4 and summary["stage"].startswith("s1k-")
    err = capsys.readouterr().err
    assert "long_cot sentences" in err and "no checkable answer in solution" in err
    assert main(["teacher", "--source", "model", "--store", str(tmp_path / "store")]) == 2
    assert "needs a teacher model" in capsys.readouterr().err
