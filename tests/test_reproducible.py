"""A fresh clone reproduces the board (issue #14, acceptance 4): pinned versions, deterministic builds.

The full check is `python bench/reproduce_board.py leaderboards/SETUP/records/seed0.json.gz`
(minutes to an hour); these tests pin its parts: the constraints file and its use, the
comparison the script makes, and that building a world and its student twice with one
seed gives byte-identical results on one machine.
"""

import copy
import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import reproduce_board  # noqa: E402


def test_constraints_pin_every_package_exactly_and_install_uses_them():
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", pin) for pin in pins), pins
    names = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    assert {"torch", "transformers", "trl", "datasets", "tokenizers", "math-verify", "peft", "filelock"} <= names
    assert "torch==2.13.0" in pins and "distill-harness" not in names
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.count("-c constraints.txt") == 2
    readme = (ROOT / "README.md").read_text()
    assert "pip install -c constraints.txt" in readme and "bench/reproduce_board.py" in readme


def _records() -> list[dict]:
    sample = {"index": 0, "id": "p1", "sample": 0, "outcome": "correct", "extracted": "4", "num_tokens": 5}
    bench = {"metrics": {"pass@1": 1.0}, "samples": [sample, {**sample, "id": "p2", "outcome": "incorrect"}]}
    manifest = {"versions": {"harness": "0.1.0", "python": "0.0.0-not-this-one"}, "config": {}}
    return [{"method": m, "method_params": {}, "seed": 0, "benchmarks": {"synth_routine": copy.deepcopy(bench)},
             "manifest": manifest} for m in ("none", "full_cot")]


def test_reproduce_board_compares_every_sample_and_names_version_drift(tmp_path, capsys):
    committed, fresh = _records(), _records()
    assert reproduce_board.compare(committed, fresh) == []
    fresh[1]["benchmarks"]["synth_routine"]["samples"][1]["outcome"] = "correct"
    fresh[1]["benchmarks"]["synth_routine"]["metrics"]["pass@1"] = 0.5
    problems = reproduce_board.compare(committed, fresh)
    assert problems == ["full_cot/synth_routine: 1 of 2 sample outcomes differ (first: p2 sample 0)",
                        "full_cot/synth_routine: metrics differ: pass@1"]
    assert reproduce_board.compare(committed, fresh[:1])[0] == "full_cot: not in the new run"
    (tmp_path / "a.json").write_text(json.dumps(committed))
    (tmp_path / "b.json").write_text(json.dumps(fresh))
    assert reproduce_board.main([str(tmp_path / "a.json"), "--record", str(tmp_path / "b.json")]) == 1
    out = capsys.readouterr().out
    assert "version drift: python: board 0.0.0-not-this-one" in out and "2 differences" in out
    assert reproduce_board.main([str(tmp_path / "a.json"), "--record", str(tmp_path / "a.json")]) == 0


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_two_builds_of_one_world_are_byte_identical(tmp_path):
    """World stage (tokenizer, student pretraining) and teacher traces, built twice in fresh stores."""
    from harness import stages
    from harness.config import parse_override, resolve_run_config
    from harness.jsonl import read_json
    from harness.store import RunStore

    small = ["world.pretrain_problems=12", "world.pretrain_epochs=1", "world.context_length=128",
             "world.benchmark_size=10", "teacher.num_problems=6"]
    cfg = resolve_run_config(overrides=[parse_override(o) for o in small])
    built = []
    for name in ("a", "b"):
        store = RunStore(tmp_path / name)
        student = Path(stages.stage_student(cfg, store))
        teacher = stages.stage_teacher(cfg, store)
        built.append((student, teacher))
    (student_a, teacher_a), (student_b, teacher_b) = built
    assert _files(student_a) == _files(student_b) and "model.safetensors" in _files(student_a)
    stats_a, stats_b = (read_json(s.parent / "stats.json") for s in (student_a, student_b))
    assert stats_a["pretraining"] == stats_b["pretraining"]
    assert stats_a.get("base_accuracy") == stats_b.get("base_accuracy")
    assert (teacher_a / "traces.jsonl").read_bytes() == (teacher_b / "traces.jsonl").read_bytes()
