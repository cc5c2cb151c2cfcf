"""Grading: math-verify in sandboxed workers, outcomes, hard timeouts, audit grader."""

import json
import time
from pathlib import Path

import pytest

from harness.eval.grading import audit_grade, grade_many, grade_one, is_correct, last_boxed, normalize_answer
from harness.eval.prompts import strip_thinking

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures/eval/grading_cases.jsonl").read_text().splitlines() if line.strip()]


def test_fixture_cases_grade_as_expected():
    grades = grade_many([c["gold"] for c in CASES], [c["output"] for c in CASES], timeout=30, workers=2)
    got = [(c["gold"], c["output"], g.outcome) for c, g in zip(CASES, grades)]
    want = [(c["gold"], c["output"], c["expected"]) for c in CASES]
    assert got == want
    # the fixture must exercise right and wrong answers, and missing ones
    assert {c["expected"] for c in CASES} == {"correct", "incorrect", "no_answer"}


def test_extracted_answer_is_the_last_box():
    grade = grade_one("204", "\\boxed{200} no wait \\boxed{204}")
    assert grade.outcome == "correct" and grade.extracted == "204"


def test_hanging_outputs_cost_one_timeout_each():
    # a power tower and a megabyte of nested braces
    hangs = ["\\boxed{9^{9^{9^{9^{9}}}}}", "\\boxed{" + "{" * 500_000 + "1" + "}" * 500_000 + "}"]
    start = time.monotonic()
    grades = grade_many(["5"] * 3, hangs + ["\\boxed{5}"], timeout=2.0, workers=2)
    elapsed = time.monotonic() - start
    assert [g.outcome for g in grades] == ["timeout", "timeout", "correct"]
    # two hung samples run side by side on two workers: ~2 s, plus start-up and one normal grade
    assert elapsed < 2.0 * len(hangs) + 8.0  # generous: the machine is shared


def test_sample_after_a_timeout_does_not_wait_for_a_cold_worker():
    # the worker killed at the timeout is replaced; its replacement must be ready at once
    # (it used to re-import the grader, ~1 s, which every sample after a timeout waited for)
    from harness.eval.grading import Grader

    with Grader(workers=1, timeout=1.0) as grader:
        assert grader.grade(["5"], ["\\boxed{9^{9^{9^{9^{9}}}}}"])[0].outcome == "timeout"
        start = time.monotonic()
        assert grader.grade(["5"], ["\\boxed{5}"])[0].outcome == "correct"
        assert time.monotonic() - start < 0.5  # ~0.02 s warm, ~1 s when the worker re-imports


def test_timeout_kills_a_worker_stuck_in_c_code_at_once():
    # a Python-level SIGTERM handler can't run until a C call returns: pebble then waited
    # 3 s before SIGKILL (and held up every other worker's timeout meanwhile)
    import functools
    import hashlib
    from concurrent.futures import TimeoutError as FutureTimeout

    from harness.eval.grading import Grader

    with Grader(workers=1, timeout=0.5) as grader:
        stuck = functools.partial(hashlib.pbkdf2_hmac, "sha256", b"x", b"y", 10**9)  # minutes in C
        start = time.monotonic()
        with pytest.raises(FutureTimeout):
            grader.pool.schedule(stuck, timeout=0.5).result()
        assert time.monotonic() - start < 2.0  # ~0.6 s; ~3.6 s with pebble's handler


def test_is_correct_and_strip_thinking_option():
    assert is_correct("12", "<think>\\boxed{13}</think>\\boxed{12}")
    # (grade_one is what each worker runs; in-process here to keep the test quick)
    raw = grade_one("13", "<think>\\boxed{13}</think> done", strip_thinking=False)
    stripped = grade_one("13", "<think>\\boxed{13}</think> done", strip_thinking=True)
    assert raw.outcome == "correct" and stripped.outcome == "no_answer"


def test_grade_many_rejects_length_mismatch():
    with pytest.raises(ValueError):
        grade_many(["1"], [])


@pytest.mark.parametrize(
    "text, box",
    [("a \\boxed{1} b \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"), ("none", None), ("\\boxed{unclosed", None), ("\\fbox{7}", "7")],
)
def test_last_boxed(text, box):
    assert last_boxed(text) == box


def test_strip_thinking_variants():
    assert strip_thinking("<think>x</think> answer") == "answer"
    assert strip_thinking("reasoning only closes</think>answer") == "answer"
    assert strip_thinking("<think>never closed") == ""


def test_audit_grader_is_a_plain_string_check():
    assert normalize_answer("025") == "25"
    assert audit_grade("\\frac{14}{3}", "so \\boxed{\\dfrac{14}{3}}")
    assert audit_grade("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3,\\frac{\\pi}{2})}")
    # equivalent but differently written: math-verify says correct, the audit disagrees
    assert not audit_grade("\\frac{14}{3}", "\\boxed{14/3}")
    assert not audit_grade("5", "no box 5")
