"""Eval throughput: `harness eval` (transformers engine) against lm-eval's `hf` model.

Same checkpoint, same problems, same prompt, same grader, greedy decoding, the same batch
size and generation budget: the synthetic benchmark is exported with `harness
export-lm-eval`, so lm-eval renders the identical chat prompt and scores with the
harness's own grader. Both commands run cold (fresh store / output folder, nothing cached)
as subprocesses, one after the other, and each is timed as a whole, start-up included,
because that is what a user waits for. Each is also run on one problem: the difference
of the two wall times is the marginal cost of the other problems, which separates the
generation and grading speed from start-up. Accuracy is compared sample by sample.

    python bench/eval_throughput.py [--benchmark synth_target] [--limit 200] [--batch-size 64] [--model DIR]

Without --model the synthetic student is built (or reused) in $HARNESS_STORE / --store:
about 4 minutes on 2 CPU cores the first time.
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from common import ENV, machine, student, timed
from tabulate import tabulate

BIN = Path(sys.executable).parent


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", default="synth_target", help="synth_target (default: long answers) or synth_routine")
    p.add_argument("--limit", type=int, default=200, help="problems (default: all 200)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=160, help="generation budget (the synthetic preset's)")
    p.add_argument("--max-length", type=int, default=512,
                   help="lm-eval's max_length: it left-cuts prompts to max_length - max_new_tokens, so this must "
                        "leave room for the whole prompt (the harness never cuts prompts)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each command; medians are reported (default 3)")
    p.add_argument("--model", help="model folder (default: the synthetic world's synth:tiny)")
    p.add_argument("--store", help="run store holding the synthetic student (default $HARNESS_STORE)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    return p.parse_args()


def lm_eval_outcomes(out_dir: Path, task: str) -> dict[str, bool]:
    """Per-problem correctness from lm-eval's --log_samples file."""
    files = glob.glob(str(out_dir / "**" / f"samples_{task}_*.jsonl"), recursive=True)
    if len(files) != 1:
        sys.exit(f"error: expected one lm-eval samples file for {task} under {out_dir}, found {len(files)}")
    rows = [json.loads(line) for line in Path(files[0]).read_text().splitlines() if line.strip()]
    return {r["doc"]["id"]: r["acc"] == 1.0 for r in rows}


def main() -> int:
    args = parse_args()
    model = student(args.model, args.store)
    tmp = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    task = f"harness_{args.benchmark}"
    subprocess.run([str(BIN / "harness"), "export-lm-eval", "--benchmark", args.benchmark, "--out", str(tmp / "task"),
                    "--limit", str(args.limit), "--max-new-tokens", str(args.max_new_tokens)],
                   check=True, env=ENV, stdout=subprocess.DEVNULL)

    def harness_eval(limit: int, tag: str) -> float:
        return timed([str(BIN / "harness"), "eval", "--model", model, "--benchmarks", args.benchmark,
                      "--limit", str(limit), "--n", "1", "--k", "1", "--temperature", "0",
                      "--max-new-tokens", str(args.max_new_tokens), "--batch-size", str(args.batch_size),
                      "--engine", "transformers", "--store", str(tmp / f"store-{tag}"), "--json", str(tmp / f"harness-{tag}.json")],
                     tmp / f"harness-{tag}.log")

    def lm_eval(limit: int, tag: str) -> float:
        return timed([str(BIN / "lm_eval"), "--model", "hf",
                      "--model_args", f"pretrained={model},dtype=float32,max_length={args.max_length}",
                      "--device", "cpu", "--batch_size", str(args.batch_size), "--limit", str(limit),
                      "--include_path", str(tmp / "task"), "--tasks", task, "--apply_chat_template",
                      "--log_samples", "--output_path", str(tmp / f"lm_eval-{tag}")],
                     tmp / f"lm_eval-{tag}.log")

    # Interleaved repeats, medians: one slow moment on a shared machine does not decide the ratio.
    runs: dict[str, list[float]] = {"h1": [], "l1": [], "hn": [], "ln": []}
    for _ in range(args.repeats):
        for tag in ("one", "all"):  # cold every time: nothing kept from the previous repeat
            shutil.rmtree(tmp / f"store-{tag}", ignore_errors=True)
            shutil.rmtree(tmp / f"lm_eval-{tag}", ignore_errors=True)
        runs["h1"].append(harness_eval(1, "one"))
        runs["l1"].append(lm_eval(1, "one"))
        runs["hn"].append(harness_eval(args.limit, "all"))
        runs["ln"].append(lm_eval(args.limit, "all"))
    harness_1, lm_eval_1, harness_s, lm_eval_s = (statistics.median(runs[k]) for k in ("h1", "l1", "hn", "ln"))

    ours = json.loads((tmp / "harness-all.json").read_text())["benchmarks"][args.benchmark]
    ours_ok = {s["id"]: s["outcome"] == "correct" for s in ours["samples"]}
    theirs_ok = lm_eval_outcomes(tmp / "lm_eval-all", task)
    if set(ours_ok) != set(theirs_ok):
        sys.exit(f"error: the two runs scored different problems ({len(ours_ok)} vs {len(theirs_ok)})")
    n = len(ours_ok)
    acc_ours, acc_theirs = sum(ours_ok.values()) / n, sum(theirs_ok.values()) / n
    disagree = sum(ours_ok[i] != theirs_ok[i] for i in ours_ok)
    ratio = lm_eval_s / harness_s
    marginal_ours, marginal_theirs = (n - 1) / (harness_s - harness_1), (n - 1) / (lm_eval_s - lm_eval_1)
    print(f"{n} problems of {args.benchmark}, greedy, batch {args.batch_size}, max {args.max_new_tokens} new tokens, model {model}")
    print(tabulate([["harness eval (transformers)", f"{harness_1:.1f}", f"{harness_s:.1f}", f"{n / harness_s:.2f}",
                     f"{marginal_ours:.2f}", f"{acc_ours:.1%}"],
                    ["lm-eval hf", f"{lm_eval_1:.1f}", f"{lm_eval_s:.1f}", f"{n / lm_eval_s:.2f}",
                     f"{marginal_theirs:.2f}", f"{acc_theirs:.1%}"]],
                   headers=["command", "wall s, 1 problem", f"wall s, {n}", "samples/s", "marginal samples/s", "accuracy"]))
    print(f"speed-up, whole command: {ratio:.2f}x (target >= 2x); marginal (beyond start-up): "
          f"{marginal_ours / marginal_theirs:.2f}x; per-sample correctness differs on {disagree} of {n}")
    ok = ratio >= 2 and disagree == 0
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "benchmark": args.benchmark, "problems": n, "batch_size": args.batch_size,
            "max_new_tokens": args.max_new_tokens, "model": model,
            "harness_seconds": harness_s, "lm_eval_seconds": lm_eval_s, "speedup": ratio,
            "harness_seconds_one_problem": harness_1, "lm_eval_seconds_one_problem": lm_eval_1,
            "marginal_speedup": marginal_ours / marginal_theirs, "runs_seconds": runs,
            "harness_accuracy": acc_ours, "lm_eval_accuracy": acc_theirs, "disagreements": disagree,
        }, indent=2))
    print(f"{int(ok)} passed, {int(not ok)} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
