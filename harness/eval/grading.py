"""Sandboxed answer grading with math-verify.

Every sample is graded in a pool of worker processes (pebble) with a hard wall-clock
timeout: a worker stuck in sympy is killed and replaced, and the sample is recorded as a
`timeout`, never as wrong. math-verify's own SIGALRM timeouts are switched off because
the hard limit replaces them (and SIGALRM does not work off the main thread anyway).

Conventions: the gold answer is parsed as `$answer$`; when the output has any `\\boxed{}`
the last box is the model's answer (a model that boxes a guess and then corrects itself
is graded on the correction); otherwise math-verify's own extraction looks for an answer.
With `require_box` (what methods use to grade a student's continuation) only a closed box
counts: an unclosed `\\boxed{4` or an answer stated in words is `no_answer`.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from harness.eval.prompts import strip_thinking as _strip_thinking

OUTCOMES = ("correct", "incorrect", "no_answer", "timeout", "error")
_EXTRACTED_LIMIT = 200  # keep the store small when a model boxes a novel


@dataclass
class Grade:
    outcome: str  # one of OUTCOMES
    extracted: str | None


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`), braces matched; None if absent."""
    starts = [m.end() for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return None  # unclosed box: no answer was finished


def _extraction_config():
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    norm = NormalizationConfig(basic_latex=True, units=True, malformed_operators=True, nits=True, boxed="all")
    return [LatexExtractionConfig(boxed_match_priority=0, normalization_config=norm), ExprExtractionConfig()]


def grade_one(gold: str, output: str, strip_thinking: bool = True, require_box: bool = False) -> Grade:
    """Grade one output in this process (no timeout): use `grade_many` for untrusted text."""
    from math_verify import parse, verify

    # Its "timeout is disabled" warning is expected here: the pool enforces the limit.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    text = _strip_thinking(output) if strip_thinking else output
    box = last_boxed(text)
    if box is None and require_box:
        return Grade("no_answer", None)
    target = "\\boxed{" + box + "}" if box is not None else text
    gold_parsed = parse(f"${gold}$", parsing_timeout=None)
    if not gold_parsed:  # plain-text golds such as "(C)" still compare as strings
        gold_parsed = parse(gold, parsing_timeout=None) or [gold]
    pred = parse(target, _extraction_config(), parsing_timeout=None)
    if not pred:
        return Grade("no_answer", box[:_EXTRACTED_LIMIT] if box else None)
    extracted = str(pred[-1])[:_EXTRACTED_LIMIT]
    ok = verify(gold_parsed, pred, timeout_seconds=None)
    return Grade("correct" if ok else "incorrect", extracted)


def _warm_worker() -> None:
    """Import the grader and compile its regexes before the first task, so that a fresh
    worker's start-up (seconds on a busy machine) never counts against a sample's timeout."""
    grade_one("\\frac{1}{2}", "so \\boxed{0.5}")
    grade_one("1", "no answer here")


def _init_worker() -> None:
    # pebble's SIGTERM handler is Python code, and Python runs handlers only between
    # bytecodes: a worker deep in one long C call ignored the kill for up to pebble's 3 s
    # grace period before SIGKILL, and pebble's manager thread, blocked in that join,
    # delayed every other worker's timeout too (samples took timeout + 1-3 s in
    # bench/scoring.py). A grader holds nothing to clean up, so let SIGTERM kill at once.
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _warm_worker()


_PARENT_WARM = False


def _pool_context():
    """Where fork is safe (Linux), warm the parent once and fork workers from it.

    A worker killed at the timeout is replaced, and the sample queued behind it waits for
    the new worker's warm-up: imports alone take ~1 s, so on a hostile batch every sample
    after a timeout took timeout + 1-2 s (bench/scoring.py). A forked worker inherits the
    imported, warmed grader and is ready in milliseconds. Elsewhere the platform default
    start method is kept and workers warm themselves (slower, but correct)."""
    global _PARENT_WARM
    import multiprocessing
    import sys

    if sys.platform != "linux":
        return multiprocessing
    if not _PARENT_WARM:
        _warm_worker()
        _PARENT_WARM = True
    return multiprocessing.get_context("fork")


def _grade_task(gold: str, output: str, strip_thinking: bool, require_box: bool) -> tuple[str, str | None]:
    grade = grade_one(gold, output, strip_thinking, require_box)
    return grade.outcome, grade.extracted


class Grader:
    """A reusable pool of grader processes (start-up costs seconds; reuse it across calls)."""

    def __init__(self, workers: int = 2, timeout: float = 5.0, strip_thinking: bool = True) -> None:
        from pebble import ProcessPool

        self.timeout, self.strip_thinking = timeout, strip_thinking
        self.pool = ProcessPool(max_workers=max(1, workers), initializer=_init_worker, context=_pool_context())

    def grade(self, golds: list[str], outputs: list[str], progress_label: str | None = None,
              require_box: bool = False) -> list[Grade]:
        from pebble.common import ProcessExpired

        if len(golds) != len(outputs):
            raise ValueError(f"{len(golds)} golds for {len(outputs)} outputs")
        futures = [
            self.pool.schedule(_grade_task, args=(str(g), str(o), self.strip_thinking, require_box), timeout=self.timeout)
            for g, o in zip(golds, outputs)
        ]
        grades: list[Grade] = []
        bar = _maybe_progress(progress_label, len(futures)) if futures else None
        for future in futures:
            try:
                outcome, extracted = future.result()
                grades.append(Grade(outcome, extracted))
            except FutureTimeout:
                grades.append(Grade("timeout", None))
            except (ProcessExpired, Exception) as exc:  # a crashing grader must not end the run
                grades.append(Grade("error", f"{type(exc).__name__}: {exc}"[:_EXTRACTED_LIMIT]))
            if bar is not None:
                bar[0].advance(bar[1])
        if bar is not None:
            bar[0].stop()
        return grades

    def close(self) -> None:
        self.pool.stop()
        self.pool.join()

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def grade_many(
    golds: list[str],
    outputs: list[str],
    timeout: float = 5.0,
    workers: int = 2,
    strip_thinking: bool = True,
    progress_label: str | None = None,
) -> list[Grade]:
    """Grade outputs against golds in worker processes, each with a hard `timeout` in seconds."""
    if len(golds) != len(outputs):
        raise ValueError(f"{len(golds)} golds for {len(outputs)} outputs")
    if not outputs:
        return []
    with Grader(min(workers, len(outputs)), timeout, strip_thinking) as grader:
        return grader.grade(golds, outputs, progress_label)


def _maybe_progress(label: str | None, total: int):
    if label is None:
        return None
    from harness.console import progress

    bar = progress()
    bar.start()
    return bar, bar.add_task(label, total=total)


def is_correct(gold: str, output: str, timeout: float = 5.0) -> bool:
    """Convenience: one sandboxed grade."""
    return grade_many([gold], [output], timeout=timeout, workers=1)[0].outcome == "correct"


# --- audit graders (`harness.registries.GRADERS`): reported as a disagreement rate, never combined with the main grade ---

_STRIP = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ |\s|\$|\\text\{([^{}]*)\}|\\mathrm\{([^{}]*)\}|\\dfrac|\\tfrac")


def normalize_answer(text: str) -> str:
    """A deliberately simple string normalization (spaces, sizing commands, leading zeros)."""
    text = _STRIP.sub(lambda m: m.group(1) or m.group(2) or ("\\frac" if "frac" in m.group(0) else ""), text)
    text = text.rstrip(".").lower()
    if re.fullmatch(r"-?\d+", text):
        text = str(int(text))
    return text


def audit_grade(gold: str, output: str, strip_thinking: bool = True) -> bool:
    """Normalized string equality of the last box with the gold: a second, independent opinion."""
    text = _strip_thinking(output) if strip_thinking else output
    box = last_boxed(text)
    return box is not None and normalize_answer(box) == normalize_answer(gold)

