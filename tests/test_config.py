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
