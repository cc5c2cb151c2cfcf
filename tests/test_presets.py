"""Every preset in configs/ resolves; the paper presets carry the paper's settings (nothing is run)."""

from __future__ import annotations

import pytest

from harness.config import CONFIGS_DIR, PAPER_INSTRUCTION, RunConfig, resolve_run_config

PRESETS = sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))
PAPER = [name for name in PRESETS if name.startswith("paper-")]
STUDENTS = {"paper-qwen2.5-7b": ("Qwen/Qwen2.5-7B-Instruct", None), "paper-qwen3-8b": ("Qwen/Qwen3-8B", False)}


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_resolves(name):
    assert isinstance(resolve_run_config(preset=name), RunConfig)


def test_paper_student_presets_exist():
    assert set(STUDENTS) <= set(PAPER)


@pytest.mark.parametrize("name", PAPER)
def test_paper_settings(name):
    cfg = resolve_run_config(preset=name)
    assert (cfg.teacher.source, cfg.teacher.dataset) == ("s1k", "simplescaling/s1K-1.1")
    assert cfg.method.name == "palign" and cfg.method.params.get("judge") == "self"
    assert cfg.method.params.get("prompt_style") == "draft" and cfg.method.params.get("unit") == "paragraph"
    t = cfg.train
    assert t.use_lora and (t.lora_r, t.lora_alpha, t.lora_dropout) == (16, 16, 0.05)
    assert t.lora_target_modules == ["all-linear"]
    assert (t.num_train_epochs, t.learning_rate, t.lr_scheduler_type, t.warmup_ratio) == (3, 5e-5, "cosine", 0.1)
    assert t.per_device_train_batch_size * t.gradient_accumulation_steps == 32
    assert t.max_length == 32768 and t.bf16
    e = cfg.eval
    assert e.benchmarks == ["aime24", "aime25", "amc12", "math500"]
    assert (e.n, e.k, e.instruction) == (3, [1, 3], PAPER_INSTRUCTION)
    for sampling in (e.sampling, cfg.method.sampling):
        assert (sampling.temperature, sampling.top_p, sampling.repetition_penalty) == (0.6, 0.9, 1.05)
    assert e.sampling.max_new_tokens >= 30000
    # A continuation leaves room in the context for the prompt and a teacher prefix.
    assert cfg.method.sampling.max_new_tokens <= cfg.engine.max_model_len // 2
    assert (cfg.engine.name, cfg.engine.dtype) == ("vllm", "bfloat16")
    # Prompt plus the longest generation must fit the engine's context.
    assert cfg.engine.max_model_len >= e.sampling.max_new_tokens + 2048
    if name in STUDENTS:
        assert (cfg.student.model, cfg.student.enable_thinking) == STUDENTS[name]


@pytest.mark.parametrize("name", PAPER)
def test_paper_method_params_are_valid_for_every_method(name):
    """`harness run --preset paper-... --method all` must accept the preset's method params."""
    from harness.methods import METHODS, get_method
    from harness.method_runs import method_params

    cfg = resolve_run_config(preset=name)
    parsed = {m: method_params(get_method(m), cfg.method.params) for m in METHODS.names()}
    assert parsed["palign"].judge == "self"
    assert set(parsed) >= {"none", "full_cot", "short_cot", "fixed_trunc", "palign"}


def test_tensor_parallel_override():
    cfg = resolve_run_config(preset="paper-qwen3-8b", overrides=[{"engine": {"tensor_parallel_size": 4}}])
    assert cfg.engine.tensor_parallel_size == 4 and cfg.student.model == "Qwen/Qwen3-8B"
