"""Every preset in configs/ resolves; the paper presets carry the paper's settings (nothing is run)."""

from __future__ import annotations

import pytest

from harness.config import CONFIGS_DIR, PAPER_INSTRUCTION, REST_OF_CONTEXT, RunConfig, resolve_run_config

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
    assert (cfg.teacher.source, cfg.teacher.dataset, cfg.teacher.keep_uncheckable) == ("s1k", "simplescaling/s1K-1.1", True)
    p = cfg.method.params
    assert cfg.method.name == "palign" and p["judge"] == "self"
    # The authors' choices (NEUIR/P-ALIGN): sentences, every one searched, their label reading and judge call,
    # the draft prompt, one continuation, the released outputs' markers; s1's layout for full_cot.
    assert (p["unit"], p["max_pieces"], p["judge_parse"], p["judge_sampling"]) == ("sentence", None, "authors",
                                                                                   "generation_config")
    assert (p["prompt_style"], p["samples"], p["failure_policy"]) == ("draft", 1, "keep_full")
    assert (p["begin_marker"], p["end_marker"], p["target"]) == ("<Begin_of_Draft>", "<End_of_Draft>", "s1")
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
    # Continuations may run to the end of the authors' 32,768-token context, however long the prefix.
    assert cfg.method.sampling.max_new_tokens == REST_OF_CONTEXT and cfg.engine.max_model_len == 32768
    assert (cfg.engine.name, cfg.engine.dtype) == ("vllm", "bfloat16")
    # Prompt plus the longest evaluation sample must fit the engine's context.
    assert cfg.engine.max_model_len >= e.sampling.max_new_tokens + 2048
    if name in STUDENTS:
        assert (cfg.student.model, cfg.student.enable_thinking) == STUDENTS[name]


SOURCES = ("paper", "p-align", "ours", "simplescaling/s1")  # lower case


@pytest.mark.parametrize("name", PAPER)
def test_every_paper_setting_names_its_source(name):
    """Each value a paper preset sets names where it comes from, on its line or in the comment above it."""
    comment_above = ""
    for number, line in enumerate((CONFIGS_DIR / f"{name}.yaml").read_text().splitlines(), start=1):
        text, _, comment = line.partition("#")
        if not text.strip():
            comment_above = comment_above + comment if comment else ""
            continue
        key, _, value = text.strip().partition(":")
        if value.strip() and key != "include":  # a value, not a section heading
            said = (comment + comment_above).lower()
            assert any(word in said for word in SOURCES), f"{name}.yaml:{number}: {line.strip()!r}"
        comment_above = ""


def _flat(mapping: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _docs_tables() -> tuple[dict, dict]:
    """docs/reproducing-the-paper.md's tables of the paper presets: base setting -> value, (preset, setting) -> value."""
    import yaml

    text = (CONFIGS_DIR.parent / "docs" / "reproducing-the-paper.md").read_text()
    section = text.split("## Every setting of the paper presets", 1)[1].split("\n## ", 1)[0]
    base, students = {}, {}
    for line in section.splitlines():
        if not line.startswith("| `"):  # not a row that names a setting (a header, a rule, prose)
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3:
            base[cells[0]] = yaml.safe_load(cells[1])
        elif len(cells) == 4:
            students[(cells[0], cells[1])] = yaml.safe_load(cells[2])
    return base, students


def test_the_docs_table_gives_every_paper_setting_and_its_value():
    from harness.config import load_yaml

    base, students = _docs_tables()
    expected = {k: v for k, v in _flat(load_yaml(CONFIGS_DIR / "paper-base.yaml")).items()}
    assert base == expected
    for name in STUDENTS:
        own = {k: v for k, v in _flat(load_yaml(CONFIGS_DIR / f"{name}.yaml")).items() if k != "include"}
        assert {s: v for (preset, s), v in students.items() if preset == name} == own


@pytest.mark.parametrize("name", PAPER)
def test_paper_method_params_are_valid_for_every_method(name):
    """`harness run --preset paper-... --method all` must accept the preset's method params."""
    from harness.methods import METHODS, get_method
    from harness.method_runs import method_params

    cfg = resolve_run_config(preset=name)
    parsed = {m: method_params(get_method(m), cfg.method.params) for m in METHODS.names()}
    assert parsed["palign"].judge == "self" and parsed["full_cot"].target == "s1"
    assert set(parsed) >= {"none", "full_cot", "short_cot", "fixed_trunc", "palign"}


def test_tensor_parallel_override():
    cfg = resolve_run_config(preset="paper-qwen3-8b", overrides=[{"engine": {"tensor_parallel_size": 4}}])
    assert cfg.engine.tensor_parallel_size == 4 and cfg.student.model == "Qwen/Qwen3-8B"
