"""bench/gpu_check.py: its helpers (fast), and the whole check at toy sizes on CPU (slow).

The slow tests are what make the script known to work before GPU time is spent on it:
`python -m pytest -m slow tests/test_gpu_check.py` (about two minutes on 2 cores).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu_check.py"
BENCHMARKS = REPO / "tests" / "fixtures" / "benchmarks"  # the four benchmarks' schemas, problems written for tests


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gc_mod = _load()


# --------------------------------------------------------------------------- fast: helpers

def test_token_comparison():
    assert gc_mod.cut_at_stop([5, 6, 2, 7, 2], {2}) == [5, 6, 2]
    assert gc_mod.cut_at_stop([5, 6], {2}) == [5, 6]
    out = gc_mod.compare([[1, 2, 3], [1, 2], [4]], [[1, 2, 3], [1, 9], [4]])
    assert out["identical_rows"] == 2 and out["identical_share"] == round(2 / 3, 4)
    assert out["first_divergence_min"] == 1 and out["mean_common_prefix_tokens"] == 1.7
    with pytest.raises(ValueError):
        gc_mod.compare([[1]], [])


def test_report_path(monkeypatch, tmp_path):
    monkeypatch.delenv("OUT", raising=False)
    assert gc_mod.default_out(None) == Path("gpu_check.json")
    monkeypatch.setenv("OUT", str(tmp_path))
    assert gc_mod.default_out(None) == tmp_path / "gpu_check.json"
    assert gc_mod.default_out(str(tmp_path / "x.json")) == tmp_path / "x.json"  # --out wins


class _CpuPhase:
    cuda = False

    def allocated_mib(self):
        return None


def _probe(at_train_start, loaded=("student",)):
    probe = gc_mod.MemoryProbe(_CpuPhase())
    probe.engines = [(m, None, None) for m in loaded]
    probe.at_train_start = at_train_start
    return probe.verdict()


def test_memory_verdict_fails_when_an_engine_model_is_alive():
    entry = {"engines_loaded_so_far": 1, "live_engines": ["student"], "live_engine_models": ["student"],
             "live_engines_after_gc": ["student"], "live_engine_models_after_gc": ["student"]}
    verdict = _probe([entry])
    assert verdict["passed"] is False and "still alive" in verdict["detail"]
    freed = {**entry, "live_engine_models": [], "live_engine_models_after_gc": []}
    assert _probe([freed])["passed"] is True  # the engine object may stay; its model must not
    assert _probe([])["passed"] is None  # training never started: not exercised
    assert _probe([{**freed, "engines_loaded_so_far": 0}], loaded=())["passed"] is None


def test_recommendation_needs_speed_and_per_row_sampling():
    def phase(cb_speed, cb_subset):
        return {
            "bf16_engine": {"tokens_per_s": 100.0}, "bf16_generate_batch": {"tokens_per_s": cb_speed},
            "sampling_engine": {"subset_vs_full": {"identical_share": 1.0}},
            "sampling_generate_batch": {"subset_vs_full": {"identical_share": cb_subset}},
        }

    assert gc_mod.generation_findings(phase(120.0, 1.0))["recommendation"].startswith("use transformers' generate_batch")
    slow = gc_mod.generation_findings(phase(50.0, 1.0))["recommendation"]
    assert slow.startswith("keep") and "0.5x" in slow
    assert "change with the batch" in gc_mod.generation_findings(phase(120.0, 0.25))["recommendation"]


def test_checks_count_missing_phases_as_failed():
    report = {"selected_phases": ["gen-qwen2", "pipeline"], "cuda": False,
              "phases": {"gen-qwen2": {"status": "timeout", "exit_code": None},
                         "pipeline": {"status": "skipped", "reason": "time budget spent (--budget-s)"}}}
    checks, findings = gc_mod.checks_and_findings(report)
    assert checks and not any(c["passed"] for c in checks)
    assert findings["qwen2"]["recommendation"].startswith("keep")


# --------------------------------------------------------------------------- slow: the whole check on CPU

def _run(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("OUT", None)
    # The fixtures, not ../shared/benchmarks: a fresh clone has no ../shared (the GPU run copies the real files).
    proc = subprocess.run([sys.executable, str(SCRIPT), "--toy", "--out", str(out), "--work", str(tmp_path / "work"),
                           "--data-dir", str(BENCHMARKS), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.is_file() and out.with_suffix(".log").is_file()
    report = json.loads(out.read_text())
    assert proc.stdout.strip().splitlines()[-2].endswith(
        f"{sum(c['passed'] for c in report['checks'])} passed, {sum(not c['passed'] for c in report['checks'])} failed")
    return report


@pytest.mark.slow
def test_toy_run_on_cpu(tmp_path):
    report = _run(tmp_path)
    assert report["schema"] == "gpu_check/1" and report["toy"] is True
    assert report["machine"]["versions"]["torch"] and report["machine"]["versions"]["transformers"]
    assert set(report["phases"]) == set(gc_mod.PHASES)
    failed = {name: p for name, p in report["phases"].items() if p["status"] != "ok"}
    assert not failed, json.dumps(failed)[:3000]
    checks = {c["check"]: c for c in report["checks"]}
    memory = checks.pop("student engine released before training starts")
    # Every check but the memory release must pass at toy size; that one depends on the pipeline
    # (it fails where the pipeline keeps its engines), but it must have been exercised.
    assert all(c["passed"] for c in checks.values()), json.dumps(report["checks"], indent=1)
    release = report["phases"]["pipeline"]["memory_release"]
    assert release["passed"] is memory["passed"] and release["passed"] in (True, False)
    assert release["at_train_start"][0]["engines_loaded_so_far"] >= 1

    for arch in ("qwen2", "qwen3"):
        gen = report["phases"][f"gen-{arch}"]
        for key in ("bf16_engine", "bf16_generate", "bf16_generate_batch", "fp32_engine", "fp32_generate",
                    "fp32_generate_batch"):
            assert gen[key]["tokens_per_s"] > 0, (arch, key, gen[key])
        assert gen["fp32_agreement"]["fp32_engine__vs__fp32_generate"]["identical_share"] == 1.0
        assert gen["sampling_engine"]["subset_vs_full"]["identical_share"] == 1.0
        assert 0.0 <= gen["sampling_generate_batch"]["subset_vs_full"]["identical_share"] <= 1.0
        assert report["findings"][arch]["recommendation"]

    train = report["phases"]["train"]["train_sft"]
    assert train["examples"] == gc_mod.TOY.train_examples and train["tokens_per_s"] > 0
    assert train["train_tokens"] == gc_mod.TOY.train_examples * gc_mod.TOY.train_tokens  # every example cut to max_length
    run = report["phases"]["pipeline"]["run"]
    assert run["exit_code"] == 0 and run["training"]["examples"] > 0
    assert set(run["benchmarks"]) == {"aime24", "aime25", "amc12", "math500"}
    assert all(b["num_problems"] == gc_mod.TOY.eval_limit for b in run["benchmarks"].values())
    launch = report["phases"]["accelerate"]["launch"]
    assert launch["exit_code"] == 0 and launch["model_written"] and launch["examples"] == gc_mod.TOY.train_examples


@pytest.mark.slow
def test_memory_check_fails_when_engines_are_held(tmp_path):
    """The release check can fail: with every engine and its model held alive, as a pipeline
    that never releases its engines would, it reports the student's model alive at training."""
    report = _run(tmp_path, "--phases", "pipeline", "--hold-engines")
    release = report["phases"]["pipeline"]["memory_release"]
    assert release["passed"] is False and release["at_train_start"][0]["live_engine_models"]
    assert report["phases"]["pipeline"]["run"]["exit_code"] == 0


@pytest.mark.slow
def test_wheel_download(tmp_path):
    """bench/gpu_wheels.sh reaches PyPI, fetches one wheel per package (well under the carry limit)
    and copies the benchmark files."""
    env = {**os.environ, "GPU_DATA_DIR": str(tmp_path / "data"), "BENCHMARKS_SRC": str(BENCHMARKS)}
    proc = subprocess.run(["bash", str(REPO / "bench" / "gpu_wheels.sh"), str(tmp_path / "whl")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "data" / "benchmarks").glob("*.jsonl")) == [
        "aime24.jsonl", "aime25.jsonl", "amc12.jsonl", "math500.jsonl"]
    wheels = sorted(p.name for p in (tmp_path / "whl").glob("*.whl"))
    assert len(wheels) == 11 and any(w.startswith("trl-") for w in wheels)
    assert (tmp_path / "whl" / ".gitignore").read_text().strip() == "*"
    assert sum(p.stat().st_size for p in (tmp_path / "whl").glob("*.whl")) < 40 * 2**20
