"""Seed-aware statistics (`harness.stats`) on matrices whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from harness import stats


def _crossed(rng: np.random.Generator, seeds: int, problems: int, effect: float, seed_sd: float,
             problem_sd: float, noise_sd: float = 0.0) -> np.ndarray:
    return (effect + rng.normal(0, seed_sd, (seeds, 1)) + rng.normal(0, problem_sd, (1, problems))
            + rng.normal(0, noise_sd, (seeds, problems)))


def test_two_level_interval_sees_seed_noise_that_the_problem_interval_misses():
    rng = np.random.default_rng(0)
    d = _crossed(rng, 5, 400, 0.0, seed_sd=0.10, problem_sd=0.02)
    two = stats.percentile_interval(stats.two_level_draws(d, np.random.RandomState(1)))
    problems = stats.percentile_interval(stats.problem_draws(d, np.random.RandomState(1)))
    assert two[1] - two[0] > 5 * (problems[1] - problems[0])
    assert two[0] < 0 < two[1]


def test_with_one_seed_the_two_level_bootstrap_is_the_problem_bootstrap():
    d = np.random.default_rng(2).normal(0.1, 0.3, (1, 50))
    a = stats.two_level_draws(d, np.random.RandomState(3), 500)
    assert np.all(np.isclose(stats.two_level_draws(d, np.random.RandomState(3), 500), a))
    lo, hi = stats.percentile_interval(a)
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_crossed_resampling_keeps_the_problem_component():
    """Problems shared by every seed: their variance must not shrink with the number of seeds."""
    rng = np.random.default_rng(4)
    d = _crossed(rng, 20, 30, 0.0, seed_sd=0.0, problem_sd=0.2)
    draws = stats.two_level_draws(d, np.random.RandomState(5), 4000)
    assert draws.std() == pytest.approx(d.mean(axis=0).std(ddof=1) / np.sqrt(30), rel=0.2)


def test_seed_t_interval_matches_the_textbook():
    per_seed = np.array([0.175, -0.034, 0.084, 0.008, 0.172])
    t = stats.seed_t_interval(per_seed)
    assert t.mean == pytest.approx(per_seed.mean())
    half = 2.776445105 * per_seed.std(ddof=1) / np.sqrt(5)
    assert t.interval == pytest.approx((per_seed.mean() - half, per_seed.mean() + half))
    assert 0.1 < t.p < 0.2
    assert stats.seed_t_interval(np.array([0.1])) is None


def test_holm_is_step_down_and_monotone():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_variance_components_recover_the_simulated_ones():
    rng = np.random.default_rng(6)
    seeds, problems, n = 30, 300, 8
    seed_eff = rng.normal(0, 0.05, (seeds, 1))
    prob_a = rng.uniform(0.2, 0.8, (1, problems))
    prob_b = np.clip(prob_a + rng.normal(0, 0.10, (1, problems)), 0.01, 0.99)
    pa = np.clip(prob_a + seed_eff, 0.01, 0.99)
    a = rng.binomial(n, np.broadcast_to(pa, (seeds, problems))) / n
    b = rng.binomial(n, np.broadcast_to(prob_b, (seeds, problems))) / n
    c = stats.variance_components(a, b, n)
    assert np.sqrt(c.seed) == pytest.approx(0.05, rel=0.3)
    assert np.sqrt(c.problem) == pytest.approx((prob_a - prob_b).std(), rel=0.2)
    expected_sample = float(np.mean(pa * (1 - pa) + prob_b * (1 - prob_b)))
    assert c.sample == pytest.approx(expected_sample, rel=0.1)
    assert c.interaction < 0.2 * c.sample  # none simulated beyond clipping


def test_seeds_needed_grows_as_the_difference_shrinks_and_has_a_problem_floor():
    c = stats.Components(seed=0.08 ** 2, problem=0.10 ** 2, interaction=0.0, sample=0.25, seeds=5, problems=400,
                         samples=4)
    big, small = (stats.seeds_needed(c, d, samples=4, alpha=0.05, power=0.8) for d in (0.10, 0.05))
    assert big is not None and small is not None and 2 <= big < small
    assert stats.detectable(c, small, 4, 0.05, 0.8) <= 0.05 < stats.detectable(c, small - 1, 4, 0.05, 0.8)
    # 30 problems with a 25-point problem spread: 1 point is out of reach whatever the seeds.
    floor = stats.Components(seed=0.0, problem=0.25 ** 2, interaction=0.0, sample=0.25, seeds=5, problems=30,
                             samples=4)
    assert stats.seeds_needed(floor, 0.01, samples=64, alpha=0.05, power=0.8) is None
