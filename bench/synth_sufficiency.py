"""How sufficient each prefix of the teacher's traces is for a student, and what P-ALIGN's search makes of it.

    python bench/synth_sufficiency.py [--model synth:tiny|DIR] [--world-seed 0] [--traces 100] [--samples 8]
        [--rollouts 2] [--threshold 0.5] [--json OUT]

Calibration check G3 asks that the rollout judge's cut fall within two sentences after the
key step. Whether it does depends on the student's chance p(t) of reaching the answer when it
continues the teacher's trace from piece t: binary search finds the *shortest* sufficient
prefix only when p rises at the key step and stays up after it. This estimates p(t) for every
prefix of the first `--traces` teacher traces (the teacher's own records for that world seed,
cut into the pieces the method searches) from `--samples` continuations each, sampled and
graded as the method's rollouts are (the preset's method sampling; the continuation alone,
in its own closed box), then prints:

- the mean of p by offset from the piece that ends the key step's derivation;
- where the shortest prefix with p >= threshold falls (the search's target);
- the search itself, replayed 50 times per trace: `palign.search.batched_binary_search` with a
  judge that draws `--rollouts` continuations at p(t) and passes `--threshold` of them.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_calibration import key_step_piece, where  # noqa: E402  (bench/ is on sys.path as the script's folder)

OFFSETS = range(-4, 9)  # offsets beyond are pooled into the end bins
REPLAYS = 50


def profile(args: argparse.Namespace) -> list[dict]:
    from math_verify import parse, verify

    from harness.config import SamplingConfig, WorldConfig, resolve_run_config
    from harness.config_sections import EngineConfig
    from harness.engines.base import GenerationRequest
    from harness.engines.hf import HFEngine
    from harness.methods import Trace
    from harness.store import RunStore, default_root
    from harness.synth.problems import synth_specs
    from harness.synth.teacher import synth_traces
    from harness.synth.world import resolve_student
    from harness.toolkit.prefix import continuation_prompt

    preset = resolve_run_config()
    world = WorldConfig(seed=args.world_seed)
    engine = HFEngine(resolve_student(args.model, world, RunStore(default_root())),
                      EngineConfig(name="transformers", device="cpu", dtype="float32", batch_size=128))
    tok, context = engine.tokenizer, world.context_length
    sampling: SamplingConfig = preset.method.sampling
    rows = []
    specs = synth_specs("teacher", "target", args.traces, world.seed)
    for spec, record in zip(specs, synth_traces(world, args.traces)):
        trace = Trace(**{k: record[k] for k in ("id", "problem", "answer", "long_cot", "short_cot")})
        pieces, key_piece = key_step_piece(world, spec)
        assert "".join(pieces) == trace.long_cot
        requests = []
        for t in range(1, len(pieces) + 1):
            prompt = continuation_prompt(tok, trace, "".join(pieces[:t]), preset.eval.instruction, None, "prefill")
            if len(tok(prompt, add_special_tokens=False).input_ids) + sampling.max_new_tokens > context:
                break  # the method never asks for a longer prefix either
            requests.append(GenerationRequest(prompt, f"{trace.id}/{t}", list(range(args.samples))))
        gold = parse(f"${trace.answer}$")
        wins = [sum("\\boxed" in c.text and bool(verify(gold, parse(c.text))) for c in outs)
                for outs in engine.generate(requests, sampling)]
        rows.append({"id": trace.id, "pieces": len(pieces), "key_piece": key_piece, "p": [w / args.samples for w in wins]})
        print(f"  {trace.id}: key step ends at piece {key_piece} of {len(pieces)}; correct of {args.samples}: {wins}",
              file=sys.stderr, flush=True)
    return rows


def replay(rows: list[dict], rollouts: int, threshold: float) -> Counter:
    from palign.search import batched_binary_search

    rng = random.Random(0)
    tally: Counter = Counter()
    for _ in range(REPLAYS):
        def judge(queries: list[tuple[dict, int]]) -> list[bool]:
            return [sum(rng.random() < row["p"][t - 1] for _ in range(rollouts)) >= threshold * rollouts
                    for row, t in queries]

        report = batched_binary_search(rows, [len(r["p"]) for r in rows], judge, failure_policy="drop")
        for row, result in zip(rows, report.results):
            tally[where(None if result.t is None else result.t - row["key_piece"])] += 1
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="synth:tiny", help="a model folder or synth:NAME (built or reused in the store)")
    parser.add_argument("--world-seed", type=int, default=0)
    parser.add_argument("--traces", type=int, default=100)
    parser.add_argument("--samples", type=int, default=8, help="continuations per prefix")
    parser.add_argument("--rollouts", type=int, default=2, help="the judge's k (the preset's)")
    parser.add_argument("--threshold", type=float, default=0.5, help="the judge's threshold (the preset's)")
    parser.add_argument("--json", help="also write the per-trace success rates here")
    args = parser.parse_args()
    rows = profile(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows))
    by_offset: dict[int, list[float]] = {}
    for row in rows:
        for t, p in enumerate(row["p"], 1):
            by_offset.setdefault(max(OFFSETS[0], min(OFFSETS[-1], t - row["key_piece"])), []).append(p)
    shortest = Counter(where(next((t - r["key_piece"] for t, p in enumerate(r["p"], 1) if p >= args.threshold), None))
                       for r in rows)
    searched = replay(rows, args.rollouts, args.threshold)
    cuts = sum(n for k, n in searched.items() if k != "none sufficient")
    print(f"sufficiency ({args.model}, world seed {args.world_seed}, {len(rows)} traces, {args.samples} samples per prefix):")
    print("  mean p by offset from the key step's last piece (ends pooled): "
          + ", ".join(f"{o:+d}: {statistics.mean(v):.2f}" for o, v in sorted(by_offset.items())))
    print(f"  shortest prefix with p >= {args.threshold}: {dict(shortest)}")
    print(f"  binary search, k={args.rollouts}, threshold {args.threshold}, {REPLAYS} replays: "
          f"{ {k: round(n / (REPLAYS * len(rows)), 3) for k, n in sorted(searched.items())} }; "
          f"within two after, of the cuts: {searched['within 2 after'] / max(1, cuts):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
