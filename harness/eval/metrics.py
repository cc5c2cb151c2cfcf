"""Metrics over graded samples, as objects in the metric registry (lighteval's Sample/CorpusLevelMetric).

A metric turns the graded samples of a benchmark, grouped by problem, into named numbers:

- `SampleLevelMetric`: a value per problem from its samples (`sample_fn`), aggregated over
  problems (`corpus_fn`, the mean by default). A `{k}` in its key makes one output per
  requested k (`pass@1`, `pass@3`), a `{n}` is the samples per problem (`avg@4`).
- `CorpusLevelMetric`: one value from all problems at once (outcome counts).
- `BootstrapInterval`: the percentile-bootstrap interval of a sample-level metric's mean,
  resampling problems, not samples: the uncertainty that matters on a 30-problem benchmark
  is which problems were drawn.

The built-ins (pass@k, its interval, avg@n, maj@k, mean tokens, outcome counts, the shares of
samples cut at the token cap and without an answer, and the mean and median tokens of correct
and of incorrect samples) register in
`harness.registries.METRICS` below; a package adds its own through the `harness.metrics`
entry-point group (`name = "pkg.module:METRIC"`), and `compute_metrics` runs every
registered metric, so a plugin's numbers reach `harness eval --json`, result records and the
leaderboard. A sample is a dict with `outcome`, `extracted`, `num_tokens` and, from the
runner, `finish_reason`.

pass@k = 1 - C(n-c, k) / C(n, k) per problem (Chen et al. 2021), averaged over problems.
The ratio of binomials is computed as a product, which stays exact in floating point
for any n (no factorial overflow).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from harness.errors import HarnessError
from harness.flag_names import spell
from harness.registries import METRICS

Problem = Sequence[dict]  # one problem's graded samples


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased probability that at least one of k samples (out of n, c correct) is correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if k < 1 or k > n:
        raise HarnessError(f"pass@{k} needs 1 <= k <= n samples per problem, got n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def check_ks(ks: Sequence[int], n: int, fix: str | None = None) -> list[int]:
    """Validate requested k values against n up front: one clear error instead of a late crash.

    `fix` says what to change when a k exceeds n; by default, `eval.n` or `eval.k` as the running command spells them.
    """
    small = [k for k in ks if k < 1]
    if small:
        raise HarnessError(f"pass@{small[0]} is not defined: every k must be at least 1")
    bad = [k for k in ks if k > n]
    if bad:
        fix = fix or f"use {spell('eval.n', str(max(bad)))} or lower {spell('eval.k')}"
        raise HarnessError(f"pass@{bad[0]} needs at least {bad[0]} samples per problem, but n={n}; {fix}")
    return sorted(set(ks))


def majority_correct(samples: Problem, k: int) -> bool:
    """Majority vote over the first k samples' extracted answers (ties: the earliest answer wins)."""
    answered = [s for s in samples[:k] if s.get("extracted") is not None and s["outcome"] in ("correct", "incorrect")]
    if not answered:
        return False
    counts = Counter(s["extracted"] for s in answered)
    best = max(counts.values())
    winner = next(s for s in answered if counts[s["extracted"]] == best)
    return winner["outcome"] == "correct"


def bootstrap_means(values: np.ndarray, rng: np.random.Generator | np.random.RandomState, samples: int) -> np.ndarray:
    """Means of `samples` resamples (with replacement) of the rows of `values`.

    The one resampling both bootstraps use; each caller keeps its own seeded stream (a
    `Generator` here, the frozen legacy `RandomState` on the leaderboard), because stored
    results and the committed leaderboard pin the numbers each stream gives."""
    draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    return values[draw(0, len(values), size=(samples, len(values)))].mean(axis=1)


def bootstrap_ci(values: Sequence[float], samples: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap CI of the mean over problems."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return [float("nan"), float("nan")]
    means = bootstrap_means(arr, np.random.default_rng(seed), samples)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return [float(lo), float(hi)]


# ---------------------------------------------------------------- metric objects

@dataclass(frozen=True)
class MetricContext:
    """What a metric may depend on besides the samples: the requested k values, the samples per
    problem (the fewest any problem got) and the bootstrap's settings."""

    ks: tuple[int, ...]
    n: int
    bootstrap_samples: int = 1000
    seed: int = 0


class Metric(Protocol):
    def compute(self, problems: Sequence[Problem], ctx: MetricContext) -> dict[str, Any]:
        """Output key -> value for one benchmark's graded samples, grouped by problem."""
        ...

    def writes(self, key: str) -> bool:
        """Whether `key` is one of this metric's outputs, whatever the k and n."""
        ...


def _key_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{k\}|\{n\})", template)
    return re.compile("".join(r"\d+" if p in ("{k}", "{n}") else re.escape(p) for p in parts))


def mean(values: list[Any]) -> float:
    return float(np.mean(values))


@dataclass(frozen=True)
class SampleLevelMetric:
    """A value per problem from its samples, aggregated over problems.

    `sample_fn(samples)` (or `sample_fn(samples, k)` when `key` holds `{k}`) scores one
    problem; `corpus_fn(values)` aggregates the per-problem values of a benchmark.
    """

    key: str
    sample_fn: Callable[..., Any]
    corpus_fn: Callable[[list[Any]], Any] = mean
    higher_is_better: bool = True

    def outputs(self, ctx: MetricContext) -> list[tuple[str, int | None]]:
        """(output key, k) pairs; k is None for a metric that does not take one."""
        if "{k}" in self.key:
            return [(self.key.replace("{k}", str(k)).replace("{n}", str(ctx.n)), k) for k in ctx.ks]
        return [(self.key.replace("{n}", str(ctx.n)), None)]

    def per_problem(self, problems: Sequence[Problem], k: int | None) -> list[Any]:
        return [self.sample_fn(p) if k is None else self.sample_fn(p, k) for p in problems]

    def compute(self, problems: Sequence[Problem], ctx: MetricContext) -> dict[str, Any]:
        return {key: self.corpus_fn(self.per_problem(problems, k)) for key, k in self.outputs(ctx)}

    def writes(self, key: str) -> bool:
        return bool(_key_pattern(self.key).fullmatch(key))


@dataclass(frozen=True)
class CorpusLevelMetric:
    """One value from every problem of a benchmark at once: `corpus_fn(problems, ctx)`."""

    key: str
    corpus_fn: Callable[[Sequence[Problem], MetricContext], Any]
    higher_is_better: bool = True

    def compute(self, problems: Sequence[Problem], ctx: MetricContext) -> dict[str, Any]:
        return {self.key.replace("{n}", str(ctx.n)): self.corpus_fn(problems, ctx)}

    def writes(self, key: str) -> bool:
        return bool(_key_pattern(self.key).fullmatch(key))


@dataclass(frozen=True)
class BootstrapInterval:
    """`<key>_ci`: the bootstrap interval over problems of each output of a sample-level metric."""

    of: SampleLevelMetric
    level: float = 0.95

    def compute(self, problems: Sequence[Problem], ctx: MetricContext) -> dict[str, Any]:
        return {f"{key}_ci": bootstrap_ci(self.of.per_problem(problems, k), ctx.bootstrap_samples, ctx.seed, self.level)
                for key, k in self.of.outputs(ctx)}

    def writes(self, key: str) -> bool:
        return key.endswith("_ci") and self.of.writes(key[: -len("_ci")])


def _correct(samples: Problem) -> int:
    return sum(s["outcome"] == "correct" for s in samples)


def _tokens(samples: Problem) -> list[int]:
    return [s["num_tokens"] for s in samples if s.get("num_tokens") is not None]


def _flat_mean(per_problem: list[list[int]]) -> float | None:
    """Mean over every sample, not over problems: problems may have different sample counts."""
    tokens = [t for ts in per_problem for t in ts]
    return float(np.mean(tokens)) if tokens else None


def _count(outcome: str) -> Callable[[Sequence[Problem], MetricContext], int]:
    return lambda problems, ctx: sum(s["outcome"] == outcome for samples in problems for s in samples)


def _pooled(reduce: Callable[[list[Any]], Any]) -> Callable[[list[list[Any]]], Any]:
    """A corpus function over every sample's value, pooled across problems; None when there is none."""
    def corpus(per_problem: list[list[Any]]) -> Any:
        values = [v for vs in per_problem for v in vs]
        return reduce(values) if values else None
    return corpus


def _cap_share(finish_reasons: list[str | None]) -> float | None:
    # A sample without a finish reason (`harness score` input) says nothing of the cap: no share at all.
    if any(f is None for f in finish_reasons):
        return None
    return float(np.mean([f == "length" for f in finish_reasons]))


def _tokens_of(correct: bool) -> Callable[[Problem], list[int]]:
    """num_tokens of the samples graded correct, or of every other sample (wrong, no answer, timeout, error)."""
    return lambda samples: [s["num_tokens"] for s in samples
                            if s.get("num_tokens") is not None and (s["outcome"] == "correct") == correct]


def _median(values: list[Any]) -> float:
    return float(np.median(values))


PASS_AT_K = SampleLevelMetric("pass@{k}", lambda samples, k: pass_at_k(len(samples), _correct(samples), k))
PASS_AT_K_CI = BootstrapInterval(PASS_AT_K)
AVG_AT_N = SampleLevelMetric("avg@{n}", lambda samples: _correct(samples) / len(samples))
MAJ_AT_K = SampleLevelMetric("maj@{k}", majority_correct)
MEAN_TOKENS = SampleLevelMetric("mean_tokens", _tokens, _flat_mean, higher_is_better=False)
# Pooled over samples, like mean_tokens: what share of answers the token cap cut (olmo-eval #399)
# or left without an answer, and how long right and wrong answers run.
CAP_SHARE = SampleLevelMetric("cap_share", lambda samples: [s.get("finish_reason") for s in samples],
                              _pooled(_cap_share), higher_is_better=False)
NO_ANSWER_SHARE = SampleLevelMetric("no_answer_share", lambda samples: [s["outcome"] == "no_answer" for s in samples],
                                    _pooled(mean), higher_is_better=False)
TOKEN_STATS = {f"tokens_{which}_{stat}": SampleLevelMetric(f"tokens_{which}_{stat}", _tokens_of(which == "correct"),
                                                           _pooled(reduce), higher_is_better=False)
               for which in ("correct", "incorrect") for stat, reduce in (("mean", mean), ("median", _median))}

# In the order their outputs appear in a result (the order results had before metrics were objects).
BUILTIN: dict[str, Metric] = {
    "pass_at_k": PASS_AT_K,
    "pass_at_k_ci": PASS_AT_K_CI,
    "avg_at_n": AVG_AT_N,
    "maj_at_k": MAJ_AT_K,
    "mean_tokens": MEAN_TOKENS,
    **{name: CorpusLevelMetric(name, _count(name), higher_is_better=False) for name in ("no_answer", "timeout", "error")},
    "cap_share": CAP_SHARE,
    "no_answer_share": NO_ANSWER_SHARE,
    **TOKEN_STATS,
}
for _name, _metric in BUILTIN.items():
    METRICS.add(_name, _metric)

# Keys a result's metrics hold that no metric object writes: the sample's shape, and the
# audit grader's disagreement rate (the runner adds it).
STRUCTURAL = ("num_problems", "n", "audit_disagreement")


def register_metric(name: str, metric: Metric) -> Metric:
    """Register `metric` under `name` (a plugin may also name it in the `harness.metrics` entry-point group)."""
    return METRICS.add(name, metric)


def registered_metrics() -> list[tuple[str, Metric]]:
    """The built-ins in their fixed order, then every other registered metric by name."""
    names = METRICS.names()
    return [(n, BUILTIN[n]) for n in BUILTIN] + [(n, METRICS.get(n)) for n in names if n not in BUILTIN]


def builtin_key(key: str) -> bool:
    """Whether the harness itself writes `key` into a result's metrics (so a report that shows
    the built-ins in their own columns can list the rest: plugins' metrics)."""
    return key in STRUCTURAL or any(metric.writes(key) for metric in BUILTIN.values())


def extra_keys(metrics: dict[str, Any]) -> list[str]:
    """The keys of `metrics` that no built-in writes, in their order."""
    return [key for key in metrics if not builtin_key(key)]


def compute_metrics(
    per_problem: Sequence[Problem],
    ks: Sequence[int],
    bootstrap_samples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every registered metric over graded samples grouped by problem, then `num_problems` and `n`.

    Problems may have different numbers of samples; every k must fit the smallest.
    """
    if not per_problem:
        raise HarnessError("no problems to score")
    n = min(len(samples) for samples in per_problem)
    ctx = MetricContext(tuple(check_ks(ks, n)), n, bootstrap_samples, seed)
    out: dict[str, Any] = {}
    writer: dict[str, str] = {}
    for name, metric in registered_metrics():
        if not callable(getattr(metric, "compute", None)):
            raise HarnessError(f"metric {name!r} is not a metric object (it needs compute(problems, ctx))")
        for key, value in metric.compute(per_problem, ctx).items():
            if key in out or key in STRUCTURAL:
                other = f"metric {writer[key]!r}" if key in writer else "the harness"
                raise HarnessError(f"metric {name!r} writes {key!r}, which {other} writes too")
            out[key], writer[key] = value, name
    out = _intervals_beside(out)
    out["num_problems"] = len(per_problem)
    out["n"] = n
    return out


def _intervals_beside(metrics: dict[str, Any]) -> dict[str, Any]:
    """Each `<key>_ci` right after `<key>`, as results were written before metrics were objects."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if key.endswith("_ci") and key[: -len("_ci")] in metrics:
            continue
        out[key] = value
        if f"{key}_ci" in metrics:
            out[f"{key}_ci"] = metrics[f"{key}_ci"]
    return out
