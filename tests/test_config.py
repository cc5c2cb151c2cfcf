import pytest

from harness.config import RunConfig, parse_override, resolve_run_config, to_yaml
from harness.errors import HarnessError


def test_default_preset_resolves_to_synthetic_world():
    cfg = resolve_run_config()
    assert isinstance(cfg, RunConfig)
    assert cfg.teacher.source == "synth"
    assert cfg.student.model.startswith("synth:")


def test_overrides_are_typed():
    cfg = resolve_run_config(overrides=[parse_override("train.learning_rate=5e-4"), parse_override("eval.k=1,3"),
                                        parse_override("eval.n=3")])
    assert cfg.train.learning_rate == pytest.approx(5e-4)
    assert cfg.eval.k == [1, 3]
    assert cfg.eval.n == 3


def test_unknown_key_is_a_user_error():
    with pytest.raises(HarnessError, match="unknown key 'learning_rat'"):
        resolve_run_config(overrides=[parse_override("train.learning_rat=1")])


def test_wrong_type_is_a_user_error():
    with pytest.raises(HarnessError, match="expected an integer"):
        resolve_run_config(overrides=[parse_override("eval.n=three")])


@pytest.mark.parametrize("spelling", ["null", "~", "None"])
def test_an_optional_setting_is_unset_by_null_or_none(spelling):
    """`--set train.max_steps=None` (Python's spelling, as bench/gpu_check.py passes it) and YAML's null both unset."""
    cfg = resolve_run_config(overrides=[parse_override("train.budget=epochs"),
                                        parse_override(f"train.max_steps={spelling}")])
    assert cfg.train.max_steps is None


def test_none_is_not_a_number_for_a_required_setting():
    with pytest.raises(HarnessError, match="config.eval.n: expected an integer, got 'None'"):
        resolve_run_config(overrides=[parse_override("eval.n=None")])


def test_config_file_and_include(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("include: synthetic\ntrain:\n  num_train_epochs: 1\n")
    cfg = resolve_run_config(config_file=path)
    assert cfg.train.num_train_epochs == 1.0
    assert cfg.teacher.source == "synth"


def test_missing_and_malformed_config(tmp_path):
    with pytest.raises(HarnessError, match="config file not found"):
        resolve_run_config(config_file=tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(HarnessError, match="malformed YAML"):
        resolve_run_config(config_file=bad)


def test_unknown_preset():
    with pytest.raises(HarnessError, match="unknown preset 'nope'"):
        resolve_run_config(preset="nope")


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = resolve_run_config(overrides=[parse_override("seed=7")])
    path = tmp_path / "resolved.yaml"
    path.write_text(to_yaml(cfg))
    assert resolve_run_config(config_file=path) == cfg


# ---------------------------------------------------------------- the training budget

def test_presets_set_their_training_budget():
    import yaml
    from pathlib import Path
    preset = yaml.safe_load((Path(__file__).parents[1] / "configs" / "synthetic.yaml").read_text())["train"]
    synthetic = resolve_run_config().train
    assert synthetic.budget == "steps" and synthetic.max_steps == preset["max_steps"] >= 1
    paper = resolve_run_config(preset="paper-qwen2.5-7b").train
    assert (paper.budget, paper.num_train_epochs) == ("epochs", 3.0)


def test_budget_help_names_its_choices():
    from harness.config import TrainConfig, field_help

    helps = {name: text for name, _, text in field_help(TrainConfig)}
    assert "epochs | steps" in helps["budget"]
    assert "budget=steps" in helps["max_steps"] and "budget=epochs" in helps["num_train_epochs"]
    assert TrainConfig.BUDGETS == ("epochs", "steps")


@pytest.mark.parametrize("override, needle", [
    ("train.budget=weeks", "train.budget must be one of epochs | steps, got 'weeks'"),
    ("train.max_steps=0", "train.max_steps must be an integer >= 1"),
    ("train.max_steps=-3", "train.max_steps must be an integer >= 1"),
    ("train.learning_rate=0", "train.learning_rate must be > 0"),
    ("train.learning_rate=-1e-4", "train.learning_rate must be > 0"),
    ("train.num_train_epochs=0", "train.num_train_epochs must be > 0"),
    ("train.per_device_train_batch_size=0", "train.per_device_train_batch_size must be >= 1"),
    ("train.gradient_accumulation_steps=0", "train.gradient_accumulation_steps must be >= 1"),
    ("train.max_length=0", "train.max_length must be >= 1"),
    ("train.warmup_ratio=1", "train.warmup_ratio must be in [0, 1)"),
    ("train.warmup_ratio=-0.1", "train.warmup_ratio must be in [0, 1)"),
    ("train.save_steps=0", "train.save_steps must be >= 1"),
    ("train.logging_steps=0", "train.logging_steps must be >= 1"),
    ("train.lora_r=0", "train.lora_r must be >= 1"),
])
def test_impossible_training_settings_fail_when_the_config_resolves(override, needle):
    with pytest.raises(HarnessError) as exc:
        resolve_run_config(overrides=[parse_override(override)])
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_steps_budget_needs_max_steps():
    # The paper preset trains by epochs and sets no max_steps: switching to steps alone is refused.
    with pytest.raises(HarnessError, match=r"train.budget=steps needs train.max_steps, an integer >= 1 \(it is unset\)"):
        resolve_run_config(preset="paper-qwen2.5-7b", overrides=[parse_override("train.budget=steps")])
    cfg = resolve_run_config(preset="paper-qwen2.5-7b", overrides=[parse_override("train.budget=steps"),
                                                                   parse_override("train.max_steps=100")])
    assert (cfg.train.budget, cfg.train.max_steps) == ("steps", 100)
    # The other way round, the synthetic preset's max_steps is simply not used.
    cfg = resolve_run_config(overrides=[parse_override("train.budget=epochs")])
    assert cfg.train.budget == "epochs" and cfg.train.max_steps == resolve_run_config().train.max_steps


@pytest.mark.parametrize("argv, needle", [
    (["run", "--dry-run", "--set", "train.budget=weeks"], "train.budget must be one of epochs | steps"),
    (["run", "--dry-run", "--set", "train.max_steps=0"], "train.max_steps must be an integer >= 1"),
    (["run", "--dry-run", "--set", "train.per_device_train_batch_size=0"], "train.per_device_train_batch_size must be >= 1"),
    (["train", "--model", "m", "--data", "d.jsonl", "--output-dir", "o", "--set", "train.budget=steps"],
     "train.budget=steps needs train.max_steps"),
])
def test_bad_training_settings_are_one_line_exit_2(argv, needle, tmp_path, monkeypatch, capsys):
    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "d.jsonl").write_text("{}\n")
    assert main([*argv, "--store", str(tmp_path / "store")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0], err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("manifest.json"))


def test_train_reads_the_config_layers_run_reads():
    from harness.config import TrainConfig
    from harness.command_config import train_config_from

    assert train_config_from([]) == TrainConfig()  # no preset named: the dataclass defaults, as before
    assert train_config_from([], preset="synthetic") == resolve_run_config("synthetic").train
    assert train_config_from(["train.learning_rate=0.5"], lora=True) == TrainConfig(learning_rate=0.5, use_lora=True)
