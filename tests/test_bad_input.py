"""Bad input is one line and exit 2, found early: the unit-level side of `bench/bad_input.py`.

Each test pins one harness bug the bad-input corpus found (issue #8). They call `main()`
in-process or the checking function directly, so none loads a model.
"""

import json

import pytest

from harness.cli import main
from harness.config import parse_override, resolve_run_config
from harness.errors import HarnessError
from harness.eval.hub_benchmarks import read_local
from harness.jsonl import read_json, read_jsonl
from harness.teacher.s1k import load_rows
from harness.trainer import load_sft_records, train_config_from, train_sft


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _one_line_error(capsys, code, *needles):
    assert code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for needle in needles:
        assert needle in lines[0]


# --------------------------------------------------------------------------- files

def test_config_that_is_not_utf8_is_a_harness_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"seed: 0\n# caf\xe9\n")
    with pytest.raises(HarnessError, match="not UTF-8"):
        resolve_run_config(config_file=path)


def test_config_that_is_a_folder_says_so(tmp_path):
    (tmp_path / "c.yaml").mkdir()
    with pytest.raises(HarnessError, match="is a folder"):
        resolve_run_config(config_file=tmp_path / "c.yaml")


def test_unreadable_jsonl_is_a_harness_error(tmp_path, monkeypatch):
    path = _jsonl(tmp_path / "g.jsonl", [{"a": 1}])

    def denied(self):
        raise PermissionError(13, "Permission denied")

    # chmod 000 does not stop root, so the refusal is simulated where the file is read.
    monkeypatch.setattr(type(path), "read_bytes", denied)
    with pytest.raises(HarnessError, match="cannot read .*Permission denied"):
        read_jsonl(path)
    with pytest.raises(HarnessError, match="cannot read"):
        read_json(path)


def test_jsonl_path_that_is_a_folder_says_so(tmp_path):
    with pytest.raises(HarnessError, match="is a folder, not a file"):
        read_jsonl(tmp_path)


# --------------------------------------------------------------------------- config ranges

@pytest.mark.parametrize("override, needle", [
    ("eval.n=0", "eval.n must be at least 1"),
    ("eval.k=", "eval.k is empty"),
    ("eval.k=[0]", "pass@0"),
    ("eval.limit=-1", "eval.limit"),
    ("teacher.limit=-1", "teacher.limit"),
    ("teacher.n=0", "teacher.n"),
    ("engine.name=nope", "unknown engine 'nope'"),
    ("engine.dtype=float8", "engine.dtype"),
])
def test_values_that_cannot_work_fail_when_the_config_resolves(override, needle):
    with pytest.raises(HarnessError, match=needle):
        resolve_run_config(overrides=[parse_override(override)])


def test_run_refuses_unknown_teacher_source_before_any_stage(tmp_path, capsys):
    code = main(["run", "--student", "/nonexistent", "--set", "teacher.source=nope", "--store", str(tmp_path)])
    _one_line_error(capsys, code, "unknown teacher source 'nope'")
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- benchmark data

@pytest.mark.parametrize("row, needle", [
    ({"id": "b", "problem": {"text": "2 + 2?"}, "answer": "4"}, "'problem' must be a string"),
    ({"id": "b", "problem": "2 + 2?", "answer": None}, "'answer' must be a string or a number"),
    ({"id": ["b"], "problem": "2 + 2?", "answer": "4"}, "'id' must be a string or an integer"),
    ({"id": "a", "problem": "2 + 2?", "answer": "4"}, "problem id 'a' already used on line 1"),
])
def test_local_benchmark_rows_are_checked(tmp_path, row, needle):
    path = _jsonl(tmp_path / "aime24.jsonl", [{"id": "a", "problem": "3 + 4?", "answer": 7}, row])
    with pytest.raises(HarnessError, match=needle):
        read_local(path, "aime24")


def test_local_benchmark_keeps_numeric_ids_and_answers(tmp_path):
    path = _jsonl(tmp_path / "amc12.jsonl", [{"id": 1, "problem": "3 + 4?", "answer": 7.0}])
    assert [(p.id, p.answer) for p in read_local(path, "amc12")] == [("1", "7")]


# --------------------------------------------------------------------------- harness score

@pytest.mark.parametrize("row, needle", [
    ({"answer": "7", "outputs": ["\\boxed{7}", None]}, "'outputs' must be a non-empty list of strings"),
    ({"answer": ["7"], "outputs": ["\\boxed{7}"]}, "'answer' must be a string or a number"),
])
def test_score_refuses_wrong_types(tmp_path, capsys, row, needle):
    out = tmp_path / "s.json"
    code = main(["score", str(_jsonl(tmp_path / "g.jsonl", [row])), "--json", str(out)])
    _one_line_error(capsys, code, needle)
    assert not out.exists()


def test_score_refuses_duplicate_ids(tmp_path, capsys):
    _jsonl(tmp_path / "aime24.jsonl", [{"id": "p1", "problem": "3 + 4?", "answer": "7"}])
    gens = _jsonl(tmp_path / "g.jsonl", [{"id": "p1", "outputs": ["7"]}, {"id": "p1", "outputs": ["7"]}])
    code = main(["score", str(gens), "--benchmark", "aime24", "--data-dir", str(tmp_path)])
    _one_line_error(capsys, code, "id 'p1' already used on line 1")


@pytest.mark.parametrize("flag, value", [("--workers", "0"), ("--timeout", "0")])
def test_score_refuses_non_positive_workers_and_timeout(tmp_path, capsys, flag, value):
    gens = _jsonl(tmp_path / "g.jsonl", [{"answer": "7", "outputs": ["7"]}])
    _one_line_error(capsys, main(["score", str(gens), flag, value]), flag)


# --------------------------------------------------------------------------- training and teacher data

def test_sft_turn_without_content_is_refused_before_any_model(tmp_path):
    path = _jsonl(tmp_path / "sft.jsonl", [{"prompt": [{"role": "user"}], "completion": "7"}])
    with pytest.raises(HarnessError, match=r"sft.jsonl:1: every 'prompt' message needs string 'role' and 'content'"):
        load_sft_records(path)


def test_lora_flag_conflicting_with_set_is_refused():
    with pytest.raises(HarnessError, match="--lora conflicts"):
        train_config_from(["train.use_lora=false"], lora=True)
    assert train_config_from(["train.use_lora=true"], lora=True).use_lora


def test_train_output_dir_that_is_a_file_is_refused_before_training(tmp_path):
    data = _jsonl(tmp_path / "sft.jsonl", [{"prompt": "3 + 4?", "completion": "7"}])
    (tmp_path / "out").write_text("a file")
    with pytest.raises(HarnessError, match="--output-dir exists and is not a folder"):
        # Refused before the model is even looked at, so any folder stands in for it.
        train_sft(str(tmp_path), data, tmp_path / "out", train_config_from([]))


def test_s1k_row_after_the_first_missing_a_column_is_named(tmp_path):
    row = {"question": "q", "solution": "\\boxed{1}", "deepseek_thinking_trajectory": "t", "deepseek_attempt": "a"}
    path = _jsonl(tmp_path / "s1k.jsonl", [row, {k: v for k, v in row.items() if k != "question"}])
    with pytest.raises(HarnessError, match="row 2: missing s1K-1.1 column"):
        load_rows(str(path), "train")
