"""`harness power`: how many seeds and samples a comparison needs, from a board's records or given components.

From records (a board, or a pilot run's records): every contrast's Pass@1 difference is split
into seed, problem, seed x problem and sampling variance (`harness.stats.variance_components`),
and for each number of samples per problem the fewest seeds that detect a difference of D
points with the asked power at the test's α. With a protocol the contrasts, benchmark and α
come from it, and α is split over its tests (Bonferroni: Holm's strictest step), so the plan
holds for the rule the board applies. Planning reads every record, seeds added after a
protocol included: it estimates variances, it tests nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from harness.console import stdout_console
from harness.contrasts import board_settings, components, select
from harness.errors import HarnessError
from harness.leaderboard import build_rows
from harness.protocol import load_protocol
from harness.records import find_records, setup_folder
from harness.stats import Components, detectable, seeds_needed

HELP = "Seeds and samples per problem a comparison needs: variance components from records, then a plan."
COMPONENT_NAMES = ("seed", "problem", "interaction", "sample")


def add_parser(sub, parent) -> None:
    p = sub.add_parser("power", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--records", metavar="DIR", default="leaderboards",
                   help="a board's folder or a pilot's records (default: leaderboards)")
    p.add_argument("--setup", help="which setup under --records (needed when it holds several)")
    p.add_argument("--contrast", action="append", metavar="A,B",
                   help="A minus B (repeatable; default: the protocol's contrasts, else board.yaml's)")
    p.add_argument("--student", help="only this student")
    p.add_argument("--benchmark", help="benchmark (default: the protocol's primary, else the first)")
    p.add_argument("--difference", type=float, default=5.0, metavar="D",
                   help="the difference to detect, in points of Pass@1 (default 5)")
    p.add_argument("--alpha", type=float,
                   help="two-sided α per test (default: the protocol's α over its tests, else 0.05)")
    p.add_argument("--power", type=float, default=0.8, help="power to detect D (default 0.8)")
    p.add_argument("--samples", metavar="N,N,...",
                   help="samples per problem to plan for (default: the records' n, 1, 4, 16, 64)")
    p.add_argument("--components", metavar="seed=SD,problem=SD,interaction=SD,sample=SD",
                   help="plan from these standard deviations (points) instead of records, with --problems")
    p.add_argument("--problems", type=int, help="problems in the benchmark (with --components)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if not 0 < args.power < 1:
        raise HarnessError(f"--power must be between 0 and 1, got {args.power}")
    if args.difference <= 0:
        raise HarnessError(f"--difference must be a positive number of points, got {args.difference}")
    if args.components:
        plans = [("given components", "—", _given(args.components, args.problems))]
        alpha, why = args.alpha or 0.05, "as given" if args.alpha else "default"
    else:
        plans, alpha, why = _from_records(args)
    if not 0 < alpha < 1:
        raise HarnessError(f"--alpha must be between 0 and 1, got {alpha}")
    print_plans(plans, args.difference / 100, alpha, why, args.power, _samples(args.samples, plans))
    return 0


def _given(text: str, problems: int | None) -> Components:
    if not problems or problems < 1:
        raise HarnessError("--components needs --problems N, the benchmark's number of problems")
    values: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in COMPONENT_NAMES:
            raise HarnessError(f"--components: unknown part {name.strip()!r} (known: {', '.join(COMPONENT_NAMES)})")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise HarnessError(f"--components: {name.strip()} needs a number of points, got {value!r}") from None
    if set(values) != set(COMPONENT_NAMES) or min(values.values()) < 0:
        raise HarnessError(f"--components needs all of {', '.join(COMPONENT_NAMES)}, each >= 0 (standard deviations in points)")
    return Components(*((values[n] / 100) ** 2 for n in COMPONENT_NAMES), seeds=0, problems=problems, samples=1)


def _from_records(args: argparse.Namespace) -> tuple[list[tuple[str, str, Components]], float, str]:
    setups = find_records(Path(args.records))
    if args.setup:
        if args.setup not in setups:
            raise HarnessError(f"no setup {args.setup!r} under {args.records} (found: {', '.join(setups)})")
        records = setups[args.setup]
    elif len(setups) == 1:
        records = next(iter(setups.values()))
    else:
        raise HarnessError(f"{args.records} holds several setups ({', '.join(setups)}); name one with --setup")
    folder = setup_folder(records)
    protocol = load_protocol(folder)
    rows = build_rows(records)
    benches = list(dict.fromkeys(b for r in rows for b in r.benches))
    bench = args.benchmark or (protocol.benchmark if protocol else benches[0])
    if bench not in benches:
        raise HarnessError(f"no record here has benchmark {bench!r} (they have {', '.join(benches)})")
    pairs = [_pair(c) for c in args.contrast] if args.contrast else \
        list(protocol.contrasts if protocol else board_settings(folder).contrasts)
    if not pairs:
        raise HarnessError(f"{folder}: no contrast to plan; name one with --contrast A,B")
    plans = []
    for a, b in pairs:
        for group in dict.fromkeys(r.group_key() for r in rows):
            if args.student and group[0] != args.student:
                continue
            a_row, b_row = select(a, rows, group, bench), select(b, rows, group, bench)
            found = components(a_row, b_row, bench) if a_row and b_row else None
            if found is not None:
                plans.append((f"{a} − {b}", group[0], found))
    if not plans:
        raise HarnessError(f"no listed contrast has both sides, with a shared seed, on {bench}"
                           + (f" for student {args.student!r}" if args.student else ""))
    tests = len(protocol.contrasts) * len({r.student for r in rows}) if protocol else 1
    if args.alpha:
        return plans, args.alpha, "as given"
    if protocol:
        return plans, protocol.alpha / tests, f"the protocol's α {protocol.alpha:g} split over its {tests} tests, Bonferroni"
    return plans, 0.05, "default; no protocol"


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(",")
    if not sep or not a.strip() or not b.strip():
        raise HarnessError(f"--contrast must be A,B (two method names), got {text!r}")
    return a.strip(), b.strip()


def _samples(text: str | None, plans: list[tuple[str, str, Components]]) -> list[int]:
    if text:
        try:
            values = sorted({int(v) for v in text.split(",") if v.strip()})
        except ValueError:
            raise HarnessError(f"--samples must be integers, got {text!r}") from None
        if not values or values[0] < 1:
            raise HarnessError(f"--samples must be integers >= 1, got {text!r}")
        return values
    return sorted({c.samples for _, _, c in plans if c.seeds} | {1, 4, 16, 64})


def print_plans(plans: list[tuple[str, str, Components]], difference: float, alpha: float, why: str, power: float,
                samples: list[int]) -> None:
    headers = ["contrast", "student", "seeds", "n", "sd seed", "sd problem", "sd seed×problem", "sd sample",
               "detectable now", *(f"seeds for D, n={n}" for n in samples)]
    table = []
    for name, student, c in plans:
        now = detectable(c, c.seeds, c.samples, alpha, power) if c.seeds else None
        cells = [name, student, str(c.seeds or "—"), str(c.samples if c.seeds else "—"),
                 *(f"{100 * getattr(c, part) ** 0.5:.1f}" if getattr(c, part) == getattr(c, part) else "?"
                   for part in COMPONENT_NAMES),
                 "—" if now is None else (f"{100 * now:.1f}" if now != float("inf") else "∞")]
        for n in samples:
            need = seeds_needed(c, difference, n, alpha, power)
            cells.append(str(need) if need is not None else "not reachable")
        table.append(cells)
    out = stdout_console()
    out.print(f"Plan for D = {100 * difference:g} points of Pass@1 with power {power:g} at two-sided α = {alpha:.4g} "
                  f"({why}); standard deviations in points; 'detectable now' is the smallest difference the "
                  "records' own seeds and samples detect. 'not reachable': the benchmark's problem spread alone "
                  "hides D at up to 200 seeds.", markup=False, highlight=False, soft_wrap=True)
    out.print(tabulate(table, headers=headers, tablefmt="github", disable_numparse=True),
                  markup=False, highlight=False, soft_wrap=True)
