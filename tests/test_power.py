"""`harness power`: variance components from records and the plan they give."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cli import main
from test_board_protocol import simulated_board


def _table(out: str) -> list[dict[str, str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in out.splitlines() if line.startswith("|")]
    header, _, *body = rows
    return [dict(zip(header, cells)) for cells in body]


def test_power_reads_the_protocol_and_plans_more_seeds_for_noisier_seeds(tmp_path, capsys):
    quiet = simulated_board(tmp_path / "quiet", lifts=[0.05, 0.06, 0.04, 0.05, 0.05])
    noisy = simulated_board(tmp_path / "noisy", lifts=[0.20, -0.10, 0.15, -0.05, 0.05])
    plans = {}
    for name, root in (("quiet", quiet), ("noisy", noisy)):
        assert main(["power", "--records", str(root), "--difference", "5", "--samples", "4"]) == 0
        out = capsys.readouterr().out
        assert "α = 0.05 (the protocol's α 0.05 split over its 1 tests, Bonferroni)" in out
        (row,) = _table(out)
        assert row["contrast"] == "palign − full_cot" and row["seeds"] == "5" and row["n"] == "4"
        plans[name] = row
    assert float(plans["noisy"]["sd seed"]) > 5 * float(plans["quiet"]["sd seed"])
    assert int(plans["noisy"]["seeds for D, n=4"]) > int(plans["quiet"]["seeds for D, n=4"])


def test_given_components_on_a_small_benchmark_can_be_out_of_reach(capsys):
    assert main(["power", "--components", "seed=3,problem=20,interaction=5,sample=70", "--problems", "30",
                 "--difference", "5", "--samples", "64"]) == 0
    (row,) = _table(capsys.readouterr().out)
    assert row["seeds for D, n=64"] == "not reachable"


@pytest.mark.parametrize("args, needle", [
    (["--components", "seed=3,problem=20"], "--components needs --problems N"),
    (["--components", "seed=3,problem=20", "--problems", "30"], "needs all of seed, problem, interaction, sample"),
    (["--components", "seed=x,problem=1,interaction=1,sample=1", "--problems", "30"], "seed needs a number"),
    (["--components", "seed=1,problem=1,interaction=1,sample=1", "--problems", "30", "--power", "2"],
     "--power must be between 0 and 1"),
    (["--records", "nowhere"], "nowhere"),
])
def test_bad_power_input_is_one_line(args, needle):
    out = subprocess.run([sys.executable, "-m", "harness.cli", "power", *args], capture_output=True, text=True)
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert out.returncode == 2 and len(lines) == 1 and needle in lines[0], out.stderr


def test_an_unknown_contrast_or_setup_is_one_line(tmp_path):
    root = simulated_board(tmp_path / "lb", lifts=[0.1] * 3, problems=30)
    for args, needle in ((["--contrast", "palign,nosuch"], "no listed contrast has both sides"),
                         (["--contrast", "palign"], "--contrast must be A,B"),
                         (["--setup", "other"], "no setup 'other'"),
                         (["--benchmark", "aime24"], "no record here has benchmark 'aime24'")):
        out = subprocess.run([sys.executable, "-m", "harness.cli", "power", "--records", str(root), *args],
                             capture_output=True, text=True)
        lines = [x for x in out.stderr.splitlines() if x.strip()]
        assert out.returncode == 2 and len(lines) == 1 and needle in lines[0], out.stderr
