"""`harness run` through the real pipeline and registry, with the heavy pieces faked.

The student is a tiny random model folder, the teacher stage is written by the test,
training copies the student and evaluation returns canned metrics; everything else
(stage keys, caching, method stage, result records, CLI) is the real code.
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from harness import pipeline, stages
from harness.cli import main
from harness.engine_cache import EngineCache
from harness.errors import HarnessError
from harness.eval.benchmarks import BENCHMARKS, Benchmark, Problem
from harness.methods import METHODS, MethodContext, MethodResult, register_method
from fakes import FakeGraderPool, FakeStudent


class FakeBench(Benchmark):
    def load(self, data_dir=None):
        return [Problem(id=f"b{i}", problem=f"answer={i}.", answer=str(i)) for i in range(3)]


if "fake_bench" not in BENCHMARKS._entries:
    BENCHMARKS.add("fake_bench", FakeBench)


def traces(n: int) -> list[dict]:
    return [{"id": f"t{i}", "problem": f"Problem {i}: answer={40 + i}.", "answer": str(40 + i),
             "long_cot": f"The KEY step is here. First step. Second step. Then {40 + i}. Check. \\boxed{{{40 + i}}}",
             "short_cot": f"So \\boxed{{{40 + i}}}.", "source": "synth", "teacher": "fake"} for i in range(n)]


class Fakes:
    """Counts the heavy calls so tests can see what was reused."""

    def __init__(self, monkeypatch, student_dir: Path, num_traces: int = 4):
        self.calls = {"teacher": 0, "train": 0, "eval": 0}
        self.num_traces = num_traces
        monkeypatch.setattr(stages, "stage_student", lambda cfg, store, force=False: str(student_dir))
        monkeypatch.setattr(stages, "stage_teacher", self.teacher)
        monkeypatch.setattr(stages, "teacher_stage", self.teacher_stage)
        monkeypatch.setattr("harness.trainer.train_sft", self.train)
        monkeypatch.setattr("harness.eval.runner.evaluate_benchmark", self.evaluate)
        monkeypatch.setattr(EngineCache, "get", lambda self, model: FakeStudent())
        monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))

    def teacher_stage(self, cfg, store):
        return store.stage("teacher", {"fake": cfg.teacher.num_problems, "n": self.num_traces}, label="fake")

    def teacher(self, cfg, store, force=False):
        stage = self.teacher_stage(cfg, store)
        with stage.lock():  # as the real teacher stage: one process builds it, others wait and reuse
            if force or not stage.done:
                stage.report_damage()
                self.calls["teacher"] += 1
                work = stage.begin(force)
                (work / "traces.jsonl").write_text("".join(json.dumps(r) + "\n" for r in traces(self.num_traces)))
                stage.commit({})
        return stage.path

    def train(self, model, data, output_dir, cfg, seed=0):
        self.calls["train"] += 1
        records = [json.loads(line) for line in Path(data).read_text().splitlines()]
        shutil.copytree(model, output_dir)
        # Mark the copy's config so that its fingerprint (the eval key) depends on the training data.
        config = json.loads((Path(output_dir) / "config.json").read_text())
        config["trained_on"] = records
        (Path(output_dir) / "config.json").write_text(json.dumps(config))
        return {"examples": len(records), "train_tokens": 100, "truncated": 0}

    def evaluate(self, engine, benchmark, cfg, work_dir, seed, enable_thinking=None):
        """Every other problem solved (pass@1 0.5), scored by the real metrics as a stored result is rescored."""
        from harness.eval.metrics import compute_metrics

        self.calls["eval"] += 1
        count = cfg.limit or 4
        per_problem = [[{"index": i, "id": f"p{i}", "sample": j, "outcome": "incorrect" if i % 2 else "correct",
                         "extracted": str(i), "num_tokens": 12} for j in range(cfg.n)] for i in range(count)]
        return {"benchmark": benchmark, "checksum": "x", "num_problems": count,
                "metrics": compute_metrics(per_problem, cfg.k, cfg.bootstrap_samples, seed),
                "samples": [sample for samples in per_problem for sample in samples]}


def run(tmp_path, *args) -> int:
    return main(["run", "--store", str(tmp_path / "store"), "--set", "eval.benchmarks=fake_bench", *args])


def test_rerun_with_eval_change_reruns_only_eval(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    out = tmp_path / "r.json"
    assert run(tmp_path, "--method", "palign", "--json", str(out)) == 0
    record = json.loads(out.read_text())
    assert record["method"] == "palign" and record["schema"] == 1
    assert record["benchmarks"]["fake_bench"]["metrics"]["pass@1"] == 0.5
    assert record["method_stats"]["kept_prefix_ratios"] and record["training"]["examples"] == 4
    assert record["teacher_data"]["num_traces"] == 4
    assert fakes.calls == {"teacher": 1, "train": 1, "eval": 1}
    capsys.readouterr()
    assert run(tmp_path, "--method", "palign", "--set", "eval.limit=2") == 0
    log = capsys.readouterr().err
    assert fakes.calls == {"teacher": 1, "train": 1, "eval": 2}
    assert "reused method" in log and "reused train" in log and "computing eval" in log
    assert run(tmp_path, "--method", "palign", "--student", str(tiny_model_dir), "--dry-run") == 0
    plan = capsys.readouterr().out
    assert "todo" not in plan and plan.count("done") == 4  # teacher, method, train, eval
    assert run(tmp_path, "--method", "palign", "--student", str(tiny_model_dir), "--set", "eval.n=5",
               "--dry-run") == 0
    assert capsys.readouterr().out.count("todo") == 1 and fakes.calls["eval"] == 2  # eval only, nothing ran


def test_method_all_shares_teacher_traces(tmp_path, monkeypatch, tiny_model_dir):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    out = tmp_path / "all.json"
    assert run(tmp_path, "--method", "all", "--json", str(out)) == 0
    records = json.loads(out.read_text())
    names = {r["method"] for r in records}
    assert {"none", "full_cot", "short_cot", "fixed_trunc", "palign", "mix_cot"} <= names
    ratios = sorted(r["method_params"]["ratio"] for r in records if r["method"] == "fixed_trunc")
    assert ratios == [0.25, 0.5, 0.75]
    assert len({r["teacher_data"]["key"] for r in records}) == 1 and fakes.calls["teacher"] == 1
    none = next(r for r in records if r["method"] == "none")
    assert none["training"] is None
    assert fakes.calls["train"] == len(records) - 1


def test_empty_teacher_traces_is_one_line_error(tmp_path, monkeypatch, tiny_model_dir, capsys):
    Fakes(monkeypatch, tiny_model_dir, num_traces=0)
    assert run(tmp_path, "--method", "full_cot") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: the teacher stage produced no traces")


def test_method_without_examples_is_named_in_one_line_error(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    if "empty_method" not in METHODS._entries:
        register_method("empty_method", description="test: returns nothing")(lambda traces, p, ctx: MethodResult([], {"kept": 0}))
    assert run(tmp_path, "--method", "empty_method") == 2
    assert "method 'empty_method' produced no training examples" in capsys.readouterr().err
    assert fakes.calls["train"] == 0


def test_method_that_drops_every_trace_names_the_reason_and_its_settings(tmp_path, monkeypatch, tiny_model_dir,
                                                                         capsys):
    """Issue #33: the line said `dropped={'prefix_over_context': 3}` amid raw stats cut mid-word (`judge_qu)`)."""
    fakes = Fakes(monkeypatch, tiny_model_dir)
    # 16 tokens cannot hold a prompt, a piece and the preset's 128 new tokens: nothing fits.
    assert run(tmp_path, "--method", "palign", "--set", "train.max_length=16") == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: method 'palign' produced no training examples from 4 teacher traces: "
                           "4 dropped as prefix_over_context, not even the first piece of the teacher CoT fits: ")
    for setting in ("method.sampling.max_new_tokens", "train.max_length", "engine.max_model_len",
                    "world.context_length", "method.params.unit"):
        assert setting in line
    assert "judge_queries" not in line and fakes.calls["train"] == 0


def test_no_examples_message_without_drop_reasons_is_cut_at_a_word():
    from harness.method_drops import DROP_REASONS, no_examples_message

    stats = {"kept": 0, **{f"judge_queries_{i}": i for i in range(60)}, "cuts": [1, 2]}
    line = no_examples_message("mine", 3, stats)
    assert line.startswith("method 'mine' produced no training examples from 3 teacher traces: stats: kept=0, ")
    assert line.endswith("…") and re.search(r"judge_queries_\d+=\d+…$", line) and "cuts" not in line
    assert no_examples_message("mine", 3, {"dropped": {"my_reason": 3}}).endswith(": 3 dropped as 'my_reason'")
    assert {"empty_cot", "no_gold_answer", "prefix_over_context", "cut_over_context", "fallback_over_context",
            "no_sufficient_prefix", "no_correct_continuation", "example_over_max_length", "empty_target"} == set(DROP_REASONS)


def test_unknown_method_param_is_user_error(tmp_path, monkeypatch, tiny_model_dir):
    Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "palign", "--set", "method.params.rolouts=3") == 2
    assert run(tmp_path, "--method", "full_cot", "--set", "method.params.rollouts=3", "--dry-run") == 0
    with pytest.raises(HarnessError):
        pipeline.run_pipeline(pipeline.RunConfig(), [], None)


def test_command_line_params_update_the_preset_params():
    from harness.cli import build_parser
    from harness.commands.run import config_from_args

    args = build_parser().parse_args(["run", "--method", "palign", "--judge", "self", "--set", "method.params.rollouts=3"])
    params = config_from_args(args).method.params
    assert params["judge"] == "self" and params["rollouts"] == 3
    assert params["samples"] == 2 and params["threshold"] == 0.5  # from configs/synthetic.yaml, not wiped by the overrides


def test_missing_benchmark_data_fails_before_any_stage(tmp_path, monkeypatch):
    """A benchmark whose data is unavailable stops `harness run` before the student is built."""
    from harness.config import parse_override, resolve_run_config
    from harness.errors import HarnessError

    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    built = []
    monkeypatch.setattr(stages, "stage_student", lambda *a, **k: built.append(1))
    cfg = resolve_run_config(overrides=[parse_override("eval.benchmarks=aime24"),
                                        parse_override(f"eval.data_dir={tmp_path / 'empty'}")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match="aime24"):
        pipeline.run_pipeline(cfg, ["none"])
    assert built == []


@pytest.mark.parametrize("selector,message", [
    ("fixed_trunc:ratio=2", "method.params.ratio must be in (0, 1]"),
    ("fixed_trunc:rollouts=2", "method 'fixed_trunc' has no parameter 'rollouts'"),
    ("fixed_trunc:ratio", "expected NAME:key=value"),
    ("nosuch", "unknown method"),
])
def test_bad_method_selectors_fail_before_any_stage(tmp_path, monkeypatch, tiny_model_dir, capsys, selector, message):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", selector) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert fakes.calls == {"teacher": 0, "train": 0, "eval": 0}


def test_selectors_pin_parameters_on_top_of_the_config(tmp_path, monkeypatch, tiny_model_dir):
    Fakes(monkeypatch, tiny_model_dir)
    out = tmp_path / "two.json"
    assert run(tmp_path, "--method", "fixed_trunc:ratio=0.25", "--method", "fixed_trunc:ratio=0.75,samples=2",
               "--set", "method.params.samples=3", "--json", str(out)) == 0
    params = [r["method_params"] for r in json.loads(out.read_text())]
    assert [(p["ratio"], p["samples"]) for p in params] == [(0.25, 3), (0.75, 2)]
