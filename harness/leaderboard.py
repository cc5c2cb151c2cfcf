"""Leaderboard statistics from stored result records alone (markdown in `harness.commands.leaderboard`).

A result record is the JSON that `harness run --json` writes, one per (method, seed). The
records of one setup (a folder `<setup>/records/*.json[.gz]`) are grouped into rows: one row per
method variant, student and teacher data, aggregating its seeds. Every number is recomputed
from the per-sample outcomes in the records, so a row can always be re-derived and checked:

- Pass@k uses the unbiased estimator per problem, then the mean over problems.
- Several seeds: mean over seeds, and the sample standard deviation over seeds (ddof=1).
- 95% confidence interval: two-level percentile bootstrap, seeds then problems
  (`harness.stats.two_level_draws`), so it sees both the training run and the benchmark's draw
  of problems; with one seed it is the bootstrap over problems.
- Paired difference against the baseline (any method; `board.yaml`, default full_cot): per-problem
  accuracy minus the baseline's on the same problems and seeds, with the same two-level
  interval; it lives in `harness.contrasts`.

Bootstrap generators are seeded from fixed constants so the output is byte-for-byte stable.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.eval.metrics import pass_at_k
from harness.records import Record, row_key
from harness.stats import DRAWS, percentile_interval, resample_counts, two_level_draws

K_VALUES = (1, 3)
BOOTSTRAP_SAMPLES = DRAWS
BOOTSTRAP_SEED = 0
BASELINE = "full_cot"
# Display order only (other methods follow alphabetically); nothing else depends on a method's name.
METHOD_ORDER = ("none", "full_cot", "short_cot", "fixed_trunc", "palign")


# ---------------------------------------------------------------- statistics

def cell_rng(*parts: str) -> np.random.RandomState:
    # A stable seed per table cell, and the legacy RandomState on purpose: its stream is frozen
    # across numpy versions (NEP 19), Generator's is not, and --check compares bytes.
    digest = hashlib.sha256("/".join((str(BOOTSTRAP_SEED), *parts)).encode()).digest()
    return np.random.RandomState(int.from_bytes(digest[:4], "little"))


def interval(draws: np.ndarray) -> tuple[float, float]:
    return percentile_interval(draws)


@dataclass
class BenchStats:
    """One benchmark of one row: per-problem scores per seed, and what derives from them."""

    problems: list[str]  # problem ids, sorted
    min_n: int  # fewest samples any problem got in any seed
    correct: dict[int, np.ndarray]  # seed -> per-problem fraction of samples correct
    passk: dict[int, dict[int, np.ndarray]]  # k -> seed -> per-problem pass@k
    tokens: dict[int, list[int]]  # seed -> num_tokens of every sample
    outcomes: dict[int, list[str]]  # seed -> outcome of every sample, in the order of `tokens`
    finish: dict[int, list[str | None]]  # seed -> finish_reason of every sample (None where a record lacks it)
    budgets: dict[int, dict[int, np.ndarray]]  # token budget -> seed -> per-problem fraction correct at that budget


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
    correct, passk, tokens, outcomes, finish = {}, {k: {} for k in K_VALUES}, {}, {}, {}
    budgets: dict[int, dict[int, np.ndarray]] = {}
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
        outcomes[record.seed] = [s["outcome"] for s in bench["samples"]]
        finish[record.seed] = [s.get("finish_reason") for s in bench["samples"]]
        stored = bench.get("budgets") or {}
        if not isinstance(stored, dict):
            raise HarnessError(f"{record.where}: benchmarks.{name}.budgets must map token budgets to results")
        for budget, entry in stored.items():
            fractions = _at_budget(record, name, bench, str(budget), entry, ids)
            budgets.setdefault(int(budget), {})[record.seed] = fractions
    return BenchStats(problems or [], min_n or 0, correct, passk, tokens, outcomes, finish, budgets)


def _at_budget(record: Record, name: str, bench: dict, budget: str, entry: Any, ids: list[str]) -> np.ndarray:
    """Per-problem fraction correct with every sample cut at `budget` tokens (`harness.eval.budgets`):
    a sample that ran past the budget takes its cut version's outcome, every other sample keeps its own."""
    where = f"{record.where}: benchmarks.{name}.budgets.{budget}"
    cut_list = entry.get("cut_samples") if isinstance(entry, dict) else None
    if not str(budget).isdigit() or not isinstance(cut_list, list) or not all(isinstance(c, dict) for c in cut_list):
        raise HarnessError(f"{where} is not a budget result (a token count with a list of cut_samples)")
    cut = {(str(c.get("id")), c.get("sample")): c for c in cut_list}
    per_problem: dict[str, list[bool]] = defaultdict(list)
    for sample in bench["samples"]:
        key = (str(sample["id"]), int(sample["sample"]))
        if sample["num_tokens"] > int(budget) and key not in cut:
            raise HarnessError(f"{where}: sample {key[1]} of problem {key[0]!r} ran past the budget but has no cut "
                               "version: the record was edited or damaged")
        per_problem[key[0]].append(cut.get(key, sample).get("outcome") == "correct")
    return np.array([sum(per_problem[i]) / len(per_problem[i]) for i in ids])


def build_rows(records: list[Record]) -> list[Row]:
    """Group a setup's records into rows (one per method variant, student and teacher data)."""
    groups: dict[str, Row] = {}
    for record in records:
        d = record.data
        key = row_key(record)
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
    draws = two_level_draws(matrix, cell_rng("pass", row.label, row.student, bench, str(k)),
                            seed_weights=seed_weights(row))
    return Estimate(mean, std, interval(draws)), draws


def seed_weights(row: Row) -> np.ndarray:
    """One draw of the row's seeds for all its cells: a seed is one trained model on every benchmark,
    so the average over benchmarks resamples whole models."""
    return resample_counts(cell_rng("seeds", row.label, row.student), len(row.records), BOOTSTRAP_SAMPLES)


def average_estimate(row: Row, benches: list[str], k: int = 1) -> Estimate | None:
    """The unweighted mean over benchmarks; its interval resamples seeds once, then problems within each benchmark."""
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


def _share(per_seed: list[list[bool]]) -> Estimate:
    return Estimate(*_spread([float(np.mean(values)) for values in per_seed]))


def cap_share(row: Row, bench: str) -> Estimate | None:
    """Share of samples that stopped at the token cap, mean ± std over seeds; None when a sample of
    some seed has no finish_reason (records may predate it)."""
    stats = row.benches[bench]
    if any(f is None for seed in row.seeds for f in stats.finish[seed]):
        return None
    return _share([[f == "length" for f in stats.finish[seed]] for seed in row.seeds])


def no_answer_share(row: Row, bench: str) -> Estimate:
    """Share of samples with no extractable answer, mean ± std over seeds."""
    stats = row.benches[bench]
    return _share([[o == "no_answer" for o in stats.outcomes[seed]] for seed in row.seeds])


def outcome_tokens(row: Row, bench: str, correct: bool) -> tuple[float, float] | None:
    """Mean over seeds of each seed's mean and median generated tokens of its correct samples (or of the
    others: wrong, no answer, timeout, error); seeds without such samples are left out, None when no seed has one."""
    stats = row.benches[bench]
    per_seed = [[t for t, o in zip(stats.tokens[seed], stats.outcomes[seed]) if (o == "correct") == correct]
                for seed in row.seeds]
    per_seed = [tokens for tokens in per_seed if tokens]
    if not per_seed:
        return None
    return float(np.mean([np.mean(t) for t in per_seed])), float(np.mean([np.median(t) for t in per_seed]))


def budget_estimate(row: Row, bench: str, budget: int) -> Estimate | None:
    """Pass@1 with every sample cut at `budget` tokens, mean ± std over seeds; None unless every seed has that budget."""
    per_seed = row.benches[bench].budgets.get(budget, {})
    if len(per_seed) != len(row.records):
        return None
    return Estimate(*_spread([float(per_seed[seed].mean()) for seed in row.seeds]))


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
