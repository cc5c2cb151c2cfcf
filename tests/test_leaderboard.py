"""Leaderboard statistics and record validation, on records built here with known outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.contrasts import paired_difference
from harness.errors import HarnessError
from harness.eval.metrics import pass_at_k
from harness.leaderboard import average_estimate, build_rows, pass_estimate, tokens_estimate
from harness.records import find_records, load_record, load_records


def make_record(method: str, seed: int, outcomes: dict[str, np.ndarray], *, params: dict | None = None,
                tokens: int = 50, kept: list[float] | None = None, train_tokens: int | None = 1000,
                student: str = "synth:tiny", training: dict | None = None, dropped: dict | None = None) -> dict:
    """A schema-1 result record whose per-sample outcomes are `outcomes[bench][problem, sample]`."""
    benchmarks = {}
    for name, grid in outcomes.items():
        samples = [{"index": i, "id": f"{name}-{i:03d}", "sample": j,
                    "outcome": "correct" if grid[i, j] else "incorrect", "extracted": None,
                    "num_tokens": tokens + (i + j) % 7, "finish_reason": "stop"}
                   for i in range(grid.shape[0]) for j in range(grid.shape[1])]
        benchmarks[name] = {"benchmark": name, "checksum": f"sha256:{name}", "num_problems": grid.shape[0],
                            "metrics": {"pass@1": float(grid.mean()), "n": grid.shape[1]}, "samples": samples}
    return {
        "schema": 1, "harness_version": "0.1.0", "method": method, "method_params": params or {}, "seed": seed,
        "student": student, "teacher_data": {"source": "synth", "key": "teacher-abc123", "num_traces": 300},
        "benchmarks": benchmarks,
        "method_stats": {**({"kept_prefix_ratios": kept} if kept is not None else {}),
                         **({"dropped": dropped} if dropped is not None else {})},
        "training": None if train_tokens is None else {"train_tokens": train_tokens, "examples": 10, **(training or {})},
        "manifest": {"git_commit": "0123456789abcdef", "config": {"eval": {"sampling": {"temperature": 0.6}}}},
    }


def write(folder: Path, record: dict, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{record['method']}-seed{record['seed']}.json")
    path.write_text(json.dumps(record))
    return path


def grid(rng: np.random.Generator, problems: int, n: int, p: float) -> np.ndarray:
    return rng.random((problems, n)) < p


def test_row_mean_spread_and_interval_follow_the_samples(tmp_path):
    rng = np.random.default_rng(1)
    grids = {seed: grid(rng, 30, 3, 0.4 + 0.1 * seed) for seed in range(3)}
    for seed, g in grids.items():
        write(tmp_path / "records", make_record("full_cot", seed, {"aime": g}))
    (rows,) = [build_rows(recs) for recs in find_records(tmp_path).values()]
    (row,) = rows
    est, draws = pass_estimate(row, "aime", 1)
    per_seed = [g.mean() for g in grids.values()]
    assert est.mean == pytest.approx(np.mean(per_seed))
    assert est.std == pytest.approx(np.std(per_seed, ddof=1))
    assert est.ci[0] < est.mean < est.ci[1] and 0 <= est.ci[0] and est.ci[1] <= 1
    # Same records, same interval: the bootstrap is seeded.
    again = build_rows(next(iter(find_records(tmp_path).values())))[0]
    assert pass_estimate(again, "aime", 1)[0] == est
    # Pass@3 from the unbiased estimator, averaged over problems then seeds.
    est3, _ = pass_estimate(row, "aime", 3)
    expected = np.mean([np.mean([pass_at_k(3, int(c), 3) for c in g.sum(axis=1)]) for g in grids.values()])
    assert est3.mean == pytest.approx(expected)
    assert tokens_estimate(row).mean == pytest.approx(np.mean([50 + (i + j) % 7 for i in range(30) for j in range(3)]))


def test_interval_narrows_with_more_problems(tmp_path):
    rng = np.random.default_rng(2)
    widths = []
    for problems in (30, 500):
        folder = tmp_path / f"p{problems}" / "records"
        write(folder, make_record("none", 0, {"b": grid(rng, problems, 1, 0.5)}))
        (row,) = build_rows(next(iter(find_records(folder.parent).values())))
        lo, hi = pass_estimate(row, "b", 1)[0].ci
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2


def test_pass_at_3_unavailable_with_one_sample(tmp_path):
    write(tmp_path / "records", make_record("none", 0, {"b": np.ones((10, 1), dtype=bool)}))
    (row,) = build_rows(next(iter(find_records(tmp_path).values())))
    assert pass_estimate(row, "b", 1)[0].mean == 1.0
    assert pass_estimate(row, "b", 3) is None


def test_paired_difference(tmp_path):
    rng = np.random.default_rng(3)
    base = {s: grid(rng, 40, 3, 0.5) for s in range(3)}
    folder = tmp_path / "records"
    for s, g in base.items():
        write(folder, make_record("full_cot", s, {"b": g, "c": g}))
        # Same outcomes on "b"; on "c" every wrong sample of full_cot is right here.
        write(folder, make_record("palign", s, {"b": g, "c": np.ones_like(g)}))
    rows = {r.method: r for r in build_rows(next(iter(find_records(tmp_path).values())))}
    same = paired_difference(rows["palign"], rows["full_cot"], "b")
    assert same.mean == 0 and same.ci == (0.0, 0.0)
    better = paired_difference(rows["palign"], rows["full_cot"], "c")
    assert better.mean == pytest.approx(1 - np.mean([g.mean() for g in base.values()]))
    assert better.ci[0] > 0
    avg = average_estimate(rows["palign"], ["b", "c"])
    assert avg.mean == pytest.approx((np.mean([g.mean() for g in base.values()]) + 1) / 2)


def test_paired_difference_pairs_seeds_when_one_row_has_more(tmp_path):
    """Extra seeds of one row must not enter a difference with a row that never ran them."""
    rng = np.random.default_rng(5)
    folder = tmp_path / "records"
    grids = {}
    for s in range(5):
        grids["palign", s] = grid(rng, 50, 4, 0.9 if s >= 3 else 0.3)  # seeds 3-4 run far better
        write(folder, make_record("palign", s, {"b": grids["palign", s]}))
    for s in range(3):
        grids["full_cot", s] = grid(rng, 50, 4, 0.3)
        write(folder, make_record("full_cot", s, {"b": grids["full_cot", s]}))
    rows = {r.method: r for r in build_rows(next(iter(find_records(tmp_path).values())))}
    got = paired_difference(rows["palign"], rows["full_cot"], "b").mean
    want = np.mean([grids["palign", s].mean() - grids["full_cot", s].mean() for s in range(3)])
    assert got == pytest.approx(want) and abs(got) < 0.15


def test_variants_of_one_method_get_their_own_rows(tmp_path):
    g = np.ones((5, 1), dtype=bool)
    folder = tmp_path / "records"
    for frac in (0.25, 0.5):
        write(folder, make_record("fixed_trunc", 0, {"b": g}, params={"fraction": frac, "mode": "align"}),
              name=f"ft-{frac}.json")
    labels = [r.label for r in build_rows(next(iter(find_records(tmp_path).values())))]
    assert labels == ["fixed_trunc (fraction=0.25)", "fixed_trunc (fraction=0.5)"]


def test_setups_are_named_by_folder(tmp_path):
    g = np.ones((5, 1), dtype=bool)
    write(tmp_path / "synthetic" / "records", make_record("none", 0, {"b": g}))
    write(tmp_path / "paper" / "records", make_record("none", 0, {"b": g}))
    assert list(find_records(tmp_path)) == ["paper", "synthetic"]


@pytest.mark.parametrize("mutate, needle", [
    (lambda r: r.update(schema=2), "schema 2"),
    (lambda r: r.pop("teacher_data"), "teacher_data"),
    (lambda r: r["teacher_data"].pop("key"), "teacher_data.key"),
    (lambda r: r["benchmarks"]["b"].pop("checksum"), "checksum"),
    (lambda r: r["benchmarks"]["b"]["samples"][0].pop("outcome"), "outcome"),
    (lambda r: r.update(seed="zero"), "seed"),
    (lambda r: r["benchmarks"]["b"]["samples"][0].update(num_tokens=None), "num_tokens"),
    (lambda r: r.update(method_params=[1]), "method_params"),
])
def test_bad_records_name_the_file(tmp_path, mutate, needle):
    record = make_record("none", 0, {"b": np.ones((3, 1), dtype=bool)})
    mutate(record)
    path = write(tmp_path, record, "bad.json")
    with pytest.raises(HarnessError) as exc:
        load_record(path)
    message = str(exc.value)
    assert "bad.json" in message and needle in message and "\n" not in message


def test_malformed_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema": 1,')
    with pytest.raises(HarnessError, match="broken.json"):
        load_record(path)


@pytest.mark.parametrize("second, needle", [
    (make_record("none", 0, {"b": np.ones((3, 1), dtype=bool)}), "seed 0"),
    (make_record("none", 1, {"b": np.ones((4, 1), dtype=bool)}), "different problems"),
])
def test_inconsistent_seeds_of_one_run_are_errors(tmp_path, second, needle):
    folder = tmp_path / "records"
    write(folder, make_record("none", 0, {"b": np.ones((3, 1), dtype=bool)}), "a.json")
    write(folder, second, "b.json")
    with pytest.raises(HarnessError, match=needle):
        build_rows(next(iter(find_records(tmp_path).values())))


def test_repeated_samples_are_errors(tmp_path):
    record = make_record("none", 0, {"b": np.ones((3, 2), dtype=bool)})
    record["benchmarks"]["b"]["samples"][1]["sample"] = 0
    write(tmp_path / "records", record)
    with pytest.raises(HarnessError, match="repeats sample 0"):
        build_rows(next(iter(find_records(tmp_path).values())))


def test_list_files_from_method_all(tmp_path):
    """`harness run --method all --json PATH` writes a list: each element is its own record."""
    g = np.ones((4, 1), dtype=bool)
    path = tmp_path / "records" / "seed0.json"
    path.parent.mkdir()
    path.write_text(json.dumps([make_record(m, 0, {"b": g}) for m in ("none", "full_cot", "palign")]))
    assert [r.method for r in load_records(path)] == ["none", "full_cot", "palign"]
    assert [r.label for r in build_rows(next(iter(find_records(tmp_path).values())))] == ["none", "full_cot", "palign"]
    broken = [make_record("none", 0, {"b": g}), {**make_record("palign", 0, {"b": g}), "schema": 7}]
    path.write_text(json.dumps(broken))
    with pytest.raises(HarnessError, match=r"seed0.json\[1\]: result record schema 7"):
        load_records(path)


def test_each_student_is_compared_with_its_own_full_cot(tmp_path):
    from harness.leaderboard import baseline_for

    folder = tmp_path / "records"
    ones, zeros = np.ones((6, 1), dtype=bool), np.zeros((6, 1), dtype=bool)
    for student, base_grid in (("a", zeros), ("b", ones)):
        write(folder, make_record("full_cot", 0, {"x": base_grid}, student=student), f"full-{student}.json")
        write(folder, make_record("palign", 0, {"x": ones}, student=student), f"palign-{student}.json")
    rows = build_rows(next(iter(find_records(tmp_path).values())))
    diffs = {r.student: paired_difference(r, baseline_for(r, rows), "x").mean for r in rows if r.method == "palign"}
    assert diffs == {"a": 1.0, "b": 0.0}


def test_training_numbers_and_dropped_traces_per_row(tmp_path):
    from harness.commands.leaderboard import training_rate
    from harness.leaderboard import dropped_by_reason, training_budget, training_value

    g = np.ones((4, 1), dtype=bool)
    folder = tmp_path / "records"
    for seed, (steps, tokens, dropped) in enumerate(((40, 900, 3), (40, 1100, 4), (40, 1000, 4))):
        write(folder, make_record("palign", seed, {"b": g}, dropped={"no_correct_continuation": dropped, "empty_cot": 0},
                                  training={"budget": "steps", "max_steps": 40, "steps": steps,
                                            "examples_seen": 640, "trained_tokens": tokens}))
        write(folder, make_record("none", seed, {"b": g}, train_tokens=None))
    rows = {r.method: r for r in build_rows(next(iter(find_records(tmp_path).values())))}
    palign, none = rows["palign"], rows["none"]
    assert training_value(palign, "steps").mean == 40 and training_value(palign, "steps").std == 0
    assert training_value(palign, "trained_tokens").mean == 1000 and training_value(palign, "trained_tokens").std == 100
    assert training_value(palign, "examples").mean == 10
    assert dropped_by_reason(palign) == {"empty_cot": 0.0, "no_correct_continuation": pytest.approx(11 / 3)}
    assert training_budget(palign.records[0]) == ("steps=40", False)
    # a method that does not train has no training numbers, no budget and no rate
    assert training_value(none, "steps") is None and training_budget(none.records[0]) is None
    assert training_rate(none.records[0]) is None
    assert dropped_by_reason(none) is None


def test_records_from_before_the_budget_still_give_their_numbers(tmp_path):
    """Old records: steps and examples are there, the new fields are not, and the budget was epochs."""
    from harness.commands.leaderboard import training_rate
    from harness.leaderboard import training_budget, training_value

    record = make_record("full_cot", 0, {"b": np.ones((4, 1), dtype=bool)}, training={"steps": 39, "epochs": 3.0})
    record["manifest"]["config"]["train"] = {"num_train_epochs": 3.0, "learning_rate": 1e-3}
    write(tmp_path / "records", record)
    (row,) = build_rows(next(iter(find_records(tmp_path).values())))
    assert training_value(row, "steps").mean == 39
    assert training_value(row, "trained_tokens") is None and training_value(row, "examples_seen") is None
    assert training_budget(row.records[0]) == ("epochs=3", True)
    assert training_rate(row.records[0]) == "0.001"  # read from the config the record carries
