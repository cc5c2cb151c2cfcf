"""Paired differences between rows, and a setup's display settings (`leaderboards/<setup>/board.yaml`).

    baseline: none                  # every row's paired comparison is against this method
    contrasts:                      # only on a board without a protocol (exploratory):
      - [full_cot, short_cot]       # A minus B, per student
      - [palign, best fixed_trunc]  # "best NAME": NAME's variant with the highest mean Pass@1
                                    # on the selection benchmark (chosen on these numbers)

A board with a `protocol.yaml` lists its contrasts there (`harness.protocol`). Every method is
named the same way, built-in or plugin: a contrast is a pair of row selections on one student
and teacher data. Its difference is paired by seed index and problem, and carries a two-level
bootstrap interval (seeds, then problems), the seed-level paired t-interval, the problem-only
interval (blind to seed variance, shown as a secondary column) and every seed's difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from harness.errors import HarnessError
from harness.leaderboard import BASELINE, Estimate, Row, cell_rng, pass_estimate
from harness.protocol import BEST, contrast_pairs, post_hoc
from harness.stats import (DRAWS, Components, TResult, bootstrap_p, percentile_interval, problem_draws,
                           seed_t_interval, two_level_draws, variance_components)

SETTINGS_FILE = "board.yaml"
# More draws than a cell: a contrast's bootstrap p-value is corrected for several tests.
CONTRAST_DRAWS = 10000


@dataclass
class BoardSettings:
    baseline: str = BASELINE
    contrasts: list[tuple[str, str]] = field(default_factory=list)


def board_settings(folder: Path) -> BoardSettings:
    """The setup's settings; defaults when it has no board.yaml. Any malformed entry is one line."""
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        return BoardSettings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise HarnessError(f"{path}: malformed YAML") from None
    if not isinstance(data, dict) or set(data) - {"baseline", "contrasts"}:
        raise HarnessError(f"{path}: expected a mapping with 'baseline' and/or 'contrasts'")
    baseline = data.get("baseline", BASELINE)
    contrasts = data.get("contrasts") or []
    if not isinstance(baseline, str) or not isinstance(contrasts, list):
        raise HarnessError(f"{path}: 'baseline' must be a method name and 'contrasts' a list of [A, B] pairs")
    pairs = contrast_pairs(contrasts, path)
    return BoardSettings(baseline, pairs)


def select(name: str, rows: list[Row], group: tuple, bench: str) -> Row | None:
    """The row `name` names within one student and teacher data ("best NAME": its top variant on `bench`)."""
    method = name[len(BEST):].strip() if name.startswith(BEST) else name
    candidates = [r for r in rows if r.method == method and r.group_key() == group]
    if not name.startswith(BEST):
        exact = [r for r in candidates if r.label == name]
        return (exact or candidates or [None])[0]
    scored = [(pass_estimate(r, bench, 1), r) for r in candidates if bench in r.benches]
    scored = [(est[0].mean, r) for est, r in scored if est]
    return max(scored, key=lambda x: x[0])[1] if scored else None


@dataclass
class Difference:
    """A minus B on one benchmark, paired by seed index and problem, in fractions."""

    mean: float
    ci: tuple[float, float]  # two-level bootstrap: seeds, then problems
    problem_ci: tuple[float, float]  # problems only, seed-averaged: blind to seed variance
    p: float  # two-level bootstrap, two-sided
    t: TResult | None  # seed-level paired t (None with one seed)
    per_seed: dict[int, float]

    def estimate(self) -> Estimate:
        return Estimate(self.mean, None, self.ci)


@dataclass
class Contrast:
    a: str
    b: str
    student: str
    a_row: Row
    b_row: Row
    differences: dict[str, Difference | None]

    @property
    def post_hoc(self) -> bool:
        return post_hoc(self.a) or post_hoc(self.b)


def paired_matrix(row: Row, base: Row, bench: str, k: int = 1) -> tuple[list[int], np.ndarray] | None:
    """(shared seeds, seeds x problems of row - base pass@k); None without the same problems or a shared seed."""
    x, y = row.benches.get(bench), base.benches.get(bench)
    if x is None or y is None or x.problems != y.problems:
        return None
    shared = sorted(set(x.passk.get(k, {})) & set(y.passk.get(k, {})))
    if not shared:
        return None
    return shared, np.stack([x.passk[k][s] - y.passk[k][s] for s in shared])


def difference(row: Row, base: Row, bench: str, k: int = 1, draws: int = DRAWS) -> Difference | None:
    """Pass@k of `row` minus `base` on the problems and seeds both ran, with every interval the board prints."""
    pair = paired_matrix(row, base, bench, k)
    if pair is None:
        return None
    seeds, d = pair
    parts = ("paired", row.label, base.label, row.student, bench) + ((str(k),) if k != 1 else ())
    two_level = two_level_draws(d, cell_rng(*parts), draws)
    problems_only = problem_draws(d, cell_rng("problems", *parts), draws)
    per_seed = d.mean(axis=1)
    return Difference(float(d.mean()), percentile_interval(two_level), percentile_interval(problems_only),
                      bootstrap_p(two_level), seed_t_interval(per_seed),
                      {s: float(v) for s, v in zip(seeds, per_seed)})


def paired_difference(row: Row, base: Row, bench: str) -> Estimate | None:
    """Mean per-problem accuracy difference (row - base), with its two-level paired bootstrap interval.

    Seeds are paired: only the seeds both rows ran count, so a row run with extra seeds is not
    compared on a different draw of training runs than its partner. None when the two rows
    were not evaluated on the same problems of this benchmark or share no seed.
    """
    diff = difference(row, base, bench)
    return None if diff is None else diff.estimate()


def contrasts(pairs: list[tuple[str, str]], rows: list[Row], benches: list[str], selection_bench: str,
              k: int = 1, draws: int = CONTRAST_DRAWS) -> list[Contrast]:
    """Every listed contrast on every student and teacher data where both sides ran."""
    out = []
    groups = list(dict.fromkeys(r.group_key() for r in rows))
    for a, b in pairs:
        for group in groups:
            a_row, b_row = select(a, rows, group, selection_bench), select(b, rows, group, selection_bench)
            if a_row is None or b_row is None:
                continue
            diffs = {bench: difference(a_row, b_row, bench, k, draws) for bench in benches}
            out.append(Contrast(a, b, group[0], a_row, b_row, diffs))
    return out


def components(row: Row, base: Row, bench: str) -> Components | None:
    """Variance components of `row` - `base` on Pass@1, from the seeds both ran; None where they cannot pair."""
    x, y = row.benches.get(bench), base.benches.get(bench)
    if x is None or y is None or x.problems != y.problems:
        return None
    shared = sorted(set(x.correct) & set(y.correct))
    if not shared:
        return None
    a = np.stack([x.correct[s] for s in shared])
    b = np.stack([y.correct[s] for s in shared])
    return variance_components(a, b, min(x.min_n, y.min_n))
