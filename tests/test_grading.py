"""Grading: math-verify in sandboxed workers, outcomes, hard timeouts, audit grader."""

import json
import os
import sys
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


def test_hanging_outputs_time_out_and_the_rest_still_grade():
    # a power tower and a megabyte of nested braces; how long each costs is bench/scoring.py's to measure
    hangs = ["\\boxed{9^{9^{9^{9^{9}}}}}", "\\boxed{" + "{" * 500_000 + "1" + "}" * 500_000 + "}"]
    grades = grade_many(["5"] * 3, hangs + ["\\boxed{5}"], timeout=2.0, workers=2)
    assert [g.outcome for g in grades] == ["timeout", "timeout", "correct"]


def _worker_state() -> tuple[int, bool, bool]:
    """(pid, forked from the warmed parent, default SIGTERM disposition), as seen inside a worker."""
    import signal

    from harness.eval import grading

    # _PARENT_WARM is set in the parent only: a spawned worker imports the module afresh and sees False.
    return os.getpid(), grading._PARENT_WARM, signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_the_worker_that_replaces_a_killed_one_starts_warm():
    """A sample queued behind a timeout must not wait for a new worker to import the grader (~1 s):
    on Linux workers are forked from a parent that imported and warmed it (bench/scoring.py times it)."""
    from harness.eval.grading import Grader

    with Grader(workers=1, timeout=1.0) as grader:
        first = grader.pool.schedule(_worker_state).result()
        assert grader.grade(["5"], ["\\boxed{9^{9^{9^{9^{9}}}}}"])[0].outcome == "timeout"
        assert grader.grade(["5"], ["\\boxed{5}"])[0].outcome == "correct"
        replacement = grader.pool.schedule(_worker_state).result()
    assert replacement[0] != first[0], "the timed-out worker should have been replaced"
    if sys.platform == "linux":
        assert replacement[1], "the replacement worker was not forked from the warmed parent"


def test_workers_die_at_sigterm_even_inside_a_long_c_call():
    """pebble's own SIGTERM handler is Python code, which cannot run during a C call: a stuck worker
    then ignored the kill for pebble's 3 s grace and held up every other timeout. Workers restore
    the default disposition, so SIGTERM kills at once; the stuck call still times out."""
    import functools
    import hashlib
    from concurrent.futures import TimeoutError as FutureTimeout

    from harness.eval.grading import Grader

    with Grader(workers=1, timeout=0.5) as grader:
        assert grader.pool.schedule(_worker_state).result()[2], "the worker keeps a Python SIGTERM handler"
        stuck = functools.partial(hashlib.pbkdf2_hmac, "sha256", b"x", b"y", 10**9)  # minutes in C
        with pytest.raises(FutureTimeout):
            grader.pool.schedule(stuck, timeout=0.5).result()
        assert grader.grade(["5"], ["\\boxed{5}"])[0].outcome == "correct"


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
