"""`harness run` for real: synthetic world, teacher, method, trainer, evaluation, result.

The fast test uses a deliberately small world and run (a student pretrained on a few
hundred problems, 20 teacher traces, one epoch, 10 problems per tier), so it checks that
every real stage runs and caches, not how well the student learns. The slow tests run the
preset-sized pipeline.
"""

import json
import re

import pytest

from harness.cli import main

FAST = [
    "--set", "teacher.num_problems=12", "--set", "train.max_steps=2", "--set", "eval.limit=4",
    "--set", "eval.sampling.max_new_tokens=16", "--set", "eval.benchmarks=synth_routine",
]
# A student pretrained on 2000 routine problems (about 10 s) finishes some teacher prefixes
# (8 of 60 traces kept on this machine); with 300 it finished none and palign had no data.
SMALL = [
    "--set", "world.pretrain_problems=2000", "--set", "world.pretrain_epochs=1", "--set", "world.benchmark_size=10",
    "--set", "teacher.num_problems=60", "--set", "train.max_steps=2", "--set", "eval.limit=10",
    "--set", "method.params.rollouts=2",
]


def harness_run(store, *args) -> int:
    return main(["run", "--store", str(store), *args])


def test_full_cot_end_to_end_with_a_random_student(tmp_path, tiny_model_dir, capsys):
    """Every real stage (teacher, method, trainer, eval, result) with a random micro student, in seconds."""
    out = tmp_path / "result.json"
    args = ["--method", "full_cot", "--student", str(tiny_model_dir), *FAST, "--set", "eval.budgets=[8]"]
    assert harness_run(tmp_path / "store", *args, "--json", str(out)) == 0
    record = json.loads(out.read_text())
    assert record["method"] == "full_cot" and record["teacher_data"]["num_traces"] == 12
    assert record["training"]["examples"] == 12 and record["method_stats"]["kept"] == 12
    bench = record["benchmarks"]["synth_routine"]
    assert bench["num_problems"] == 4
    # the record carries the new metrics and the budget's (eval.budgets), for the board
    assert {"cap_share", "no_answer_share", "tokens_incorrect_median"} <= set(bench["metrics"])
    assert bench["budgets"]["8"]["metrics"]["mean_tokens"] <= 8
    assert {c["num_tokens"] for c in bench["budgets"]["8"]["cut_samples"]} <= {8}
    assert record["manifest"]["keys"]["budgets"] == [8]
    capsys.readouterr()
    assert harness_run(tmp_path / "store", *args, "--set", "eval.limit=3") == 0
    log = capsys.readouterr().err
    assert "reused teacher" in log and "reused method" in log and "reused train" in log
    assert "computing eval" in log and "computing train" not in log


@pytest.mark.slow
def test_palign_end_to_end_small_and_cached(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert harness_run(tmp_path / "store", "--method", "palign", *SMALL, "--json", str(out)) == 0
    record = json.loads(out.read_text())
    assert record["method"] == "palign" and record["teacher_data"]["num_traces"] == 60
    assert set(record["benchmarks"]) == {"synth_routine", "synth_target"}
    for result in record["benchmarks"].values():
        assert result["num_problems"] == 10 and 0.0 <= result["metrics"]["pass@1"] <= 1.0
    stats = record["method_stats"]
    assert stats["kept"] == len(stats["kept_prefix_ratios"]) > 0
    assert all(0 < r <= 1 for r in stats["kept_prefix_ratios"])
    assert record["training"]["examples"] == stats["kept"]
    capsys.readouterr()
    assert harness_run(tmp_path / "store", "--method", "palign", *SMALL, "--set", "eval.limit=5") == 0
    log = capsys.readouterr().err
    assert "reused teacher" in log and "reused method" in log and "reused train" in log
    assert "computing eval" in log and "computing method" not in log and "computing train" not in log


@pytest.mark.slow
@pytest.mark.beyond_ci("builds the default world (4000 pretraining steps, about 5 minutes on 2 cores), then "
                       "trains 7 methods for 400 steps each: well over CI's 15 minutes with the rest")
def test_method_all_shares_one_teacher(tmp_path):
    out = tmp_path / "all.json"
    args = ["--set", "teacher.num_problems=60", "--set", "eval.limit=40"]
    assert harness_run(tmp_path / "store", "--method", "all", *args, "--json", str(out)) == 0
    records = json.loads(out.read_text())
    assert {r["method"] for r in records} >= {"none", "full_cot", "short_cot", "fixed_trunc", "palign"}
    assert len({r["teacher_data"]["key"] for r in records}) == 1


@pytest.mark.slow
@pytest.mark.beyond_ci("builds the default world (4000 pretraining steps, about 5 minutes on 2 cores) only "
                       "to record that the self judge's prompt does not fit its 512-token context")
@pytest.mark.xfail(strict=True, reason="the self judge's prompt does not fit the default world's 512-token context: "
                   "every trace is dropped as prefix_over_context and palign has no data (exit 2)")
def test_self_judge_in_the_default_world(tmp_path):
    out = tmp_path / "self.json"
    args = ["--set", "teacher.num_problems=60", "--set", "eval.limit=40"]
    assert harness_run(tmp_path / "store", "--method", "palign", "--judge", "self", *args, "--json", str(out)) == 0
    stats = json.loads(out.read_text())["method_stats"]
    assert stats["judge"] == "self" and stats["unparseable_judge_replies"] >= 0


# --------------------------------------------------------------------------- issue #14: a run's log file

NOISE = ("{'loss'", "FutureWarning", "Traceback", "it/s]", "%|", "…")


def _run_to_log(tmp_path, *args, interval="0.2", timeout=600):
    """`harness run ARGS > log 2>&1`, as a person would run it under nohup; returns the log's lines."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, HARNESS_PROGRESS_INTERVAL=interval, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    log = tmp_path / "log"
    with log.open("w") as fh:
        proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--store", str(tmp_path / "store"), *args],
                              stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, timeout=timeout)
    text = log.read_text()
    assert proc.returncode == 0, text
    for noise in NOISE:
        assert noise not in text, noise
    lines = text.splitlines()
    assert lines[-1].startswith("result record: ") and Path(lines[-1].split(": ", 1)[1]).is_file()
    return lines


@pytest.mark.slow
def test_run_log_outside_a_terminal_is_readable(tmp_path, tiny_model_dir):
    """`harness run > log 2>&1` with a random student (15 s): training and evaluation progress, table, path last."""
    lines = _run_to_log(tmp_path, "--method", "full_cot", "--student", str(tiny_model_dir), *FAST)
    text = "\n".join(lines)
    assert re.search(r"^\S+ \S+ train step 2/2 \(epoch [\d.]+\): loss ", text, re.M)
    assert re.search(r"^\S+ \S+ generate synth_routine: 16/16 \(100%\)", text, re.M)  # 4 problems x n=4
    assert "synth_routine" in text and "trained tokens" in text  # the result table, column names whole


@pytest.mark.slow
@pytest.mark.beyond_ci("a second small palign run (about 100 s on 2 cores) for its log; CI runs the "
                       "same pipeline once, in test_palign_end_to_end_small_and_cached")
def test_palign_run_log_has_progress_in_every_long_stage(tmp_path):
    """Issue #14 acceptance 5: pretraining, training and evaluation each log progress; the table and the path end it."""
    lines = _run_to_log(tmp_path, "--method", "palign", *SMALL, "--set", "eval.sampling.max_new_tokens=64",
                        interval="2", timeout=1800)
    text = "\n".join(lines)
    for stage in ("pretraining synth:tiny: ", "train steps: ", "generate synth_routine: ", "generate synth_target: "):
        assert re.search(rf"^\S+ \S+ {re.escape(stage)}\d+/\d+ \(\d+%\)", text, re.M), stage
    assert "synth_target" in text and "trained tokens" in text
