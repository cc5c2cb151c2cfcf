"""Seed-aware statistics for comparing trained models: intervals, tests and planning.

A trained model's score on a benchmark varies with two draws: the training run (seed) and the
problems the benchmark happened to contain; sampling adds a third, within each problem. Every
function here takes a seeds x problems matrix of per-problem scores (the same problems in every
seed) and treats both draws as random:

- `two_level_draws` resamples seeds, then problems, and averages the resampled grid. Problems
  are crossed with seeds (every seed ran the same problems), so one draw of problems serves
  every drawn seed; resampling problems again inside each seed would treat them as nested and
  shrink the problem component by the number of seeds.
- `seed_t_interval` is the paired t-interval over per-seed means: right for few seeds, blind to
  which problems the benchmark holds.
- `variance_components` splits a paired difference's variance into seed, problem, seed x
  problem and sampling parts (method of moments for a crossed design, sampling variance known
  from the per-sample outcomes), and `seeds_needed` turns them into a plan.

Generators are numpy's legacy `RandomState`, seeded by the caller, so outputs are stable
across numpy versions (the leaderboard compares bytes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np


def _scipy() -> ModuleType:
    """scipy.stats, imported on first use: it costs half a second, and `harness --help` needs none of it."""
    from scipy import stats
    return stats


DRAWS = 2000


def two_level_draws(matrix: np.ndarray, rng: np.random.RandomState, draws: int = DRAWS,
                    seed_weights: np.ndarray | None = None) -> np.ndarray:
    """Bootstrap means of a seeds x problems matrix, resampling seeds and then problems (crossed).

    With one seed this is the ordinary bootstrap over problems. For a paired difference pass
    the matrix of differences (A - B, same seed index, same problems). `seed_weights` (draws x
    seeds, from `resample_counts`) lets several benchmarks of one model share a draw of seeds:
    a seed is one trained model on every benchmark.
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    seeds, problems = matrix.shape
    if seed_weights is None:
        seed_weights = resample_counts(rng, seeds, draws)
    problem_weights = resample_counts(rng, problems, len(seed_weights))
    # mean over the drawn grid = sum_ij c_i w_j m_ij / (seeds * problems), with draw counts c, w.
    return np.einsum("bs,sp,bp->b", seed_weights, matrix, problem_weights) / (seeds * problems)


def problem_draws(matrix: np.ndarray, rng: np.random.RandomState, draws: int = DRAWS) -> np.ndarray:
    """Bootstrap means over problems of the seed-averaged scores: blind to seed-to-seed variance."""
    column = np.atleast_2d(np.asarray(matrix, dtype=float)).mean(axis=0)
    return resample_counts(rng, len(column), draws) @ column / len(column)


def resample_counts(rng: np.random.RandomState, size: int, draws: int) -> np.ndarray:
    """draws x size: how often each of `size` units is picked in each resample of `size` with replacement."""
    indices = rng.randint(0, size, size=(draws, size))
    # One bincount over row-offset indices: the same counts as np.add.at, an order of magnitude faster.
    flat = (indices + (np.arange(draws) * size)[:, None]).ravel()
    return np.bincount(flat, minlength=draws * size).reshape(draws, size).astype(float)


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value for 'the mean is 0': twice the smaller share of draws on one side of 0."""
    below, above = float(np.mean(draws <= 0)), float(np.mean(draws >= 0))
    return min(1.0, 2 * min(below, above))


@dataclass(frozen=True)
class TResult:
    mean: float
    interval: tuple[float, float]
    p: float
    seeds: int


def seed_t_interval(per_seed: np.ndarray, level: float = 0.95) -> TResult | None:
    """Paired t-interval and two-sided p over per-seed differences; None with fewer than 2 seeds."""
    values = np.asarray(per_seed, dtype=float)
    if len(values) < 2:
        return None
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    df = len(values) - 1
    if sd == 0.0:
        p = 0.0 if mean != 0 else 1.0
        return TResult(mean, (mean, mean), p, len(values))
    half = float(_scipy().t.ppf(1 - (1 - level) / 2, df)) * sd / math.sqrt(len(values))
    p = float(2 * _scipy().t.sf(abs(mean) / (sd / math.sqrt(len(values))), df))
    return TResult(mean, (mean - half, mean + half), p, len(values))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone), in the order given."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted = [0.0] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


# ---------------------------------------------------------------- variance components and planning

@dataclass(frozen=True)
class Components:
    """Variances of a paired difference (fractions, not points), per unit of each draw.

    seed: between training runs; problem: between problems; interaction: seed x problem;
    sample: one sample's within-problem variance (a cell of n samples has sample / n).
    """

    seed: float
    problem: float
    interaction: float
    sample: float
    seeds: int
    problems: int
    samples: int

    def variance(self, seeds: int, problems: int, samples: int, with_problems: bool = True) -> float:
        """Variance of the mean difference with that many seeds, problems and samples per problem."""
        out = self.seed / seeds + self.interaction / (seeds * problems) + self.sample / (seeds * problems * samples)
        return out + (self.problem / problems if with_problems else 0.0)


def variance_components(a: np.ndarray, b: np.ndarray, samples: int) -> Components:
    """Components of A - B from per-problem accuracies (seeds x problems, n samples each, same seeds and problems).

    Method of moments for a crossed seeds x problems design with known within-cell variance:
    the sampling part comes from the per-sample outcomes (Bernoulli, unbiased), the
    interaction is what the residual mean square holds beyond it, and the seed and problem
    parts are what their mean squares hold beyond the residual. Negative estimates are 0.
    """
    a, b = np.atleast_2d(a).astype(float), np.atleast_2d(b).astype(float)
    d = a - b
    m, p = d.shape
    n = max(int(samples), 1)
    correction = n / (n - 1) if n > 1 else 1.0
    cell_sampling = float(np.mean((a * (1 - a) + b * (1 - b)) * correction)) / n  # variance of a cell mean
    grand = d.mean()
    rows, cols = d.mean(axis=1), d.mean(axis=0)
    ms_cols = m * float(np.sum((cols - grand) ** 2)) / (p - 1) if p > 1 else 0.0
    if m > 1:
        ms_rows = p * float(np.sum((rows - grand) ** 2)) / (m - 1)
        resid = d - rows[:, None] - cols[None, :] + grand
        ms_resid = float(np.sum(resid ** 2)) / ((m - 1) * (p - 1)) if p > 1 else 0.0
        interaction = max(0.0, ms_resid - cell_sampling)
        seed = max(0.0, (ms_rows - ms_resid) / p)
        problem = max(0.0, (ms_cols - ms_resid) / m)
    else:  # one seed: the seed part cannot be told from the rest
        interaction, seed = 0.0, float("nan")
        problem = max(0.0, ms_cols - cell_sampling)
    return Components(seed, problem, interaction, cell_sampling * n, m, p, n)


def required_z(alpha: float, power: float) -> float:
    return float(_scipy().norm.ppf(1 - alpha / 2) + _scipy().norm.ppf(power))


def detectable(components: Components, seeds: int, samples: int, alpha: float, power: float,
               problems: int | None = None) -> float:
    """The smallest difference (a fraction) that `seeds` x `samples` detects with that power at two-sided `alpha`.

    Uses t quantiles with seeds - 1 degrees of freedom, since the seed part dominates with few
    seeds; the problem part is a floor no number of seeds removes.
    """
    if seeds < 2:
        return float("inf")
    df = seeds - 1
    factor = float(_scipy().t.ppf(1 - alpha / 2, df) + _scipy().t.ppf(power, df))
    return factor * math.sqrt(components.variance(seeds, problems or components.problems, samples))


def seeds_needed(components: Components, difference: float, samples: int, alpha: float, power: float,
                 problems: int | None = None, most: int = 200) -> int | None:
    """Fewest seeds (>= 2) that detect `difference` (a fraction); None when even `most` seeds do not."""
    for seeds in range(2, most + 1):
        if detectable(components, seeds, samples, alpha, power, problems) <= abs(difference):
            return seeds
    return None
