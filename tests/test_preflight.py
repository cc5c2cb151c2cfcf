"""Checks before any stage (issue #33, item 2): the device, the engine, the student and the data.

A run that would fail at training must fail before its teacher stage; `--dry-run` lists every
check and exits 2 when one failed. The machine is made to lack bf16 (and an engine to lack its
package) by monkeypatching, so these tests say the same on a CPU and on a GPU.
"""

from __future__ import annotations

import json

import pytest

from harness import preflight
from harness.cli import main
from harness.config import resolve_run_config
from harness.errors import HarnessError
from harness.registries import ENGINES
from harness.store import RunStore
from harness.training.device import bf16_problem
from test_pipeline import Fakes, run

S1K_SAMPLE = "tests/fixtures/s1k/s1k-1.1-sample.jsonl"


def no_bf16(monkeypatch):
    import transformers.utils

    monkeypatch.setattr(transformers.utils, "is_torch_bf16_gpu_available", lambda: False)
    monkeypatch.setattr(transformers.utils, "is_torch_xla_available", lambda: False)


class NeedsPackage:
    """An engine whose package is not installed (as vLLM on a machine without it)."""

    requires = "harness_test_no_such_package"


@pytest.fixture
def engine_without_package(isolate):
    isolate(ENGINES)
    ENGINES.add("needs_pkg", NeedsPackage)
    return "needs_pkg"


def one_error_line(capsys) -> tuple[str, str]:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0], captured.out


def test_bf16_problem_is_transformers_own_verdict(monkeypatch):
    no_bf16(monkeypatch)
    problem = bf16_problem()
    assert "train.bf16" in problem and "--set train.bf16=false" in problem
    import transformers.utils

    monkeypatch.setattr(transformers.utils, "is_torch_bf16_gpu_available", lambda: True)
    assert bf16_problem() is None


def test_a_run_that_cannot_train_stops_before_the_teacher_stage(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    no_bf16(monkeypatch)
    assert run(tmp_path, "--method", "full_cot", "--set", "train.bf16=true") == 2
    line, _ = one_error_line(capsys)
    assert "train.bf16" in line and "--set train.bf16=false" in line
    assert fakes.calls == {"teacher": 0, "train": 0, "eval": 0}


def test_a_method_that_does_not_train_needs_no_bf16(tmp_path, monkeypatch, tiny_model_dir):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    no_bf16(monkeypatch)
    assert run(tmp_path, "--method", "none", "--set", "train.bf16=true") == 0
    assert fakes.calls["eval"] == 1


def test_every_failure_is_named_in_one_line_before_any_stage(tmp_path, monkeypatch, tiny_model_dir, capsys,
                                                               engine_without_package):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    no_bf16(monkeypatch)
    assert run(tmp_path, "--method", "full_cot", "--set", "train.bf16=true",
               "--set", f"engine.name={engine_without_package}") == 2
    line, _ = one_error_line(capsys)
    assert "2 checks failed before any stage ran" in line
    assert "[training] train.bf16" in line and "[engine] engine 'needs_pkg'" in line
    assert "harness_test_no_such_package is not installed" in line
    assert fakes.calls == {"teacher": 0, "train": 0, "eval": 0}


def test_dry_run_lists_every_check_and_exits_2(tmp_path, monkeypatch, capsys, engine_without_package):
    no_bf16(monkeypatch)
    empty = tmp_path / "no-benchmarks"
    empty.mkdir()
    code = main(["run", "--store", str(tmp_path / "store"), "--method", "full_cot", "--dry-run",
                 "--set", "train.bf16=true", "--set", f"engine.name={engine_without_package}",
                 "--set", "eval.benchmarks=[aime24]", "--set", f"eval.data_dir={empty}"])
    assert code == 2
    captured = capsys.readouterr()  # the resolved config goes to stderr too, above the error
    line, out = captured.err.strip().splitlines()[-1], captured.out
    assert line == "error: 3 of 5 checks failed (listed above): training, engine, benchmark aime24"
    checks, plan = out.split("dry run: stages under")  # the plan too: the student and teacher checks passed
    rows = {row.split("│")[1].strip(): row.split("│")[2].strip() for row in checks.splitlines() if row.count("│") >= 4}
    assert rows == {"training": "FAILED", "engine": "FAILED", "student": "ok", "teacher data": "ok",
                    "benchmark aime24": "FAILED"}
    assert "aime24.jsonl not found" in checks and "world" in plan
    assert not (tmp_path / "store").exists() or not any(p.name != ".locks" for p in (tmp_path / "store").iterdir())


def test_dry_run_that_passes_prints_checks_and_plan(tmp_path, monkeypatch, tiny_model_dir, capsys):
    Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "palign", "--student", str(tiny_model_dir), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "dry run: checks before any stage" in out and "FAILED" not in out
    assert "dry run: stages under" in out


def test_train_command_without_bf16_is_one_line(tmp_path, monkeypatch, tiny_model_dir, capsys):
    no_bf16(monkeypatch)
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps({"id": "a", "prompt": [{"role": "user", "content": "1+1?"}],
                                "completion": [{"role": "assistant", "content": "\\boxed{2}"}]}) + "\n")
    code = main(["train", "--model", str(tiny_model_dir), "--data", str(data), "--output-dir", str(tmp_path / "out"),
                 "--set", "train.bf16=true"])
    assert code == 2
    line, _ = one_error_line(capsys)
    assert "train.bf16" in line


def checks_of(tmp_path, **sections) -> dict[str, preflight.Check]:
    overrides = [{section: values} for section, values in sections.items()]
    cfg = resolve_run_config(None, None, overrides)
    return {c.name: c for c in preflight.data_checks(cfg, RunStore(tmp_path / "store"))}


def test_student_checks(tmp_path, monkeypatch, tiny_model_dir):
    assert checks_of(tmp_path, student={"model": str(tiny_model_dir)})["student"].ok
    missing = checks_of(tmp_path, student={"model": str(tmp_path / "nope")})["student"]
    assert not missing.ok and "student model folder not found" in missing.detail and "--student" in missing.detail
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: None)
    offline = checks_of(tmp_path, student={"model": "org/not-cached"})["student"]  # the suite runs offline
    assert not offline.ok and "hf download org/not-cached" in offline.detail
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: "/cache/config.json")
    assert checks_of(tmp_path, student={"model": "org/cached"})["student"].detail.endswith("local Hugging Face cache")


def test_teacher_data_checks(tmp_path):
    s1k = checks_of(tmp_path, teacher={"source": "s1k", "dataset": S1K_SAMPLE})["teacher data"]
    assert s1k.ok and s1k.detail.startswith("s1k: 16 rows")
    missing = checks_of(tmp_path, teacher={"source": "s1k", "dataset": str(tmp_path / "s1k.jsonl")})["teacher data"]
    assert not missing.ok and "s1K data file not found" in missing.detail
    no_model = checks_of(tmp_path, teacher={"source": "model"})["teacher data"]
    assert not no_model.ok and "teacher.source=model needs a teacher model" in no_model.detail


def test_require_names_a_single_failure_as_it_is():
    with pytest.raises(HarnessError, match="^it broke$"):
        preflight.require([preflight.Check("a", True, "fine"), preflight.Check("b", False, "it broke")])
    preflight.require([preflight.Check("a", True, "fine")])
