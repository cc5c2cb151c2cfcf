"""`harness teacher --source model` on a tiny local model: traces, first-correct selection, kill + resume.

A random micro model never answers, so the test first teaches it (with the shared trainer,
a few seconds) to reply `<think> hmm </think> \\boxed{7}`. Problems whose gold is 7 then
get correct samples and the others do not, so which traces are kept is checkable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from harness.config import TrainConfig
from harness.eval.prompts import user_message
from harness.jsonl import read_jsonl
from harness.teacher.model_source import GENERATIONS, split_output

N = 2


@pytest.fixture(scope="module")
def answering_model(tiny_model_dir, tmp_path_factory):
    from harness.trainer import train_sft

    root = tmp_path_factory.mktemp("teacher-model")
    data = root / "sft.jsonl"
    with data.open("w") as fh:
        for i in range(32):
            fh.write(json.dumps({
                "prompt": [{"role": "user", "content": user_message(f"Tom has {i} apples and buys 3 more.", "")}],
                "completion": [{"role": "assistant", "content": "<think> hmm </think> \\boxed{7}"}],
            }) + "\n")
    cfg = TrainConfig(learning_rate=1e-2, num_train_epochs=3, per_device_train_batch_size=4, warmup_ratio=0.0,
                      max_length=64, save_steps=1000, logging_steps=4)
    train_sft(str(tiny_model_dir), data, root / "model", cfg)
    return root / "model"


def test_split_output():
    assert split_output("<think>step one. step two.</think>\n\nSo \\boxed{3}.") == ("step one. step two.", "So \\boxed{3}.")
    text = "First, 2 + 1 = 3.\n\nCheck again: yes.\n\nSo the total is 3.\n\\boxed{3}"
    long_cot, short_cot = split_output(text)
    assert long_cot == text and short_cot == "So the total is 3.\n\\boxed{3}"
    assert split_output("para one.\n\npara two, no box")[1] == "para two, no box"


# The real CLI with each engine call made 0.5 s slower: a tiny model answers 8 problems in
# well under the poller's 0.1 s on an idle machine, so without it the kill could land after
# the last batch.
SLOW_CLI = """
import sys, time
from harness.cli import main
from harness.engines.hf import HFEngine
fast = HFEngine.generate
HFEngine.generate = lambda self, *a, **k: (time.sleep(0.5), fast(self, *a, **k))[1]
sys.exit(main(sys.argv[1:]))
"""


def run_cli(args, slow: bool = False, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    launch = ["-c", SLOW_CLI] if slow else ["-m", "harness.cli"]
    return subprocess.Popen([sys.executable, *launch, "teacher", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw)


def test_model_source_keeps_first_correct_and_resumes_after_kill(answering_model, tmp_path):
    problems = [{"id": f"p{i}", "problem": f"Mia has {i} pens and finds {7 - i if i % 2 == 0 else i} more.",
                 "answer": "7" if i % 2 == 0 else str(2 * i + 1)} for i in range(8)]
    pfile = tmp_path / "problems.jsonl"
    pfile.write_text("".join(json.dumps(p) + "\n" for p in problems))
    store = tmp_path / "store"
    args = ["--source", "model", "--model", str(answering_model), "--problems", str(pfile), "--n", str(N),
            "--store", str(store), "--json", str(tmp_path / "summary.json"),
            # Sampled (n > 1 samples of a greedy teacher would be copies), cool enough for the tiny model to answer.
            "--set", "teacher.sampling.temperature=0.2",
            "--set", "teacher.sampling.max_new_tokens=16", "--set", "engine.batch_size=2", "--set", "eval.grader_workers=1",
            "--set", "eval.instruction="]  # no instruction: shorter prompts, as in the teacher's training

    first = run_cli(args, slow=True)
    deadline = time.time() + 120
    partial = []
    while time.time() < deadline and first.poll() is None:
        partial = list(store.glob(f"teacher/*.partial/{GENERATIONS}"))
        if partial and len(read_jsonl(partial[0], tolerate_torn_tail=True)) >= 2:
            break
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert partial, "the first run should have started writing generations"
    before = partial[0].read_bytes()
    n_before = len(read_jsonl(partial[0], tolerate_torn_tail=True))
    assert n_before < len(problems) * N, "the kill should land before the end"

    second = run_cli(args)
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out[-3000:]
    stage = next(p for p in store.glob("teacher/model-*") if not p.name.endswith(".partial"))
    gens = read_jsonl(stage / GENERATIONS)
    assert (stage / GENERATIONS).read_bytes().startswith(before.rsplit(b"\n", 1)[0]), "earlier samples are kept, not redone"
    keys = Counter((g["id"], g["sample"]) for g in gens)
    assert set(keys) == {(p["id"], j) for p in problems for j in range(N)} and max(keys.values()) == 1

    correct_ids = {g["id"] for g in gens if g["outcome"] == "correct"}
    assert correct_ids, "the trained teacher should answer some problems correctly"
    assert correct_ids <= {p["id"] for p in problems if p["answer"] == "7"}
    traces = read_jsonl(stage / "traces.jsonl")
    assert [t["id"] for t in traces] == [p["id"] for p in problems if p["id"] in correct_ids]
    by_key = {(g["id"], g["sample"]): g for g in gens}
    for t in traces:
        first_ok = min(j for j in range(N) if by_key[(t["id"], j)]["outcome"] == "correct")
        assert (t["long_cot"], t["short_cot"]) == split_output(by_key[(t["id"], first_ok)]["text"])
        assert t["teacher"] == answering_model.name and t["source"] == "model"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["num_traces"] == len(traces)
    assert summary["dropped_reasons"] == {f"no correct sample of {N}": len(problems) - len(traces)}
