"""A board's protocol and rule (issue #29), provenance, and records the board must refuse or render inert (#33)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.comparisons import judge
from harness.leaderboard import build_rows
from harness.protocol import load_protocol
from harness.records import find_records
from test_leaderboard import make_record, write  # tests/ is on sys.path (rootless test modules)
from test_leaderboard_cli import _one_line_exit_2

PROTOCOL = """written: before the runs
primary: {benchmark: synth_target, metric: pass@1}
alpha: 0.05
correction: holm
seeds: [0, 1, 2, 3, 4]
contrasts:
  - [palign, full_cot]
"""


def simulated_board(root: Path, lifts: list[float], problems: int = 400, n: int = 4, seed: int = 0) -> Path:
    """palign and full_cot on one benchmark: every problem at 50% for full_cot, palign lifted by `lifts[s]` in seed s.

    The problems barely differ, so what varies between seeds is the training run alone.
    """
    rng = np.random.default_rng(seed)
    folder = root / "synthetic" / "records"
    for s, lift in enumerate(lifts):
        for method, p in (("full_cot", 0.5), ("palign", 0.5 + lift)):
            write(folder, make_record(method, s, {"synth_target": rng.random((problems, n)) < p}))
    (folder.parent / "protocol.yaml").write_text(PROTOCOL)
    return root


def _judged(root: Path):
    (records,) = find_records(root).values()
    rows = build_rows(records)
    protocol = load_protocol(root / "synthetic")
    (j,) = judge(list(protocol.contrasts), rows, ["synth_target"], protocol)
    return j


def _findings(root: Path) -> str:
    assert main(["leaderboard", "--records", str(root)]) == 0
    return (root / "README.md").read_text().split("### Findings")[1].split("\n###")[0]


def test_seed_noise_alone_is_not_established_though_the_problem_interval_excludes_0(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.20, -0.15, 0.18, -0.12, 0.16])
    j = _judged(root)
    assert j.diff.problem_ci[0] > 0  # the problem-only interval would call it a win
    assert j.diff.ci[0] < 0 < j.diff.ci[1]  # the two-level interval sees the seeds disagree
    assert not j.verdict.established
    line = next(x for x in _findings(root).splitlines() if x.startswith("- palign − full_cot"))
    assert "**not established (" in line


def test_a_real_effect_is_established(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.15, 0.16, 0.14, 0.15, 0.17])
    j = _judged(root)
    assert j.verdict.established and j.diff.ci[0] > 0 and j.diff.t.interval[0] > 0
    line = next(x for x in _findings(root).splitlines() if x.startswith("- palign − full_cot"))
    assert line.endswith("**established**.")


def test_seeds_outside_the_protocol_enter_no_comparison(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.0] * 5)
    folder = root / "synthetic" / "records"
    rng = np.random.default_rng(9)
    for seed in (5, 6):  # added after a look, and very good
        write(folder, make_record("palign", seed, {"synth_target": rng.random((400, 4)) < 0.95}))
        write(folder, make_record("full_cot", seed, {"synth_target": rng.random((400, 4)) < 0.05}))
    j = _judged_planned(root)
    assert abs(j.diff.mean) < 0.03 and sorted(j.diff.per_seed) == [0, 1, 2, 3, 4]
    text = (root / "README.md").read_text()
    added = text.split("### Added after the protocol")[1].split("\n###")[0]
    assert "| palign " in added and "| full_cot " in added
    results = text.split("### Results")[1].split("\n###")[0]
    assert re.search(r"\| palign +\| synth:tiny +\| synth \(300\) +\| 5 ", results)


def _judged_planned(root: Path):
    assert main(["leaderboard", "--records", str(root)]) == 0
    (records,) = find_records(root).values()
    protocol = load_protocol(root / "synthetic")
    rows = build_rows([r for r in records if protocol.planned(r.seed)])
    (j,) = judge(list(protocol.contrasts), rows, ["synth_target"], protocol)
    return j


def test_a_best_side_is_post_hoc_and_a_missing_planned_seed_is_said(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.3] * 4)  # seed 4 planned, never run
    (root / "synthetic" / "protocol.yaml").write_text(PROTOCOL.replace("[palign, full_cot]", "[palign, best full_cot]"))
    text = (root / "README.md").read_text() if main(["leaderboard", "--records", str(root)]) == 0 else ""
    assert "not established (post hoc: a side chosen on these numbers)" in text
    assert "- Planned seeds without a record: full_cot on `synth:tiny` (4); palign on `synth:tiny` (4)" in text


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t.replace("written: before the runs", "written: sometime"), "'written' must be one of"),
    (lambda t: t.replace("pass@1", "accuracy"), "primary metric must be pass@K"),
    (lambda t: t.replace("alpha: 0.05", "alpha: 5"), "'alpha' must be a number between 0 and 1"),
    (lambda t: t.replace("[0, 1, 2, 3, 4]", "[0, 0]"), "'seeds' must be a list of distinct integers"),
    (lambda t: t.replace("[palign, full_cot]", "[palign]"), "is not a pair of method names"),
    (lambda t: t + "extra: 1\n", "unknown: 'extra'"),
    (lambda t: t.replace("synth_target", "aime24"), "primary benchmark 'aime24' is in no planned record"),
])
def test_a_bad_protocol_is_one_line(tmp_path, edit, needle):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    path = root / "synthetic" / "protocol.yaml"
    path.write_text(edit(path.read_text()))
    _one_line_exit_2(["--records", str(root)], needle)


def test_contrasts_in_both_files_are_refused(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    (root / "synthetic" / "board.yaml").write_text("contrasts:\n  - [palign, full_cot]\n")
    _one_line_exit_2(["--records", str(root)], "both protocol.yaml and board.yaml")


# ---------------------------------------------------------------- provenance

def _dirty(root: Path, name: str = "palign-seed1.json", exemption: str | None = None) -> Path:
    path = root / "synthetic" / "records" / name
    data = json.loads(path.read_text())
    data["manifest"]["git_commit"] = "ab" * 20 + "-dirty"
    if exemption is not None:
        data["provenance_exemption"] = exemption
    path.write_text(json.dumps(data))
    return path


def test_a_dirty_record_without_an_exemption_fails_the_check(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    assert main(["leaderboard", "--records", str(root)]) == 0
    _dirty(root)
    _one_line_exit_2(["--records", str(root), "--check"], "palign-seed1.json", "uncommitted code", "provenance_exemption")
    _dirty(root, exemption="  ")
    _one_line_exit_2(["--records", str(root), "--check"], "must be a non-empty reason")


def test_an_exempt_dirty_record_renders_with_its_reason(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    _dirty(root, exemption="rerun of seed 1 reproduced it <b>exactly</b>")
    assert main(["leaderboard", "--records", str(root)]) == 0
    records = (root / "README.md").read_text().split("### Records")[1]
    assert "abababababab-dirty" in records
    assert "palign, seed 1): rerun of seed 1 reproduced it &lt;b&gt;exactly&lt;/b&gt;" in records


def test_run_refuses_a_board_record_from_a_dirty_tree_before_any_stage(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("harness.manifest.git_commit", lambda: "cd" * 20 + "-dirty")
    store = tmp_path / "store"
    target = tmp_path / "leaderboards" / "mine" / "records" / "seed0.json"
    target.parent.mkdir(parents=True)
    assert main(["run", "--store", str(store), "--method", "none", "--json", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "uncommitted changes" in err[0] and "--exempt-dirty REASON" in err[0]
    assert not target.exists() and not any(store.glob("*/*")) if store.exists() else True


def test_vouch_marks_an_exempt_record_and_ignores_paths_outside_boards(tmp_path):
    from harness.errors import HarnessError
    from harness.records import vouch

    dirty = [{"manifest": {"git_commit": "ef" * 20 + "-dirty"}}]
    vouch(dirty, tmp_path / "pilot" / "seed0.json", None)  # a pilot may be dirty
    with pytest.raises(HarnessError, match="--exempt-dirty"):
        vouch(dirty, tmp_path / "leaderboards" / "x" / "records" / "s.json", None)
    vouch(dirty, tmp_path / "leaderboards" / "x" / "records" / "s.json", "  a   reason ")
    assert dirty[0]["provenance_exemption"] == "a reason"


# ---------------------------------------------------------------- records the board refuses or renders inert

def test_record_text_is_escaped_everywhere(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    for path in (root / "synthetic" / "records").glob("palign-*.json"):
        data = json.loads(path.read_text())
        data["method"] = "evil | col\n| fake | row |<script>alert(1)</script>"
        data["student"] = "s`tu|dent"
        path.write_text(json.dumps(data))
    (root / "synthetic" / "protocol.yaml").unlink()
    assert main(["leaderboard", "--records", str(root)]) == 0
    text = (root / "README.md").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\n| fake | row |" not in text
    for table in re.findall(r"(?:^\|.*\n)+", text, flags=re.M):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table.splitlines()}
        assert len(widths) == 1, table  # no cell added a column


def test_a_record_whose_metrics_disagree_with_its_samples_is_refused(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    path = root / "synthetic" / "records" / "full_cot-seed0.json"
    data = json.loads(path.read_text())
    for sample in data["benchmarks"]["synth_target"]["samples"]:
        sample["outcome"] = "correct"  # everything right, the metric left as it was
    path.write_text(json.dumps(data))
    _one_line_exit_2(["--records", str(root)], "full_cot-seed0.json", "metrics.pass@1", "edited or damaged")


def test_a_record_relabelled_as_another_seed_is_refused(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    folder = root / "synthetic" / "records"
    data = json.loads((folder / "full_cot-seed0.json").read_text())
    data["seed"] = 7
    (folder / "full_cot-seed7.json").write_text(json.dumps(data))
    _one_line_exit_2(["--records", str(root)], "full_cot-seed", "holds exactly the samples of", "one run counted twice")


def test_records_may_be_gzipped_and_gzip_writes_the_same_bytes(tmp_path):
    from harness.jsonl import write_json
    from harness.records import load_records

    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 2, problems=20)
    plain = root / "synthetic" / "records" / "palign-seed0.json"
    data = json.loads(plain.read_text())
    packed = plain.with_name("palign-seed0.json.gz")
    write_json(packed, data)
    first = packed.read_bytes()
    write_json(packed, data)
    assert packed.read_bytes() == first and first[:2] == b"\x1f\x8b"  # gzip, no timestamp: same bytes
    plain.unlink()
    assert load_records(packed)[0].data == data
    assert main(["leaderboard", "--records", str(root)]) == 0
    assert "synthetic/records/palign-seed0.json.gz" in (root / "README.md").read_text()
    packed.write_bytes(b"not gzip")
    _one_line_exit_2(["--records", str(root)], "palign-seed0.json.gz", "cannot read result record")
