"""Build a student under a pretraining variant of the world, then probe it.

    python bench/synth_pretrain_variants.py --out DIR [--prefix F] [--routine-max N] [--novel F]
        [--fixed-opaque] [--frozen-wordings] [--lr X] [--size tiny|small] [--world-seed 1]

Every option departs from the world as it is (revision 2.3: `harness.synth.pretrain`,
`harness.synth.novel`, `problems.STREAM_TIERS`); with none, the script builds the world's
own student. The variants were tried on the development seed and split (world seed 1, dev)
to make the base student go on right after the key step, which calibration check G3 needs
(docs/synthetic-world.md):

- `--prefix F`: share of pretraining examples that continue a teacher-CoT prefix (2.3: 0.25,
  2.2: 0.15).
- `--routine-max N`: pretraining's routine problems have 2..N changes (2.3: 4, 2.2: 3; target
  problems have 3-4 changes).
- `--novel F`: share of the prefix examples built around a change the student never computes
  itself, cut 0-2 sentences after its computation (2.3: 0.5, 2.2: 0). By default it is a
  *novel* change worded from random words with an affine computation
  (`harness.synth.novel`); `--fixed-opaque` makes it an *opaque* change in five fixed
  wordings ("After a swap, Mia ends up with exactly 12 stickers.", "He keeps half of them."),
  which a student can learn as five more known changes.
- `--frozen-wordings`: pretraining's routine changes in the three wordings every tier uses
  (2.2), not also in four more.
- `--lr X`: pretraining learning rate (per size: `harness.synth.pretrain.LEARNING_RATES`);
  `--size small` builds the larger student.

Rows of docs/synthetic-world.md measured before revision 2.3 ran this script as it was at
commit 2f5793b, whose flags described departures from revision 2.2.

The world is patched in this process only. The student is saved under DIR/model; then (or,
with `--probe-only`, for a student already there) it prints greedy base accuracy on 200 dev
problems per held-out tier and the `resume` probe of `bench/synth_calibration.py` on it.
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

import harness.synth.novel as novel  # noqa: E402
import harness.synth.pretrain as pretrain  # noqa: E402
import harness.synth.problems as problems  # noqa: E402
import harness.synth.teacher as teacher  # noqa: E402

PRETRAIN_ROUTINE = ("pretrain", "routine")


def opaque_step(rng: random.Random, name: str, item: str, value: int) -> problems.Step:
    """An opaque change in one of five fixed wordings: set the count, or keep half."""
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


def patch(prefix: float | None = None, routine_max: int | None = None, novel_fraction: float | None = None,
          fixed_opaque: bool = False, frozen_wordings: bool = False, size: str = "tiny", lr: float | None = None) -> None:
    """Apply the variant to the synthetic world's modules (this process only)."""
    if prefix is not None:
        pretrain.PREFIX_FRACTION = prefix
    if novel_fraction is not None:
        pretrain.NOVEL_FRACTION = novel_fraction
    if lr is not None:
        pretrain.LEARNING_RATES[size] = lr
    tier = problems.STREAM_TIERS[PRETRAIN_ROUTINE]
    problems.STREAM_TIERS[PRETRAIN_ROUTINE] = dataclasses.replace(
        tier, routine_steps=(2, routine_max or tier.routine_steps[1]), wordings=tier.wordings and not frozen_wordings)
    if not fixed_opaque:
        return
    base_apply, base_calc, base_check = problems.Step.apply, teacher.calc, teacher._check

    def apply(self: problems.Step, x: int) -> int:
        return self.value if self.kind == "set" else x // 2 if self.kind == "half" else base_apply(self, x)

    def calc(step: problems.Step, before: int, after: int, anchor: bool = True) -> list[str]:
        lead = f"{step.anchor}: " if anchor and step.anchor else ""
        if step.kind == "set":
            return [f"{lead}now it is {after}."]
        if step.kind == "half":
            return [f"{lead}{before} / 2 = {after}."]
        return base_calc(step, before, after, anchor)

    def check(step: problems.Step, before: int, after: int) -> str:
        return "That seems fine so far." if step.kind in ("set", "half") else base_check(step, before, after)

    problems.Step.apply = apply
    teacher.calc, teacher._check = calc, check
    novel.novel_step = opaque_step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prefix", type=float, default=None, help=f"prefix-example share (world: {pretrain.PREFIX_FRACTION})")
    parser.add_argument("--routine-max", type=int, default=None,
                        help=f"most changes in a pretraining problem (world: {problems.STREAM_TIERS[PRETRAIN_ROUTINE].routine_steps[1]})")
    parser.add_argument("--novel", type=float, default=None, help=f"share of prefix examples around a change never computed (world: {pretrain.NOVEL_FRACTION})")
    parser.add_argument("--fixed-opaque", action="store_true", help="that change in five fixed wordings, not random words")
    parser.add_argument("--frozen-wordings", action="store_true", help="routine changes only in the three wordings of the held-out tiers")
    parser.add_argument("--lr", type=float, default=None, help="pretraining learning rate (default: the size's own)")
    parser.add_argument("--size", default="tiny", choices=("tiny", "small"))
    parser.add_argument("--world-seed", type=int, default=1)
    parser.add_argument("--probe-only", action="store_true", help="probe the student already in DIR/model")
    args = parser.parse_args()

    from harness.config import WorldConfig
    from harness.synth.pretrain import greedy_accuracy
    from harness.synth.world import build_student

    patch(args.prefix, args.routine_max, args.novel, args.fixed_opaque, args.frozen_wordings, args.size, args.lr)
    world = WorldConfig(seed=args.world_seed)
    tier = problems.STREAM_TIERS[PRETRAIN_ROUTINE]
    print(f"variant size={args.size} prefix={pretrain.PREFIX_FRACTION} routine={tier.routine_steps} "
          f"wordings={tier.wordings} novel={pretrain.NOVEL_FRACTION} fixed_opaque={args.fixed_opaque} "
          f"lr={pretrain.LEARNING_RATES[args.size]}", flush=True)
    if not args.probe_only:
        stats = build_student(world, args.size, args.out / "model", measure=False)
        print(f"  {stats['pretraining']['steps']} steps, {stats['pretraining']['tokens']} tokens, "
              f"final loss {stats['pretraining']['final_loss']}, {stats['seconds']['pretraining']} s")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(args.out / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(args.out / "model")
    for held_out in ("routine", "target"):
        acc = greedy_accuracy(model, tokenizer, problems.synth_problems("dev", held_out, 200, world.seed))
        print(f"  base greedy accuracy, dev {held_out}: {acc['accuracy']:.1%}")
    sys.stdout.flush()
    return subprocess.call([sys.executable, str(ROOT / "bench" / "synth_calibration.py"), "resume", "--model",
                            str(args.out / "model"), "--split", "dev", "--world-seed", str(args.world_seed)])


if __name__ == "__main__":
    sys.exit(main())
