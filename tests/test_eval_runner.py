"""`harness eval` end to end with a tiny local model: store, resume after SIGKILL, JSON, errors."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import EngineConfig, EvalConfig, SamplingConfig
from harness.engines import load_engine
from harness.errors import HarnessError
from harness.eval.runner import GENERATIONS, evaluate_benchmark


def write_benchmark(folder: Path, name: str = "aime24", count: int = 12) -> Path:
    """A small file in the real benchmark schema (id, problem, answer), AIME-style answers."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"T-{i:02d}", "problem": f"Tom has {i} apples and buys {i + 3} more. How many?", "answer": f"{2 * i + 3:03d}"} for i in range(count)]
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def eval_args(model, data, store, out, extra=()):
    return [
        "eval", "--store", str(store), "--model", str(model), "--benchmarks", "aime24", "--data-dir", str(data),
        "--n", "3", "--k", "1,2,3", "--temperature", "0.9", "--top-p", "0.95", "--max-new-tokens", "16",
        "--seed", "7", "--batch-size", "1", "--json", str(out), *extra,
    ]


def _generations(store: Path) -> list[dict]:
    files = list(store.glob("eval/*/generations.jsonl"))
    assert len(files) == 1
    return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]


class CrashingEngine:
    """A real engine that dies on its `crash_on`-th call, like a kill between two batches."""

    def __init__(self, engine, crash_on):
        self.engine, self.crash_on, self.calls = engine, crash_on, 0
        self.name, self.model_id, self.tokenizer, self.chunk_size = engine.name, engine.model_id, engine.tokenizer, 2

    def generate(self, requests, sampling):
        self.calls += 1
        if self.calls == self.crash_on:
            raise KeyboardInterrupt
        return self.engine.generate(requests, sampling)


def test_interrupted_run_resumes_without_loss_or_duplicates(tiny_model_dir, tmp_path):
    data = write_benchmark(tmp_path / "data", count=5)
    engine = load_engine(str(tiny_model_dir), EngineConfig(name="transformers", batch_size=2))
    cfg = EvalConfig(n=3, k=[1, 3], data_dir=str(data), grader_workers=1, sampling=SamplingConfig(temperature=0.9, max_new_tokens=12, seed=1))
    reference = evaluate_benchmark(engine, "aime24", cfg, tmp_path / "ref", seed=5)

    with pytest.raises(KeyboardInterrupt):
        evaluate_benchmark(CrashingEngine(engine, crash_on=3), "aime24", cfg, tmp_path / "run", seed=5)
    path = tmp_path / "run" / GENERATIONS
    assert 0 < len(path.read_text().splitlines()) < 15
    with path.open("a") as fh:  # a write torn by the kill
        fh.write('{"key": "x", "id": "T-0')
    resumed = evaluate_benchmark(CrashingEngine(engine, crash_on=0), "aime24", cfg, tmp_path / "run", seed=5)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((r["id"], r["sample"]) for r in records) == sorted((f"T-{i:02d}", j) for i in range(5) for j in range(3))
    assert resumed["samples"] == reference["samples"] and resumed["metrics"] == reference["metrics"]
    ref_texts = {(r["id"], r["sample"]): r["text"] for r in map(json.loads, (tmp_path / "ref" / GENERATIONS).read_text().splitlines())}
    assert {(r["id"], r["sample"]): r["text"] for r in records} == ref_texts
    # a different seed gives different samples: the comparison above is not vacuous
    other = evaluate_benchmark(engine, "aime24", cfg, tmp_path / "other", seed=6)
    other_texts = {(r["id"], r["sample"]): r["text"] for r in map(json.loads, (tmp_path / "other" / GENERATIONS).read_text().splitlines())}
    assert other_texts != ref_texts


@pytest.mark.slow
def test_killed_eval_resumes_to_identical_results(tiny_model_dir, tmp_path):
    data = write_benchmark(tmp_path / "data", count=8)
    # reference: one uninterrupted run (in-process, to save a start-up)
    assert main(eval_args(tiny_model_dir, data, tmp_path / "ref", tmp_path / "ref.json")) == 0

    store = tmp_path / "store"
    args = [sys.executable, "-m", "harness.cli", *eval_args(tiny_model_dir, data, store, tmp_path / "out.json")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        files = list(store.glob("eval/*.partial/generations.jsonl"))
        if files and files[0].stat().st_size > 0:
            partial = files[0]
            break
        time.sleep(0.05)
    assert partial is not None and proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines_at_kill = [line for line in partial.read_text().splitlines() if line.strip()]
    assert 0 < len(lines_at_kill) < 24
    with partial.open("a") as fh:  # as if the kill tore a write in half
        fh.write('{"key": "torn')

    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    records = _generations(store)
    per_problem = {}
    for r in records:
        per_problem.setdefault(r["id"], []).append(r["sample"])
    assert len(per_problem) == 8 and all(sorted(s) == [0, 1, 2] for s in per_problem.values())
    assert len(records) == 24

    ref, got = json.loads((tmp_path / "ref.json").read_text()), json.loads((tmp_path / "out.json").read_text())
    assert got["benchmarks"]["aime24"]["metrics"] == ref["benchmarks"]["aime24"]["metrics"]
    assert got["benchmarks"]["aime24"]["samples"] == ref["benchmarks"]["aime24"]["samples"]
    texts = {(r["id"], r["sample"]): r["text"] for r in records}
    assert texts == {(r["id"], r["sample"]): r["text"] for r in _generations(tmp_path / "ref")}
    assert len({texts[("T-00", j)] for j in range(3)}) > 1, "samples of one problem should differ"


def test_stored_result_is_reused_and_json_shape(tiny_model_dir, tmp_path, capsys):
    data = write_benchmark(tmp_path / "data", count=3)
    out = tmp_path / "a.json"
    assert main(eval_args(tiny_model_dir, data, tmp_path / "s", out)) == 0
    first = json.loads(out.read_text())
    bench = first["benchmarks"]["aime24"]
    assert set(bench["metrics"]) >= {"pass@1", "pass@2", "pass@3", "pass@1_ci", "avg@3", "maj@3", "mean_tokens", "no_answer", "timeout", "n"}
    assert all(0.0 <= bench["metrics"][f"pass@{k}"] <= 1.0 for k in (1, 2, 3))
    assert [(s["index"], s["sample"]) for s in bench["samples"]] == [(i, j) for i in range(3) for j in range(3)]
    assert bench["checksum"].startswith("sha256:")
    # a second run reads the stored result: same numbers, model never needed
    os.utime(tiny_model_dir)  # (fingerprint is content-based, so this does not invalidate)
    assert main(eval_args(tiny_model_dir, data, tmp_path / "s", tmp_path / "b.json")) == 0
    assert json.loads((tmp_path / "b.json").read_text()) == first


def test_eval_user_errors(tiny_model_dir, tmp_path, capsys):
    data = write_benchmark(tmp_path / "data", count=2)
    assert main(eval_args(tiny_model_dir, data, tmp_path / "s", tmp_path / "x.json", ["--k", "5"])) == 2
    assert "pass@5" in capsys.readouterr().err
    assert main(eval_args(tmp_path / "nope", data, tmp_path / "s", tmp_path / "x.json")) == 2
    assert main(["eval", "--model", str(tiny_model_dir), "--benchmarks", "nosuch"]) == 2
    assert main(eval_args(tiny_model_dir, tmp_path / "empty", tmp_path / "s", tmp_path / "x.json")) == 2
    assert "not found" in capsys.readouterr().err


class FakeEngine:
    """Answers every prompt with a fixed text: lets the runner be tested without a model."""

    name = "fake"

    def __init__(self, model_id, texts):
        self.model_id, self.texts, self.calls = model_id, texts, 0
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_id)

    def generate(self, requests, sampling):
        from harness.engines.base import Completion

        self.calls += 1
        return [[Completion(self.texts[r.seed_key.rsplit("/", 1)[1]], 5, "stop") for _ in r.sample_indices] for r in requests]


def test_runner_grades_timeouts_and_audits(tiny_model_dir, tmp_path):
    data = write_benchmark(tmp_path / "data", count=5)
    texts = {
        "T-00": "\\boxed{3}",  # gold 003: correct
        "T-01": "\\boxed{4}",  # gold 005: wrong
        "T-02": "\\boxed{9^{9^{9^{9^{9}}}}}",  # hangs sympy: a timeout
        "T-03": "no idea",  # no answer
        "T-04": "\\boxed{" + "{" * 500_000 + "}" * 500_000 + "}",  # a megabyte of braces: a timeout
    }
    engine = FakeEngine(str(tiny_model_dir), texts)
    cfg = EvalConfig(n=2, k=[1, 2], data_dir=str(data), grader_timeout=2.0, audit_grader="boxed_string", sampling=SamplingConfig())
    result = evaluate_benchmark(engine, "aime24", cfg, tmp_path / "w", seed=0)
    m = result["metrics"]
    assert [s["outcome"] for s in result["samples"]] == ["correct"] * 2 + ["incorrect"] * 2 + ["timeout"] * 2 + ["no_answer"] * 2 + ["timeout"] * 2
    assert (m["pass@1"], m["timeout"], m["no_answer"]) == (0.2, 4, 2)
    assert result["audit"]["disagreements"] == 0
    calls = engine.calls
    again = evaluate_benchmark(engine, "aime24", cfg, tmp_path / "w", seed=0)
    assert engine.calls == calls and again["samples"] == result["samples"]  # all read back from disk
    with pytest.raises(HarnessError):
        evaluate_benchmark(engine, "aime24", EvalConfig(n=2, k=[3], data_dir=str(data)), tmp_path / "w", seed=0)


def test_eval_past_the_context_exits_2_in_one_line_before_generating(tiny_model_dir, tmp_path, capsys):
    data = write_benchmark(tmp_path / "data", count=2)
    out = tmp_path / "x.json"
    assert main(eval_args(tiny_model_dir, data, tmp_path / "s", out, ["--max-new-tokens", "600"])) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err
    assert "past the 512-token context" in errors[0] and "lower max_new_tokens to at most" in errors[0]
    assert not out.exists()
    assert not list((tmp_path / "s").glob("eval/*/generations.jsonl"))  # nothing was generated


class _FullDisk:
    """A file opened for appending on a disk with no space left: every write fails as the OS fails it."""

    def __init__(self, fh):
        self._fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()

    def write(self, text):
        import errno

        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)


def test_a_full_disk_during_eval_is_one_line_naming_the_file(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """Issue #33: generations hitting a full disk ended in a raw OSError traceback."""
    data = write_benchmark(tmp_path / "data", count=2)
    real_open = Path.open

    def open_(self, mode="r", *args, **kwargs):
        fh = real_open(self, mode, *args, **kwargs)
        return _FullDisk(fh) if self.name == GENERATIONS and "a" in mode else fh

    monkeypatch.setattr(Path, "open", open_)
    store = tmp_path / "store"
    assert main(eval_args(tiny_model_dir, data, store, tmp_path / "out.json")) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert re.match(rf"error: cannot write {store}/eval/aime24-[0-9a-f]{{16}}\.partial/{GENERATIONS}: "
                    r"No space left on device; free some space", errors[0]), errors[0]
    assert err.splitlines()[-1] == errors[0] and not (tmp_path / "out.json").exists()
