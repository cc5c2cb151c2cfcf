"""Calibration checks G0-G3 of the synthetic world (docs/synthetic-world.md quotes their output).

    python bench/synth_calibration.py g0 RECORDS.json [...]     # no truncation, nothing past the context
    python bench/synth_calibration.py g1 [--student synth:tiny] [--split dev|benchmark] [--world-seed N]
    python bench/synth_calibration.py g2 [--student synth:tiny] [--split dev|benchmark] [--world-seed N]
    python bench/synth_calibration.py g3 RECORDS.json [...]     # where palign's rollout judge cut
    python bench/synth_calibration.py resume [--model synth:tiny|DIR] [--split dev|benchmark] [--world-seed N]

G0 reads result records: every trained method's training report must show zero truncated
examples, and every run must have completed (both engines refuse any request past the
context, so a finished run sent none). It also checks statically that the longest prompt of
every synthetic benchmark plus the preset's max_new_tokens fits the context, and that the
longest teacher prompt plus its long CoT fits train.max_length.

G1 evaluates the base student with the preset's evaluation settings (n=4, temperature 0.6).
G2 trains the student on oracle data (the concise solution through the key step's
derivation, then the student's own continuation, correct ones kept) with the preset's
recipe, through the real pipeline, as a plugin method `oracle_prefix`.
G3 compares palign's chosen cuts (`method_stats.chosen_cuts`) with where each trace's key
step ends, in the same pieces the method searched.

Tuning runs use `--split dev` and a development world seed (`--world-seed 1`); the board's
checks use the benchmark split and world seed 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.config import WorldConfig, resolve_run_config  # noqa: E402


def _records(paths: list[str]) -> list[dict]:
    """The records in each file (.json, or a board's .json.gz), as they are: these checks read only some fields."""
    out = []
    for path in map(Path, paths):
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if path.name.endswith(".gz") else raw)
        out += data if isinstance(data, list) else [data]
    return out


def _label(record: dict) -> str:
    from harness.pipeline import record_label

    return record_label(record)


# ---------------------------------------------------------------- G0

def g0(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from harness.eval.benchmarks import get_benchmark
    from harness.eval.prompts import render_prompt
    from harness.store import RunStore
    from harness.synth.teacher import synth_traces
    from harness.synth.world import resolve_student

    cfg = resolve_run_config("synthetic")
    ok = True
    print(f"G0: context {cfg.world.context_length}, train.max_length {cfg.train.max_length}, "
          f"eval max_new_tokens {cfg.eval.sampling.max_new_tokens}, method max_new_tokens {cfg.method.sampling.max_new_tokens}")
    tok = AutoTokenizer.from_pretrained(resolve_student(cfg.student.model, cfg.world, RunStore()))
    count = lambda text: len(tok(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    for name in ("synth_target", "synth_routine"):
        longest = max(count(render_prompt(tok, p.problem, cfg.eval.instruction)) for p in get_benchmark(name).load())
        need = longest + cfg.eval.sampling.max_new_tokens
        ok &= need <= cfg.world.context_length
        print(f"  {name}: longest prompt {longest} + {cfg.eval.sampling.max_new_tokens} = {need} <= {cfg.world.context_length}: {need <= cfg.world.context_length}")
    traces = synth_traces(cfg.world, cfg.teacher.num_problems)
    longest = max(count(tok.apply_chat_template([{"role": "user", "content": f"{cfg.eval.instruction}\n{t['problem']}"},
                                                 {"role": "assistant", "content": t["long_cot"]}], tokenize=False))
                  for t in traces)
    ok &= longest <= cfg.train.max_length
    print(f"  teacher: longest full_cot example {longest} tokens <= train.max_length {cfg.train.max_length}: {longest <= cfg.train.max_length}")
    for record in _records(args.records):
        training = record.get("training") or {}
        truncated = training.get("truncated")
        line = f"  {_label(record):28s} seed {record['seed']}: examples {training.get('examples', '-')}, truncated {truncated if training else '-'}"
        print(line + f", dropped {record['method_stats'].get('dropped') or {}}")
        ok &= not truncated
    print(f"G0 {'holds' if ok else 'FAILS'}")
    return 0 if ok else 1


# ---------------------------------------------------------------- G1

def _benchmarks(split: str) -> list[str]:
    suffix = "_dev" if split == "dev" else ""
    return [f"synth_target{suffix}", f"synth_routine{suffix}"]


def _common(args: argparse.Namespace) -> list[str]:
    out = ["--student", args.student, "--set", f"world.seed={args.world_seed}",
           "--benchmarks", ",".join(_benchmarks(args.split))]
    for item in args.set or []:
        out += ["--set", item]
    return out


def _pass1(record: dict) -> dict[str, float]:
    return {b: r["metrics"]["pass@1"] for b, r in record["benchmarks"].items()}


def g1(args: argparse.Namespace) -> int:
    from harness.cli import main

    out = Path(args.out or f"g1-{args.student.replace(':', '-')}-{args.split}.json")
    code = main(["run", "--method", "none", "--json", str(out), *_common(args)])
    if code:
        return code
    scores = _pass1(json.loads(out.read_text()))
    target, routine = (scores[b] for b in _benchmarks(args.split))
    holds = routine >= 0.8 and target <= 0.15
    print(f"G1 ({args.student}, world seed {args.world_seed}, {args.split}): routine pass@1 {routine:.3f} (>= 0.80), "
          f"target pass@1 {target:.3f} (<= 0.15): {'holds' if holds else 'FAILS'}")
    return 0 if holds else 1


# ---------------------------------------------------------------- G2

@dataclass
class OracleParams:
    pass


def register_oracle() -> None:
    """`oracle_prefix`: the concise solution through the key step's derivation, then the student."""
    from harness.methods import METHODS, MethodResult, register_method
    from harness.synth.problems import synth_specs
    from harness.synth.teacher import calc, concise_solution
    from harness.toolkit.generation import method_tools
    from harness.toolkit.prefix import Plan, PrefixSettings, align_plans
    from harness.toolkit.splitter import split_pieces

    if "oracle_prefix" in METHODS._entries:
        return

    @register_method("oracle_prefix", params=OracleParams, description="Calibration G2: oracle key-step prefix + student continuation.")
    def oracle_prefix(traces, params, ctx):
        specs = {s.text: s for s in synth_specs("teacher", "target", len(traces), _WORLD_SEED)}
        settings = PrefixSettings(samples=2, markers=False)
        plans = []
        for trace in traces:
            spec = specs[trace.problem]
            values = spec.values()
            head = " ".join(s for i in range(spec.key_index + 1) for s in calc(spec.steps[i], values[i], values[i + 1]))
            pieces = split_pieces(concise_solution(spec))
            t = len(split_pieces(head))
            plans.append(Plan(trace, pieces, t))
        generator, grade = method_tools(ctx)
        result = align_plans(plans, settings, generator, grade, instruction=ctx.instruction,
                             enable_thinking=ctx.enable_thinking, sampling=ctx.sampling, seed=ctx.seed,
                             max_length=ctx.max_length)
        return MethodResult(result.examples, result.stats)


_WORLD_SEED = 0


def g2(args: argparse.Namespace) -> int:
    global _WORLD_SEED
    from harness.cli import main

    _WORLD_SEED = args.world_seed
    register_oracle()
    out = Path(args.out or f"g2-{args.student.replace(':', '-')}-{args.split}.json")
    code = main(["run", "--method", "oracle_prefix", "--json", str(out), *_common(args)])
    if code:
        return code
    record = json.loads(out.read_text())
    target, routine = (_pass1(record)[b] for b in _benchmarks(args.split))
    holds = target >= 0.4
    print(f"G2 ({args.student}, world seed {args.world_seed}, {args.split}): oracle SFT on {record['method_stats']['kept']} "
          f"examples, {record['training']['steps']} steps: target pass@1 {target:.3f} (>= 0.40), routine {routine:.3f}: "
          f"{'holds' if holds else 'FAILS'}")
    return 0 if holds else 1


# ---------------------------------------------------------------- G3

def key_step_piece(world: WorldConfig, spec) -> tuple[list[str], int]:
    """The teacher's trace for `spec` in the pieces the method searches, and the 1-based piece
    that ends the key step's derivation (rebuilt from the records' own trace: `teacher_trace`)."""
    from harness.synth.teacher import key_sentence, teacher_trace
    from harness.toolkit.splitter import split_pieces

    sentences = teacher_trace(world, spec)
    key_end = len(" ".join(s for s, _ in sentences[: key_sentence(sentences, spec)]))
    pieces = split_pieces(" ".join(s for s, _ in sentences))
    total = 0
    for j, piece in enumerate(pieces):
        total += len(piece)
        if total >= key_end:
            return pieces, j + 1
    raise AssertionError("the key step ends inside the trace")


def where(offset: int | None) -> str:
    """A cut's place relative to the key step's last piece, as G3 counts it."""
    if offset is None:
        return "none sufficient"
    return "before the key step" if offset < 0 else "within 2 after" if offset <= 2 else "later"


def g3(args: argparse.Namespace) -> int:
    from harness.synth.problems import synth_specs

    ok = True
    for record in _records(args.records):
        if record["method"] != "palign":
            continue
        cuts = record["method_stats"].get("chosen_cuts") or {}
        world = WorldConfig(seed=args.world_seed)
        specs = synth_specs("teacher", "target", record["teacher_data"]["num_traces"], world.seed)
        offsets, depth_bins, places = [], Counter(), Counter()
        for i, spec in enumerate(specs):
            trace_id = f"synth-teacher-target-{i:04d}"
            if trace_id not in cuts:
                continue
            t, m = cuts[trace_id]
            pieces, key_piece = key_step_piece(world, spec)
            if len(pieces) != m:  # the record's traces are not this world's: every figure would be wrong
                print(f"G3: {trace_id} has {m} pieces in the record but {len(pieces)} in world seed {world.seed}'s "
                      f"teacher trace; pass the record's --world-seed")
                return 2
            offsets.append(t - key_piece)
            depth_bins[min(3, int(4 * t / m))] += 1
            places[where(t - key_piece)] += 1
        if not offsets:
            print(f"G3: seed {record['seed']}: no chosen cuts in the record")
            ok = False
            continue
        within = places["within 2 after"] / len(offsets)
        spread = sum(1 for q in range(4) if depth_bins[q])
        holds = within > 0.5 and spread >= 3
        ok &= holds
        print(f"G3 seed {record['seed']}: {len(offsets)} cuts; depth quartiles {[depth_bins[q] for q in range(4)]} "
              f"({spread} of 4 used); cut vs key step: {dict(places)}; median offset {statistics.median(offsets)} pieces; "
              f"within two after: {within:.0%}: {'holds' if holds else 'FAILS'}")
    return 0 if ok else 1


# ---------------------------------------------------------------- resumption probe (why G3 fails)

def resume(args: argparse.Namespace) -> int:
    """Greedy continuations of the base student from teacher prefixes cut around the key step.

    P-ALIGN's rollout judge calls a prefix sufficient when the student, continuing it, reaches
    the answer; G3 asks that this happen right after the key step. This measures that ability
    directly: the teacher's long CoT of each held-out target problem cut `offset` sentences
    after the sentence that states the key step's result (-1: just before it), and, at offset
    0, the same broken down by where the key step sits (change i of n). `routine` is the same
    from a random cut of routine problems' CoTs (the skill pretraining's prefix examples teach).
    """
    import random

    import torch
    from math_verify import parse, verify
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.store import RunStore, default_root
    from harness.synth.pretrain import render
    from harness.synth.problems import format_answer, synth_specs
    from harness.synth.teacher import key_sentence, teacher_sentences, trace_rng
    from harness.synth.world import resolve_student

    world = WorldConfig(seed=args.world_seed)
    model_dir = args.model
    if model_dir.startswith("synth:"):
        model_dir = resolve_student(model_dir, world, RunStore(default_root()))
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    stream = "dev" if args.split == "dev" else "benchmark"

    def accuracy(cases: list[tuple[str, str, str]]) -> tuple[float, dict[str, str]]:
        right, seen = 0, {}
        for start in range(0, len(cases), 50):
            chunk = cases[start : start + 50]
            enc = tok([c[0] for c in chunk], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=160, do_sample=False)
            for (_, answer, group), row in zip(chunk, out[:, enc.input_ids.shape[1] :]):
                text = tok.decode(row, skip_special_tokens=True)
                ok = "\\boxed" in text and bool(verify(parse(f"${answer}$"), parse(text)))
                right += ok
                tally = seen.setdefault(group, [0, 0])
                tally[0] += ok
                tally[1] += 1
        return right / len(cases), {g: f"{a}/{b}" for g, (a, b) in sorted(seen.items())}

    def cut(spec, k_of) -> tuple[str, str, str]:
        sentences = teacher_sentences(spec, world, trace_rng(world, spec))
        k = max(1, min(len(sentences) - 1, k_of(sentences)))
        group = f"change {spec.key_index + 1} of {len(spec.steps)}" if spec.key_index is not None else "routine"
        return render(tok, spec.text) + " ".join(s for s, _ in sentences[:k]), format_answer(spec.answer), group

    rng = random.Random(0)
    routine = synth_specs(stream, "routine", args.n, world.seed)
    score, _ = accuracy([cut(s, lambda sentences: rng.randint(1, len(sentences) - 1)) for s in routine])
    print(f"resume ({args.model}, world seed {world.seed}, {args.split}, {args.n} problems, greedy):")
    print(f"  routine CoT, random cut: {score:.1%}")
    target = synth_specs(stream, "target", args.n, world.seed)
    for offset in (-1, 0, 1, 2, 4):
        score, groups = accuracy([cut(s, lambda sentences, s=s: key_sentence(sentences, s) + offset) for s in target])
        where = {-1: "one sentence before", 0: "right after", 1: "one sentence after"}.get(offset, f"{offset} sentences after")
        print(f"  target CoT cut {where} the key step's result: {score:.1%}" + (f"  by key position: {groups}" if offset == 0 else ""))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="check", required=True)
    for name in ("g0", "g3"):
        p = sub.add_parser(name)
        p.add_argument("records", nargs="+")
        p.add_argument("--world-seed", type=int, default=0)
    for name in ("g1", "g2"):
        p = sub.add_parser(name)
        p.add_argument("--student", default="synth:tiny")
        p.add_argument("--split", choices=("dev", "benchmark"), default="benchmark")
        p.add_argument("--world-seed", type=int, default=0)
        p.add_argument("--set", action="append", help="extra config override for the run")
        p.add_argument("--out", help="where the result record goes")
    p = sub.add_parser("resume")
    p.add_argument("--model", default="synth:tiny", help="a model folder or synth:NAME (built or reused in the store)")
    p.add_argument("--split", choices=("dev", "benchmark"), default="benchmark")
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--n", type=int, default=200, help="problems per tier")
    args = parser.parse_args()
    return {"g0": g0, "g1": g1, "g2": g2, "g3": g3, "resume": resume}[args.check](args)


if __name__ == "__main__":
    sys.exit(main())
