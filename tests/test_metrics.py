"""Metrics: pass@k against hand-computed values, maj@k, bootstrap CIs, counts."""

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.eval.metrics import bootstrap_ci, compute_metrics, majority_correct, pass_at_k


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (3, 0, 1, 0.0),  # c = 0
        (3, 0, 3, 0.0),
        (3, 3, 1, 1.0),  # c = n
        (3, 1, 1, 1 / 3),
        (3, 1, 2, 2 / 3),  # 1 - C(2,2)/C(3,2)
        (3, 1, 3, 1.0),  # n = k with one correct
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (1, 1, 1, 1.0),
    ],
)
def test_pass_at_k_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_large_n_is_stable():
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)
    assert pass_at_k(2000, 3, 500) == pytest.approx(1 - comb(1997, 500) / comb(2000, 500), rel=1e-9)


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_matches_exact_binomials(nck):
    n, c, k = nck
    exact = 1 - Fraction(comb(n - c, k), comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12)


def test_k_larger_than_n_is_a_user_error():
    with pytest.raises(HarnessError, match="pass@4"):
        pass_at_k(3, 1, 4)
    with pytest.raises(HarnessError, match="n=2"):
        compute_metrics([[_s("correct")] * 2], ks=[1, 3])


def _s(outcome, extracted="1", tokens=10):
    return {"outcome": outcome, "extracted": extracted, "num_tokens": tokens}


def test_compute_metrics_different_n_per_problem():
    problems = [
        [_s("correct"), _s("incorrect", "2")],  # n=2, c=1
        [_s("correct"), _s("incorrect", "2"), _s("no_answer", None), _s("timeout", None)],  # n=4, c=1
    ]
    m = compute_metrics(problems, ks=[1, 2], bootstrap_samples=200)
    assert m["pass@1"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert m["pass@2"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["avg@2"] == pytest.approx(m["pass@1"])
    assert (m["no_answer"], m["timeout"], m["error"], m["num_problems"], m["n"]) == (1, 1, 0, 2, 2)
    assert m["mean_tokens"] == pytest.approx(10.0)
    lo, hi = m["pass@1_ci"]
    assert 0.25 <= lo <= m["pass@1"] <= hi <= 0.5


def test_pass_at_1_does_not_change_with_n():
    # the same per-sample accuracy at n=2 and n=4 gives the same pass@1 (lighteval #771)
    two = compute_metrics([[_s("correct"), _s("incorrect", "2")]], ks=[1])
    four = compute_metrics([[_s("correct"), _s("incorrect", "2")] * 2], ks=[1])
    assert two["pass@1"] == four["pass@1"] == 0.5


def test_majority_vote():
    votes = [_s("incorrect", "7"), _s("correct", "5"), _s("correct", "5"), _s("incorrect", "7"), _s("incorrect", "7")]
    assert majority_correct(votes, 3) is True
    assert majority_correct(votes, 5) is False
    assert majority_correct(votes, 1) is False
    # a tie goes to the answer seen first; unanswered samples do not vote
    assert majority_correct([_s("no_answer", None), _s("correct", "5"), _s("incorrect", "6")], 3) is True


def test_bootstrap_is_seeded_and_sane():
    values = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1]
    assert bootstrap_ci(values, 500, seed=1) == bootstrap_ci(values, 500, seed=1)
    lo, hi = bootstrap_ci(values, 2000, seed=1)
    assert lo < 0.6 < hi and 0 <= lo and hi <= 1
    assert bootstrap_ci([1, 1, 1], 100) == [1.0, 1.0]


# ---------------------------------------------------------------- metric objects and the registry

from harness.eval.metrics import (MEAN_TOKENS, PASS_AT_K, PASS_AT_K_CI, CorpusLevelMetric, MetricContext,  # noqa: E402
                                  SampleLevelMetric, builtin_key, extra_keys)
from harness.registries import METRICS  # noqa: E402

OUTCOMES = ["correct", "incorrect", "no_answer", "timeout", "error"]
# Nine problems, four samples each, every outcome; the numbers the function-based code gave
# before metrics were objects (harness at 52430eb), key order included.
GOLDEN_PROBLEMS = [[{"outcome": OUTCOMES[(3 * i + j * j) % 5] if (i + j) % 3 else "correct",
                     "extracted": str((i * j) % 3) if (i + j) % 4 else None, "num_tokens": 10 + i * 3 + j}
                    for j in range(4)] for i in range(9)]
GOLDEN = {"pass@1": 0.4722222222222222, "pass@1_ci": [0.3611111111111111, 0.5833333333333334],
          "pass@3": 0.9166666666666666, "pass@3_ci": [0.8333333333333334, 0.9722222222222222],
          "avg@4": 0.4722222222222222, "maj@1": 0.3333333333333333, "maj@3": 0.6666666666666666,
          "mean_tokens": 23.5, "no_answer": 4, "timeout": 5, "error": 6, "num_problems": 9, "n": 4}


# The metrics added since (issue #31), after the outcome counts: GOLDEN_PROBLEMS have no finish reason.
ADDED = ["cap_share", "no_answer_share", "tokens_correct_mean", "tokens_correct_median", "tokens_incorrect_mean",
         "tokens_incorrect_median"]


def test_builtin_metric_objects_give_the_numbers_and_order_results_always_had():
    got = compute_metrics(GOLDEN_PROBLEMS, ks=[3, 1], bootstrap_samples=500, seed=7)
    old = {k: v for k, v in got.items() if k not in ADDED}
    assert old == GOLDEN and list(old) == list(GOLDEN)  # exact floats, not approx
    assert list(got) == list(GOLDEN)[:-2] + ADDED + ["num_problems", "n"]


def test_cap_no_answer_shares_and_tokens_of_correct_and_incorrect_samples():
    def s(outcome, tokens, finish="stop"):
        return {"outcome": outcome, "extracted": None, "num_tokens": tokens, "finish_reason": finish}

    problems = [[s("correct", 10), s("no_answer", 50, "length"), s("incorrect", 30)],
                [s("correct", 20), s("correct", 40), s("timeout", 50, "length"), s("no_answer", 5)]]
    m = compute_metrics(problems, ks=[1], bootstrap_samples=10)
    assert m["cap_share"] == pytest.approx(2 / 7)  # pooled over samples, not averaged over problems
    assert m["no_answer_share"] == pytest.approx(2 / 7)
    assert (m["tokens_correct_mean"], m["tokens_correct_median"]) == (pytest.approx(70 / 3), 20.0)
    # incorrect: every sample not graded correct (wrong, no answer, timeout)
    assert (m["tokens_incorrect_mean"], m["tokens_incorrect_median"]) == (pytest.approx(135 / 4), 40.0)
    # no finish reason on some sample (scored elsewhere): no cap share; no correct sample: no token numbers
    m = compute_metrics([[{"outcome": "incorrect", "extracted": "1", "num_tokens": 3}], [s("incorrect", 4, "length")]],
                        ks=[1], bootstrap_samples=10)
    assert m["cap_share"] is None and m["tokens_correct_mean"] is None and m["tokens_correct_median"] is None
    assert m["tokens_incorrect_median"] == 3.5 and m["no_answer_share"] == 0.0


def test_metric_objects_expand_per_k_and_name_their_outputs():
    ctx = MetricContext(ks=(1, 3), n=4, bootstrap_samples=100, seed=0)
    assert set(PASS_AT_K.compute(GOLDEN_PROBLEMS, ctx)) == {"pass@1", "pass@3"}
    assert set(PASS_AT_K_CI.compute(GOLDEN_PROBLEMS, ctx)) == {"pass@1_ci", "pass@3_ci"}
    assert PASS_AT_K.writes("pass@12") and not PASS_AT_K.writes("pass@1_ci") and PASS_AT_K_CI.writes("pass@1_ci")
    assert MEAN_TOKENS.compute([[{"num_tokens": 2}], [{"num_tokens": 4}, {"num_tokens": 6}]], ctx) == {"mean_tokens": 4.0}
    assert builtin_key("avg@16") and builtin_key("maj@3") and builtin_key("audit_disagreement")
    assert extra_keys({"pass@1": 0.5, "cut_rate": 0.1, "n": 4}) == ["cut_rate"]


def test_every_builtin_is_registered():
    assert {"pass_at_k", "pass_at_k_ci", "avg_at_n", "maj_at_k", "mean_tokens", "no_answer", "timeout",
            "error", *ADDED} <= set(METRICS.names())
    assert not extra_keys({key: 0.5 for key in ADDED})  # built-ins: no "Other metrics" column on a board


def test_a_registered_metric_runs_with_the_builtins(isolate):
    isolate(METRICS)
    longest = SampleLevelMetric("longest_answer", lambda samples: max(s["num_tokens"] for s in samples), max)
    METRICS.add("longest_answer", longest)
    METRICS.add("problems_all_wrong", CorpusLevelMetric(
        "all_wrong", lambda problems, ctx: sum(not any(s["outcome"] == "correct" for s in p) for p in problems)))
    got = compute_metrics(GOLDEN_PROBLEMS, ks=[1, 3], bootstrap_samples=500, seed=7)
    assert got["longest_answer"] == 10 + 8 * 3 + 3 and got["all_wrong"] == 0
    assert {k: v for k, v in got.items() if k not in ("longest_answer", "all_wrong", *ADDED)} == GOLDEN


def test_a_metric_writing_a_builtin_key_is_refused(isolate):
    isolate(METRICS)
    METRICS.add("impostor", SampleLevelMetric("pass@{k}", lambda samples, k: 1.0))
    with pytest.raises(HarnessError, match="metric 'impostor' writes 'pass@1', which metric 'pass_at_k' writes too"):
        compute_metrics(GOLDEN_PROBLEMS, ks=[1])
