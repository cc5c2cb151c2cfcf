"""Metrics over graded samples: unbiased pass@k, avg@n, maj@k, bootstrap CIs, counts.

pass@k = 1 - C(n-c, k) / C(n, k) per problem (Chen et al. 2021), averaged over problems.
The ratio of binomials is computed as a product, which stays exact in floating point
for any n (no factorial overflow). Confidence intervals resample problems, not samples:
the uncertainty that matters on a 30-problem benchmark is which problems were drawn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from harness.errors import HarnessError


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased probability that at least one of k samples (out of n, c correct) is correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if k < 1 or k > n:
        raise HarnessError(f"pass@{k} needs 1 <= k <= n samples per problem, got n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def check_ks(ks: Sequence[int], n: int) -> list[int]:
    """Validate requested k values against n up front: one clear error instead of a late crash."""
    small = [k for k in ks if k < 1]
    if small:
        raise HarnessError(f"pass@{small[0]} is not defined: every k must be at least 1")
    bad = [k for k in ks if k > n]
    if bad:
        raise HarnessError(f"pass@{bad[0]} needs at least {bad[0]} samples per problem, but n={n} (use --n >= {max(bad)})")
    return sorted(set(ks))


def majority_correct(samples: Sequence[dict], k: int) -> bool:
    """Majority vote over the first k samples' extracted answers (ties: the earliest answer wins)."""
    answered = [s for s in samples[:k] if s.get("extracted") is not None and s["outcome"] in ("correct", "incorrect")]
    if not answered:
        return False
    counts = Counter(s["extracted"] for s in answered)
    best = max(counts.values())
    winner = next(s for s in answered if counts[s["extracted"]] == best)
    return winner["outcome"] == "correct"


def bootstrap_ci(values: Sequence[float], samples: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap CI of the mean over problems."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, arr.size, size=(samples, arr.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return [float(lo), float(hi)]


def compute_metrics(
    per_problem: Sequence[Sequence[dict]],
    ks: Sequence[int],
    bootstrap_samples: int = 1000,
    seed: int = 0,
) -> dict:
    """Metrics from graded samples grouped by problem (each sample: outcome, extracted, num_tokens).

    Problems may have different numbers of samples; every k must fit the smallest.
    """
    if not per_problem:
        raise HarnessError("no problems to score")
    ns = [len(samples) for samples in per_problem]
    n = min(ns)
    ks = check_ks(ks, n)
    correct = [sum(s["outcome"] == "correct" for s in samples) for samples in per_problem]
    metrics: dict = {}
    for k in ks:
        values = [pass_at_k(ni, ci, k) for ni, ci in zip(ns, correct)]
        metrics[f"pass@{k}"] = float(np.mean(values))
        metrics[f"pass@{k}_ci"] = bootstrap_ci(values, bootstrap_samples, seed)
    metrics[f"avg@{n}"] = float(np.mean([c / m for c, m in zip(correct, ns)]))
    for k in ks:
        metrics[f"maj@{k}"] = float(np.mean([majority_correct(samples, k) for samples in per_problem]))
    flat = [s for samples in per_problem for s in samples]
    tokens = [s["num_tokens"] for s in flat if s.get("num_tokens") is not None]
    metrics["mean_tokens"] = float(np.mean(tokens)) if tokens else None
    for outcome in ("no_answer", "timeout", "error"):
        metrics[outcome] = sum(s["outcome"] == outcome for s in flat)
    metrics["num_problems"] = len(per_problem)
    metrics["n"] = n
    return metrics
