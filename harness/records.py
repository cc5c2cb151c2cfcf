"""Result records: reading, validating and vouching for the JSON files `harness run --json` writes.

A record is one (method, seed) run with its per-sample outcomes. A file holds one record or a
list of them; a setup is the folder holding `records/`. Everything here is a one-line
`HarnessError` naming the file (and the list position) when something is wrong, so the
leaderboard (`harness.leaderboard`) and `harness power` read only records they can trust:
valid, made from committed code or exempted with a reason (`check_provenance`), with stored
metrics that match their samples and no run counted twice (`check_integrity`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.eval.metrics import pass_at_k

SCHEMA = 1
RECORD_SUFFIXES = (".json", ".json.gz")  # a board's records are compressed: 50 MB of JSON is 2 MB gzipped
EXEMPTION = "provenance_exemption"
DIRTY = "-dirty"
_REQUIRED = ("schema", "harness_version", "method", "method_params", "seed", "student", "teacher_data",
             "benchmarks", "method_stats", "training", "manifest")
_REQUIRED_TEACHER = ("source", "key", "num_traces")
_REQUIRED_BENCHMARK = ("benchmark", "checksum", "num_problems", "metrics", "samples")
_REQUIRED_SAMPLE = ("id", "sample", "outcome", "num_tokens")


@dataclass
class Record:
    """One validated result record, the file it came from and its position in a list file."""

    path: Path
    data: dict[str, Any]
    index: int | None = None

    @property
    def where(self) -> str:
        return f"{self.path}" if self.index is None else f"{self.path}[{self.index}]"

    @property
    def method(self) -> str:
        return self.data["method"]

    @property
    def seed(self) -> int:
        return self.data["seed"]

    @property
    def commit(self) -> str:
        return str((self.data.get("manifest") or {}).get("git_commit") or "")

    @property
    def exemption(self) -> str | None:
        """Why a record made from uncommitted code may stand on a board (`provenance_exemption`), if it says."""
        reason = self.data.get(EXEMPTION)
        return reason.strip() if isinstance(reason, str) and reason.strip() else None


def _require(mapping: Any, names: tuple[str, ...], where: str, path: str) -> None:
    if not isinstance(mapping, dict):
        raise HarnessError(f"{path}: {where or 'record'} must be a JSON object")
    for name in names:
        if name not in mapping:
            raise HarnessError(f"{path}: result record is missing field '{where + '.' if where else ''}{name}'")


def load_records(path: Path) -> list[Record]:
    """Read and validate one file: a record, or a list of them (`harness run --method all --json`).

    Any problem is a one-line HarnessError naming the file (and the list position).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if path.name.endswith(".gz") else raw)
    except OSError as exc:  # gzip.BadGzipFile is one too
        raise HarnessError(f"{path}: cannot read result record ({exc.strerror or exc})") from None
    except (EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: malformed JSON ({exc})".splitlines()[0]) from None
    if isinstance(data, list):
        if not data:
            raise HarnessError(f"{path}: empty list, no result records")
        return [validate(Record(path, item, i)) for i, item in enumerate(data)]
    return [validate(Record(path, data))]


def load_record(path: Path) -> Record:
    """A file holding exactly one record."""
    records = load_records(path)
    if len(records) != 1:
        raise HarnessError(f"{path}: holds {len(records)} records, expected one")
    return records[0]


def validate(record: Record) -> Record:
    where, data = record.where, record.data
    _require(data, ("schema",), "", where)
    if data["schema"] != SCHEMA:
        raise HarnessError(
            f"{where}: result record schema {data['schema']!r} (harness {data.get('harness_version', '?')}) "
            f"is not schema {SCHEMA}, which this harness reads; re-run it or use a matching harness version"
        )
    _require(data, _REQUIRED, "", where)
    _require(data["teacher_data"], _REQUIRED_TEACHER, "teacher_data", where)
    if not isinstance(data["method"], str) or not isinstance(data["seed"], int) or isinstance(data["seed"], bool):
        raise HarnessError(f"{where}: 'method' must be a string and 'seed' an integer")
    if not isinstance(data["benchmarks"], dict) or not data["benchmarks"]:
        raise HarnessError(f"{where}: 'benchmarks' must be a non-empty object")
    for name, bench in data["benchmarks"].items():
        _require(bench, _REQUIRED_BENCHMARK, f"benchmarks.{name}", where)
        if not isinstance(bench["samples"], list) or not bench["samples"]:
            raise HarnessError(f"{where}: benchmarks.{name}.samples must be a non-empty list")
        for sample in bench["samples"]:
            _require(sample, _REQUIRED_SAMPLE, f"benchmarks.{name}.samples[]", where)
            if not all(isinstance(sample[f], int) and not isinstance(sample[f], bool) for f in ("sample", "num_tokens")):
                raise HarnessError(f"{where}: benchmarks.{name}.samples[]: 'sample' and 'num_tokens' must be integers")
    if not isinstance(data["method_params"] or {}, dict) or not isinstance(data["method_stats"] or {}, dict):
        raise HarnessError(f"{where}: 'method_params' and 'method_stats' must be JSON objects")
    return record


def check_provenance(records: list[Record]) -> None:
    """A board names code anyone can check out: a record from a tree with uncommitted changes
    (its commit ends in `-dirty`) needs a `provenance_exemption` with the reason."""
    for record in records:
        if EXEMPTION in record.data and record.exemption is None:
            raise HarnessError(f"{record.where}: '{EXEMPTION}' must be a non-empty reason")
        if record.commit.endswith(DIRTY) and record.exemption is None:
            raise HarnessError(f"{record.where}: made from uncommitted code (commit {record.commit[:12]}...{DIRTY}) "
                               f"and carries no '{EXEMPTION}' reason; re-run it from a commit, or add the field")


def for_a_board(path: str | Path) -> bool:
    """Whether a `--json` path writes into a board: a folder named `leaderboards` above it."""
    return "leaderboards" in Path(path).resolve().parent.parts


def vouch(records: list[dict[str, Any]], json_path: str | Path, exemption: str | None) -> None:
    """Refuse, or mark with the given exemption, records from uncommitted code that go into a board.

    Outside a board any record may be written; a pilot run needs no provenance.
    """
    if not for_a_board(json_path):
        return
    dirty = [r for r in records if str((r.get("manifest") or {}).get("git_commit") or "").endswith(DIRTY)]
    if dirty and not (exemption and exemption.strip()):
        raise HarnessError(f"{json_path}: a board record must come from committed code, and the tree has uncommitted "
                           f"changes (commit {dirty[0]['manifest']['git_commit'][:12]}...{DIRTY}); commit them, or pass "
                           "--exempt-dirty REASON to write the record with that reason")
    for record in dirty:
        record[EXEMPTION] = " ".join(exemption.split())


def row_key(record: Record) -> str:
    """What makes records seeds of one board row: method, its parameters, student and teacher data."""
    d = record.data
    return json.dumps([d["method"], d["method_params"], d["student"], d["teacher_data"]["source"],
                       d["teacher_data"]["key"]], sort_keys=True, default=str)


def check_integrity(records: list[Record]) -> None:
    """A record's stored pass@k must be what its samples give, and no two seeds of a row may hold the same samples.

    The board recomputes every number from the samples, so an edited metric would not move
    it; the check catches an edited sample or metric. Identical samples in two records are one
    run counted twice (a record relabelled as another seed, or a deterministic run that the
    seed does not change); counting it twice would shrink every interval.
    """
    seen: dict[str, Record] = {}
    for record in records:
        for name, bench in record.data["benchmarks"].items():
            per_problem: dict[str, list[bool]] = defaultdict(list)
            for sample in bench["samples"]:
                per_problem[str(sample["id"])].append(sample["outcome"] == "correct")
            for key, stored in (bench.get("metrics") or {}).items():
                k = key[5:] if key.startswith("pass@") else ""
                if not k.isdigit() or not isinstance(stored, (int, float)) or isinstance(stored, bool):
                    continue
                if any(len(v) < int(k) for v in per_problem.values()):
                    continue
                derived = float(np.mean([pass_at_k(len(v), sum(v), int(k)) for v in per_problem.values()]))
                if abs(derived - stored) > 1e-9:
                    raise HarnessError(f"{record.where}: benchmarks.{name}.metrics.{key} is {stored:.6g} but its samples "
                                       f"give {derived:.6g}: the record was edited or damaged")
        digest = hashlib.sha256(json.dumps(
            [row_key(record),
             {name: [[s["id"], s["sample"], s["outcome"], s.get("extracted"), s["num_tokens"]] for s in bench["samples"]]
              for name, bench in sorted(record.data["benchmarks"].items())}], sort_keys=True, default=str).encode()).hexdigest()
        if digest in seen:
            other = seen[digest]
            raise HarnessError(f"{record.where} (seed {record.seed}) holds exactly the samples of {other.where} "
                               f"(seed {other.seed}) of the same method and student: one run counted twice")
        seen[digest] = record


def find_records(root: Path) -> dict[str, list[Record]]:
    """{setup name: records}, for every `*.json` (or gzip-compressed `*.json.gz`) below `root`, sorted by path.

    The setup is the folder holding `records/` (leaderboards/<setup>/records/*.json.gz); records
    lying directly in `root` or `root/records` form one setup named after `root`.
    """
    root = Path(root)
    if not root.is_dir():
        raise HarnessError(f"{root}: records folder does not exist")
    setups: dict[str, list[Record]] = defaultdict(list)
    for path in sorted(p for p in root.rglob("*") if p.name.endswith(RECORD_SUFFIXES) and p.is_file()):
        parts = list(path.parent.relative_to(root).parts)
        if parts and parts[-1] == "records":
            parts.pop()
        name = "/".join(parts) or (root.parent.name if root.name == "records" else root.name)
        setups[name].extend(load_records(path))
    if not setups:
        raise HarnessError(f"{root}: no result records (*.json, *.json.gz) found")
    return dict(sorted(setups.items()))


def setup_folder(records: list[Record]) -> Path:
    """The folder a setup's notes live in: the parent of `records/`, else the records' folder."""
    folder = records[0].path.parent
    return folder.parent if folder.name == "records" else folder
