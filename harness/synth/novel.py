"""Pretraining problems with one change in words the students never see again (revision 2.3).

A student trained from scratch on routine problems reads a sentence it does not know as no
change at all, so handed a teacher's trace up to the key step's result it could not go on
from there: P-ALIGN's rollout judge then found no short sufficient prefix (calibration check
G3). These problems teach the one general skill that needs: after a computation the
solution shows, go on with the problem sentence after the one it quoted.

Each has one *novel* change worded from random words ("Next, Mia stacks the coins by
color.": 6 leads x 36 verbs x 24 endings, so no wording can be learned as "a change"), never
the last one. Its computation sits in the teacher prefix the student is given without loss,
and is affine (x * m, then + c: the key step's shape, which the student never learns to
compute), an addition or a subtraction. No word of the key step's wordings occurs but
"before", in the ending "before dinner".
"""

from __future__ import annotations

import random

from harness.synth.problems import ITEMS, NAMES, Spec, Step, _routine_step, tier_of

NOVEL_VERBS = ("paints", "sorts", "stacks", "washes", "labels", "wraps", "hides", "polishes", "arranges", "measures",
               "inspects", "photographs", "folds", "shuffles", "carries", "lines up", "packs", "marks", "scatters",
               "spreads out", "guards", "checks on", "moves", "boxes", "ties up", "weighs", "dusts", "names",
               "rearranges", "tidies", "decorates", "displays", "swaps around", "stores", "cleans", "groups")
NOVEL_TAILS = ("near the window", "in a red box", "with great care", "by color", "on the top shelf", "under the bed",
               "for the fair", "in two rows", "before dinner", "behind the door", "at the market", "with a ribbon",
               "in the garden", "by size", "on a tray", "in the attic", "for a picture", "beside the lamp",
               "during the storm", "with her cousin", "in a tin", "by the river", "on the porch", "at noon")
NOVEL_LEADS = ("", "", "Later, ", "Next, ", "Soon ", "In the evening ")


def novel_step(rng: random.Random, name: str, item: str, value: int) -> Step:
    verb, tail = rng.choice(NOVEL_VERBS), rng.choice(NOVEL_TAILS)
    lead = rng.choice(NOVEL_LEADS)
    text, anchor = f"{lead}{name} {verb} the {item} {tail}.", f"{verb} the {item} {tail}"
    kind = rng.choice(["affine", "affine", "+", "-"] if value > 2 else ["affine", "+"])
    if kind == "affine":
        return Step("affine", rng.randint(1, 6), text, mult=2 if value > 20 or rng.random() < 0.6 else 3, anchor=anchor)
    return Step(kind, rng.randint(1, min(6, value - 1)) if kind == "-" else rng.randint(1, 6), text, anchor=anchor)


def novel_spec(rng: random.Random) -> tuple[Spec, int]:
    """A pretraining-stream routine problem with one novel change; (spec, the novel change's index)."""
    tier = tier_of("pretrain", "routine")
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start, count = rng.randint(*tier.start), rng.randint(*tier.routine_steps)
    at = rng.randint(0, count - 1)
    steps, value = [], start
    for i in range(count + 1):
        step = novel_step(rng, name, item, value) if i == at else _routine_step(rng, tier, name, item, value)
        steps.append(step)
        value = step.apply(value)
    text = " ".join([f"{name} has {start} {item}."] + [s.text for s in steps] + [f"How many {item} does {name} have now?"])
    return Spec(name, item, start, tuple(steps), (), text), at
