"""`harness smoke` (issue #33, item 5): each paper preset's whole pipeline, offline on CPU, on a stand-in.

The end-to-end test runs the smoke of both paper presets from empty stores, as a user would
before a GPU run; the others pin the stand-in's architecture lookup, the toy data's schema
and the one-line errors.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from harness.cli import main
from harness.config import CONFIGS_DIR, resolve_run_config
from harness.errors import HarnessError
from harness.registries import METHODS
from harness.smoke.standin import CONTEXT, student_arch
from harness.smoke.toy import benchmark_rows, s1k_rows

PAPER = sorted(p.stem for p in CONFIGS_DIR.glob("paper-*.yaml") if p.stem != "paper-base")
ARCH = {"paper-qwen2.5-7b": "qwen2", "paper-qwen3-8b": "qwen3"}


def test_toy_teacher_rows_are_s1k_rows_with_checkable_answers():
    from harness.teacher.s1k import REQUIRED, extract_answer
    from harness.toolkit.splitter import split_pieces

    columns = {"solution", "question", "cot_type", "source_type", "metadata", "gemini_thinking_trajectory",
               "gemini_attempt", "deepseek_thinking_trajectory", "deepseek_attempt", "gemini_grade",
               "gemini_grade_reason", "deepseek_grade", "deepseek_grade_reason"}  # simplescaling/s1K-1.1's
    for row in s1k_rows(3, 4):
        assert set(row) == columns and set(REQUIRED) <= columns
        answer = extract_answer(row["solution"])
        assert answer is not None and f"\\boxed{{{answer}}}" in row["deepseek_thinking_trajectory"]
        assert len(split_pieces(row["deepseek_thinking_trajectory"], "paragraph", None)) == 4  # R1-like paragraphs
    rows = benchmark_rows("aime24", 3)
    assert [set(r) for r in rows] == [{"id", "problem", "answer"}] * 3
    assert not {r["problem"] for r in rows} & {r["problem"] for r in benchmark_rows("math500", 3)}


def test_stand_in_architecture_is_the_students(tmp_path, tiny_qwen3_dir):
    for preset, arch in ARCH.items():
        assert student_arch(resolve_run_config(preset).student.model) == arch
    assert student_arch("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B") == "qwen2"
    assert student_arch(str(tiny_qwen3_dir)) == "qwen3"  # a local folder: its config.json
    with pytest.raises(HarnessError, match="--arch"):
        student_arch("Qwen/Qwen3-30B-A3B")  # a mixture of experts: not a known dense id, not cached
    llama = tmp_path / "llama"
    llama.mkdir()
    (llama / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(HarnessError, match="'llama' model; harness smoke has stand-ins for qwen2, qwen3"):
        student_arch(str(llama))


@pytest.mark.parametrize("argv, needle", [
    (["smoke"], "--preset NAME"),
    (["smoke", "--preset", "synthetic"], "synth:tiny is built-in"),
    (["smoke", "--preset", "paper-qwen3-8b", "--set", "student.model=org/unknown-7b"], "--arch"),
    (["smoke", "--preset", "paper-qwen3-8b", "--method", "nope"], "nope"),
])
def test_bad_input_is_one_line_before_anything_is_built(tmp_path, capsys, argv, needle):
    assert main([*argv, "--store", str(tmp_path / "store")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("preset", PAPER)
def test_smoke_runs_the_paper_preset_end_to_end_offline(preset, tmp_path, capsys):
    out = tmp_path / "record.json"
    assert main(["smoke", "--preset", preset, "--store", str(tmp_path / "store"), "--json", str(out)]) == 0
    captured = capsys.readouterr()
    record = json.loads(out.read_text())
    paper = resolve_run_config(preset)

    # The preset's method ran on the stand-in, then trained and evaluated on the preset's benchmarks.
    assert record["method"] == "smoke_palign" and record["method_params"]["judge"] == "self"
    stats = record["method_stats"]
    assert stats["judge_queries"] > 0 and stats["traces"] == 4 and "prefix_over_context" not in stats["dropped"]
    assert stats["stand_in_fallback"]  # a random student keeps nothing: the full CoTs are trained on
    assert record["training"]["steps"] == 2 and record["training"]["examples"] == 4
    assert sorted(record["benchmarks"]) == sorted(paper.eval.benchmarks)
    for result in record["benchmarks"].values():
        assert result["num_problems"] == 2 and "pass@3" in result["metrics"]
    config = json.loads((tmp_path / "store" / record["student"].split("/store/", 1)[1] / "config.json").read_text())
    assert config["model_type"] == ARCH[preset] and config["max_position_embeddings"] == CONTEXT

    # It says what it changed for this machine, and what the real run needs of it.
    if importlib.util.find_spec("vllm") is None:
        assert "so the smoke runs the transformers engine" in captured.err
    import torch

    if not torch.cuda.is_available():
        assert "bf16 is off" in captured.err
    assert f"what `harness run --preset {preset}` needs of this machine" in captured.out
    assert captured.out.rstrip().splitlines()[-1].startswith("smoke passed: the pipeline ran end to end")
    assert "smoke_palign" not in METHODS.names()  # registered for the smoke only


def test_smoke_methods_wrap_every_training_method_for_the_block_only():
    from harness.method_runs import all_selectors
    from harness.smoke.plan import smoke_methods

    before = METHODS.names()
    with smoke_methods(all_selectors()) as selectors:
        assert "none" in selectors and "smoke_palign" in selectors
        assert [s for s in selectors if s.startswith("smoke_fixed_trunc:")] == [
            "smoke_fixed_trunc:ratio=0.25", "smoke_fixed_trunc:ratio=0.5", "smoke_fixed_trunc:ratio=0.75"]
        assert all(s == "none" or s.startswith("smoke_") for s in selectors)
    assert METHODS.names() == before
