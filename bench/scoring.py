"""Scoring benchmark: grader throughput on long outputs, and a fuzz run of hostile outputs.

    python bench/scoring.py [--seed 0] [--timeout 2] [--fuzz 1000] [--json scoring.json]

(a) Throughput: `--long N` seeded chain-of-thought-like outputs (~`--kb` KB each, LaTeX,
    most with a final \\boxed{}), graded by `Grader` with 1 and with 2 workers. Pool
    start-up (first grade on a fresh pool, which waits for the workers' warm-up) is timed
    apart from the steady-state batch.
(b) Fuzz: `--fuzz N` seeded hostile outputs through the real `Grader`, each submitted on
    its own by one of `--workers` caller threads, so a sample's latency is what a caller
    sees (queueing behind a worker that is being replaced included). Checks: every sample
    gets an outcome, none takes longer than timeout + margin, benign control samples mixed
    in still grade correct, worker memory stays under a cap, and the whole run finishes
    before a global deadline. Ends with `N passed, M failed`; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # a clean clone without `pip install -e`

from scoring_cases import hostile_outputs, long_output  # noqa: E402

from harness.config import EvalConfig  # noqa: E402
from harness.eval.grading import OUTCOMES, Grader  # noqa: E402

CONTROL_EVERY = 25  # a benign sample after every 25 hostile ones: hostile input must not poison a worker


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def measure_throughput(seed: int, n: int, kb: float, workers: int, timeout: float) -> dict:
    rng = random.Random(seed)
    pairs = [long_output(rng, int(kb * 1024)) for _ in range(n)]
    golds, outputs = [g for g, _ in pairs], [o for _, o in pairs]
    t0 = time.perf_counter()
    with Grader(workers=workers, timeout=timeout) as grader:
        # one tiny task per worker, submitted together: returns once every worker is warm
        grader.grade(["1"] * workers, ["\\boxed{1}"] * workers)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        grades = grader.grade(golds, outputs)
        steady = time.perf_counter() - t1
    return {
        "workers": workers, "samples": n, "mean_kb": sum(map(len, outputs)) / n / 1024,
        "startup_s": startup, "steady_s": steady, "samples_per_s": n / steady,
        "outcomes": dict(Counter(g.outcome for g in grades)),
    }


class _RssMonitor(threading.Thread):
    """Peak resident memory of this process's descendants (the grader workers), sampled
    from /proc every 50 ms: a worker killed at the timeout still shows its peak here."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb, self.available = 0.0, Path("/proc/self/task").is_dir()
        self._halt = threading.Event()

    @staticmethod
    def _children(pid: int) -> list[int]:
        kids: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                kids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
        return kids

    def run(self) -> None:
        while self.available and not self._halt.wait(0.05):
            todo, seen = self._children(os.getpid()), set()
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                except OSError:
                    continue
                todo += self._children(pid)

    def stop(self) -> None:
        self._halt.set()


def run_fuzz(seed: int, n: int, workers: int, timeout: float, deadline: float) -> dict:
    hostile = hostile_outputs(seed, n)
    items: list[tuple[str, str, str]] = []
    for i, item in enumerate(hostile):
        items.append(item)
        if (i + 1) % CONTROL_EVERY == 0:
            items.append(("control", "5", "so $x = 5$ and \\boxed{5}"))
    results: list[tuple[str, str, float] | None] = [None] * len(items)
    next_index = iter(range(len(items)))
    lock = threading.Lock()
    monitor = _RssMonitor()
    monitor.start()
    grader = Grader(workers=workers, timeout=timeout)
    t0 = time.perf_counter()
    grader.grade(["1"] * workers, ["\\boxed{1}"] * workers)  # warm pool: start-up is not a sample's latency
    startup = time.perf_counter() - t0

    def caller() -> None:
        # Each caller has at most one sample in flight, so `workers` callers keep every
        # worker busy without a queue: the time below is the grader's, not our backlog.
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            kind, gold, output = items[i]
            t = time.perf_counter()
            outcome = grader.grade([gold], [output])[0].outcome
            results[i] = (kind, outcome, time.perf_counter() - t)
            if i % 200 == 199:
                print(f"  fuzz sample {i + 1}/{len(items)} ...", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(workers)]
    t1 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(max(0.0, deadline - (time.perf_counter() - t1)))
    elapsed = time.perf_counter() - t1
    hung = any(th.is_alive() for th in threads)
    monitor.stop()
    if hung:
        grader.pool.stop()  # don't wait on a stuck pool; daemon threads die with the process
    else:
        grader.close()
    done = [r for r in results if r is not None]
    return {
        "items": items, "results": results, "done": done, "hung": hung, "elapsed_s": elapsed,
        "startup_s": startup, "peak_worker_rss_mb": monitor.peak_mb if monitor.available else None,
    }


def fuzz_checks(fz: dict, n_hostile: int, timeout: float, margin: float, deadline: float, max_rss_mb: float) -> list[tuple[str, bool, str]]:
    done, items = fz["done"], fz["items"]
    lat = [r[2] for r in done]
    slow = sorted(((round(r[2], 2), r[0], r[1], i) for i, r in enumerate(fz["results"]) if r and r[2] > timeout + margin), reverse=True)
    controls = [r for r in done if r[0] == "control"]
    bad = [r for r in done if r[1] not in OUTCOMES]
    rss = fz["peak_worker_rss_mb"]
    return [
        ("fuzz set has >= 1000 hostile samples", n_hostile >= 1000, f"{n_hostile}"),
        (f"whole run within the {deadline:.0f} s deadline (nothing hangs)", not fz["hung"], f"{fz['elapsed_s']:.1f} s"),
        ("every sample got an outcome (nothing crashed the run)", len(done) == len(items) and not bad, f"{len(done)}/{len(items)}"),
        (f"max latency <= timeout + margin = {timeout + margin:.2f} s", not slow and bool(lat),
         f"max {max(lat, default=0):.2f} s" + (f"; {len(slow)} over, worst {slow[:3]}" if slow else "")),
        ("control samples between hostile ones grade correct", bool(controls) and all(r[1] == "correct" for r in controls),
         f"{sum(r[1] == 'correct' for r in controls)}/{len(controls)}"),
        (f"peak worker RSS <= {max_rss_mb:.0f} MB", rss is None or rss <= max_rss_mb, "not measured" if rss is None else f"{rss:.0f} MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--long", type=int, default=600, help="long outputs for the throughput part")
    ap.add_argument("--kb", type=float, default=30.0, help="target size of each long output, KB")
    ap.add_argument("--fuzz", type=int, default=1000, help="hostile outputs (checks require >= 1000)")
    ap.add_argument("--timeout", type=float, default=2.0, help=f"grader timeout, s (product default {EvalConfig().grader_timeout})")
    ap.add_argument("--margin", type=float, default=0.5, help="allowed latency over the timeout, s (see README note)")
    ap.add_argument("--workers", type=int, default=2, help="grader workers for the fuzz run")
    ap.add_argument("--deadline", type=float, default=900.0, help="global wall-clock limit on the fuzz run, s")
    ap.add_argument("--max-rss-mb", type=float, default=2048.0, help="cap on any grader worker's resident memory")
    ap.add_argument("--part", choices=("all", "throughput", "fuzz"), default="all")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report: dict = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
                    "cpus": os.cpu_count(), "argv": sys.argv[1:], "seed": args.seed}

    if args.part != "fuzz":
        t0 = time.perf_counter()
        Grader(workers=1).close()  # the first pool in a process also warms the parent, once
        report["process_warmup_s"] = time.perf_counter() - t0
        runs = [measure_throughput(args.seed, args.long, args.kb, w, EvalConfig().grader_timeout) for w in (1, 2)]
        ratio = runs[1]["samples_per_s"] / runs[0]["samples_per_s"]
        report["throughput"] = {"runs": runs, "ratio_2_over_1": ratio}
        print(f"\n(a) throughput: process warm-up {report['process_warmup_s']:.2f} s (once per process); {args.long} outputs, mean {runs[0]['mean_kb']:.1f} KB, outcomes {runs[0]['outcomes']}")
        print(f"{'workers':>8} {'start-up s':>11} {'steady s':>9} {'samples/s':>10}")
        for r in runs:
            print(f"{r['workers']:>8} {r['startup_s']:>11.2f} {r['steady_s']:>9.2f} {r['samples_per_s']:>10.1f}")
        print(f"ratio 2 workers / 1 worker: {ratio:.2f}x on {os.cpu_count()} CPUs")

    if args.part == "throughput":
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return 0
    fz = run_fuzz(args.seed, args.fuzz, args.workers, args.timeout, args.deadline)
    lat_all = [r[2] for r in fz["done"]]
    by_kind: dict[str, list] = {}
    for kind, outcome, latency in fz["done"]:
        by_kind.setdefault(kind, []).append((outcome, latency))
    print(f"\n(b) fuzz: {args.fuzz} hostile + {len(fz['items']) - args.fuzz} control samples, timeout {args.timeout} s, "
          f"{args.workers} workers, pool start-up {fz['startup_s']:.2f} s, run {fz['elapsed_s']:.1f} s")
    print(f"{'kind':<14} {'n':>4} " + " ".join(f"{o:>9}" for o in OUTCOMES) + f" {'p50 s':>6} {'max s':>6}")
    for kind, rows in sorted(by_kind.items()):
        c = Counter(o for o, _ in rows)
        lats = [t for _, t in rows]
        print(f"{kind:<14} {len(rows):>4} " + " ".join(f"{c.get(o, 0):>9}" for o in OUTCOMES) + f" {_pct(lats, 0.5):>6.2f} {max(lats):>6.2f}")
    totals = Counter(r[1] for r in fz["done"])
    print(f"{'total':<14} {len(fz['done']):>4} " + " ".join(f"{totals.get(o, 0):>9}" for o in OUTCOMES)
          + f" {_pct(lat_all, 0.5):>6.2f} {max(lat_all, default=0):>6.2f}")
    print(f"latency p50 {_pct(lat_all, 0.5):.2f} s, p99 {_pct(lat_all, 0.99):.2f} s, max {max(lat_all, default=0):.2f} s; "
          f"limit {args.timeout} + {args.margin} s; peak worker RSS {fz['peak_worker_rss_mb'] or 0:.0f} MB")

    checks = fuzz_checks(fz, args.fuzz, args.timeout, args.margin, args.deadline, args.max_rss_mb)
    for name, ok, detail in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    failed = sum(not ok for _, ok, _ in checks)
    print(f"{len(checks) - failed} passed, {failed} failed")

    report["fuzz"] = {
        "hostile": args.fuzz, "controls": len(fz["items"]) - args.fuzz, "timeout_s": args.timeout, "margin_s": args.margin,
        "workers": args.workers, "startup_s": fz["startup_s"], "elapsed_s": fz["elapsed_s"], "outcomes": dict(totals),
        "latency_s": {"p50": _pct(lat_all, 0.5), "p99": _pct(lat_all, 0.99), "max": max(lat_all, default=0.0)},
        "peak_worker_rss_mb": fz["peak_worker_rss_mb"],
        "by_kind": {k: {"n": len(v), **Counter(o for o, _ in v), "max_s": max(t for _, t in v)} for k, v in by_kind.items()},
        "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks],
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    sys.stdout.flush()
    if fz["hung"]:
        os._exit(1)  # stuck caller threads or workers must not keep the process alive
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
