"""The programmatic teacher: a long, reasoning-model-style chain of thought and a short solution.

The long CoT front-loads what matters (a brief restatement, the plan, then the same concise
computation sentences as the short solution, sometimes merged into larger leaps), so a
short prefix is sufficient. What follows is largely redundant: caught slips ("Wait, ..."),
step-by-step re-verification, an alternative approach, hedging, and the final `\\boxed{}`.
`verbosity` scales restatement and hedging, `redundancy` the re-verification passes.
"""

from __future__ import annotations

import random
from fractions import Fraction

from harness.config import WorldConfig
from harness.synth.problems import Spec, Step, _rng, format_answer, synth_specs

TEACHER_NAME = "synth-teacher"
TIER_MIX = (("easy", 0.1), ("medium", 0.3), ("hard", 0.6))  # distillation matters on hard


def _calc(step: Step, before: int, after: int) -> str:
    """One concise computation sentence, as in the short solution."""
    if step.bags:
        k, per = step.bags
        return f"{k} * {per} = {k * per}. {before} + {k * per} = {after}."
    return f"{before} {step.op} {step.value} = {after}."


def _share(spec: Spec, final: int) -> str:
    return f"{final} / {spec.share} = {format_answer(Fraction(final, spec.share))}." if spec.share else ""


def _answer(spec: Spec, values: list[int]) -> str:
    final = values[-1]
    return format_answer(Fraction(final, spec.share) if spec.share else Fraction(final))


def short_solution(spec: Spec, values: list[int] | None = None) -> str:
    values = values or spec.values()
    lines = [_calc(step, values[i], values[i + 1]) for i, step in enumerate(spec.steps)]
    if spec.share:
        lines.append(_share(spec, values[-1]))
    lines.append(f"The answer is \\boxed{{{_answer(spec, values)}}}.")
    return " ".join(lines)


def cot_head(spec: Spec, values: list[int], rng: random.Random) -> list[tuple[str, int]]:
    """The sufficient head of the long CoT: (sentence, changes computed so far) pairs.

    After the plan come the concise computations; two plain +/- steps are sometimes
    done in one leap (the kind of jump a small student cannot imitate well).
    """
    n = len(spec.steps)
    out = [("Okay, let me work through this problem carefully.", 0),
           (f"{spec.name} starts with {spec.start} {spec.item}, and the count changes {n} times.", 0)]
    if spec.distractors:
        out.append((f"The other people in the problem do not change how many {spec.item} {spec.name} has, so I will ignore them.", 0))
    goal = f"the share of each of {spec.share} friends" if spec.share else f"how many {spec.item} {spec.name} has at the end"
    out.append((f"Plan: apply each change in order, then find {goal}.", 0))
    i = 0
    while i < n:
        a, b = spec.steps[i], spec.steps[i + 1] if i + 1 < n else None
        plain = b is not None and not a.bags and not b.bags and a.op in "+-" and b.op in "+-"
        if plain and rng.random() < 0.35:
            out.append((f"{values[i]} {a.op} {a.value} {b.op} {b.value} = {values[i + 2]}.", i + 2))
            i += 2
        else:
            out.append((_calc(a, values[i], values[i + 1]), i + 1))
            i += 1
    if spec.share:
        out.append((_share(spec, values[-1]), n + 1))
    out.append((f"So the answer should be {_answer(spec, values)}.", n + 1))
    return out


def continuation(spec: Spec, done: int, values: list[int] | None = None) -> str:
    """The concise rest of a solution after `done` changes (n + 1: only the answer is left)."""
    values = values or spec.values()
    n = len(spec.steps)
    lines = [_calc(spec.steps[i], values[i], values[i + 1]) for i in range(done, n)]
    if spec.share and done <= n:
        lines.append(_share(spec, values[-1]))
    lines.append(f"The answer is \\boxed{{{_answer(spec, values)}}}.")
    return " ".join(lines)


def _verify(step: Step, before: int, after: int) -> str:
    """A slower re-derivation of one step (tens first, then ones)."""
    if step.op == "*":
        return f"Check: {before} * {step.value} means adding {before} {step.value} times, which is {after}. Correct."
    amount = step.value
    tens, ones = amount - amount % 10, amount % 10
    if step.op == "+":
        mid = before + tens
        if tens == 0:
            return f"Check: {before} + {ones} = {after}. Correct."
        return f"Check: {before} + {tens} = {mid}, and {mid} + {ones} = {after}. Correct."
    mid = before - tens
    if tens == 0:
        return f"Check: {before} - {ones} = {after}. Correct."
    return f"Check: {before} - {tens} = {mid}, and {mid} - {ones} = {after}. Correct."


def _slip(step: Step, before: int, after: int, rng: random.Random) -> list[str]:
    wrong = after + rng.choice([-10, -2, -1, 1, 2, 10])
    inverse = "-" if step.op == "+" else "+" if step.op == "-" else "/"
    return [
        f"Wait, let me look at the step from {before} again.",
        f"For a moment I thought it gave {wrong}.",
        f"No, it is {after}, because {after} {inverse} {step.value} = {before}.",
        "Good, the value I used was right.",
    ]


def _alternative(spec: Spec, values: list[int]) -> list[str]:
    """Work backwards from the final count to the start (every change is invertible)."""
    out = ["Let me also try a different approach: work backwards from the end."]
    for i in reversed(range(len(spec.steps))):
        step, before, after = spec.steps[i], values[i], values[i + 1]
        inverse = {"+": "-", "-": "+", "*": "/"}[step.op]
        out.append(f"Undo the change: {after} {inverse} {step.value} = {before}.")
    out.append(f"I am back at the start, {spec.start} {spec.item}, so the forward computation holds up.")
    gains = [s.value for s in spec.steps if s.op == "+"]
    if len(gains) > 1 and all(s.op in "+-" for s in spec.steps):
        losses = [s.value for s in spec.steps if s.op == "-"]
        net = sum(gains) - sum(losses)
        out.append(f"Another way: the total gained is {' + '.join(map(str, gains))} = {sum(gains)}.")
        if losses:
            out.append(f"The total lost is {' + '.join(map(str, losses))} = {sum(losses)}.")
        out.append(f"So the net change is {net}, and {spec.start} + {net} = {values[-1]}. Same result.")
    return out


def long_cot(spec: Spec, verbosity: float = 1.0, redundancy: float = 1.0, rng: random.Random | None = None, values: list[int] | None = None) -> str:
    rng = rng or random.Random(0)
    values = values or spec.values()
    answer = _answer(spec, values)
    n = len(spec.steps)
    s = [sentence for sentence, _ in cot_head(spec, values, rng)]
    # 2. the long, redundant tail.
    s += ["Hmm, but let me not rush.", "Let me restate the problem to be sure I read it correctly."]
    restate = spec.text.split(". ")
    s += [f"It says: {r.rstrip('.?')}." for r in restate[: max(1, round(len(restate) * verbosity))]]
    for d in spec.distractors:
        s.append(f"The sentence \"{d}\" is about someone else, so it does not matter here.")
    slip_steps = rng.sample(range(n), k=min(n, max(1, round(verbosity * n / 3))))
    for i in sorted(slip_steps):
        s += _slip(spec.steps[i], values[i], values[i + 1], rng)
    for p in range(max(1, round(redundancy * 2))):
        s.append("Let me verify each step once more." if p == 0 else "One more pass, just to be completely sure.")
        for i, step in enumerate(spec.steps):
            if step.bags:
                k, per = step.bags
                s.append(f"The bags give {k} * {per} = {step.value} {spec.item}, since {per} + {per} {'+ ' + str(per) + ' ' if k > 2 else ''}{'...' if k > 3 else ''}adds up to {step.value}.")
            s.append(_verify(step, values[i], values[i + 1]))
    s += _alternative(spec, values)
    hedges = [
        "I am fairly confident in this, but let me make sure I did not miss anything.",
        "Did the problem ask for the count at the end? Yes, it did.",
        "Are there any changes I skipped? No, I applied every one.",
        "I think that is right.",
    ]
    s += hedges[: max(1, round(len(hedges) * verbosity))]
    s.append(f"Final answer: \\boxed{{{answer}}}")
    return " ".join(s)


def _wrong_values(spec: Spec, rng: random.Random) -> list[int]:
    """A plausible arithmetic error at one step, carried through to the end."""
    values = spec.values()
    j = rng.randrange(len(spec.steps))
    values[j + 1] += rng.choice([-3, -2, -1, 1, 2, 3])
    for i in range(j + 1, len(spec.steps)):
        step = spec.steps[i]
        values[i + 1] = values[i] + step.value if step.op == "+" else values[i] - step.value if step.op == "-" else values[i] * step.value
    return values


def tier_counts(n: int) -> dict[str, int]:
    counts = {tier: int(n * share) for tier, share in TIER_MIX}
    counts["hard"] += n - sum(counts.values())
    return counts


def synth_traces(world: WorldConfig, n: int) -> list[dict]:
    """`n` teacher records from the teacher stream, mostly medium and hard problems."""
    records = []
    for tier, count in tier_counts(n).items():
        for i, spec in enumerate(synth_specs("teacher", tier, count, world.seed)):
            rng = _rng(world.seed, "teacher-cot", spec.text)
            wrong = rng.random() < world.wrong_fraction
            values = _wrong_values(spec, rng) if wrong else None
            records.append({
                "id": f"synth-teacher-{tier}-{i:04d}",
                "problem": spec.text,
                "answer": format_answer(spec.answer),
                "long_cot": long_cot(spec, world.verbosity, world.redundancy, rng, values),
                "short_cot": short_solution(spec),
                "source": "synth",
                "teacher": TEACHER_NAME,
            })
    return records
