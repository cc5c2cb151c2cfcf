"""What a board says when it compares rows: the paired table, the contrasts with their verdicts, the findings.

Library code the `harness leaderboard` command renders; everything is recomputed from the
records. The words a board may use for a contrast come from one place, `harness.protocol`'s
rule: "established" or "not established (why)". A board without a protocol prints no verdict
at all, only intervals labelled exploratory.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from tabulate import tabulate

from harness.contrasts import Contrast, Difference, contrasts, paired_difference
from harness.leaderboard import (BASELINE, Estimate, Row, average_estimate, baseline_for, pass_estimate,
                                 tokens_estimate, training_value)
from harness.protocol import MIN_SEEDS, RULE, Protocol, Test, Verdict, decide

NO_PROTOCOL = "no protocol: exploratory"


def text(value: object) -> str:
    """A record's text as one inert markdown table cell: no HTML, no row or column breaks."""
    out = html.escape(" ".join(str(value).split()), quote=False)
    return out.replace("|", "\\|").replace("`", "'")


def fmt(est: Estimate | None, scale: float = 100.0, digits: int = 1, signed: bool = False) -> str:
    """`mean ± std [lo, hi]` in points (scale 100), the parts an estimate has."""
    if est is None:
        return "—"
    f = (lambda v: f"{scale * v:+.{digits}f}") if signed else (lambda v: f"{scale * v:.{digits}f}")
    out = f(est.mean)
    if est.std is not None:
        out += f" ± {scale * est.std:.{digits}f}"
    if est.ci is not None:
        out += f" [{f(est.ci[0])}, {f(est.ci[1])}]"
    return out


def _span(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"


def _p(p: float | None) -> str:
    return "—" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _per_seed(diff: Difference | None) -> str:
    return "—" if diff is None else ", ".join(f"s{seed} {100 * d:+.1f}" for seed, d in diff.per_seed.items())


# ---------------------------------------------------------------- contrasts and their verdicts

@dataclass
class Judged:
    contrast: Contrast
    diff: Difference | None  # on the primary benchmark
    verdict: Verdict | None  # None without a protocol, or when the pair has no shared seed


def judge(pairs: list[tuple[str, str]], rows: list[Row], benches: list[str], protocol: Protocol | None) -> list[Judged]:
    """Every listed contrast where both sides ran, with the protocol's verdict on its primary benchmark."""
    primary = protocol.benchmark if protocol else benches[0]
    k = protocol.k if protocol else 1
    found = contrasts(pairs, rows, benches, primary, k)
    judged = [Judged(c, c.differences.get(primary), None) for c in found]
    tested = [j for j in judged if j.diff is not None]
    if protocol is not None and tested:
        tests = [Test(j.diff.p, j.diff.t.p if j.diff.t else None, len(j.diff.per_seed), j.contrast.post_hoc)
                 for j in tested]
        for j, verdict in zip(tested, decide(tests, protocol.alpha, protocol.correction)):
            j.verdict = verdict
    return judged


def _name(c: Contrast) -> str:
    name = f"{text(c.a)} − {text(c.b)}"
    if c.a_row.label != c.a or c.b_row.label != c.b:
        name += f" ({text(c.a_row.label)} − {text(c.b_row.label)})"
    return name


def contrast_section(judged: list[Judged], benches: list[str], protocol: Protocol | None) -> list[str]:
    if not judged:
        return ["No listed contrast has both of its methods on one student and teacher data here."]
    primary = protocol.benchmark if protocol else benches[0]
    metric = f"Pass@{protocol.k}" if protocol else "Pass@1"
    table = []
    for j in judged:
        d, v = j.diff, j.verdict
        table.append([_name(j.contrast), text(j.contrast.student), str(len(d.per_seed)) if d else "—",
                      fmt(d.estimate(), signed=True) if d else "—",
                      _span(d.t.interval) if d and d.t and d.t.seeds >= MIN_SEEDS else "—",
                      _per_seed(d), _span(d.problem_ci) if d else "—",
                      _p(v.p_two_level) if v else (_p(d.p) if d else "—"),
                      _p(v.p_seed_t) if v else (_p(d.t.p if d.t else None) if d else "—"),
                      (v.words if v else "—") if protocol else NO_PROTOCOL])
    adjusted = "adjusted" if protocol and protocol.correction != "none" else "unadjusted"
    headers = ["contrast (A − B)", "student", "seeds", f"{primary} Δ {metric} (points) [two-level 95%]",
               "seed-level t 95%", "Δ per seed", "problem-only 95% (blind to seed variance)",
               f"p two-level ({adjusted})", f"p seed t ({adjusted})", "verdict"]
    lines = [tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]
    others = [b for b in benches if b != primary]
    if others:
        rows = [[_name(j.contrast), text(j.contrast.student)]
                + [f"{fmt(j.contrast.differences[b].estimate(), signed=True)}; {_per_seed(j.contrast.differences[b])}"
                   if j.contrast.differences.get(b) else "—" for b in others] for j in judged]
        lines += ["", "The same contrasts on the other benchmarks (Pass@1, two-level 95% interval, then each seed; "
                      "secondary: no test, no verdict):", "",
                  tabulate(rows, headers=["contrast (A − B)", "student", *(f"{text(b)} Δ Pass@1 (points)" for b in others)],
                           tablefmt="github", disable_numparse=True)]
    return lines


def verdict_findings(judged: list[Judged], protocol: Protocol | None) -> list[str]:
    """One sentence per contrast in the rule's words; none without a protocol."""
    if protocol is None:
        return []
    tag = " (retrospective protocol: written after the runs)" if protocol.retrospective else ""
    out = [f"- Protocol contrasts on {text(protocol.benchmark)} {protocol.metric.capitalize()}, α = {protocol.alpha:g}, "
           f"{protocol.correction} correction over {sum(j.verdict is not None for j in judged)} tests{tag}. "
           f"Rule: {RULE}."]
    for j in judged:
        c, d, v = j.contrast, j.diff, j.verdict
        if d is None or v is None:
            out.append(f"- {_name(c)} on `{text(c.student)}`: not established (no shared seed on the same problems).")
            continue
        t = f"; seed-level t {_span(d.t.interval)}" if d.t and d.t.seeds >= MIN_SEEDS else ""
        out.append(f"- {_name(c)} on `{text(c.student)}`: {100 * d.mean:+.1f} points, two-level {_span(d.ci)}{t}, "
                   f"{len(d.per_seed)} seeds; adjusted p {_p(v.p_two_level)} (two-level), {_p(v.p_seed_t)} (seed t): "
                   f"**{v.words}**.")
    return out


# ---------------------------------------------------------------- baseline table and findings

def paired_section(rows: list[Row], benches: list[str], baseline: str = BASELINE) -> list[str]:
    table = []
    for row in rows:
        base = baseline_for(row, rows, baseline)
        if row.method == baseline or base is None:
            continue
        table.append([text(row.label), text(row.student)] + [fmt(paired_difference(row, base, b), signed=True)
                                                             for b in benches])
    if not table:
        return [f"No `{text(baseline)}` run shares a student and teacher data with another method here."]
    headers = ["method", "student"] + [f"{text(b)} Δ Pass@1 vs {text(baseline)} (points)" for b in benches]
    return [tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]


def findings(rows: list[Row], benches: list[str], baseline: str, judged: list[Judged],
             protocol: Protocol | None) -> list[str]:
    """The protocol's verdicts, then descriptive statements read off the tables, wins and losses alike."""
    out = verdict_findings(judged, protocol)
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group_key(), []).append(row)
    for (student, _, teacher_key), members in groups.items():
        # Rankings compare rows that share a student and teacher data; across them they say nothing.
        where = f" on `{text(student)}` with teacher data `{text(teacher_key)}`" if len(groups) > 1 else ""
        out += _rankings(members, benches, where)
    out += _budget_findings(rows)
    for row in rows:
        base = baseline_for(row, rows, baseline)
        if row.method == baseline or base is None:
            continue
        verdicts: dict[str, list[str]] = {"above 0": [], "below 0": [], "includes 0": []}
        for b in benches:
            d = paired_difference(row, base, b)
            if d is None:
                continue
            side = "above 0" if d.ci[0] > 0 else "below 0" if d.ci[1] < 0 else "includes 0"
            verdicts[side].append(f"{text(b)} ({100 * d.mean:+.1f})")
        said = [f"{side} on {', '.join(items)}" for side, items in verdicts.items() if items]
        ratio = tokens_estimate(row).mean / max(tokens_estimate(base).mean, 1e-9)
        if said:
            where = "" if len({r.student for r in rows}) == 1 else f" on `{text(row.student)}`"
            out.append(f"- {text(row.label)} − {text(baseline)}{where}: the two-level 95% interval (uncorrected, "
                       "not a protocol test) " + "; ".join(f"is {x}" if not x.startswith("includes") else x for x in said) + f"; its answers use {ratio:.2f}x the tokens of {text(baseline)}'s.")
    return out or ["- Nothing to compare yet."]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _rankings(rows: list[Row], benches: list[str], where: str) -> list[str]:
    out = []
    for b in benches:
        scored = [(pass_estimate(r, b, 1)[0].mean, text(r.label)) for r in rows if b in r.benches]
        if not scored:
            continue
        top = max(m for m, _ in scored)
        leaders = [label for m, label in scored if m == top]
        who = leaders[0] if len(leaders) == 1 else f"a tie between {', '.join(leaders)}"
        out.append(f"- {text(b)}{where}: highest mean Pass@1 is {who} ({_pct(top)}; a point estimate, not a test).")
    averaged = [(average_estimate(r, benches, 1), r) for r in rows if set(benches) <= set(r.benches)]
    ranked = sorted(((e.mean, text(r.label)) for e, r in averaged if e), key=lambda x: -x[0])
    if ranked:
        line = f"{ranked[0][1]} ({_pct(ranked[0][0])})"
        for (prev, _), (m, label) in zip(ranked, ranked[1:]):
            line += f" {'=' if m == prev else '>'} {label} ({_pct(m)})"
        out.append(f"- Average Pass@1 order of point estimates{where}: {line}.")
    return out


def _budget_findings(rows: list[Row]) -> list[str]:
    """Whether the trained rows got the same number of optimizer steps, per student and teacher data."""
    out = []
    groups: dict[tuple, list[tuple[str, float]]] = {}
    for row in rows:
        steps = training_value(row, "steps")
        if steps is not None:
            groups.setdefault(row.group_key(), []).append((text(row.label), steps.mean))
    for (student, _, teacher_key), members in groups.items():
        if len(members) < 2:
            continue
        where = f" on `{text(student)}` with teacher data `{text(teacher_key)}`" if len(groups) > 1 else ""
        shown = ", ".join(f"{label} {steps:.0f}" for label, steps in sorted(members, key=lambda m: (m[1], m[0])))
        if len({round(steps, 6) for _, steps in members}) > 1:
            out.append(f"- The trained rows{where} ran different numbers of optimizer steps (mean per seed: {shown}): "
                       "accuracy differences between them also measure how long each trained "
                       "(`train.budget=steps` gives every method the same number).")
        else:
            out.append(f"- Every trained row{where} ran the same number of optimizer steps ({members[0][1]:.0f}).")
    return out
