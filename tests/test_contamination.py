"""The n-gram contamination check catches planted benchmark problems, long and short."""

from __future__ import annotations

import json

from harness.config import resolve_run_config
from harness.store import RunStore
from harness.teacher import load_traces, make_traces
from harness.teacher.contamination import BenchmarkIndex, _Bench, check_contamination, words

AIME_LIKE = [
    {"id": "aime24-0", "problem": "Every morning Aya goes for a 9-kilometer-long walk and stops at a coffee shop afterwards. "
                                   "When she walks at a constant speed of s kilometers per hour, the walk takes her 4 hours.", "answer": "204"},
    {"id": "aime24-1", "problem": "Find the largest real number less than BD^2 for all such rhombi.", "answer": "480"},
]


def write_bench(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "aime24.jsonl").write_text("".join(json.dumps(p) + "\n" for p in AIME_LIKE))
    return data


def test_planted_duplicates_are_flagged_and_clean_text_is_not(tmp_path):
    data = write_bench(tmp_path)
    teacher = [
        {"id": "t-long", "problem": "Note: EVERY morning, Aya goes for a 9 kilometer long walk and stops at a coffee shop afterwards!"},
        {"id": "t-short", "problem": "Find the largest real number less than $BD^2$ for all such rhombi."},
        {"id": "t-clean", "problem": "Tom has 12 apples and buys 7 more. How many apples does he have now?"},
        {"id": "t-tiny", "problem": "Find x."},
    ]
    report = check_contamination(teacher, n=13, data_dir=str(data), benchmarks=["aime24", "aime25"])
    assert report["checked"] == {"aime24": 2}
    assert "aime25" in report["unavailable"]
    flagged = {f["id"]: f for f in report["flagged"]}
    assert set(flagged) == {"t-long", "t-short"}
    assert flagged["t-long"]["match"] == "13-gram" and flagged["t-long"]["benchmark_id"] == "aime24-0"
    assert flagged["t-short"]["benchmark_id"] == "aime24-1"


def test_short_teacher_text_inside_a_benchmark_problem_and_vice_versa():
    index = BenchmarkIndex([_Bench("b", ["0", "1"], [words("what is the sum of the first ten primes"),
                                                         words("a b c d e f g h i j k l m n o p q")])], n=13)
    assert index.match("the sum of the first ten primes")["match"].startswith("whole-text")
    assert index.match("Question: what is the sum of the first ten primes? Think about it step by step please")["benchmark_id"] == "0"
    assert index.match("the sum of the first eleven primes") is None


def test_decontaminate_drops_flagged_traces(tmp_path):
    from harness.synth.teacher import synth_traces

    data = tmp_path / "data"
    data.mkdir()
    cfg = resolve_run_config(overrides=[{"teacher": {"source": "synth", "num_problems": 12}}, {"eval": {"data_dir": str(data)}}])
    planted = synth_traces(cfg.world, 12)[3]
    (data / "aime24.jsonl").write_text(json.dumps({"id": "p", "problem": planted["problem"], "answer": planted["answer"]}) + "\n")
    store = RunStore(tmp_path / "store")
    kept_all = make_traces(cfg, store)
    summary = json.loads((kept_all / "summary.json").read_text())
    flagged = {f["id"]: f for f in summary["contamination"]["flagged"]}
    # (registered synthetic benchmarks may add template-sentence collisions; those cover little of a problem)
    assert flagged[planted["id"]]["benchmark"] == "aime24" and flagged[planted["id"]].get("coverage", 1.0) == 1.0
    assert "aime24" in summary["contamination"]["checked"]
    assert len(load_traces(kept_all)) == 12
    cfg.teacher.decontaminate = True
    clean = make_traces(cfg, store)
    ids = {t.id for t in load_traces(clean)}
    assert planted["id"] not in ids and len(ids) == 12 - len(flagged)
    reasons = {d["id"]: d["reason"] for d in json.loads((clean / "summary.json").read_text())["dropped"]}
    assert reasons[planted["id"]].startswith("contaminated: aime24/p")


def test_the_decontaminating_teacher_key_follows_the_benchmark_data_not_its_path(tmp_path):
    """Issue #32 item 3: the key covers what the check reads, so one key means one set of traces everywhere."""
    from harness.stages import teacher_stage

    def key(data_dir) -> str:
        cfg = resolve_run_config(overrides=[{"teacher": {"decontaminate": True}}, {"eval": {"data_dir": str(data_dir)}}])
        return teacher_stage(cfg, RunStore(tmp_path / "store")).key

    first = write_bench(tmp_path)
    before = key(first)
    moved = tmp_path / "moved"
    first.rename(moved)
    assert key(moved) == before  # the same files elsewhere: the same traces
    rows = [*AIME_LIKE, {"id": "aime24-2", "problem": "A new problem about seven circles in a row.", "answer": "7"}]
    (moved / "aime24.jsonl").write_text("".join(json.dumps(p) + "\n" for p in rows))
    assert key(moved) != before  # one more benchmark problem checked: other traces may be dropped
    assert key(tmp_path / "empty") != before  # no aime24 at all
