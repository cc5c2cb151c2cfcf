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
    # issue #14: every section, with its allowed range
    ("seed=-1", "seed must be an integer in"),
    ("engine.batch_size=0", "engine.batch_size must be >= 1"),
    ("engine.gpu_memory_utilization=0", "engine.gpu_memory_utilization must be in"),
    ("engine.tensor_parallel_size=0", "engine.tensor_parallel_size"),
    ("engine.max_model_len=0", "engine.max_model_len"),
    ("eval.sampling.temperature=-1", "eval.sampling.temperature must be >= 0"),
    ("eval.sampling.top_p=1.5", r"eval.sampling.top_p must be in \(0, 1\]"),
    ("eval.sampling.top_k=-1", "eval.sampling.top_k"),
    ("eval.sampling.repetition_penalty=0", "eval.sampling.repetition_penalty"),
    ("eval.sampling.max_new_tokens=100000000", "eval.sampling.max_new_tokens must be in"),
    ("eval.sampling.max_new_tokens=0", "eval.sampling.max_new_tokens"),
    ("method.sampling.max_new_tokens=lots", r"method.sampling.max_new_tokens must be in \[1, \d+\] or context, got 'lots'"),
    ("eval.grader_timeout=0", "eval.grader_timeout"),
    ("eval.grader_timeout=.inf", "eval.grader_timeout must be a finite number"),
    ("eval.grader_workers=0", "eval.grader_workers"),
    ("eval.bootstrap_samples=0", "eval.bootstrap_samples"),
    ("eval.benchmarks=[nope]", "unknown benchmark 'nope'"),
    ("eval.benchmarks=[]", "eval.benchmarks is empty"),
    ("eval.benchmarks=[synth_routine,synth_routine]", "twice"),
    ("eval.audit_grader=nope", "eval.audit_grader"),
    ("method.sampling.temperature=-0.1", "method.sampling.temperature"),
    ("teacher.sampling.top_p=0", "teacher.sampling.top_p"),
    ("teacher.num_problems=0", "teacher.num_problems"),
    ("teacher.ngram=0", "teacher.ngram"),
    ("teacher.source=nope", "unknown teacher source 'nope'"),
    ("world.pretrain_epochs=0", "world.pretrain_epochs"),
    ("world.wrong_fraction=1.5", "world.wrong_fraction"),
    ("world.benchmark_size=0", "world.benchmark_size"),
    ("train.learning_rate=-1", "train.learning_rate must be > 0"),
    ("train.learning_rate=.nan", "train.learning_rate must be a finite number"),
    ("train.num_train_epochs=-3", "train.num_train_epochs must be > 0"),
    ("train.weight_decay=-1", "train.weight_decay"),
    ("train.lora_dropout=1", "train.lora_dropout"),
    ("train.lr_scheduler_type=cosin", "train.lr_scheduler_type must be one of"),
])
def test_values_that_cannot_work_fail_when_the_config_resolves(override, needle):
    with pytest.raises(HarnessError, match=needle):
        resolve_run_config(overrides=[parse_override(override)])


def test_budgets_need_a_cap_in_tokens_not_the_rest_of_the_context():
    overrides = [parse_override("eval.sampling.max_new_tokens=context"), parse_override("eval.budgets=[16]")]
    with pytest.raises(HarnessError, match="eval.budgets needs eval.sampling.max_new_tokens to be a number of tokens"):
        resolve_run_config(overrides=overrides)
    assert resolve_run_config(overrides=overrides[:1]).eval.sampling.max_new_tokens == "context"


def test_run_refuses_unknown_teacher_source_before_any_stage(tmp_path, capsys):
    code = main(["run", "--student", "/nonexistent", "--set", "teacher.source=nope", "--store", str(tmp_path)])
    _one_line_error(capsys, code, "unknown teacher source 'nope'")
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- issue #15: every command checks every setting

BAD_SETTINGS = [
    (["--set", "method.params.ratio=2"], r"method.params.ratio must be in (0, 1], got 2.0"),  # fixed_trunc's, any method
    (["--set", "method.params.judge=nope"], "method.params.judge must be one of rollout, self, got 'nope'"),
    (["--set", "engine.name=nope"], "unknown engine 'nope' (known: auto, transformers, vllm)"),
]


def _argv(command, tmp_path, model, setting):
    store = ["--store", str(tmp_path / "store")]
    if command == "run":
        return ["run", "--student", str(model), "--method", "full_cot", *setting, *store]
    if command == "eval":
        return ["eval", "--model", str(model), "--benchmarks", "aime24", *setting, "--json", str(tmp_path / "o.json"),
                *store]
    if command == "teacher":
        return ["teacher", "--source", "synth", *setting, "--json", str(tmp_path / "o.json"), *store]
    data = _jsonl(tmp_path / "sft.jsonl", [{"prompt": "3 + 4?", "completion": "7"}])
    return ["train", "--model", str(model), "--data", str(data), "--output-dir", str(tmp_path / "out"), *setting, *store]


@pytest.mark.parametrize("command", ["run", "eval", "train", "teacher"])
@pytest.mark.parametrize("setting, needle", BAD_SETTINGS, ids=["ratio", "judge", "engine"])
def test_bad_method_and_engine_settings_fail_in_one_line_for_every_command(command, setting, needle, tmp_path,
                                                                           tiny_model_dir, capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))  # the CLI sets it for the process; restored after
    _one_line_error(capsys, main(_argv(command, tmp_path, tiny_model_dir, setting)), needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["sft.jsonl"] if command == "train" else [])


@pytest.mark.parametrize("argv, needle", [
    (["run", "--judge", "nope"], "method.params.judge must be one of"),
    (["run", "--engine", "nope"], "argument --engine: invalid choice: 'nope'"),
    (["eval", "--model", "m", "--engine", "nope"], "argument --engine: invalid choice: 'nope'"),
    (["eval", "--model", "m", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "--model", "m", "--data", "d", "--output-dir", "o", "--config", "nope.yaml"], "config file not found"),
])
def test_flags_naming_methods_and_engines_are_checked_before_any_stage(argv, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    _one_line_error(capsys, main([*argv, "--store", str(tmp_path / "store")]), needle)
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


# --------------------------------------------------------------------------- issue #14: the corpus, in-process

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bad_input_cases_config  # noqa: E402,F401  (importing registers the cases)
import bad_input_cases_data  # noqa: E402,F401
import bad_input_cases_pipeline  # noqa: E402,F401
from bad_input_corpus import CASES, Ctx  # noqa: E402

# Every bad value issue #14 lists: each exits 2 with one line before any stage runs.
ISSUE_14 = (
    "run-negative-learning-rate", "run-negative-epochs", "run-threshold-out-of-range", "run-batch-size-zero",
    "run-max-new-tokens-huge", "run-grader-timeout-zero", "run-negative-temperature", "run-method-top-p-zero",
    "run-unknown-benchmark-dry-run", "run-negative-seed", "run-world-wrong-fraction", "run-unknown-scheduler",
    "run-json-is-folder", "run-store-is-file", "run-store-under-proc", "run-store-under-sys",
    "teacher-num-problems-zero", "train-negative-learning-rate", "bootstrap-negative-seed",
    "score-json-is-folder", "score-k-zero", "eval-negative-temperature", "eval-batch-size-zero",
    "eval-max-new-tokens-huge", "eval-grader-timeout-zero", "eval-top-p-zero",
)


# Issue #33: several samples of a greedy prompt, and config values too large to expand or print.
ISSUE_33 = (
    "eval-n-greedy", "run-n-greedy", "run-rollouts-greedy", "teacher-n-greedy", "run-yaml-alias-bomb-teacher",
    "run-yaml-alias-bomb-method-param", "run-set-alias-bomb", "run-yaml-recursive-alias", "run-yaml-nested-too-deep",
    "run-yaml-integer-too-long", "run-yaml-bad-date", "run-huge-value-echoed", "run-preset-name-too-long",
)


@pytest.mark.parametrize("name", ISSUE_14 + ISSUE_33)
def test_issue_14_bad_values_fail_in_one_line_before_any_stage(name, tmp_path, tiny_model_dir, monkeypatch, capsys):
    (case,) = [c for c in CASES if c.name == name]
    ctx = Ctx(work=tmp_path, store=tmp_path / "store", json_out=tmp_path / "out.json", out_dir=tmp_path / "train-out",
              model=tiny_model_dir)
    spec = case.build(ctx)
    monkeypatch.setenv("HARNESS_STORE", str(ctx.store))  # the CLI sets it for the process; restored after
    argv = list(spec.argv) if spec.own_store else [*spec.argv, "--store", str(ctx.store)]
    _one_line_error(capsys, main(argv), *case.needles)
    assert not ctx.store.exists() and not ctx.json_out.exists() and not ctx.out_dir.exists()
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]  # no stray temporary beside an output


def test_score_json_folder_is_refused_before_grading(tmp_path, capsys, monkeypatch):
    graded = []
    monkeypatch.setattr("harness.eval.grading.grade_many", lambda *a, **k: graded.append(1))
    (tmp_path / "outdir").mkdir()
    gens = _jsonl(tmp_path / "g.jsonl", [{"answer": "7", "outputs": ["\\boxed{7}"]}])
    _one_line_error(capsys, main(["score", str(gens), "--json", str(tmp_path / "outdir")]), "is a folder")
    assert graded == [] and sorted(p.name for p in tmp_path.iterdir()) == ["g.jsonl", "outdir"]


# Issue #33 (item 10): non-standard JSON numbers in data files, store paths that lead nowhere, and bad
# input found once a stage has begun (which left its empty partial folder behind).
ISSUE_33 = ("score-gold-nan", "score-gold-infinity", "eval-data-gold-infinity", "teacher-problems-nan-answer",
            "run-store-symlink-loop", "run-store-dangling-symlink", "teacher-problems-missing-field",
            "teacher-problems-duplicate-ids", "teacher-s1k-later-row-missing")


@pytest.mark.parametrize("name", ISSUE_33)
def test_issue_33_bad_input_fails_in_one_line_and_leaves_no_stage(name, tmp_path, tiny_model_dir, monkeypatch, capsys):
    (case,) = [c for c in CASES if c.name == name]
    ctx = Ctx(work=tmp_path, store=tmp_path / "store", json_out=tmp_path / "out.json", out_dir=tmp_path / "train-out",
              model=tiny_model_dir)
    spec = case.build(ctx)
    monkeypatch.setenv("HARNESS_STORE", str(ctx.store))
    argv = list(spec.argv) if spec.own_store else [*spec.argv, "--store", str(ctx.store)]
    _one_line_error(capsys, main(argv), *case.needles)
    assert not ctx.json_out.exists()
    # not even a partial folder: a stage that failed with nothing to resume from removes its own
    assert not [p for p in ctx.store.glob("*/*") if p.parent.name != ".locks"]


# Issue #31: a LoRA adapter folder is never evaluated as its base, and data parallelism is vLLM's.
ISSUE_31 = ("eval-lora-adapter-folder", "eval-data-parallel-zero", "eval-data-parallel-transformers")


@pytest.mark.parametrize("name", ISSUE_31)
def test_issue_31_bad_input_fails_in_one_line_before_any_model(name, tmp_path, tiny_model_dir, monkeypatch, capsys):
    (case,) = [c for c in CASES if c.name == name]
    ctx = Ctx(work=tmp_path, store=tmp_path / "store", json_out=tmp_path / "out.json", out_dir=tmp_path / "train-out",
              model=tiny_model_dir)
    monkeypatch.setenv("HARNESS_STORE", str(ctx.store))
    _one_line_error(capsys, main([*case.build(ctx).argv, "--store", str(ctx.store)]), *case.needles)
    assert not ctx.json_out.exists()
    assert not [p for p in ctx.store.glob("*/*") if p.parent.name != ".locks"]
