"""The calibration tools under bench/ that docs/synthetic-world.md quotes: they must keep running."""

import os
import subprocess
import sys
from pathlib import Path

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
        "v.patch(prefix=1.0, routine_max=4, opaque=1.0)\n"
        "ex = p.pretrain_examples(WorldConfig(pretrain_problems=60))\n"
        "marks = ('now it is', ' / 2 = ')\n"
        "assert len(ex) == 60 and all(e.prefix for e in ex)\n"
        "assert all(any(m in e.prefix for m in marks) for e in ex), [e.prefix for e in ex][:3]\n"
        "assert not any(m in e.target for e in ex for m in marks)\n"
        "assert all(e.target.endswith('}.') for e in ex)\n"
    )
    _run_patched(checks)


def test_novel_variant_words_each_change_anew_and_never_teaches_its_computation():
    # --novel: the opaque change is worded from random words (many distinct wordings), no piece
    # of a key-step wording appears anywhere, and its affine computation is only in the prefix.
    checks = (
        "v.patch(prefix=1.0, routine_max=4, opaque=1.0, novel=True)\n"
        "ex = p.pretrain_examples(WorldConfig(pretrain_problems=200))\n"
        "assert len(ex) == 200 and all(e.prefix for e in ex)\n"
        "odd = [next(s for s in e.prompt.split('. ') if any(t in s for t in v.NOVEL_TAILS)) for e in ex]\n"
        "assert len(set(odd)) > 150, len(set(odd))\n"
        "key_words = (' twice ', ' times ', 'as many', 'before,', ' plus ', ' grow ', ' count,')\n"
        "assert not any(w in e.prompt + ' ' + e.prefix + ' ' + e.target for e in ex for w in key_words)\n"
        "import re\n"
        "affine = [e for e in ex if re.search(r'\\* [23] = (\\d+)\\. \\1 \\+ ', e.prefix)]\n"
        "assert len(affine) > 50\n"
        "assert not any(t in e.target for e in ex for t in v.NOVEL_TAILS)\n"
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
