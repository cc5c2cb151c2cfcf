"""A metric from an installed package (the `harness.metrics` entry-point group) reaches
`harness eval --json` and the rendered leaderboard, and a board without it is unchanged."""

import json
import sys
import textwrap

from harness.cli import main
from harness.registries import METRICS

PLUGIN = textwrap.dedent('''
    from harness.eval.metrics import SampleLevelMetric

    # Share of a problem's samples cut off at max_new_tokens, averaged over problems.
    CUT_RATE = SampleLevelMetric(
        "cut_rate", lambda samples: sum(s["finish_reason"] == "length" for s in samples) / len(samples),
        higher_is_better=False)
''')


def _benchmark(folder, count=4):
    folder.mkdir()
    rows = [{"id": f"p{i}", "problem": f"What is {i} + {i + 2}?", "answer": str(2 * i + 2)} for i in range(count)]
    (folder / "aime24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _eval(model, data, store, out, seed):
    argv = ["eval", "--store", str(store), "--model", str(model), "--benchmarks", "aime24", "--data-dir", str(data),
            "--seed", str(seed), "--set", "eval.sampling.max_new_tokens=6", "--set", "eval.n=2", "--temperature", "0.6",
            "--json", str(out)]
    assert main(argv) == 0
    return json.loads(out.read_text())["benchmarks"]["aime24"]


def _cut_rate(bench):
    per_problem = {}
    for s in bench["samples"]:
        per_problem.setdefault(s["index"], []).append(s["finish_reason"] == "length")
    return sum(sum(v) / len(v) for v in per_problem.values()) / len(per_problem)


def _record(seed, bench):
    return {"schema": 1, "harness_version": "test", "method": "none", "method_params": {}, "seed": seed,
            "student": "tiny", "teacher_data": {"source": "synth", "key": "teacher-t", "num_traces": 1},
            "benchmarks": {"aime24": bench}, "method_stats": {}, "training": None, "manifest": {}}


def _board(records_root, out):
    assert main(["leaderboard", "--records", str(records_root), "--out", str(out), "--check"]) == 1  # not there yet
    assert main(["leaderboard", "--records", str(records_root), "--out", str(out)]) == 0
    return out.read_text()


def test_plugin_metric_reaches_eval_json_and_the_leaderboard(tmp_path, tiny_model_dir, install_plugin, isolate):
    isolate(METRICS)
    data, store = _benchmark(tmp_path / "data"), tmp_path / "store"
    before = _eval(tiny_model_dir, data, store, tmp_path / "before.json", seed=0)
    assert "cut_rate" not in before["metrics"] and before["metrics"]["n"] == 2  # --set reached the eval config

    site = install_plugin("harness-cut-rate", {"cut_metric": PLUGIN}, {"harness.metrics": {"cut_rate": "cut_metric:CUT_RATE"}})
    METRICS.reset()  # a new process after `pip install` scans the entry points again
    fresh = _eval(tiny_model_dir, data, store, tmp_path / "fresh.json", seed=1)  # a new eval stage
    stored = _eval(tiny_model_dir, data, store, tmp_path / "stored.json", seed=0)  # the seed-0 stage, read back
    assert len(list(store.glob("eval/*/result.json"))) == 2  # nothing was generated again
    for bench in (fresh, stored):
        assert bench["metrics"]["cut_rate"] == _cut_rate(bench)
        assert 0 < bench["metrics"]["cut_rate"] <= 1  # a random tiny model runs into 6 tokens
    assert {k: v for k, v in stored["metrics"].items() if k != "cut_rate"} == before["metrics"]

    records = tmp_path / "boards" / "plugin-setup" / "records"
    records.mkdir(parents=True)
    for seed, bench in ((0, stored), (1, fresh)):
        (records / f"seed{seed}.json").write_text(json.dumps(_record(seed, bench)))
    board = _board(tmp_path / "boards", tmp_path / "README.md")
    lines = board.splitlines()
    assert "### Other metrics" in lines
    header = next(line for line in lines if "aime24 cut_rate" in line)
    row = lines[lines.index(header) + 2]
    assert row.split("|")[1].strip() == "none" and f"{_cut_rate(stored):.4g}" in row

    # The board renders from the records alone: without the plugin it is byte for byte the same.
    sys.path.remove(str(site))
    METRICS.reset()
    assert "cut_rate" not in METRICS.names()
    assert main(["leaderboard", "--records", str(tmp_path / "boards"), "--out", str(tmp_path / "README.md"),
                 "--check"]) == 0


def test_a_board_without_plugin_metrics_has_no_such_table(tmp_path, tiny_model_dir):
    data, store = _benchmark(tmp_path / "data", count=2), tmp_path / "store"
    bench = _eval(tiny_model_dir, data, store, tmp_path / "out.json", seed=0)
    records = tmp_path / "boards" / "plain" / "records"
    records.mkdir(parents=True)
    (records / "seed0.json").write_text(json.dumps(_record(0, bench)))
    assert "Other metrics" not in _board(tmp_path / "boards", tmp_path / "README.md")


def test_a_metric_registered_after_the_eval_stage_reports_in_harness_run_and_harness_eval(
        tmp_path, monkeypatch, tiny_model_dir, capsys, isolate):
    """Both commands read a stored eval stage back through `stages.stage_eval`, which rescores it:
    a metric added since the stage ran reports in the run's record and table and in `eval --json`."""
    from harness.eval.metrics import SampleLevelMetric
    from test_pipeline import Fakes

    isolate(METRICS)
    fakes = Fakes(monkeypatch, tiny_model_dir)
    store, empty = tmp_path / "store", tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    eval_argv = ["eval", "--store", str(store), "--model", str(tiny_model_dir), "--benchmarks", "fake_bench"]
    assert main([*eval_argv, "--json", str(tmp_path / "before.json")]) == 0
    before = json.loads((tmp_path / "before.json").read_text())["benchmarks"]["fake_bench"]["metrics"]
    assert "top_tokens" not in before

    METRICS.add("top_tokens", SampleLevelMetric("top_tokens", lambda samples: max(s["num_tokens"] for s in samples)))
    capsys.readouterr()
    assert main(["run", "--store", str(store), "--config", str(empty), "--student", str(tiny_model_dir),
                 "--method", "none", "--set", "eval.benchmarks=[fake_bench]", "--json", str(tmp_path / "run.json")]) == 0
    assert fakes.calls["eval"] == 1  # the stored stage was read back, not generated again
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["benchmarks"]["fake_bench"]["metrics"]["top_tokens"] == 12
    assert "top_tokens" in capsys.readouterr().out  # the run's table has a column for it

    assert main([*eval_argv, "--json", str(tmp_path / "after.json")]) == 0
    after = json.loads((tmp_path / "after.json").read_text())["benchmarks"]["fake_bench"]["metrics"]
    assert after["top_tokens"] == 12 and {k: v for k, v in after.items() if k != "top_tokens"} == before
    assert fakes.calls["eval"] == 1
