"""Batched binary search for the minimal sufficient prefix of every trace at once.

All unfinished traces advance one search step together, so each round is exactly one
call of `judge(list of (item, t)) -> list[bool]`, which a judge serves with one batched
generation. Per trace this is the standard search over t in [1, m]: mid = (lo + hi) // 2;
sufficient -> remember mid and go left (hi = mid - 1), else go right (lo = mid + 1). A trace
of m pieces therefore costs at most ceil(log2(m + 1)) judge queries. With a judge that is
monotone in t (a longer prefix is never less sufficient) the result is the exact minimum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")
FAILURE_POLICIES = ("keep_full", "drop")


@dataclass
class SearchResult:
    """`t`: the chosen prefix length (pieces), None for a dropped trace; `fallback`: nothing was sufficient."""

    m: int
    t: int | None
    calls: int
    fallback: bool = False


@dataclass
class SearchReport(Generic[T]):
    results: list[SearchResult]
    rounds: int = 0
    judge_calls: int = 0  # batched calls, one per round
    queries: int = 0  # (trace, t) pairs judged in total
    failures: list[int] = field(default_factory=list)  # indices with no sufficient prefix

    def stats(self) -> dict:
        per_trace = [r.calls for r in self.results]
        return {
            "judge_rounds": self.rounds,
            "judge_batched_calls": self.judge_calls,
            "judge_queries": self.queries,
            "judge_queries_per_trace_max": max(per_trace, default=0),
            "judge_queries_per_trace_mean": sum(per_trace) / len(per_trace) if per_trace else 0.0,
            "searches_without_sufficient_prefix": len(self.failures),
        }


def batched_binary_search(
    items: Sequence[T],
    lengths: Sequence[int],
    judge: Callable[[list[tuple[T, int]]], list[bool]],
    failure_policy: str = "keep_full",
    on_round: Callable[[int, int], None] | None = None,
) -> SearchReport[T]:
    """Find, for every item, the smallest t in [1, lengths[i]] that `judge` calls sufficient.

    `failure_policy` decides what happens when no prefix is sufficient: `keep_full` keeps
    t = m (flagged as a fallback), `drop` returns t = None. `on_round(round, active)` is
    called before each batched judge call (for progress display).
    """
    if failure_policy not in FAILURE_POLICIES:
        raise HarnessError(f"unknown failure policy {failure_policy!r} (known: {', '.join(FAILURE_POLICIES)})")
    if len(items) != len(lengths):
        raise ValueError("items and lengths differ in length")
    lo = [1] * len(items)
    hi = list(lengths)
    best: list[int | None] = [None] * len(items)
    calls = [0] * len(items)
    report: SearchReport[T] = SearchReport(results=[])
    while True:
        active = [i for i in range(len(items)) if lo[i] <= hi[i]]
        if not active:
            break
        mids = {i: (lo[i] + hi[i]) // 2 for i in active}
        if on_round is not None:
            on_round(report.rounds, len(active))
        verdicts = judge([(items[i], mids[i]) for i in active])
        if len(verdicts) != len(active):
            raise ValueError(f"judge returned {len(verdicts)} verdicts for {len(active)} queries")
        report.rounds += 1
        report.judge_calls += 1
        report.queries += len(active)
        for i, sufficient in zip(active, verdicts):
            calls[i] += 1
            if sufficient:
                best[i] = mids[i]
                hi[i] = mids[i] - 1
            else:
                lo[i] = mids[i] + 1
    for i, m in enumerate(lengths):
        if best[i] is not None:
            report.results.append(SearchResult(m=m, t=best[i], calls=calls[i]))
            continue
        report.failures.append(i)
        t = m if failure_policy == "keep_full" and m > 0 else None
        report.results.append(SearchResult(m=m, t=t, calls=calls[i], fallback=True))
    return report
