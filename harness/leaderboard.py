"""Leaderboard statistics from stored result records alone (markdown in `harness.commands.leaderboard`).

A result record is the JSON that `harness run --json` writes, one per (method, seed). The
records of one setup (a folder `<setup>/records/*.json`) are grouped into rows: one row per
method variant, student and teacher data, aggregating its seeds. Every number is recomputed
from the per-sample outcomes in the records, so a row can always be re-derived and checked:

- Pass@k uses the unbiased estimator per problem, then the mean over problems.
- Several seeds: mean over seeds, and the sample standard deviation over seeds (ddof=1).
- 95% confidence interval: percentile bootstrap over problems of the per-problem score
  averaged over seeds (AIME has 30 problems; seed noise is reported separately by the std).
- Paired difference against the baseline (any method; `board.yaml`, default full_cot): per-problem
  accuracy (mean over samples and the seeds both ran) minus the baseline's on the same
  problems, bootstrapped; it lives in `harness.contrasts`.

Bootstrap generators are seeded from fixed constants so the output is byte-for-byte stable.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.eval import metrics
from harness.eval.metrics import pass_at_k

SCHEMA = 1
K_VALUES = (1, 3)
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
BASELINE = "full_cot"
# Display order only (other methods follow alphabetically); nothing else depends on a method's name.
METHOD_ORDER = ("none", "full_cot", "short_cot", "fixed_trunc", "palign")

_REQUIRED = ("schema", "harness_version", "method", "method_params", "seed", "student", "teacher_data",
             "benchmarks", "method_stats", "training", "manifest")
_REQUIRED_TEACHER = ("source", "key", "num_traces")
_REQUIRED_BENCHMARK = ("benchmark", "checksum", "num_problems", "metrics", "samples")
_REQUIRED_SAMPLE = ("id", "sample", "outcome", "num_tokens")


# ---------------------------------------------------------------- records

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
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read result record ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
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


def find_records(root: Path) -> dict[str, list[Record]]:
    """{setup name: records}, for every `*.json` below `root`, sorted by path.

    The setup is the folder holding `records/` (leaderboards/<setup>/records/*.json); records
    lying directly in `root` or `root/records` form one setup named after `root`.
    """
    root = Path(root)
    if not root.is_dir():
        raise HarnessError(f"{root}: records folder does not exist")
    setups: dict[str, list[Record]] = defaultdict(list)
    for path in sorted(root.rglob("*.json")):
        parts = list(path.parent.relative_to(root).parts)
        if parts and parts[-1] == "records":
            parts.pop()
        name = "/".join(parts) or (root.parent.name if root.name == "records" else root.name)
        setups[name].extend(load_records(path))
    if not setups:
        raise HarnessError(f"{root}: no result records (*.json) found")
    return dict(sorted(setups.items()))


def setup_folder(records: list[Record]) -> Path:
    """The folder a setup's notes live in: the parent of `records/`, else the records' folder."""
    folder = records[0].path.parent
    return folder.parent if folder.name == "records" else folder


# ---------------------------------------------------------------- statistics

def cell_rng(*parts: str) -> np.random.RandomState:
    # A stable seed per table cell, and the legacy RandomState on purpose: its stream is frozen
    # across numpy versions (NEP 19), Generator's is not, and --check compares bytes.
    digest = hashlib.sha256("/".join((str(BOOTSTRAP_SEED), *parts)).encode()).digest()
    return np.random.RandomState(int.from_bytes(digest[:4], "little"))


def bootstrap_means(values: np.ndarray, rng: np.random.RandomState, samples: int = BOOTSTRAP_SAMPLES) -> np.ndarray:
    """Means of `samples` resamples (with replacement) of the rows of `values` (the evaluation's own resampling)."""
    return metrics.bootstrap_means(values, rng, samples)


def interval(draws: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass
class BenchStats:
    """One benchmark of one row: per-problem scores per seed, and what derives from them."""

    problems: list[str]  # problem ids, sorted
    min_n: int  # fewest samples any problem got in any seed
    correct: dict[int, np.ndarray]  # seed -> per-problem fraction of samples correct
    passk: dict[int, dict[int, np.ndarray]]  # k -> seed -> per-problem pass@k
    tokens: dict[int, list[int]]  # seed -> num_tokens of every sample


@dataclass
class Row:
    """A method variant on one student and teacher data, over its seeds."""

    method: str
    params: dict[str, Any]
    student: str
    teacher: dict[str, Any]
    records: list[Record] = field(default_factory=list)
    benches: dict[str, BenchStats] = field(default_factory=dict)
    label: str = ""

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.records]

    def group_key(self) -> tuple:
        return (self.student, self.teacher["source"], self.teacher["key"])


def _bench_stats(records: list[Record], name: str) -> BenchStats:
    problems: list[str] | None = None
    correct, passk, tokens = {}, {k: {} for k in K_VALUES}, {}
    min_n = None
    checksum = None
    for record in records:
        bench = record.data["benchmarks"].get(name)
        if bench is None:
            raise HarnessError(f"{record.where}: has no results for benchmark {name!r}, unlike the other seeds of this run")
        if checksum is not None and bench["checksum"] != checksum:
            raise HarnessError(f"{record.where}: benchmark {name!r} has a different checksum than the other seeds of this run")
        checksum = bench["checksum"]
        seen: set[tuple[str, int]] = set()
        per_problem: dict[str, list[bool]] = defaultdict(list)
        for sample in bench["samples"]:
            key = (str(sample["id"]), int(sample["sample"]))
            if key in seen:
                raise HarnessError(f"{record.where}: benchmark {name!r} repeats sample {key[1]} of problem {key[0]!r}")
            seen.add(key)
            per_problem[key[0]].append(sample["outcome"] == "correct")
        ids = sorted(per_problem)
        if problems is not None and ids != problems:
            raise HarnessError(f"{record.where}: benchmark {name!r} covers different problems than the other seeds of this run")
        problems = ids
        ns = [len(per_problem[i]) for i in ids]
        cs = [sum(per_problem[i]) for i in ids]
        min_n = min(ns) if min_n is None else min(min_n, *ns)
        correct[record.seed] = np.array([c / n for c, n in zip(cs, ns)])
        for k in K_VALUES:
            if min(ns) >= k:
                passk[k][record.seed] = np.array([pass_at_k(n, c, k) for c, n in zip(cs, ns)])
        tokens[record.seed] = [int(s["num_tokens"]) for s in bench["samples"]]
    return BenchStats(problems or [], min_n or 0, correct, passk, tokens)


def build_rows(records: list[Record]) -> list[Row]:
    """Group a setup's records into rows (one per method variant, student and teacher data)."""
    groups: dict[str, Row] = {}
    for record in records:
        d = record.data
        key = json.dumps([d["method"], d["method_params"], d["student"], d["teacher_data"]["source"],
                          d["teacher_data"]["key"]], sort_keys=True, default=str)
        row = groups.setdefault(key, Row(d["method"], d["method_params"] or {}, d["student"], d["teacher_data"]))
        if record.seed in row.seeds:
            other = next(r for r in row.records if r.seed == record.seed)
            raise HarnessError(f"{record.where}: seed {record.seed} of {record.method} is also in {other.where}")
        row.records.append(record)
    rows = list(groups.values())
    for row in rows:
        row.records.sort(key=lambda r: r.seed)
        names = list(row.records[0].data["benchmarks"])
        for record in row.records[1:]:
            if sorted(record.data["benchmarks"]) != sorted(names):
                raise HarnessError(f"{record.where}: evaluated on other benchmarks than the other seeds of this run")
        row.benches = {name: _bench_stats(row.records, name) for name in names}
    _label(rows)
    order = {name: i for i, name in enumerate(METHOD_ORDER)}
    rows.sort(key=lambda r: (order.get(r.method, len(order)), r.method, r.label, r.student, r.teacher["key"]))
    return rows


def _label(rows: list[Row]) -> None:
    """Method name, plus the parameters that tell variants of one method apart."""
    by_method: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_method[row.method].append(row)
    for method, variants in by_method.items():
        keys = sorted({k for r in variants for k in r.params})
        differing = [k for k in keys if len({json.dumps(r.params.get(k), sort_keys=True) for r in variants}) > 1]
        for row in variants:
            shown = ", ".join(f"{k}={row.params.get(k)}" for k in differing)
            row.label = f"{method} ({shown})" if shown else method


# ---------------------------------------------------------------- derived numbers

@dataclass
class Estimate:
    """Mean over seeds, sample std over seeds (None with one seed), 95% bootstrap interval."""

    mean: float
    std: float | None
    ci: tuple[float, float] | None = None


def _spread(per_seed: list[float]) -> tuple[float, float | None]:
    arr = np.asarray(per_seed, dtype=float)
    return float(arr.mean()), (float(arr.std(ddof=1)) if len(arr) > 1 else None)


def pass_estimate(row: Row, bench: str, k: int) -> tuple[Estimate, np.ndarray] | None:
    """Pass@k of a row on a benchmark with its bootstrap draws, or None when some seed has n < k."""
    stats = row.benches[bench]
    per_seed = stats.passk[k]
    if len(per_seed) != len(row.records):
        return None
    matrix = np.stack([per_seed[s] for s in sorted(per_seed)])
    mean, std = _spread(list(matrix.mean(axis=1)))
    draws = bootstrap_means(matrix.mean(axis=0), cell_rng("pass", row.label, row.student, bench, str(k)))
    return Estimate(mean, std, interval(draws)), draws


def average_estimate(row: Row, benches: list[str], k: int = 1) -> Estimate | None:
    """The unweighted mean over benchmarks; its interval resamples problems within each benchmark."""
    parts = [pass_estimate(row, b, k) for b in benches]
    if any(p is None for p in parts):
        return None
    per_seed = np.mean([[row.benches[b].passk[k][s].mean() for s in row.seeds] for b in benches], axis=0)
    mean, std = _spread(list(per_seed))
    draws = np.mean([p[1] for p in parts], axis=0)
    return Estimate(mean, std, interval(draws))


def tokens_estimate(row: Row) -> Estimate:
    """Mean generated tokens per answer over every sample of every benchmark, per seed."""
    per_seed = []
    for seed in row.seeds:
        tokens = [t for b in row.benches.values() for t in b.tokens[seed]]
        per_seed.append(float(np.mean(tokens)))
    return Estimate(*_spread(per_seed))


def training_value(row: Row, name: str) -> Estimate | None:
    """Mean ± std over seeds of a number in the records' training report (`steps`, `examples`,
    `trained_tokens`, ...); None for methods that do not train and for records without it
    (written before the field existed)."""
    values = [(r.data["training"] or {}).get(name) for r in row.records]
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values):
        return None
    return Estimate(*_spread([float(v) for v in values]))


def training_tokens(row: Row) -> Estimate | None:
    """Prompt + completion tokens per epoch of the training data (`training.train_tokens`)."""
    return training_value(row, "train_tokens")


def dropped_by_reason(row: Row) -> dict[str, float] | None:
    """Teacher traces the method dropped, reason -> mean count per seed (`method_stats.dropped`).

    Averaged over the seeds whose record has the dict (a reason missing from one of them
    counts 0 there); None when no record of the row has one."""
    dicts = [d for r in row.records if isinstance(d := (r.data["method_stats"] or {}).get("dropped"), dict)]
    if not dicts:
        return None
    reasons = sorted({k for d in dicts for k in d})
    return {k: float(np.mean([float(d.get(k) or 0) for d in dicts])) for k in reasons}


def training_budget(record: Record) -> tuple[str, bool] | None:
    """How long the record's model trained, `steps=N` (max_steps) or `epochs=E` (num_train_epochs),
    and whether that was inferred; None when the method does not train.

    Read from the training report, else from the config in the record's manifest. Records
    written before `train.budget` existed trained by epochs: for them it is inferred (True)."""
    training = record.data["training"]
    if not isinstance(training, dict):
        return None
    config = (record.data.get("manifest") or {}).get("config") or {}
    train = (config.get("train") or {}) if isinstance(config, dict) else {}
    budget = training.get("budget") or train.get("budget")
    inferred = budget is None
    if budget == "steps":
        value = training.get("max_steps") or train.get("max_steps")
    else:
        budget, value = budget or "epochs", train.get("num_train_epochs")
    shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"
    return f"{budget}={shown}", inferred


def kept_ratios(row: Row) -> list[float]:
    """Every kept-prefix ratio the method reported, pooled over seeds (empty when not a prefix method)."""
    return [float(x) for r in row.records for x in (r.data["method_stats"] or {}).get("kept_prefix_ratios") or []]


def baseline_for(row: Row, rows: list[Row], baseline: str = BASELINE) -> Row | None:
    """The baseline method's row on the same student and teacher data (the first variant if several)."""
    return next((r for r in rows if r.method == baseline and r.group_key() == row.group_key()), None)
