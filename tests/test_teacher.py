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
from harness.teacher.s1k import NO_ANSWER, NO_ATTEMPT, NO_QUESTION, NO_TRAJECTORY, extract_answer, extract_answer_form

S1K = Path(__file__).parent / "fixtures" / "s1k" / "s1k-1.1-sample.jsonl"


def cfg_for(**teacher):
    overrides = [{"teacher": teacher}, {"eval": {"data_dir": None}}]
    return resolve_run_config(overrides=overrides)


@pytest.mark.parametrize("solution, answer, form", [
    # a boxed answer: the last one, braces matched, \fbox too
    ("so $x = \\boxed{\\frac{14}{3}}$.", "\\frac{14}{3}", "boxed"),
    ("first \\boxed{1} then \\boxed{\\sqrt{2}+1}", "\\sqrt{2}+1", "boxed"),
    ("hence $\\boxed{\\frac{\\sqrt{3}}{2}}$ as claimed", "\\frac{\\sqrt{3}}{2}", "boxed"),
    ("There are $\\fbox{45}$ handshakes.", "45", "boxed"),
    ("\\boxed{$7$}", "7", "boxed"),
    # a final-answer phrase ending its line, any case, with or without $...$ and a period
    ("Working...\nThe final answer is 13.", "13", "phrase"),
    ("#### 42", "42", "phrase"),
    ("Work.\nFinal Answer: The final answer is $-\\frac{3}{4}$. I hope it is correct.", "-\\frac{3}{4}", "phrase"),
    ("Work.\nFinal Answer: $x = 3$", "x = 3", "phrase"),
    ("Work.\n\n**Answer:** $12.5$.", "12.5", "phrase"),
    ("Work.\n**Final Answer:** 2\\pi", "2\\pi", "phrase"),
    ("Work.\nTHE ANSWER IS (C)", "(C)", "phrase"),
    ("Work.\nHence the correct answer is: (C)", "(C)", "phrase"),
    ("Work.\nSo the answer is $5.", "5", "phrase"),
    ("Work.\n\n**Final Answer**\n\n$\\dfrac{7}{2}$", "\\dfrac{7}{2}", "phrase"),
    ("answer: 2, 3, and 5", "2, 3, and 5", "phrase"),
    ("Putting it together, the answer is\n\n$$x = \\pm 2$$\n", "x = \\pm 2", "phrase"),
    # the whole solution is the answer
    ("128", "128", "bare"),
    ("42", "42", "bare"),
    ("-3/4", "-3/4", "bare"),
    ("0.5", "0.5", "bare"),
    ("$\\frac{1}{2}$", "\\frac{1}{2}", "bare"),
    ("1.2 \\times 10^{-3}", "1.2 \\times 10^{-3}", "bare"),
    ("True", "True", "bare"),
    # no final answer: proofs, prose, an "answer is" that does not end its line
    ("Suppose p/q in lowest terms; both are even, a contradiction. Hence it is irrational.", None, None),
    ("The answer is not a single number, because the work depends on the path.", None, None),
    ("I think the answer is 5, but let me check that again.", None, None),
    ("We claim the answer is 5. Proof: by induction on n.", None, None),
    ("See above.", None, None),
    ("#### Step 2", None, None),
    ("\\boxed{}", None, None),
    ("\\boxed{5", None, None),
    ("", None, None),
])
def test_extract_answer(solution, answer, form):
    assert extract_answer(solution) == answer
    assert extract_answer_form(solution) == (answer, form)


# The fixture's rows (s1K-1.1 schema, written for these tests): the answer each kept row gets,
# the reason each dropped row gets.
FIXTURE_ANSWERS = {
    0: "\\frac{14}{3}", 1: "128", 2: "13", 4: "1+\\sqrt{2}", 5: "\\frac{\\sqrt{3}}{2}", 6: "45", 7: "-\\frac{3}{4}",
    8: "12.5", 9: "(C)", 10: "0.5", 11: "\\frac{1}{2}", 12: "1.2 \\times 10^{-3}",
}
FIXTURE_DROPS = {3: NO_ANSWER, 13: NO_ANSWER, 14: NO_TRAJECTORY, 15: NO_ATTEMPT}


def test_s1k_fixture_extracts_every_answer_form_and_counts_every_drop(tmp_path):
    store = RunStore(tmp_path / "store")
    path = make_traces(cfg_for(source="s1k", dataset=str(S1K)), store)
    traces = load_traces(path)
    rows = read_jsonl(S1K)
    assert len(rows) == len(FIXTURE_ANSWERS) + len(FIXTURE_DROPS)
    assert {int(t.id.split("-")[1]): t.answer for t in traces} == FIXTURE_ANSWERS
    for t in traces:
        row = rows[int(t.id.split("-")[1])]
        assert t.problem == row["question"]
        assert t.long_cot == row["deepseek_thinking_trajectory"] and t.short_cot == row["deepseek_attempt"]
        assert t.source == "s1k" and t.teacher == "deepseek-r1"
    summary = json.loads((path / "summary.json").read_text())
    assert summary["num_traces"] == 12 and summary["num_dropped"] == 4
    assert summary["dropped"] == [{"id": f"s1k-{i:04d}", "reason": r} for i, r in sorted(FIXTURE_DROPS.items())]
    assert summary["dropped_reasons"] == {NO_ANSWER: 2, NO_TRAJECTORY: 1, NO_ATTEMPT: 1}
    assert summary["notes"] == {"rows": 16, "kept": 12, "dropped": 4, "uncheckable_kept": 0,
                                "answer_forms": {"bare": 4, "boxed": 4, "phrase": 4}}
    assert summary["lengths"]["long_cot"]["tokens"]["max"] >= summary["lengths"]["short_cot"]["tokens"]["max"] > 0
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["stage"] == "teacher" and manifest["summary"] == {"num_traces": 12, "num_dropped": 4}
    # the same settings reuse the stage; keep_uncheckable changes the key and keeps the two answerless rows
    assert make_traces(cfg_for(source="s1k", dataset=str(S1K)), store) == path
    kept_path = make_traces(cfg_for(source="s1k", dataset=str(S1K), keep_uncheckable=True), store)
    kept = load_traces(kept_path)
    assert sorted(t.id for t in kept if t.answer == "") == ["s1k-0003", "s1k-0013"] and len(kept) == 14
    kept_summary = json.loads((kept_path / "summary.json").read_text())
    assert kept_summary["dropped_reasons"] == {NO_TRAJECTORY: 1, NO_ATTEMPT: 1}
    assert kept_summary["notes"]["uncheckable_kept"] == 2 and kept_summary["notes"]["kept"] == 14


def test_s1k_every_unusable_row_has_one_reason(tmp_path):
    base = read_jsonl(S1K)[1]  # a usable row: bare answer 128
    rows = [base, {**base, "question": "  "}, {**base, "deepseek_thinking_trajectory": ["", None]},
            {**base, "deepseek_thinking_trajectory": "", "deepseek_attempt": ""}, {**base, "solution": "See the proof above."}]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = make_traces(cfg_for(source="s1k", dataset=str(data)), RunStore(tmp_path / "s"))
    summary = json.loads((path / "summary.json").read_text())
    assert [d["reason"] for d in summary["dropped"]] == [NO_QUESTION, NO_TRAJECTORY, NO_TRAJECTORY, NO_ANSWER]
    assert summary["notes"] == {"rows": 5, "kept": 1, "dropped": 4, "uncheckable_kept": 0, "answer_forms": {"bare": 1}}
    assert sum(summary["dropped_reasons"].values()) == summary["num_dropped"] == summary["notes"]["rows"] - summary["num_traces"]


def test_s1k_parquet_and_limit(tmp_path):
    import datasets

    parquet = tmp_path / "s1k.parquet"
    datasets.Dataset.from_list(read_jsonl(S1K)).to_parquet(str(parquet))
    traces = load_traces(make_traces(cfg_for(source="s1k", dataset=str(parquet), limit=2), RunStore(tmp_path / "s")))
    assert [t.id for t in traces] == ["s1k-0000", "s1k-0001"]
    # the whole file (nulls included) gives the same traces as the JSONL
    every = load_traces(make_traces(cfg_for(source="s1k", dataset=str(parquet)), RunStore(tmp_path / "s")))
    assert {int(t.id.split("-")[1]): t.answer for t in every} == FIXTURE_ANSWERS


def test_s1k_offline_without_file_is_one_line_error(tmp_path):
    with pytest.raises(HarnessError, match="teacher.dataset=PATH") as err:  # no command: the config key
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
    assert summary["num_traces"] == 12 and summary["stage"].startswith("s1k-")
    err = capsys.readouterr().err
    assert "long_cot sentences" in err and "dropped 2: no checkable answer in solution" in err
    assert "dropped 1: empty deepseek_thinking_trajectory" in err and "dropped 1: empty deepseek_attempt" in err
    assert main(["teacher", "--source", "model", "--store", str(tmp_path / "store")]) == 2
    assert "needs a teacher model" in capsys.readouterr().err
