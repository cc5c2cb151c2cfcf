"""Reproduce one seed of a committed board and compare it sample by sample (issue #14).

    python bench/reproduce_board.py leaderboards/SETUP/records/seed0.json

reruns `harness run` for the methods of the committed records (`--method M[:pinned]` each,
as `--method all` made them) with the exact config the records carry (`manifest.config`:
preset, overrides and all) and their seed, in a fresh run store, then compares every
method's records with the committed ones: the same methods and parameters, and for every
benchmark the same outcome for every (problem, sample), the same metrics. It also lists
every package whose installed version differs from the record's (install with
`pip install -c constraints.txt ...` to match them). Exits 0 only when everything matches.

`--record PATH` compares a record file made elsewhere instead of running; `--store DIR`
uses (and keeps) that store instead of a temporary one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the harness of this checkout


def load_records(path: Path) -> list[dict]:
    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if path.name.endswith(".gz") else raw)
    records = data if isinstance(data, list) else [data]
    if not records:
        raise SystemExit(f"{path}: no result records")
    return records


def version_drift(records: list[dict]) -> list[str]:
    """Packages whose installed version differs from the one the records were made with."""
    from harness.manifest import package_versions

    installed = package_versions()
    recorded = records[0].get("manifest", {}).get("versions", {})
    return [f"{name}: board {want}, installed {installed.get(name, 'absent')}"
            for name, want in sorted(recorded.items()) if name != "harness" and installed.get(name) != want]


def run_seed(records: list[dict], store: Path, out: Path) -> None:
    """`harness run` of the committed records' methods with their config and seed, in `store`."""
    import yaml

    from harness.pipeline import record_label

    config = records[0]["manifest"]["config"]
    for other in records[1:]:
        mismatch = {k for k in config if k != "method" and other["manifest"]["config"].get(k) != config[k]}
        if mismatch:
            raise SystemExit(f"the committed records disagree on {', '.join(sorted(mismatch))}: not one run")
    cfg_file = out.with_suffix(".yaml")
    cfg_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = dict(os.environ, HARNESS_STORE=str(store))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env.get("PYTHONPATH", "")) if p)
    methods = [arg for record in records for arg in ("--method", record_label(record))]
    cmd = [sys.executable, "-m", "harness.cli", "run", "--config", str(cfg_file), *methods,
           "--seed", str(records[0]["seed"]), "--json", str(out)]
    print("running:", " ".join(cmd[2:]), f"(store {store})", flush=True)
    subprocess.run(cmd, env=env, check=True)


def _key(record: dict) -> str:
    return json.dumps([record["method"], record.get("method_params") or {}], sort_keys=True)


def compare(committed: list[dict], fresh: list[dict]) -> list[str]:
    """Every difference that changes a number or a per-sample outcome."""
    problems = []
    ours = {_key(r): r for r in fresh}
    for record in committed:
        label = record["method"] + "".join(f" {k}={v}" for k, v in sorted((record.get("method_params") or {}).items())
                                           if k in ("ratio", "variant"))
        other = ours.pop(_key(record), None)
        if other is None:
            problems.append(f"{label}: not in the new run")
            continue
        for bench, result in record["benchmarks"].items():
            mine = other["benchmarks"].get(bench)
            if mine is None:
                problems.append(f"{label}/{bench}: not evaluated in the new run")
                continue
            theirs = {(s["id"], s["sample"]): s["outcome"] for s in result.get("samples", [])}
            new = {(s["id"], s["sample"]): s["outcome"] for s in mine.get("samples", [])}
            differ = sorted(k for k in theirs.keys() | new.keys() if theirs.get(k) != new.get(k))
            if differ:
                problems.append(f"{label}/{bench}: {len(differ)} of {len(theirs)} sample outcomes differ "
                                f"(first: {differ[0][0]} sample {differ[0][1]})")
            metrics = {k: v for k, v in result["metrics"].items()}
            changed = sorted(k for k in metrics if mine["metrics"].get(k) != metrics[k])
            if changed:
                problems.append(f"{label}/{bench}: metrics differ: {', '.join(changed)}")
    problems += [f"{json.loads(k)[0]}: only in the new run" for k in ours]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("committed", type=Path, help="a committed record file (one seed: a JSON list of records)")
    parser.add_argument("--record", type=Path, help="compare this record file instead of running")
    parser.add_argument("--store", type=Path, help="run store to use (default: a fresh temporary one)")
    args = parser.parse_args(argv)

    committed = load_records(args.committed)
    drift = version_drift(committed)
    for line in drift:
        print("version drift:", line)
    if args.record is not None:
        fresh = load_records(args.record)
    else:
        with tempfile.TemporaryDirectory(prefix="harness-reproduce-") as tmp:
            store = args.store or Path(tmp) / "store"
            out = Path(tmp) / "records.json"
            run_seed(committed, store, out)
            fresh = load_records(out)
    problems = compare(committed, fresh)
    for problem in problems:
        print("differs:", problem)
    samples = sum(len(r.get("samples", [])) for c in committed for r in c["benchmarks"].values())
    print(f"{len(committed)} records, {samples} samples: " + ("identical" if not problems else f"{len(problems)} differences")
          + (f"; {len(drift)} package versions differ from the board's" if drift else ""))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
