#!/usr/bin/env python3
"""Kill-and-resume benchmark (issue #8): SIGKILL `harness eval`, `harness teacher --source model`
and `harness train` at random moments, rerun each to completion, and check that the result
matches one uninterrupted reference run and that no stored record is lost or duplicated.

    python bench/kill_resume.py [--model DIR] [--trials 10] [--seed 0] [--json results.json]

Each kill time is drawn (seeded) uniformly over the reference run's measured wall time,
start-up included, so some kills land in imports and some after the command has finished
(the rerun must then reuse the stored result). The whole process group is killed, grader
workers included, as a machine losing power would. Without --model a small student is
pretrained first (see `build_student` below); every run writes only under a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kill_resume_checks import SCENARIOS, Scenario  # noqa: E402

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")


@dataclass
class Trial:
    command: str
    index: int
    kill_at_s: float
    killed: bool  # False when the command finished before the kill time came
    on_disk: str
    resume_s: float
    passed: bool
    problems: list[str] = field(default_factory=list)


def run_cli(args: list[str], log: Path, kill_at: float | None = None) -> tuple[int | None, float]:
    """Run `harness ARGS`; with `kill_at`, SIGKILL its whole process group after that many seconds.

    Returns (exit code or None when killed, seconds it ran)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    t0 = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *args], stdout=out, stderr=out,
                                env=env, start_new_session=True)
        try:
            rc = proc.wait(timeout=kill_at)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group: grader workers die with their parent
            proc.wait()
            _reap_group(proc.pid)
            return None, time.monotonic() - t0
    return rc, time.monotonic() - t0


def _reap_group(pgid: int) -> None:
    """Wait until every process of the killed group is gone, so none writes after the kill."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def build_student(dest: Path, full: bool) -> Path:
    """A tiny Qwen2 student when no --model is given.

    Default: the synthetic world's tiny student pretrained on 1,500 problems for one epoch
    (183 steps, loss 6.7 -> 0.77; measured 343 s on the shared 2-core machine at load ~9,
    estimated 15-30 s idle from bootstrap's 234 s for ~4,000 steps). It writes `\\boxed{}`
    answers that are sometimes right (1 in 12 eval samples, 3 of 10 teacher problems), so
    grading and the teacher's first-correct-sample rule have real work. `--bootstrap` runs
    the full `harness bootstrap` instead."""
    if full:
        store = dest / "world-store"
        rc, _ = run_cli(["bootstrap", "--store", str(store)], dest / "bootstrap.log")
        if rc != 0:
            sys.exit(f"harness bootstrap failed; see {dest / 'bootstrap.log'}")
        return next(store.glob("world/student-tiny-*/model"))
    code = ("from pathlib import Path; from harness.config import WorldConfig; from harness.synth.world import build_student; "
            f"build_student(WorldConfig(pretrain_problems=1500, pretrain_epochs=1.0), 'tiny', Path({str(dest / 'model')!r}), measure=False)")
    with (dest / "student.log").open("wb") as log:
        if subprocess.run([sys.executable, "-c", code], stdout=log, stderr=log).returncode != 0:
            sys.exit(f"building the student failed; see {dest / 'student.log'}")
    return dest / "model"


def run_scenario(sc: Scenario, work: Path, trials: int, rng: random.Random, keep: bool) -> tuple[dict, list[Trial]]:
    """One reference run, then runs killed and resumed until `trials` kills have landed, each compared with it.

    A run that finishes before its kill time is checked too but does not count as a trial;
    the kill times are then drawn below its duration (runs get faster once caches are warm),
    and at most 3 x `trials` runs are made."""
    ref_root = work / sc.name / "reference"
    ref_root.mkdir(parents=True)
    sc.prepare(ref_root)
    rc, ref_s = run_cli(sc.argv(ref_root), ref_root / "log.txt")
    if rc != 0:
        sys.exit(f"{sc.name}: the reference run failed (exit {rc}); see {ref_root / 'log.txt'}")
    reference, problems = sc.collect(ref_root)
    if problems:
        sys.exit(f"{sc.name}: the reference run's own output fails the checks: {'; '.join(problems)}")
    print(f"\n== {sc.name}: reference run {ref_s:.1f} s; {sc.describe(reference)}", flush=True)
    rows = []
    upper, i = ref_s, -1
    while sum(t.killed for t in rows) < trials and len(rows) < 3 * trials:
        i += 1
        kill_at = rng.uniform(0.0, upper)
        root = work / sc.name / f"trial-{i}"
        root.mkdir(parents=True)
        sc.prepare(root)
        rc, ran_s = run_cli(sc.argv(root), root / "log.txt", kill_at=kill_at)
        killed = rc is None
        if not killed:
            upper = min(upper, ran_s)
        on_disk, problems = sc.snapshot(root, reference)
        if not killed and rc != 0:
            problems.append(f"the run to be killed exited {rc} on its own")
        rc2, resume_s = run_cli(sc.argv(root), root / "log.txt")
        if rc2 != 0:
            problems.append(f"the resumed run exited {rc2}")
        else:
            got, more = sc.collect(root)
            problems += more + sc.compare(reference, got)
        trial = Trial(sc.name, i, round(kill_at, 2), killed, on_disk, round(resume_s, 1), not problems, problems)
        rows.append(trial)
        status = "PASS" if trial.passed else "FAIL"
        when = f"kill at {kill_at:5.1f}s" if killed else f"done by {kill_at:5.1f}s"
        print(f"{sc.name:8s} #{i:<3d} {when} | on disk: {on_disk:52s} | resume {resume_s:5.1f}s | {status}", flush=True)
        for p in problems:
            print(f"           - {p}", flush=True)
        if trial.passed and not keep:
            shutil.rmtree(root, ignore_errors=True)
    killed = [t for t in rows if t.killed]
    summary = {"reference_s": round(ref_s, 1), "reference": sc.describe(reference), "trials": len(killed),
               "passed": sum(t.passed for t in killed), "failed": sum(not t.passed for t in killed),
               "finished_before_kill": {"runs": len(rows) - len(killed), "failed": sum(not t.passed for t in rows if not t.killed)},
               **sc.extra_summary()}
    return summary, rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="student model folder (HF format, chat template); default: build a small one")
    p.add_argument("--bootstrap", action="store_true", help="without --model: run the full `harness bootstrap` (~4 min) instead")
    p.add_argument("--trials", type=int, default=10, help="killed runs per command (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    p.add_argument("--commands", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--workdir", help="where runs are written (default: a new temp folder, removed unless --keep)")
    p.add_argument("--keep", action="store_true", help="keep every trial's folder (failed trials are always kept)")
    p.add_argument("--json", metavar="PATH", help="write per-trial rows and summaries as JSON")
    args = p.parse_args(argv)
    names = [c.strip() for c in args.commands.split(",") if c.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown command(s) {unknown}; known: {list(SCENARIOS)}")

    t0 = time.monotonic()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kill-resume-"))
    work.mkdir(parents=True, exist_ok=True)
    model = Path(args.model).resolve() if args.model else build_student(work, args.bootstrap)
    print(f"model: {model}\nworkdir: {work}\ntrials per command: {args.trials}, kill-time seed {args.seed}", flush=True)
    rng = random.Random(args.seed)
    summaries: dict[str, dict] = {}
    rows: list[Trial] = []
    for name in names:
        summary, trials = run_scenario(SCENARIOS[name](model), work, args.trials, rng, args.keep)
        summaries[name], rows = summary, rows + trials
    wall = time.monotonic() - t0

    print("\ncommand   trials  passed  failed  reference_s")
    for name, s in summaries.items():
        print(f"{name:8s}  {s['trials']:6d}  {s['passed']:6d}  {s['failed']:6d}  {s['reference_s']:11.1f}")
    for name, s in summaries.items():
        notes = {k: v for k, v in s.items() if k not in ("reference_s", "reference", "trials", "passed", "failed")}
        print(f"{name}: {s['reference']}; {json.dumps(notes)}")
    passed, failed = sum(t.passed for t in rows), sum(not t.passed for t in rows)
    for name, s in summaries.items():
        if s["trials"] < args.trials:  # too few kills landed: the command was not tested as asked
            print(f"{name}: only {s['trials']} of {args.trials} kills landed before the run finished")
            failed += 1
    print(f"bench wall time {wall:.0f} s")
    print(f"{passed} passed, {failed} failed")
    if args.json:
        payload: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "model": str(model), "seed": args.seed,
                                   "trials_per_command": args.trials, "wall_s": round(wall, 1), "commands": summaries,
                                   "rows": [asdict(t) for t in rows], "passed": passed, "failed": failed}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    if not args.workdir and not args.keep and not failed:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
