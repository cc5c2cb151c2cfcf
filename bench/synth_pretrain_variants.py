"""Build a student under a pretraining variant the frozen world does not use, then probe it.

    python bench/synth_pretrain_variants.py --out DIR [--prefix 0.15] [--routine-max 3] [--opaque 0.0 [--novel]] [--phrasings] [--lr X] [--size tiny|small] [--world-seed 1]

The variants were tried (world seed 1, dev split) to make the base student resume a teacher
CoT right after the key step, which calibration check G3 needs (docs/synthetic-world.md):

- `--prefix F`: share of pretraining examples that continue a teacher-CoT prefix (frozen: 0.15).
- `--routine-max N`: routine problems with 2..N changes in pretraining (frozen: 3; target
  problems have 3-4 changes, so with 3 the student never sees a chain as long as theirs).
- `--opaque F`: share of the prefix examples built around an *opaque* change the student
  never computes itself ("After a swap, Mia ends up with exactly 12 stickers.", "He keeps
  half of them."): its computation sits in the no-loss teacher prefix, the cut comes 0-2
  sentences after it, and the student learns to go on from there. It is not the key step
  (no affine reading is shown), only practice at stepping past a change it cannot compute.
- `--novel` (with `--opaque`): the opaque change is worded from words drawn at random
  ("Next, Mia stacks the coins by color.": 6 leads x 36 verbs x 24 endings), so no wording
  can be learned as "a change", and its computation in the prefix is affine (x * m, then
  + c: the key step's shape), an addition or a subtraction. The student never reads the key
  step's wordings (one of its words, "before", is in the ending "before dinner"), nor
  learns (with loss) to compute an affine change.
- `--phrasings`: pretraining's routine problems word each change in one of 6-7 forms
  instead of 3 ("wins 4 stickers in a game", "sells 2 stickers", "doubles her supply of
  stickers"), so that a change is recognised by being a sentence about the person's count,
  not by its words (target problems, and the probe, keep the frozen forms). None uses the
  key step's words (twice, times, as many, before, plus, grow, count).
- `--lr X`: pretraining learning rate (frozen per size: `harness.synth.pretrain.LEARNING_RATES`);
  `--size small` builds the larger student.

The frozen world is patched in this process only. The student is saved under DIR/model;
then (or, with `--probe-only`, for a student already there) it prints greedy base accuracy
on 200 dev problems per tier (the frozen tiers) and the `resume` probe of
`bench/synth_calibration.py` on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import harness.synth.pretrain as pretrain  # noqa: E402
import harness.synth.problems as problems  # noqa: E402
import harness.synth.teacher as teacher  # noqa: E402


def opaque_step(rng: random.Random, name: str, item: str, value: int) -> problems.Step:
    he = problems.PRONOUN[name].capitalize()
    if value % 2 == 0 and value >= 4 and rng.random() < 0.5:
        text, anchor = rng.choice([(f"{he} splits the {item} and keeps half of them.", "keeps half"),
                                   (f"Then {name} hands half of the {item} to a cousin.", "hands half")])
        return problems.Step("half", 0, text, anchor=anchor)
    v = rng.randint(3, 20)
    text, anchor = rng.choice([(f"After a swap, {name} ends up with exactly {v} {item}.", f"ends up with exactly {v}"),
                               (f"{name} recounts the {item} and finds there are {v}.", f"recounts the {item} and finds"),
                               (f"Now {name}'s pile of {item} is reset to {v}.", f"reset to {v}")])
    return problems.Step("set", v, text, anchor=anchor)


# Words for novel changes: none is a routine change's word, and of the key step's words (twice,
# times, as many, before, plus, grow, count, after, then) only "before" occurs, in "before
# dinner" (the measured runs used this list as it is).
NOVEL_VERBS = ("paints", "sorts", "stacks", "washes", "labels", "wraps", "hides", "polishes", "arranges", "measures",
               "inspects", "photographs", "folds", "shuffles", "carries", "lines up", "packs", "marks", "scatters",
               "spreads out", "guards", "checks on", "moves", "boxes", "ties up", "weighs", "dusts", "names",
               "rearranges", "tidies", "decorates", "displays", "swaps around", "stores", "cleans", "groups")
NOVEL_TAILS = ("near the window", "in a red box", "with great care", "by color", "on the top shelf", "under the bed",
               "for the fair", "in two rows", "before dinner", "behind the door", "at the market", "with a ribbon",
               "in the garden", "by size", "on a tray", "in the attic", "for a picture", "beside the lamp",
               "during the storm", "with her cousin", "in a tin", "by the river", "on the porch", "at noon")
NOVEL_LEADS = ("", "", "Later, ", "Next, ", "Soon ", "In the evening ")


def novel_step(rng: random.Random, name: str, item: str, value: int) -> problems.Step:
    """A change in words drawn at random (thousands of wordings), so no wording can be learned as
    "a change"; the computation shown for it is affine (x * m, then + c), an addition or a subtraction."""
    verb, tail = rng.choice(NOVEL_VERBS), rng.choice(NOVEL_TAILS)
    lead = rng.choice(NOVEL_LEADS)
    text, anchor = f"{lead}{name} {verb} the {item} {tail}.", f"{verb} the {item} {tail}"
    kind = rng.choice(["affine", "affine", "+", "-"] if value > 2 else ["affine", "+"])
    if kind == "affine":
        return problems.Step("affine", rng.randint(1, 6), text, mult=2 if value > 20 or rng.random() < 0.6 else 3,
                             anchor=anchor)
    return problems.Step(kind, rng.randint(1, min(6, value - 1)) if kind == "-" else rng.randint(1, 6), text, anchor=anchor)


def opaque_spec(rng: random.Random, novel: bool = False) -> tuple[problems.Spec, int]:
    tier = problems.TIERS["routine"]
    name, item = rng.choice(problems.NAMES), rng.choice(problems.ITEMS)
    start, count = rng.randint(*tier.start), rng.randint(*tier.routine_steps)
    at = rng.randint(0, count - 1)
    steps, value = [], start
    odd = novel_step if novel else opaque_step
    for i in range(count + 1):
        step = odd(rng, name, item, value) if i == at else problems._routine_step(rng, tier, name, item, value)
        steps.append(step)
        value = step.apply(value)
    text = " ".join([f"{name} has {start} {item}."] + [s.text for s in steps] + [f"How many {item} does {name} have now?"])
    return problems.Spec(name, item, start, tuple(steps), (), text), at


FROZEN_ROUTINE_STEP = problems._routine_step


def varied_step(rng: random.Random, tier: problems.Tier, name: str, item: str, value: int) -> problems.Step:
    """A routine change in one of many wordings (the frozen generator's three, or four more)."""
    step = FROZEN_ROUTINE_STEP(rng, tier, name, item, value)
    if rng.random() < 0.5:
        return step
    he, his = problems.PRONOUN[name].capitalize(), "her" if problems.PRONOUN[name] == "she" else "his"
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
    elif step.kind == "scale":
        word = {2: "doubled", 3: "tripled"}[step.mult]
        text, anchor = rng.choice([(f"{he} gets {his} stock of {item} {word}.", f"stock of {item} {word}"),
                                   (f"By evening {name}'s supply of {item} is {word}.", f"supply of {item} is {word}")])
    else:
        return step
    return dataclasses.replace(step, text=text, anchor=anchor)


def patch(prefix: float, routine_max: int, opaque: float, size: str = "tiny", lr: float | None = None,
          phrasings: bool = False, novel: bool = False) -> None:
    """Apply the variant to the synthetic world's modules (this process only)."""
    pretrain.PREFIX_FRACTION = prefix
    if phrasings:
        problems._routine_step = varied_step
    if lr is not None:
        pretrain.LEARNING_RATES[size] = lr
    problems.TIERS["routine"] = dataclasses.replace(problems.TIERS["routine"], routine_steps=(2, routine_max))
    base_apply, base_calc, base_check = problems.Step.apply, teacher.calc, teacher._check

    def apply(self: problems.Step, x: int) -> int:
        if self.kind == "affine":
            return x * self.mult + self.value
        return self.value if self.kind == "set" else x // 2 if self.kind == "half" else base_apply(self, x)

    def calc(step: problems.Step, before: int, after: int, anchor: bool = True) -> list[str]:
        lead = f"{step.anchor}: " if anchor and step.anchor else ""
        if step.kind == "set":
            return [f"{lead}now it is {after}."]
        if step.kind == "half":
            return [f"{lead}{before} / 2 = {after}."]
        if step.kind == "affine":  # the key step's shape, in words the student never reads as one
            return [f"{lead}{before} * {step.mult} = {before * step.mult}.", f"{before * step.mult} + {step.value} = {after}."]
        return base_calc(step, before, after, anchor)

    def check(step: problems.Step, before: int, after: int) -> str:
        return "That seems fine so far." if step.kind in ("set", "half", "affine") else base_check(step, before, after)

    def examples(world):  # pretrain.pretrain_examples, plus the opaque prefix examples
        out = []
        for spec in pretrain.pretrain_specs(world):
            rng = problems._rng(world.seed, "pretrain-example", spec.text)
            if rng.random() >= pretrain.PREFIX_FRACTION:
                out.append(pretrain.Example(spec.text, "", teacher.concise_solution(spec)))
                continue
            if rng.random() < opaque:
                spec, at = opaque_spec(rng, novel)
                sentences = teacher.teacher_sentences(spec, world, rng)
                done = next(i + 1 for i, (_, d) in enumerate(sentences) if d > at)
                k = min(len(sentences) - 1, done + rng.choice([0, 0, 1, 2]))
            else:
                sentences = teacher.teacher_sentences(spec, world, rng)
                k = rng.randint(1, len(sentences) - 1)
            out.append(pretrain.Example(spec.text, " ".join(s for s, _ in sentences[:k]),
                                        teacher.continuation(spec, sentences[k - 1][1])))
        return out

    problems.Step.apply = apply
    teacher.calc, teacher._check = calc, check
    pretrain.pretrain_examples = examples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prefix", type=float, default=pretrain.PREFIX_FRACTION)
    parser.add_argument("--routine-max", type=int, default=problems.TIERS["routine"].routine_steps[1])
    parser.add_argument("--opaque", type=float, default=0.0)
    parser.add_argument("--phrasings", action="store_true", help="many wordings of each routine change in pretraining")
    parser.add_argument("--novel", action="store_true", help="the opaque changes in randomly drawn words (with --opaque)")
    parser.add_argument("--lr", type=float, default=None, help="pretraining learning rate (default: the size's frozen one)")
    parser.add_argument("--size", default="tiny", choices=("tiny", "small"))
    parser.add_argument("--world-seed", type=int, default=1)
    parser.add_argument("--probe-only", action="store_true", help="probe the student already in DIR/model")
    args = parser.parse_args()

    from harness.config import WorldConfig
    from harness.synth.pretrain import greedy_accuracy
    from harness.synth.world import build_student

    frozen_routine = problems.TIERS["routine"]
    patch(args.prefix, args.routine_max, args.opaque, args.size, args.lr, args.phrasings, args.novel)
    world = WorldConfig(seed=args.world_seed)
    print(f"variant size={args.size} prefix={args.prefix} routine_max={args.routine_max} opaque={args.opaque} novel={args.novel} phrasings={args.phrasings} lr={pretrain.LEARNING_RATES[args.size]}",
          flush=True)
    if not args.probe_only:
        stats = build_student(world, args.size, args.out / "model", measure=False)
        print(f"  {stats['pretraining']['steps']} steps, {stats['pretraining']['tokens']} tokens, "
              f"final loss {stats['pretraining']['final_loss']}, {stats['seconds']['pretraining']} s")
    problems.TIERS["routine"] = frozen_routine  # measure on the frozen tiers
    problems._routine_step = FROZEN_ROUTINE_STEP
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(args.out / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(args.out / "model")
    for tier in ("routine", "target"):
        acc = greedy_accuracy(model, tokenizer, problems.synth_problems("dev", tier, 200, world.seed))
        print(f"  base greedy accuracy, dev {tier}: {acc['accuracy']:.1%}")
    sys.stdout.flush()
    return subprocess.call([sys.executable, str(ROOT / "bench" / "synth_calibration.py"), "resume", "--model",
                            str(args.out / "model"), "--split", "dev", "--world-seed", str(args.world_seed)])


if __name__ == "__main__":
    sys.exit(main())
