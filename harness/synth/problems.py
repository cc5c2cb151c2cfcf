"""Seeded generator of the synthetic world's word problems (world version 2).

A problem follows one person's count of one item through a chain of changes, with
distractor sentences about other people. Two tiers:

- `routine`: 2-3 routine changes (buy / lose a few, the count doubles or triples). The
  students learn these in pretraining, whose problems are longer (2-4 changes) and worded
  more ways (`STREAM_TIERS`).
- `target`: 2-3 routine changes plus one **key step** at a random position: the count
  becomes "twice (three times) as many as before, plus b", an affine step a*x + b that no
  pretraining example contains. Every piece of it is routine arithmetic (x * a, then + b);
  what the student lacks is the reading of the sentence, which only a derivation shows.

Streams ("pretrain", "teacher", "benchmark", "dev") are disjoint by construction: a
problem is kept by a stream only if the hash of its canonical text falls into that
stream's bucket, so no text can ever be produced by two streams, whatever the seeds.
`dev` is the split the world was tuned on; boards are scored on `benchmark`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace

from harness.errors import HarnessError
from harness.eval.benchmarks import Problem

WORLD_VERSION = 2
# Changes within version 2 that leave the problems as they are but change the students or
# the teacher's text (anchored solutions, pretraining recipe): part of every world key, so a
# store never reuses a student built by an earlier revision.
WORLD_REVISION = "2.3"
STREAMS = ("pretrain", "teacher", "benchmark", "dev")
NAMES = (
    "Mia", "Leo", "Ava", "Noah", "Emma", "Liam", "Zoe", "Omar", "Lily", "Ben",
    "Sara", "Ivan", "Nina", "Jack", "Ella", "Ravi", "Anna", "Tom", "Maya", "Sam",
)
ITEMS = (
    "apples", "marbles", "stickers", "coins", "books", "pencils", "shells", "cards",
    "stamps", "cookies", "beads", "candies", "eggs", "buttons", "flowers", "toys",
)
PRONOUN = {n: ("she" if n in {"Mia", "Ava", "Emma", "Zoe", "Lily", "Sara", "Nina", "Ella", "Anna", "Maya"} else "he") for n in NAMES}
MULTIPLE_WORD = {2: "twice", 3: "three times"}


@dataclass(frozen=True)
class Tier:
    routine_steps: tuple[int, int]  # routine changes, inclusive range
    key_step: bool  # one affine key step at a random position
    start: tuple[int, int] = (2, 15)  # initial count
    operand: tuple[int, int] = (1, 6)  # numbers added or removed (the key step's "b more" too)
    distractors: tuple[int, int] = (0, 1)
    double_upto: int = 20  # a count may double (and the key step use "twice") up to this value
    triple_upto: int = 10  # ... or triple ("three times") up to this one
    # "k bags of b" changes (two computations each). Off in the default world: with them the
    # tiny student needed about twice the pretraining to reach the routine-tier target (G1).
    bags: bool = False
    bag_count: tuple[int, int] = (2, 3)
    bag_size: tuple[int, int] = (2, 4)
    # Each routine change in one of several more wordings besides the three every tier uses
    # ("wins 4 stickers in a game", "sells 2 stickers"): a change is then known by being a
    # sentence about the person's count, not by its words.
    wordings: bool = False


# Tuned on world seed 1 and the dev split (docs/synthetic-world.md), then frozen.
TIERS = {
    "routine": Tier(routine_steps=(2, 3), key_step=False),
    "target": Tier(routine_steps=(2, 3), key_step=True),
}
# The pretraining stream's routine problems (revision 2.3): chains as long as the target
# tier's (2-4 changes) in many wordings, so the students learn to go from one change to the
# next whatever its words. Held-out routine and target problems keep the tiers above.
STREAM_TIERS = {("pretrain", "routine"): Tier(routine_steps=(2, 4), key_step=False, wordings=True)}


def tier_of(stream: str, tier: str) -> Tier:
    return STREAM_TIERS.get((stream, tier), TIERS[tier])


@dataclass(frozen=True)
class Step:
    """One change. `kind`: + - bags scale key (affine: pretraining only); `value` the operand (bags: k * per), `mult` for scale/key/affine."""

    kind: str
    value: int
    text: str
    bags: tuple[int, int] | None = None
    mult: int = 1
    # Words of `text` that the concise style copies before each computation ("buys 5 more:
    # 12 + 5 = 17."): the solution points at the sentence it works on, so where it is in the
    # problem is read from what it wrote, not counted.
    anchor: str = ""

    def apply(self, x: int) -> int:
        if self.kind in ("+", "bags"):
            return x + self.value
        if self.kind == "-":
            return x - self.value
        if self.kind == "scale":
            return x * self.mult
        if self.kind in ("key", "affine"):  # affine: a pretraining-only change in words never seen again
            return x * self.mult + self.value
        raise ValueError(self.kind)


@dataclass(frozen=True)
class Spec:
    """Everything the teacher needs to explain a problem."""

    name: str
    item: str
    start: int
    steps: tuple[Step, ...]
    distractors: tuple[str, ...]
    text: str

    def values(self) -> list[int]:
        """The running count after the start and after each step."""
        out = [self.start]
        for step in self.steps:
            out.append(step.apply(out[-1]))
        return out

    @property
    def answer(self) -> int:
        return self.values()[-1]

    @property
    def key_index(self) -> int | None:
        """Position of the key step in `steps`, None for a routine problem."""
        return next((i for i, s in enumerate(self.steps) if s.kind == "key"), None)


def format_answer(x: int) -> str:
    return str(x)


def canonical_text(text: str) -> str:
    return " ".join(text.lower().split())


def stream_of(text: str) -> str:
    """The only stream that may contain this problem text."""
    digest = hashlib.sha256(canonical_text(text).encode("utf-8")).digest()
    return STREAMS[int.from_bytes(digest[:8], "big") % len(STREAMS)]


def _rng(*parts: object) -> random.Random:
    blob = "/".join(str(p) for p in parts).encode("utf-8")
    return random.Random(int.from_bytes(hashlib.sha256(blob).digest()[:8], "big"))


def _routine_step(rng: random.Random, tier: Tier, name: str, item: str, value: int) -> Step:
    he = PRONOUN[name].capitalize()
    kinds = ["+", "+", "-", "-"] + (["bags"] if tier.bags else []) + (["scale"] if value <= tier.double_upto else [])
    kind = rng.choice(kinds)
    lo, hi = tier.operand
    if kind == "-" and value <= lo + 1:
        kind = "+"
    if kind == "+":
        b = rng.randint(lo, hi)
        text, anchor = rng.choice([(f"{he} buys {b} more {item}.", f"buys {b} more"),
                                   (f"{he} finds {b} more {item}.", f"finds {b} more"),
                                   (f"A friend gives {name} {b} {item}.", f"gives {name} {b}")])
        step = Step("+", b, text, anchor=anchor)
    elif kind == "-":
        b = rng.randint(lo, min(hi, value - 1))
        text, anchor = rng.choice([(f"{he} gives away {b} {item}.", f"gives away {b}"),
                                   (f"{he} loses {b} {item}.", f"loses {b}"),
                                   (f"{he} gives {b} {item} to a friend.", f"gives {b} {item}")])
        step = Step("-", b, text, anchor=anchor)
    elif kind == "bags":
        k, per = rng.randint(*tier.bag_count), rng.randint(*tier.bag_size)
        return Step("bags", k * per, f"{he} buys {k} bags with {per} {item} in each bag.", bags=(k, per),
                    anchor=f"buys {k} bags with {per}")
    else:
        mult = 3 if value <= tier.triple_upto and rng.random() < 0.4 else 2
        word = {2: "doubles", 3: "triples"}[mult]
        step = Step("scale", 0, f"Then the number of {item} {name} has {word}.", mult=mult, anchor=word)
    return _reworded(rng, step, name, item) if tier.wordings else step


def _reworded(rng: random.Random, step: Step, name: str, item: str) -> Step:
    """Half the time, the same change in another wording. None uses a word of the key step's
    (twice, times, as many, before, plus, grow, count)."""
    if rng.random() < 0.5:
        return step
    he, his = PRONOUN[name].capitalize(), "her" if PRONOUN[name] == "she" else "his"
    b = step.value
    if step.kind == "+":
        text, anchor = rng.choice([(f"{name} wins {b} {item} in a game.", f"wins {b} {item}"),
                                   (f"{he} picks up {b} extra {item}.", f"picks up {b} extra"),
                                   (f"{name}'s aunt sends {b} {item} as a gift.", f"sends {b} {item}"),
                                   (f"{he} collects {b} {item} at school.", f"collects {b} {item}")])
    elif step.kind == "-":
        text, anchor = rng.choice([(f"{he} sells {b} {item}.", f"sells {b}"),
                                   (f"{he} drops {b} {item} on the way home.", f"drops {b}"),
                                   (f"{b} of {name}'s {item} get broken.", f"{b} of {name}'s {item} get broken"),
                                   (f"{he} trades away {b} {item}.", f"trades away {b}")])
    else:
        word = {2: "doubled", 3: "tripled"}[step.mult]
        text, anchor = rng.choice([(f"{he} gets {his} stock of {item} {word}.", f"stock of {item} {word}"),
                                   (f"By evening {name}'s supply of {item} is {word}.", f"supply of {item} is {word}")])
    return replace(step, text=text, anchor=anchor)


def _key_step(rng: random.Random, tier: Tier, name: str, item: str, value: int) -> Step:
    mult = 3 if value <= tier.triple_upto and rng.random() < 0.4 else 2
    b = rng.randint(*tier.operand)
    times = MULTIPLE_WORD[mult]
    # No word of it appears in a routine change ("more", "number", "doubles"...): a student
    # that learns the key step must not start reading routine sentences as key steps.
    text, anchor = rng.choice([
        (f"After that, {name} has {times} as many {item} as before, plus {b}.", f"{times} as many {item} as before, plus {b}"),
        (f"Then {name}'s {item} grow to {times} the count, plus {b}.", f"{times} the count, plus {b}"),
    ])
    return Step("key", b, text, mult=mult, anchor=anchor)


def _distractor(rng: random.Random, tier: Tier, name: str, item: str) -> str:
    other = rng.choice([n for n in NAMES if n != name])
    thing = rng.choice([i for i in ITEMS if i != item] + [item])
    n = rng.randint(tier.operand[0], tier.operand[1] * 2)
    return rng.choice([
        f"{name}'s friend {other} has {n} {thing}.",
        f"{other} buys {n} {thing} for a party.",
        f"{other} once had {n} {thing} too.",
    ])


def make_spec(rng: random.Random, tier: Tier) -> Spec:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start = rng.randint(*tier.start)
    count = rng.randint(*tier.routine_steps)
    key_at = rng.randint(0, count) if tier.key_step else None
    steps: list[Step] = []
    value = start
    for i in range(count + (1 if tier.key_step else 0)):
        step = _key_step(rng, tier, name, item, value) if i == key_at else _routine_step(rng, tier, name, item, value)
        steps.append(step)
        value = step.apply(value)
    distractors = [_distractor(rng, tier, name, item) for _ in range(rng.randint(*tier.distractors))]
    sentences = [f"{name} has {start} {item}."] + [s.text for s in steps]
    for d in distractors:  # distractors go anywhere after the first sentence
        sentences.insert(rng.randint(1, len(sentences)), d)
    for i in range(1, len(sentences)):  # after a distractor "he"/"she" would be ambiguous
        if sentences[i - 1] in distractors:
            for pronoun in ("He ", "She "):
                if sentences[i].startswith(pronoun):
                    sentences[i] = name + " " + sentences[i][len(pronoun):]
    text = " ".join(sentences + [f"How many {item} does {name} have now?"])
    return Spec(name, item, start, tuple(steps), tuple(distractors), text)


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
        spec = make_spec(_rng(WORLD_VERSION, seed, stream, tier, attempt), tier_of(stream, tier))
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
    """Problems with stable ids (`synth-target-0042` for benchmarks, `synth-teacher-target-0042`
    elsewhere) and integer answers."""
    prefix = "synth" if stream == "benchmark" else f"synth-{stream}"
    return [
        Problem(id=f"{prefix}-{tier}-{i:04d}", problem=s.text, answer=format_answer(s.answer))
        for i, s in enumerate(synth_specs(stream, tier, n, seed))
    ]
