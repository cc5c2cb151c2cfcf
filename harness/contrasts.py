"""A setup's comparison settings (`leaderboards/<setup>/board.yaml`) and the contrasts they name.

    baseline: none                  # every row's paired comparison is against this method
    contrasts:                      # extra paired differences, A minus B, per student
      - [full_cot, short_cot]
      - [palign, best fixed_trunc]  # "best NAME": NAME's variant with the highest mean Pass@1
                                    # on the setup's first benchmark (chosen on these numbers)

Every method is named the same way, built-in or plugin: a contrast is a pair of row
selections on one student and teacher data, and its number is the paired bootstrap
difference the paired table uses. That interval resamples problems of the seed-averaged
scores, so it is blind to seed-to-seed variance; each contrast also carries its difference
in every seed both sides ran, which shows whether the seeds agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from harness.errors import HarnessError
from harness.leaderboard import BASELINE, Estimate, Row, cell_rng, bootstrap_means, interval, pass_estimate

SETTINGS_FILE = "board.yaml"
BEST = "best "


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
    pairs = []
    for item in contrasts:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) and x.strip() for x in item)):
            raise HarnessError(f"{path}: contrast {item!r} is not a pair of method names")
        pairs.append((item[0].strip(), item[1].strip()))
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
class Contrast:
    a: str
    b: str
    student: str
    a_row: Row
    b_row: Row
    differences: dict[str, Estimate | None]
    per_seed: dict[str, dict[int, float] | None]


def paired_difference(row: Row, base: Row, bench: str) -> Estimate | None:
    """Mean per-problem accuracy difference (row - base) with a paired bootstrap over problems.

    Seeds are paired too: when the rows share seeds, only those count, so a row run with
    extra seeds is not compared on a different draw of training runs than its partner.
    None when the two rows were not evaluated on the same problems of this benchmark.
    """
    pair = _same_problems(row, base, bench)
    if pair is None:
        return None
    a, b = pair
    shared = set(a.correct) & set(b.correct)
    diff = _seed_mean(a.correct, shared) - _seed_mean(b.correct, shared)
    draws = bootstrap_means(diff, cell_rng("paired", row.label, base.label, row.student, bench))
    return Estimate(float(diff.mean()), None, interval(draws))


def _same_problems(a: Row, b: Row, bench: str):
    x, y = a.benches.get(bench), b.benches.get(bench)
    return None if x is None or y is None or x.problems != y.problems else (x, y)


def _seed_mean(per_seed: dict[int, np.ndarray], seeds: set[int]) -> np.ndarray:
    return np.mean([v for s, v in per_seed.items() if s in seeds or not seeds], axis=0)


def seed_differences(a: Row, b: Row, bench: str) -> dict[int, float] | None:
    """Pass@1 of `a` minus `b` in each seed both ran; None when they were not evaluated on the same problems."""
    pair = _same_problems(a, b, bench)
    if pair is None:
        return None
    x, y = pair
    return {s: float(x.correct[s].mean() - y.correct[s].mean()) for s in sorted(set(x.correct) & set(y.correct))}


def contrasts(settings: BoardSettings, rows: list[Row], benches: list[str]) -> list[Contrast]:
    """Every configured contrast on every student and teacher data where both sides ran."""
    out = []
    groups = list(dict.fromkeys(r.group_key() for r in rows))
    for a, b in settings.contrasts:
        for group in groups:
            a_row, b_row = select(a, rows, group, benches[0]), select(b, rows, group, benches[0])
            if a_row is None or b_row is None:
                continue
            diffs = {bench: paired_difference(a_row, b_row, bench) for bench in benches}
            per_seed = {bench: seed_differences(a_row, b_row, bench) for bench in benches}
            out.append(Contrast(a, b, group[0], a_row, b_row, diffs, per_seed))
    return out
