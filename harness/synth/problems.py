"""Seeded generator of arithmetic word problems in difficulty tiers.

A problem follows one person's count of one item through a chain of changes (buying,
losing, bags of several, doubling), with distractor sentences about other people. Higher
tiers have more changes, larger numbers and more distractors; the hard tier may end by
sharing the items equally, which gives a simple fraction.

Streams ("pretrain", "teacher", "benchmark") are disjoint by construction: a problem is
kept by a stream only if the hash of its canonical text falls into that stream's bucket,
so no text can ever be produced by two streams, whatever the seeds.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from fractions import Fraction

from harness.errors import HarnessError
from harness.eval.benchmarks import Problem

STREAMS = ("pretrain", "teacher", "benchmark")
NAMES = (
    "Mia", "Leo", "Ava", "Noah", "Emma", "Liam", "Zoe", "Omar", "Lily", "Ben",
    "Sara", "Ivan", "Nina", "Jack", "Ella", "Ravi", "Anna", "Tom", "Maya", "Sam",
)
ITEMS = (
    "apples", "marbles", "stickers", "coins", "books", "pencils", "shells", "cards",
    "stamps", "cookies", "beads", "candies", "eggs", "buttons", "flowers", "toys",
)
PRONOUN = {n: ("she" if n in {"Mia", "Ava", "Emma", "Zoe", "Lily", "Sara", "Nina", "Ella", "Anna", "Maya"} else "he") for n in NAMES}


@dataclass(frozen=True)
class Tier:
    steps: tuple[int, int]  # changes to the count, inclusive range
    start: tuple[int, int]  # initial count
    operand: tuple[int, int]  # numbers added or removed
    bags: bool  # "k bags of b" (a multiplication inside a step)
    scale: bool  # "the count doubles/triples"
    distractors: tuple[int, int]
    share: float  # chance that the question asks for an equal share (a fraction)


TIERS = {
    "easy": Tier(steps=(1, 2), start=(2, 20), operand=(1, 9), bags=False, scale=False, distractors=(0, 1), share=0.0),
    "medium": Tier(steps=(3, 3), start=(5, 30), operand=(2, 15), bags=True, scale=False, distractors=(1, 1), share=0.0),
    "hard": Tier(steps=(5, 7), start=(10, 60), operand=(3, 25), bags=True, scale=True, distractors=(2, 3), share=0.25),
}


@dataclass(frozen=True)
class Step:
    """One change: `op` in + - * with operand `value`; bags carry (count, per_bag)."""

    op: str
    value: int
    text: str
    bags: tuple[int, int] | None = None


@dataclass(frozen=True)
class Spec:
    """Everything the teacher needs to explain a problem."""

    name: str
    item: str
    start: int
    steps: tuple[Step, ...]
    distractors: tuple[str, ...]
    share: int | None  # divide the final count among this many friends
    text: str

    def values(self) -> list[int]:
        """The running count after the start and after each step."""
        out = [self.start]
        for step in self.steps:
            out.append(apply(out[-1], step))
        return out

    @property
    def answer(self) -> Fraction:
        final = self.values()[-1]
        return Fraction(final, self.share) if self.share else Fraction(final)


def apply(value: int, step: Step) -> int:
    return {"+": value + step.value, "-": value - step.value, "*": value * step.value}[step.op]


def format_answer(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"\\frac{{{x.numerator}}}{{{x.denominator}}}"


def canonical_text(text: str) -> str:
    return " ".join(text.lower().split())


def stream_of(text: str) -> str:
    """The only stream that may contain this problem text."""
    digest = hashlib.sha256(canonical_text(text).encode("utf-8")).digest()
    return STREAMS[int.from_bytes(digest[:8], "big") % len(STREAMS)]


def _rng(*parts: object) -> random.Random:
    blob = "/".join(str(p) for p in parts).encode("utf-8")
    return random.Random(int.from_bytes(hashlib.sha256(blob).digest()[:8], "big"))


def _step(rng: random.Random, tier: Tier, name: str, item: str, value: int) -> Step:
    he = PRONOUN[name].capitalize()
    kinds = ["+", "+", "-", "-"] + (["bags", "bags"] if tier.bags else []) + (["scale"] if tier.scale and value <= 60 else [])
    kind = rng.choice(kinds)
    lo, hi = tier.operand
    if kind == "-" and value <= lo:
        kind = "+"
    if kind == "+":
        b = rng.randint(lo, hi)
        text = rng.choice([f"{he} buys {b} more {item}.", f"{he} finds {b} more {item}.", f"A friend gives {name} {b} {item}."])
        return Step("+", b, text)
    if kind == "-":
        b = rng.randint(lo, min(hi, value - 1))
        text = rng.choice([f"{he} gives away {b} {item}.", f"{he} loses {b} {item}.", f"{he} gives {b} {item} to a friend."])
        return Step("-", b, text)
    if kind == "bags":
        k, per = rng.randint(2, 5), rng.randint(2, max(3, hi // 2))
        text = f"{he} buys {k} bags with {per} {item} in each bag."
        return Step("+", k * per, text, bags=(k, per))
    factor = rng.choice([2, 2, 3])
    word = {2: "doubles", 3: "triples"}[factor]
    return Step("*", factor, f"Then the number of {item} {name} has {word}.")


def _distractor(rng: random.Random, tier: Tier, name: str, item: str) -> str:
    other = rng.choice([n for n in NAMES if n != name])
    thing = rng.choice([i for i in ITEMS if i != item] + [item])
    n = rng.randint(tier.operand[0], tier.operand[1] * 2)
    return rng.choice([
        f"{name}'s friend {other} has {n} {thing}.",
        f"{other} buys {n} {thing} for a party.",
        f"{other} once had {n} {thing} too.",
    ])


def make_spec(rng: random.Random, tier_name: str) -> Spec:
    tier = TIERS[tier_name]
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start = rng.randint(*tier.start)
    steps: list[Step] = []
    value = start
    for _ in range(rng.randint(*tier.steps)):
        step = _step(rng, tier, name, item, value)
        steps.append(step)
        value = apply(value, step)
    distractors = [_distractor(rng, tier, name, item) for _ in range(rng.randint(*tier.distractors))]
    share = rng.randint(2, 6) if rng.random() < tier.share else None
    sentences = [f"{name} has {start} {item}."] + [s.text for s in steps]
    for d in distractors:  # distractors go anywhere after the first sentence
        sentences.insert(rng.randint(1, len(sentences)), d)
    for i in range(1, len(sentences)):  # after a distractor "he"/"she" would be ambiguous
        if sentences[i - 1] in distractors:
            for pronoun in ("He ", "She "):
                if sentences[i].startswith(pronoun):
                    sentences[i] = name + " " + sentences[i][len(pronoun):]
    if share:
        question = f"{name} shares all the {item} equally among {share} friends. How many {item} does each friend get?"
    else:
        question = f"How many {item} does {name} have now?"
    text = " ".join(sentences + [question])
    return Spec(name, item, start, tuple(steps), tuple(distractors), share, text)


def synth_specs(stream: str, tier: str, n: int, seed: int) -> list[Spec]:
    """`n` distinct problems of one tier from one stream, the same for the same arguments."""
    if stream not in STREAMS:
        raise HarnessError(f"unknown problem stream {stream!r} (known: {', '.join(STREAMS)})")
    if tier not in TIERS:
        raise HarnessError(f"unknown difficulty tier {tier!r} (known: {', '.join(TIERS)})")
    out: list[Spec] = []
    seen: set[str] = set()
    attempt = 0
    while len(out) < n:
        spec = make_spec(_rng(seed, stream, tier, attempt), tier)
        attempt += 1
        key = canonical_text(spec.text)
        if stream_of(spec.text) != stream or key in seen:
            continue
        seen.add(key)
        out.append(spec)
        if attempt > 50 * n + 1000:
            raise HarnessError(f"cannot draw {n} distinct {tier} problems; ask for fewer")
    return out


def synth_problems(stream: str, tier: str, n: int, seed: int) -> list[Problem]:
    """Problems with stable ids (`synth-hard-0042` for benchmarks, `synth-teacher-hard-0042`
    elsewhere) and answers math-verify can grade (an integer or a simple fraction)."""
    prefix = "synth" if stream == "benchmark" else f"synth-{stream}"
    return [
        Problem(id=f"{prefix}-{tier}-{i:04d}", problem=s.text, answer=format_answer(s.answer))
        for i, s in enumerate(synth_specs(stream, tier, n, seed))
    ]
