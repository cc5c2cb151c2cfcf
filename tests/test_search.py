import math

import pytest

from harness.errors import HarnessError
from palign.search import batched_binary_search


class OracleJudge:
    """Monotone: prefix t of item i is sufficient iff t >= need[i]; records each batched call."""

    def __init__(self, need):
        self.need = need
        self.batches = []

    def __call__(self, batch):
        self.batches.append(list(batch))
        return [t >= self.need[i] for i, t in batch]


@pytest.mark.parametrize("m", [1, 2, 3, 4, 7, 8, 15, 16, 33, 100])
def test_finds_exact_minimum_for_every_threshold_within_log_calls(m):
    # One item per threshold position, plus one that is never sufficient.
    needs = list(range(1, m + 1)) + [m + 1]
    judge = OracleJudge(needs)
    report = batched_binary_search(list(range(len(needs))), [m] * len(needs), judge, failure_policy="drop")
    bound = math.ceil(math.log2(m + 1))
    for need, result in zip(needs, report.results):
        assert result.calls <= bound
        assert result.t == (need if need <= m else None)
    # Exactly one batched judge call per round, and each item at most once per round.
    assert report.judge_calls == report.rounds == len(judge.batches)
    assert all(len({i for i, _ in b}) == len(b) for b in judge.batches)
    assert report.queries == sum(len(b) for b in judge.batches) == sum(r.calls for r in report.results)
    assert report.failures == [len(needs) - 1]


def test_mixed_lengths_share_rounds():
    lengths = [1, 5, 40, 0]
    needs = [1, 3, 17, 1]
    judge = OracleJudge(needs)
    report = batched_binary_search(list(range(4)), lengths, judge)
    assert [r.t for r in report.results[:3]] == [1, 3, 17]
    assert report.rounds <= math.ceil(math.log2(41))
    assert report.rounds == max(r.calls for r in report.results)
    assert report.results[3].t is None and report.results[3].calls == 0


def test_failure_policy_keep_full_flags_the_trace():
    judge = OracleJudge([99, 2])
    report = batched_binary_search([0, 1], [6, 6], judge, failure_policy="keep_full")
    assert (report.results[0].t, report.results[0].fallback) == (6, True)
    assert (report.results[1].t, report.results[1].fallback) == (2, False)
    assert report.stats()["searches_without_sufficient_prefix"] == 1


def test_unknown_failure_policy_is_a_user_error():
    with pytest.raises(HarnessError):
        batched_binary_search([0], [3], OracleJudge([1]), failure_policy="maybe")
