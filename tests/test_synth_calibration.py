"""The calibration tools under bench/ that docs/synthetic-world.md quotes: they must keep running."""

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.config import WorldConfig
from harness.synth.problems import synth_specs
from harness.synth.teacher import synth_traces
from harness.toolkit.splitter import split_pieces

ROOT = Path(__file__).resolve().parents[1]
ENV = {"HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1"}


def test_resume_probe_reports_every_cut_and_the_key_positions(tiny_model_dir):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "synth_calibration.py"), "resume", "--model",
                          str(tiny_model_dir), "--n", "6", "--split", "dev", "--world-seed", "1"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("resume (") and "world seed 1, dev, 6 problems" in lines[0]
    assert lines[1].startswith("  routine CoT, random cut: ")
    cuts = [line for line in lines if line.startswith("  target CoT cut ")]
    assert len(cuts) == 5 and "by key position: {'change" in cuts[1] and "right after" in cuts[1]


def test_opaque_variant_puts_the_opaque_change_only_in_the_unlearned_prefix():
    # Every prefix example built around an opaque change: its computation must sit in the
    # no-loss prefix, never in the text the student learns (it is not to be taught).
    checks = (
        "v.patch(prefix=1.0, novel_fraction=1.0, fixed_opaque=True)\n"
        "ex = p.pretrain_examples(WorldConfig(pretrain_problems=60))\n"
        "marks = ('now it is', ' / 2 = ')\n"
        "assert len(ex) == 60 and all(e.prefix for e in ex)\n"
        "assert all(any(m in e.prefix for m in marks) for e in ex), [e.prefix for e in ex][:3]\n"
        "assert not any(m in e.target for e in ex for m in marks)\n"
        "assert all(e.target.endswith('}.') for e in ex)\n"
    )
    _run_patched(checks)


def _run_patched(checks: str) -> None:
    """Run `checks` in a fresh process, with the variants module imported as `v`, the
    pretraining module as `p` and WorldConfig: `patch` changes the world's modules, so it must
    not run in the test process."""
    code = ("import sys; sys.argv = ['x']; sys.path.insert(0, 'bench')\n"
            "import synth_pretrain_variants as v\n"
            "from harness.config import WorldConfig\n"
            "import harness.synth.pretrain as p\n" + checks + "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


def _g3(tmp_path: Path, cuts: dict, world_seed: int) -> subprocess.CompletedProcess:
    record = {"method": "palign", "seed": 0, "method_stats": {"chosen_cuts": cuts},
              "teacher_data": {"num_traces": 40}}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    return subprocess.run([sys.executable, str(ROOT / "bench" / "synth_calibration.py"), "g3", str(path),
                           "--world-seed", str(world_seed)], capture_output=True, text=True, env=ENV, timeout=120)


def test_g3_locates_the_key_step_in_the_traces_the_method_searched(tmp_path):
    # Cuts placed one piece after the key step's result, found in the teacher's own records,
    # must all read as "within 2 after": G3 has to rebuild exactly those traces (it once
    # rebuilt other traces of the same problems, and every G3 figure was wrong).
    world = WorldConfig(seed=3)
    specs = synth_specs("teacher", "target", 40, world.seed)
    cuts = {}
    for spec, record in zip(specs, synth_traces(world, 40)):
        values = spec.values()
        i = spec.key_index
        result = f"{values[i] * spec.steps[i].mult} + {spec.steps[i].value} = {values[i + 1]}."
        pieces = split_pieces(record["long_cot"])
        if not record["long_cot"].endswith(f"\\boxed{{{record['answer']}}}"):
            continue  # a trace where the teacher erred: its key step's result is another number
        key_piece = next(j + 1 for j, piece in enumerate(pieces) if result in piece)
        cuts[record["id"]] = [key_piece + 1, len(pieces)]
    assert len(cuts) >= 30
    out = _g3(tmp_path, cuts, world.seed)
    assert out.returncode in (0, 1), out.stdout + out.stderr
    assert f"{len(cuts)} cuts" in out.stdout and f"{{'within 2 after': {len(cuts)}}}" in out.stdout, out.stdout
    assert "median offset 1" in out.stdout

    wrong_world = _g3(tmp_path, cuts, world.seed + 1)
    assert wrong_world.returncode == 2 and "pass the record's --world-seed" in wrong_world.stdout


def test_sufficiency_replay_finds_the_key_step_when_sufficiency_starts_there_and_stays():
    sys.path.insert(0, str(ROOT / "bench"))
    import synth_sufficiency as s

    rows = [{"p": [0.0] * (k - 1) + [1.0] * (m - k + 1), "key_piece": k} for k, m in [(3, 20), (11, 22), (17, 18)]]
    assert s.replay(rows, rollouts=2, threshold=0.5) == {"within 2 after": 3 * s.REPLAYS}
    # a dip after the key step sends some searches later: that is what G3 measures
    dipped = [{"p": [0.0] * 7 + [1.0, 1.0] + [0.0] * 3 + [1.0] * 8, "key_piece": 8}]  # the first mid, 10, fails
    tally = s.replay(dipped, rollouts=2, threshold=0.5)
    assert tally["later"] == s.REPLAYS and s.where(None) == "none sufficient"


def test_sufficiency_profile_runs_on_a_real_architecture(tiny_model_dir, tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "synth_sufficiency.py"), "--model", str(tiny_model_dir),
                          "--traces", "2", "--samples", "2", "--json", str(tmp_path / "p.json")],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("sufficiency (") and "2 traces, 2 samples per prefix" in lines[0]
    assert "mean p by offset" in lines[1] and "shortest prefix" in lines[2] and "binary search, k=2" in lines[3]
    rows = json.loads((tmp_path / "p.json").read_text())
    assert len(rows) == 2 and all(1 <= r["key_piece"] <= r["pieces"] and 0 < len(r["p"]) <= r["pieces"] for r in rows)
