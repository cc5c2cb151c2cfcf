"""The programmatic teacher: a long, reasoning-model-style chain of thought and a short write-up.

Three ways to write one solution:

- `concise_solution`: every change as one computation sentence led by the problem's own
  words for it ("buys 5 more: 17 + 5 = 22."), the key step with its two-sentence
  derivation ("twice the count, plus 3: 17 * 2 = 34. 34 + 3 = 37.").
  It is the students' own style: pretraining teaches it on routine problems.
- `long_cot`: what a reasoning model writes. The same computations in order, wrapped in an
  opening, a plan, restatements of each change, caught slips ("Wait, ... For a moment I
  thought it was 23. No, ..."), re-checks and hedging *between* the steps, a false start
  before the key step, then "So the answer should be N", a verification pass and the boxed
  answer. Because the redundancy is interleaved, the key step sits at a varied depth.
- `write_up`: the teacher's short final attempt (as R1's): the routine computations, and the
  key step's *result* stated without its derivation ("Then Mia has 37 stickers.").

`verbosity` scales restatements, slips and hedges; `redundancy` the re-checks and the
verification pass. Every long CoT is kept under `MAX_COT_CHARS` by thinning its redundancy,
so prompt plus long CoT fits the students' 512-token context (calibration check G0).
"""

from __future__ import annotations

import random

from harness.config import WorldConfig
from harness.synth.problems import Spec, Step, _rng, format_answer, synth_specs

TEACHER_NAME = "synth-teacher"
TEACHER_TIER = "target"  # the teacher explains the problems the students cannot yet solve
MAX_COT_CHARS = 900


def calc(step: Step, before: int, after: int, anchor: bool = True) -> list[str]:
    """The concise computation of one change, led by the words of the problem it acts on.

    The key step takes two sentences (times, then plus). `anchor=False` gives the bare
    equations, as a slip's correction quotes them.
    """
    lead = f"{step.anchor}: " if anchor and step.anchor else ""
    if step.kind == "bags":
        k, per = step.bags
        return [f"{lead}{k} * {per} = {k * per}.", f"{before} + {k * per} = {after}."]
    if step.kind == "scale":
        return [f"{lead}{before} * {step.mult} = {after}."]
    if step.kind in ("key", "affine"):
        times = before * step.mult
        return [f"{lead}{before} * {step.mult} = {times}.", f"{times} + {step.value} = {after}."]
    return [f"{lead}{before} {step.kind} {step.value} = {after}."]


def continuation(spec: Spec, done: int, values: list[int] | None = None) -> str:
    """The concise rest of a solution after `done` changes (all done: only the answer is left)."""
    values = values or spec.values()
    lines = [s for i in range(done, len(spec.steps)) for s in calc(spec.steps[i], values[i], values[i + 1])]
    lines.append(f"The answer is \\boxed{{{format_answer(values[-1])}}}.")
    return " ".join(lines)


def concise_solution(spec: Spec, values: list[int] | None = None) -> str:
    return continuation(spec, 0, values)


def write_up(spec: Spec, values: list[int] | None = None) -> str:
    """The short final attempt: routine computations shown, the key step's result only."""
    values = values or spec.values()
    lines = []
    for i, step in enumerate(spec.steps):
        if step.kind == "key":
            lines.append(f"Then {spec.name} has {values[i + 1]} {spec.item}.")
        else:
            lines += calc(step, values[i], values[i + 1])
    lines.append(f"The answer is \\boxed{{{format_answer(values[-1])}}}.")
    return " ".join(lines)


def _slip(step: Step, before: int, after: int, rng: random.Random) -> list[str]:
    wrong = after + rng.choice([-10, -2, -1, 1, 2, 10])
    return [
        "Wait, let me look at that again.",
        f"For a moment I thought it was {wrong}.",
        f"No, it is {after}, because {' '.join(calc(step, before, after, anchor=False))[:-1]}.",
    ]


def _check(step: Step, before: int, after: int) -> str:
    """A re-check that ends by restating the count it confirms, as a reasoning model's "so 13 is right".

    Revision 2.3: ending on the count before the change ("Check: 13 - 3 = 10.") made the last
    number in the trace a wrong one, and the students, handed a prefix that stops after a check,
    went on from it.
    """
    if step.kind == "affine":  # a novel change (pretraining only): its check would show how to read it
        return "That seems fine so far."
    if step.kind in ("+", "bags"):
        return f"Check: {after} - {step.value} = {before}, so {after} is right. Good."
    if step.kind == "-":
        return f"Check: {after} + {step.value} = {before}, so {after} is right. Good."
    if step.kind == "scale":
        return f"Check: {before} + {before}{f' + {before}' if step.mult == 3 else ''} = {after}. Good."
    return (f"Check: {after} - {step.value} = {after - step.value}, which is {step.mult} times {before}, "
            f"so {after} is right. Good.")


HEDGES = ("I think that is right.", "Hmm, okay.", "That seems fine so far.", "Let me keep going.")


def teacher_sentences(spec: Spec, world: WorldConfig, rng: random.Random,
                      values: list[int] | None = None) -> list[tuple[str, int]]:
    """The long CoT as (sentence, changes computed so far) pairs; kept under MAX_COT_CHARS."""
    values = values or spec.values()
    state = rng.getstate()
    for scale in (1.0, 0.7, 0.5, 0.3, 0.0):
        rng.setstate(state)
        out = _sentences(spec, values, world.verbosity * scale, world.redundancy * scale, rng)
        if len(" ".join(s for s, _ in out)) <= MAX_COT_CHARS:
            return out
    return out


def _sentences(spec: Spec, values: list[int], verbosity: float, redundancy: float,
               rng: random.Random) -> list[tuple[str, int]]:
    def maybe(p: float) -> bool:
        return rng.random() < min(1.0, p)

    n = len(spec.steps)
    out = [(rng.choice(["Okay, let me work through this carefully.", "Let me think about this step by step."]), 0),
           (f"{spec.name} starts with {spec.start} {spec.item}.", 0)]
    if spec.distractors and maybe(0.7 * verbosity):
        out.append((f"The other people in the problem do not change how many {spec.item} {spec.name} has.", 0))
    out.append((f"Plan: apply the {n} changes in order and keep track of the count.", 0))
    for i, step in enumerate(spec.steps):
        before, after = values[i], values[i + 1]
        if step.kind == "key":
            out.append(("Hmm, this change is different from the others.", i))
            if maybe(0.6 * verbosity):
                out.append((f"At first I read it as just {step.value} more, but that is not what it says.", i))
        elif maybe(0.5 * verbosity):
            out.append((f"Next: {step.text[0].lower()}{step.text[1:]}", i))
        lines = calc(step, before, after)
        out += [(s, i) for s in lines[:-1]] + [(lines[-1], i + 1)]
        if maybe(0.3 * verbosity):
            out += [(s, i + 1) for s in _slip(step, before, after, rng)]
        if maybe(0.4 * redundancy):
            out.append((_check(step, before, after), i + 1))
        if maybe(0.25 * verbosity):
            out.append((rng.choice(HEDGES), i + 1))
    answer = format_answer(values[-1])
    out.append((f"So the answer should be {answer}.", n))
    if maybe(0.8 * redundancy):
        out.append(("Let me verify the whole chain once more.", n))
        for i in sorted(rng.sample(range(n), k=min(n, max(1, round(redundancy * n / 2))))):
            out.append((_check(spec.steps[i], values[i], values[i + 1]), n))
    if maybe(0.6 * verbosity):
        out.append(("I am fairly confident in this.", n))
    out.append((f"Final answer: \\boxed{{{answer}}}", n))
    return out


def long_cot(spec: Spec, world: WorldConfig | None = None, rng: random.Random | None = None,
             values: list[int] | None = None) -> str:
    sentences = teacher_sentences(spec, world or WorldConfig(), rng or random.Random(0), values)
    return " ".join(s for s, _ in sentences)


def key_sentence(sentences: list[tuple[str, int]], spec: Spec) -> int | None:
    """1-based count of sentences up to and including the key step's result (None: no key step)."""
    if spec.key_index is None:
        return None
    return next(i + 1 for i, (_, done) in enumerate(sentences) if done > spec.key_index)


def _wrong_values(spec: Spec, rng: random.Random) -> list[int]:
    """A plausible arithmetic error at one step, carried through to the end."""
    values = spec.values()
    j = rng.randrange(len(spec.steps))
    values[j + 1] += rng.choice([-3, -2, -1, 1, 2, 3])
    for i in range(j + 1, len(spec.steps)):
        values[i + 1] = spec.steps[i].apply(values[i])
    return values


def trace_rng(world: WorldConfig, spec: Spec) -> random.Random:
    return _rng(world.seed, "teacher-cot", spec.text)


def teacher_trace(world: WorldConfig, spec: Spec) -> list[tuple[str, int]]:
    """The sentences of the long CoT the teacher writes for `spec`, exactly as in its records.

    Checks that locate a step inside a teacher trace must rebuild it with this: the trace's
    random stream first decides whether the teacher errs, so `teacher_sentences` on a fresh
    `trace_rng` writes a different trace of the same problem.
    """
    rng = trace_rng(world, spec)
    wrong = rng.random() < world.wrong_fraction
    values = _wrong_values(spec, rng) if wrong else None
    return teacher_sentences(spec, world, rng, values)


def synth_traces(world: WorldConfig, n: int) -> list[dict]:
    """`n` teacher records from the teacher stream, all of the target tier."""
    records = []
    for i, spec in enumerate(synth_specs("teacher", TEACHER_TIER, n, world.seed)):
        records.append({
            "id": f"synth-teacher-{TEACHER_TIER}-{i:04d}",
            "problem": spec.text,
            "answer": format_answer(spec.answer),
            "long_cot": " ".join(s for s, _ in teacher_trace(world, spec)),
            "short_cot": write_up(spec),
            "source": "synth",
            "teacher": TEACHER_NAME,
        })
    return records
