"""Built-in students: store stage, standard folder, fresh-process loading, CLI."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from harness.config import WorldConfig
from harness.errors import HarnessError
from harness.store import RunStore
from harness.synth.world import resolve_student, student_stage

# A world with a token pretraining budget: the point is the plumbing, not the skill.
MINI = WorldConfig(pretrain_problems=40, pretrain_epochs=0.5, benchmark_size=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("store"))
    return store, resolve_student("synth:tiny", MINI, store)


def test_student_stage_is_complete_and_reused(built):
    store, folder = built
    stage = student_stage(MINI, store, "tiny")
    assert stage.done and folder == str(stage.path / "model")
    manifest = stage.manifest()
    stats = json.loads((stage.path / "stats.json").read_text())
    assert manifest["stats"]["parameters"] == stats["parameters"] > 500_000
    assert set(stats["base_accuracy"]) == {"routine", "target"}
    before = os.path.getmtime(stage.path / "model" / "model.safetensors")
    assert resolve_student("synth:tiny", MINI, store) == folder
    assert os.path.getmtime(stage.path / "model" / "model.safetensors") == before
    assert not student_stage(replace(MINI, seed=1), store, "tiny").done


def test_student_loads_with_plain_auto_classes_in_a_fresh_offline_process(built):
    _, folder = built
    code = (
        "import sys; from transformers import AutoTokenizer, AutoModelForCausalLM\n"
        "t = AutoTokenizer.from_pretrained(sys.argv[1]); m = AutoModelForCausalLM.from_pretrained(sys.argv[1])\n"
        "s = t.apply_chat_template([{'role': 'user', 'content': 'Tom has 3 apples.'}], tokenize=False, add_generation_prompt=True)\n"
        "assert s == '<|im_start|>user\\nTom has 3 apples.<|im_end|>\\n<|im_start|>assistant\\n', repr(s)\n"
        "assert m.generation_config.eos_token_id == t.convert_tokens_to_ids('<|im_end|>') == t.eos_token_id\n"
        "assert t.pad_token is not None and m.generation_config.pad_token_id == t.pad_token_id\n"
        "out = m.generate(**t(s, return_tensors='pt'), max_new_tokens=4, do_sample=False)\n"
        "print(type(m).__name__, m.config.max_position_embeddings)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", "")}
    out = subprocess.run([sys.executable, "-c", code, folder], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Qwen2ForCausalLM", str(MINI.context_length)]


def test_other_models_pass_through_and_unknown_sizes_are_user_errors(tmp_path):
    store = RunStore(tmp_path)
    assert resolve_student("Qwen/Qwen2.5-1.5B-Instruct", MINI, store) == "Qwen/Qwen2.5-1.5B-Instruct"
    assert resolve_student(str(tmp_path), MINI, store) == str(tmp_path)
    with pytest.raises(HarnessError, match="huge"):
        resolve_student("synth:huge", MINI, store)
    assert not (tmp_path / "world").exists()


def test_bootstrap_command_prints_what_it_built(built, monkeypatch, capsys):
    from harness import cli
    from harness.commands import bootstrap

    store, folder = built
    monkeypatch.setattr(bootstrap, "WorldConfig", lambda: MINI)
    assert cli.main(["bootstrap", "--student", "synth:tiny", "--store", str(store.root)]) == 0
    err = capsys.readouterr().err
    assert "reused from the store" in err and "parameters" in err
    assert cli.main(["bootstrap", "--size", "huge"]) == 2


@pytest.mark.slow
@pytest.mark.beyond_ci("builds the default world from scratch (4000 pretraining steps, about 5 minutes on 2 "
                       "cores); G1 is also checked on every board by bench/synth_calibration.py")
def test_default_bootstrap_meets_the_calibration_targets_g1(tmp_path):
    """G1 on the dev split, greedy (the board's G1 uses bench/synth_calibration.py with sampling):
    the base tiny student solves most routine problems and few target problems."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.eval.benchmarks import get_benchmark
    from harness.synth.pretrain import greedy_accuracy

    folder = resolve_student("synth:tiny", WorldConfig(), RunStore(tmp_path))
    tok, model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder)
    routine = greedy_accuracy(model, tok, get_benchmark("synth_routine_dev").load(), max_new_tokens=200)
    target = greedy_accuracy(model, tok, get_benchmark("synth_target_dev").load(), max_new_tokens=200)
    assert routine["accuracy"] >= 0.8, routine
    assert target["accuracy"] <= 0.15, target
