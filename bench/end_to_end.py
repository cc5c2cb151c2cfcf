"""End to end: wall time of a cold and a warm `harness run --method palign`, and where it goes.

cold: an empty store, so the synthetic student is pretrained first (`harness bootstrap`'s
work), then teacher -> method -> train -> eval. warm: a store holding only that student
(what every run after the first one on a machine sees), so teacher, method, training and
evaluation are all computed. The warm run is profiled with cProfile and the time is split
by stage (from the stage manifests) and by the main costs inside the stages.

    python bench/end_to_end.py [--skip-cold] [--store DIR]

--skip-cold reuses a store that already holds the student (--store, default a temp dir
that is then built cold). Targets: warm <= 3 minutes; cold <= 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from common import machine, timed
from tabulate import tabulate

HARNESS = [sys.executable, "-m", "harness.cli"]
STAGES = ("world", "teacher", "method", "train", "eval")
# Functions whose cumulative time says where a warm run goes (file suffix, function name).
HOTSPOTS = {
    "student generation (method: rollouts + continuations)": ("palign/generate.py", "generate"),
    "grading (method + eval)": ("harness/eval/grading.py", "grade"),
    "grader pool start-up": ("harness/eval/grading.py", "__init__"),
    "training (trainer.train)": ("transformers/trainer.py", "train"),
    "evaluation generation": ("harness/eval/runner.py", "generate_all"),
    "model loading (from_pretrained)": ("transformers/modeling_utils.py", "from_pretrained"),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", help="store folder (default: a new temp dir)")
    p.add_argument("--skip-cold", action="store_true", help="the store already holds the student: measure warm only")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    return p.parse_args()


def run_palign(store: Path, log: Path, profile: Path | None = None) -> float:
    cmd = list(HARNESS)
    if profile is not None:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "harness.cli"]
    cmd += ["run", "--method", "palign", "--store", str(store)]
    return timed(cmd, log)


def stage_seconds(store: Path, since: datetime) -> dict[str, float]:
    """Seconds per stage kind computed after `since`, from the stamps of the stage manifests."""
    out: dict[str, float] = {}
    for kind in STAGES:
        for manifest in (store / kind).glob("*/manifest.json"):
            m = json.loads(manifest.read_text())
            t0 = datetime.strptime(m["started"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            t1 = datetime.strptime(m["finished"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            if t0 >= since:  # a stage reused from an earlier run is not this run's time
                out[kind] = out.get(kind, 0.0) + (t1 - t0).total_seconds()
    return out


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def hotspots(profile: Path) -> dict[str, float]:
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    out = {}
    for label, (suffix, name) in HOTSPOTS.items():
        # Cumulative time of the outermost matching entries (recursion is counted once by cProfile).
        out[label] = sum(v[3] for (file, _, func), v in stats.items() if file.endswith(suffix) and func == name)
    return out


def keep_only_student(store: Path) -> None:
    for child in store.iterdir():
        if child.is_dir() and child.name != "world":
            shutil.rmtree(child)


def main() -> int:
    args = parse_args()
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    logs = Path(tempfile.mkdtemp(prefix="bench-e2e-logs-"))
    figures: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": machine()}
    if not args.skip_cold:
        if store.exists() and any(store.iterdir()):
            sys.exit(f"error: {store} is not empty; a cold run needs an empty store (or pass --skip-cold)")
        since = utc_now()
        figures["cold_seconds"] = run_palign(store, logs / "cold.log")
        figures["cold_stages"] = stage_seconds(store, since)
    elif not (store / "world").is_dir():
        sys.exit(f"error: {store} holds no synthetic student (world/); run without --skip-cold first")
    keep_only_student(store)
    since = utc_now()
    figures["warm_seconds"] = run_palign(store, logs / "warm.log", profile=logs / "warm.prof")
    figures["warm_stages"] = stage_seconds(store, since)
    figures["warm_hotspots"] = hotspots(logs / "warm.prof")

    rows = []
    if "cold_seconds" in figures:
        rows.append(["cold (empty store)", f"{figures['cold_seconds']:.0f}"]
                    + [f"{figures['cold_stages'].get(k, 0):.0f}" for k in STAGES])
    rows.append(["warm (student built)", f"{figures['warm_seconds']:.0f}"]
                + [f"{figures['warm_stages'].get(k, 0):.0f}" for k in STAGES])
    print(tabulate(rows, headers=["harness run --method palign", "wall s", *[f"{k} s" for k in STAGES]]))
    print("\nwarm run, cumulative seconds inside (cProfile; categories overlap: grading runs inside the method and eval):")
    print(tabulate([[k, f"{v:.1f}"] for k, v in figures["warm_hotspots"].items()], headers=["where", "s"]))
    ok = figures["warm_seconds"] <= 180 and figures.get("cold_seconds", 0) <= 900
    print(f"logs and profile: {logs}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    print(f"{int(ok)} passed, {int(not ok)} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
