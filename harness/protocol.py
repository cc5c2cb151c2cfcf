"""A board's protocol (`leaderboards/<setup>/protocol.yaml`), written before its runs, and the rule it decides by.

    written: before the runs         # or "after the runs": a retrospective protocol, printed as such
    primary: {benchmark: synth_target, metric: pass@1}
    alpha: 0.05
    correction: holm                 # over every listed contrast on every student it applies to
    seeds: [0, 1, 2, 3, 4]           # planned for every row; other seeds are shown apart, never compared
    contrasts:                       # A minus B; "best NAME" is chosen on the board's own numbers: post hoc
      - [palign, none]
      - [palign, full_cot]
    note: free text printed with the protocol (optional)

The rule (`RULE`, printed on every board that has a protocol): a contrast is established when,
on the primary benchmark and metric, both its two-level bootstrap test (seeds, then problems,
paired) and its seed-level paired t-test reject "no difference" at `alpha` after the correction,
with at least `MIN_SEEDS` shared seeds, and its pair was named before the runs (not "best").
Anything else is "not established", whichever way the point estimate goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.errors import HarnessError

PROTOCOL_FILE = "protocol.yaml"
MIN_SEEDS = 3
WRITTEN = ("before the runs", "after the runs")
CORRECTIONS = ("holm", "none")
BEST = "best "
RULE = (f"established when both the two-level bootstrap test (seeds, then problems, paired) and the seed-level "
        f"paired t-test reject a zero difference at the protocol's α after its correction, on the primary "
        f"benchmark and metric, with at least {MIN_SEEDS} shared seeds and a pair named before the runs; "
        f"otherwise not established, whichever way the estimate points")


@dataclass(frozen=True)
class Protocol:
    benchmark: str
    metric: str
    alpha: float
    correction: str
    seeds: tuple[int, ...]
    contrasts: tuple[tuple[str, str], ...]
    written: str
    note: str = ""
    path: Path = field(default=Path(PROTOCOL_FILE), compare=False)

    @property
    def k(self) -> int:
        """The k of the primary metric's pass@k."""
        return int(self.metric.split("@", 1)[1])

    @property
    def retrospective(self) -> bool:
        return self.written != WRITTEN[0]

    def planned(self, seed: int) -> bool:
        return seed in self.seeds


def load_protocol(folder: Path) -> Protocol | None:
    """The setup's protocol, or None when it has none. A malformed file is one line naming the problem."""
    path = Path(folder) / PROTOCOL_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        raise HarnessError(f"{path}: malformed YAML") from None
    known = {"written", "primary", "alpha", "correction", "seeds", "contrasts", "note"}
    if not isinstance(data, dict) or set(data) - known:
        extra = sorted(set(data) - known) if isinstance(data, dict) else []
        raise HarnessError(f"{path}: expected a mapping of {', '.join(sorted(known))}"
                           + (f" (unknown: {extra[0]!r})" if extra else ""))
    missing = [k for k in ("written", "primary", "alpha", "seeds", "contrasts") if k not in data]
    if missing:
        raise HarnessError(f"{path}: missing {missing[0]!r}")
    written = data["written"]
    if written not in WRITTEN:
        raise HarnessError(f"{path}: 'written' must be one of {' | '.join(repr(w) for w in WRITTEN)}")
    primary = data["primary"]
    if not (isinstance(primary, dict) and set(primary) == {"benchmark", "metric"}
            and isinstance(primary["benchmark"], str) and isinstance(primary["metric"], str)):
        raise HarnessError(f"{path}: 'primary' must be {{benchmark: NAME, metric: pass@K}}")
    metric = primary["metric"].strip().lower()
    if not (metric.startswith("pass@") and metric[5:].isdigit() and int(metric[5:]) >= 1):
        raise HarnessError(f"{path}: primary metric must be pass@K (K >= 1), got {primary['metric']!r}")
    alpha = data["alpha"]
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise HarnessError(f"{path}: 'alpha' must be a number between 0 and 1, got {alpha!r}")
    correction = data.get("correction", "holm")
    if correction not in CORRECTIONS:
        raise HarnessError(f"{path}: 'correction' must be one of {' | '.join(CORRECTIONS)}, got {correction!r}")
    seeds = data["seeds"]
    if not (isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
            and len(set(seeds)) == len(seeds)):
        raise HarnessError(f"{path}: 'seeds' must be a list of distinct integers")
    contrasts = data["contrasts"]
    if not isinstance(contrasts, list) or not contrasts:
        raise HarnessError(f"{path}: 'contrasts' must be a non-empty list of [A, B] pairs")
    pairs = contrast_pairs(contrasts, path)
    note = data.get("note") or ""
    if not isinstance(note, str):
        raise HarnessError(f"{path}: 'note' must be text")
    return Protocol(primary["benchmark"], metric, float(alpha), correction, tuple(seeds), tuple(pairs), written,
                    " ".join(note.split()), path)


def contrast_pairs(items: list, path: Path) -> list[tuple[str, str]]:
    """[[A, B], ...] as (A, B) tuples; anything else is one line naming the entry."""
    pairs = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) and x.strip() for x in item)):
            raise HarnessError(f"{path}: contrast {item!r} is not a pair of method names")
        pairs.append((item[0].strip(), item[1].strip()))
    return pairs


def post_hoc(name: str) -> bool:
    """A "best NAME" side is chosen on the numbers it is then compared on."""
    return name.startswith(BEST)


@dataclass(frozen=True)
class Test:
    """One contrast on one student, as the rule sees it."""

    p_two_level: float
    p_seed_t: float | None  # None with fewer than 2 seeds
    seeds: int
    post_hoc: bool


@dataclass(frozen=True)
class Verdict:
    established: bool
    reason: str  # why not, or "" when established
    p_two_level: float  # adjusted
    p_seed_t: float | None  # adjusted

    @property
    def words(self) -> str:
        return "established" if self.established else f"not established ({self.reason})"


def decide(tests: list[Test], alpha: float, correction: str) -> list[Verdict]:
    """The rule, applied to a family of tests; corrections run over the whole family, each test kind apart."""
    from harness.stats import holm

    adjust = holm if correction == "holm" else (lambda ps: list(ps))
    two_level = adjust([t.p_two_level for t in tests])
    seed_ps = [t.p_seed_t if t.p_seed_t is not None else 1.0 for t in tests]
    seed_t = adjust(seed_ps)
    out = []
    for t, p2, pt in zip(tests, two_level, seed_t):
        if t.post_hoc:
            reason = "post hoc: a side chosen on these numbers"
        elif t.seeds < MIN_SEEDS:
            reason = f"{t.seeds} shared seeds, the rule needs {MIN_SEEDS}"
        elif p2 >= alpha and pt >= alpha:
            reason = "neither test rejects"
        elif p2 >= alpha:
            reason = "the two-level test does not reject"
        elif pt >= alpha:
            reason = "the seed-level t-test does not reject"
        else:
            reason = ""
        out.append(Verdict(not reason, reason, p2, pt if t.p_seed_t is not None else None))
    return out
