"""`harness leaderboard`: render leaderboards/README.md from stored result records (--check to verify).

The markdown is a pure function of the record files (and an optional hand-written NOTES.md
beside each setup's records/ folder): no timestamps, fixed ordering, seeded bootstraps. So
`--check` can compare it byte for byte. Plots are written next to it but never checked.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from tabulate import tabulate

from harness.console import console
from harness.contrasts import BoardSettings, board_settings, contrasts, paired_difference
from harness.errors import HarnessError
from harness.leaderboard import (BASELINE, BOOTSTRAP_SAMPLES, K_VALUES, Estimate, Record, Row, average_estimate,
                                 baseline_for, build_rows, dropped_by_reason, find_records, kept_ratios,
                                 pass_estimate, setup_folder, tokens_estimate, training_budget,
                                 training_value)
from harness.leaderboard_metrics import other_metrics_section

HELP = "Render leaderboards/README.md from stored result records (--check to verify)."

HOW_TO_READ = f"""\
How to read these tables. Every number is recomputed from the per-sample outcomes stored in
the records. Pass@k is the unbiased estimator (1 - C(n-c,k)/C(n,k) per problem, averaged over
problems), in percent. A cell reads `mean ± std [lo, hi]`: the mean over seeds, the sample
standard deviation over seeds (ddof=1; absent with one seed; the number of seeds is in the
`seeds` column), and the 95% percentile-bootstrap interval over problems ({BOOTSTRAP_SAMPLES}
resamples, seeded) of the per-problem score averaged over seeds. Pass@3 needs at least 3
samples per problem in every seed. `avg Pass@1` is the unweighted mean over benchmarks (its
interval resamples problems within each benchmark). `tokens/answer` is the mean generated
tokens per sample; `kept prefix` is the mean share of the teacher CoT that a prefix method
kept. The training table shows how much each model trained, mean ± std over seeds (— for a
method that does not train, or a record written before the field existed): `budget` is
`steps=N` (every method ran N optimizer steps, cycling its data) or `epochs=E` (E passes over
the method's own data, so a method that keeps fewer examples takes fewer steps); `steps` are
the optimizer steps run; `examples` the training examples; `examples seen` the examples fed
over all steps, repeats included; `trained tokens` the non-padding prompt+completion tokens
processed over all steps; `tokens/epoch` the prompt+completion tokens of one pass over the
data after truncation; `dropped traces` the teacher traces the method discarded, by reason,
as the mean count per seed. The paired table compares each method with the setup's baseline
(`{BASELINE}` unless its `board.yaml` names another) on the same student, teacher data and
problems: per-problem accuracy (mean over samples and the seeds both ran) minus the
baseline's, in points, with a paired bootstrap interval over problems; the contrasts table
does the same for the pairs the setup's `board.yaml` lists, and adds the difference in each
seed (`s0`, `s1`, ...), because the interval resamples problems and does not see
seed-to-seed variance: seeds that disagree in sign weaken a difference whose interval
excludes 0. An interval that contains 0 is not evidence of a difference."""


def add_parser(sub, parent) -> None:
    p = sub.add_parser("leaderboard", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--records", metavar="DIR", default="leaderboards",
                   help="folder of result records: DIR/<setup>/records/*.json (default: leaderboards)")
    p.add_argument("--out", metavar="FILE", help="markdown to write (default: DIR/README.md); plots go to its plots/ folder")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when FILE differs from what the records render")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    records_dir = Path(args.records)
    out = Path(args.out) if args.out else records_dir / "README.md"
    setups = find_records(records_dir)
    text = render(setups, out, write_plots=not args.check)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current != text:
            reason = "does not exist" if current is None else "differs from what the records render"
            print(f"error: {out} {reason}; run `harness leaderboard --records {records_dir} --out {out}`",
                  file=sys.stderr)
            return 1
        console.print(f"{out} is up to date ({sum(map(len, setups.values()))} records)")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    console.print(f"wrote {out} ({len(setups)} setups, {sum(map(len, setups.values()))} records)")
    return 0


# ---------------------------------------------------------------- rendering

def render(setups: dict, out: Path, write_plots: bool = False) -> str:
    """The whole markdown file; with write_plots, the PNGs it links are (re)written too."""
    parts = ["# Leaderboards", "",
             "<!-- Generated by `harness leaderboard` from the result records; do not edit by hand. "
             "`harness leaderboard --check` fails on any difference. -->", "", HOW_TO_READ, ""]
    for name, records in setups.items():
        parts += render_setup(name, records, out, write_plots)
    return "\n".join(parts).rstrip("\n") + "\n"


def render_setup(name: str, records: list, out: Path, write_plots: bool) -> list[str]:
    rows = build_rows(records)
    benches = _benchmarks(rows)
    settings = board_settings(setup_folder(records))
    lines = [f"## {name}", "", *_describe(rows, records, benches, out), ""]
    notes = setup_folder(records) / "NOTES.md"
    if notes.is_file():
        lines += [notes.read_text(encoding="utf-8").strip(), ""]
    lines += ["### Results", "", results_table(rows, benches), ""]
    if not any(pass_estimate(r, b, 3) for r in rows for b in benches if b in r.benches):
        lines += ["Pass@3 is not available: no run here has at least 3 samples per problem (eval.n >= 3).", ""]
    lines += other_metrics_section(rows, benches)
    lines += ["### Training", "", *training_section(rows), ""]
    lines += [f"### Paired comparison with `{settings.baseline}`", "", *paired_section(rows, benches, settings.baseline), ""]
    if settings.contrasts:
        lines += ["### Contrasts", "", *contrast_section(settings, rows, benches), ""]
    lines += ["### Findings (generated from the numbers above)", "", *findings(rows, benches, settings.baseline), ""]
    lines += ["### Plots", "", *_plots(name, rows, benches, out, write_plots), ""]
    lines += ["### Records", "", records_table(records, out), ""]
    return lines


def _benchmarks(rows: list[Row]) -> list[str]:
    seen: list[str] = []
    for row in rows:
        seen += [b for b in row.benches if b not in seen]
    return seen


def _rel(path: Path, out: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), out.resolve().parent)).as_posix()


def _describe(rows: list[Row], records: list, benches: list[str], out: Path) -> list[str]:
    students = sorted({r.student for r in rows})
    teachers = sorted({f"{r.teacher['source']} ({r.teacher['num_traces']} traces, key `{r.teacher['key']}`)" for r in rows})
    sizes = []
    for b in benches:
        ns = sorted({r.benches[b].min_n for r in rows if b in r.benches})
        count = next(len(r.benches[b].problems) for r in rows if b in r.benches)
        sizes.append(f"{b} ({count} problems, n={'/'.join(map(str, ns))})")
    sampling = sorted({_sampling(rec.data) for rec in records} - {""})
    lines = [f"- Student: {', '.join(f'`{s}`' for s in students)}",
             f"- Teacher data: {'; '.join(teachers)}",
             f"- Benchmarks (problems, samples per problem): {', '.join(sizes)}",
             f"- Records: {len(records)} in `{_rel(records[0].path.parent, out)}/`, {len(rows)} rows"]
    if sampling:
        lines.append(f"- Evaluation sampling: {'; '.join(sampling)}")
    return lines


def _sampling(data: dict) -> str:
    """Evaluation sampling from the record's manifest, when the manifest carries the config."""
    config = (data.get("manifest") or {}).get("config") or {}
    sampling = ((config.get("eval") or {}) if isinstance(config, dict) else {}).get("sampling")
    if not isinstance(sampling, dict):
        return ""
    keys = ("temperature", "top_p", "repetition_penalty", "max_new_tokens")
    return ", ".join(f"{k}={sampling[k]}" for k in keys if k in sampling)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def fmt(est: Estimate | None, scale: float = 100.0, digits: int = 1, signed: bool = False) -> str:
    if est is None:
        return "—"
    f = (lambda v: f"{scale * v:+.{digits}f}") if signed else (lambda v: f"{scale * v:.{digits}f}")
    text = f(est.mean)
    if est.std is not None:
        text += f" ± {scale * est.std:.{digits}f}"
    if est.ci is not None:
        text += f" [{f(est.ci[0])}, {f(est.ci[1])}]"
    return text


def results_table(rows: list[Row], benches: list[str]) -> str:
    show_k3 = any(pass_estimate(r, b, 3) for r in rows for b in benches if b in r.benches)
    ks = [k for k in K_VALUES if k == 1 or show_k3]
    headers = ["method", "student", "teacher data", "seeds"]
    headers += [f"{b} Pass@{k}" for k in ks for b in benches]
    headers += ["avg Pass@1", "tokens/answer", "kept prefix"]
    table = []
    for row in rows:
        cells = [row.label, row.student, f"{row.teacher['source']} ({row.teacher['num_traces']})", str(len(row.records))]
        for k in ks:
            for b in benches:
                est = pass_estimate(row, b, k) if b in row.benches else None
                n = row.benches[b].min_n if b in row.benches else 0
                cells.append(fmt(est[0]) if est else (f"n/a (n={n})" if b in row.benches else "—"))
        cells.append(fmt(average_estimate(row, benches, 1)) if set(benches) <= set(row.benches) else "—")
        cells.append(fmt(tokens_estimate(row), scale=1.0))
        ratios = kept_ratios(row)
        cells.append(f"{sum(ratios) / len(ratios):.2f}" if ratios else "—")
        table.append(cells)
    return tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def training_rate(record: Record) -> str | None:
    """The peak learning rate of the record's training, from the config in its manifest; None when
    the method does not train or the record does not say. The students of one board may differ
    in it (a rate that suits one size breaks another), so the board shows it per row."""
    if not isinstance(record.data["training"], dict):
        return None
    config = (record.data.get("manifest") or {}).get("config") or {}
    rate = ((config.get("train") or {}) if isinstance(config, dict) else {}).get("learning_rate")
    return f"{rate:g}" if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None


TRAINING_COLUMNS = (("steps", "steps"), ("examples", "examples"), ("examples seen", "examples_seen"),
                    ("trained tokens", "trained_tokens"), ("tokens/epoch", "train_tokens"))


def training_section(rows: list[Row]) -> list[str]:
    """One line per row: the budget, how much it trained, and what the method dropped."""
    table, inferred = [], False
    for row in rows:
        budgets = [training_budget(r) for r in row.records]
        inferred |= any(b and b[1] for b in budgets)
        shown = sorted({b[0] for b in budgets if b})
        rates = sorted({rate for rate in map(training_rate, row.records) if rate})
        cells = [row.label, row.student, str(len(row.records)), ", ".join(shown) or "—", ", ".join(rates) or "—"]
        cells += [fmt(training_value(row, name), scale=1.0, digits=0) for _, name in TRAINING_COLUMNS]
        cells.append(_dropped(dropped_by_reason(row)))
        table.append(cells)
    headers = ["method", "student", "seeds", "budget", "learning rate", *(h for h, _ in TRAINING_COLUMNS),
               "dropped traces (mean per seed)"]
    lines = [tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]
    if inferred:
        lines += ["", "Some records predate `train.budget`; they trained by epochs, so their budget is shown as "
                      "`epochs=E`, and the fields added with it (examples seen, trained tokens) are —."]
    return lines


def _dropped(reasons: dict[str, float] | None) -> str:
    if reasons is None:
        return "—"
    shown = [f"{k} {v:.0f}" if v == int(v) else f"{k} {v:.1f}" for k, v in reasons.items() if v]
    return ", ".join(shown) if shown else "0"


def paired_section(rows: list[Row], benches: list[str], baseline: str = BASELINE) -> list[str]:
    table = []
    for row in rows:
        base = baseline_for(row, rows, baseline)
        if row.method == baseline or base is None:
            continue
        table.append([row.label, row.student] + [fmt(paired_difference(row, base, b), signed=True) for b in benches])
    if not table:
        return [f"No `{baseline}` run shares a student and teacher data with another method here."]
    headers = ["method", "student"] + [f"{b} Δ Pass@1 vs {baseline} (points)" for b in benches]
    return [tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]


def contrast_section(settings: BoardSettings, rows: list[Row], benches: list[str]) -> list[str]:
    table = []
    for c in contrasts(settings, rows, benches):
        name = f"{c.a} − {c.b}"
        if c.a_row.label != c.a or c.b_row.label != c.b:
            name += f" ({c.a_row.label} − {c.b_row.label})"
        table.append([name, c.student] + [fmt(c.differences[b], signed=True) for b in benches]
                     + [_per_seed(c.per_seed[b]) for b in benches])
    if not table:
        return ["No contrast of `board.yaml` has both of its methods on one student and teacher data here."]
    headers = (["contrast (A − B)", "student"] + [f"{b} Δ Pass@1 (points)" for b in benches]
               + [f"{b} Δ per seed" for b in benches])
    return [tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]


def _per_seed(diffs: dict[int, float] | None) -> str:
    return "—" if not diffs else ", ".join(f"s{seed} {100 * d:+.1f}" for seed, d in diffs.items())


def findings(rows: list[Row], benches: list[str], baseline: str = BASELINE) -> list[str]:
    """Plain statements read off the tables, for every method against the baseline, wins and losses alike."""
    out = []
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group_key(), []).append(row)
    for (student, _, teacher_key), members in groups.items():
        # Rankings compare rows that share a student and teacher data; across them they say nothing.
        where = f" on `{student}` with teacher data `{teacher_key}`" if len(groups) > 1 else ""
        out += _rankings(members, benches, where)
    out += _budget_findings(rows)
    for row in rows:
        base = baseline_for(row, rows, baseline)
        if row.method == baseline or base is None:
            continue
        verdicts = {"ahead of": [], "behind": [], "not distinguishable from": []}
        for b in benches:
            d = paired_difference(row, base, b)
            if d is None:
                continue
            side = "ahead of" if d.ci[0] > 0 else "behind" if d.ci[1] < 0 else "not distinguishable from"
            verdicts[side].append(f"{b} ({100 * d.mean:+.1f})")
        said = [f"{side} {baseline} on {', '.join(items)}" for side, items in verdicts.items() if items]
        ratio = tokens_estimate(row).mean / max(tokens_estimate(base).mean, 1e-9)
        if said:
            who = row.label if len({r.student for r in rows}) == 1 else f"{row.label} on {row.student}"
            out.append(f"- {who} is " + "; ".join(said)
                       + f" (95% paired interval); its answers use {ratio:.2f}x the tokens of {baseline}'s.")
    return out or ["- Nothing to compare yet."]


def _rankings(rows: list[Row], benches: list[str], where: str) -> list[str]:
    out = []
    for b in benches:
        scored = [(pass_estimate(r, b, 1)[0].mean, r.label) for r in rows if b in r.benches]
        if not scored:
            continue
        top = max(m for m, _ in scored)
        leaders = [label for m, label in scored if m == top]
        who = leaders[0] if len(leaders) == 1 else f"a tie between {', '.join(leaders)}"
        out.append(f"- {b}{where}: highest mean Pass@1 is {who} ({_pct(top)}).")
    averaged = [(average_estimate(r, benches, 1), r) for r in rows if set(benches) <= set(r.benches)]
    ranked = sorted(((e.mean, r.label) for e, r in averaged if e), key=lambda x: -x[0])
    if ranked:
        text = f"{ranked[0][1]} ({_pct(ranked[0][0])})"
        for (prev, _), (m, label) in zip(ranked, ranked[1:]):
            text += f" {'=' if m == prev else '>'} {label} ({_pct(m)})"
        out.append(f"- Average Pass@1 ranking{where}: {text}.")
    return out


def _budget_findings(rows: list[Row]) -> list[str]:
    """Whether the trained rows got the same number of optimizer steps, per student and teacher data."""
    out = []
    groups: dict[tuple, list[tuple[str, float]]] = {}
    for row in rows:
        steps = training_value(row, "steps")
        if steps is not None:
            groups.setdefault(row.group_key(), []).append((row.label, steps.mean))
    for (student, _, teacher_key), members in groups.items():
        if len(members) < 2:
            continue
        where = f" on `{student}` with teacher data `{teacher_key}`" if len(groups) > 1 else ""
        shown = ", ".join(f"{label} {steps:.0f}" for label, steps in sorted(members, key=lambda m: (m[1], m[0])))
        if len({round(steps, 6) for _, steps in members}) > 1:
            out.append(f"- The trained rows{where} ran different numbers of optimizer steps (mean per seed: {shown}): "
                       "accuracy differences between them also measure how long each trained "
                       "(`train.budget=steps` gives every method the same number).")
        else:
            out.append(f"- Every trained row{where} ran the same number of optimizer steps ({members[0][1]:.0f}).")
    return out


def _plots(name: str, rows: list[Row], benches: list[str], out: Path, write: bool) -> list[str]:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "setup"
    plots_dir = out.parent / "plots"
    acc = plots_dir / f"{slug}-accuracy-vs-tokens.png"
    kept = plots_dir / f"{slug}-kept-prefix-ratio.png"
    has_kept = any(kept_ratios(r) for r in rows)
    if write:
        from harness import plots  # matplotlib is slow to import; --check never needs it

        plots.accuracy_vs_tokens(rows, benches, acc, f"{name}: accuracy vs tokens per answer")
        if has_kept:
            plots.kept_prefix_distribution(rows, kept, f"{name}: kept-prefix ratio")
    lines = [f"![accuracy against tokens per answer]({_rel(acc, out)})"]
    if has_kept:
        lines += ["", f"![kept-prefix ratio distribution]({_rel(kept, out)})"]
    return lines


def records_table(records: list, out: Path) -> str:
    table = []
    for rec in sorted(records, key=lambda r: (r.path.as_posix(), r.index or 0)):
        manifest = rec.data.get("manifest") or {}
        commit = str(manifest.get("git_commit") or "—")
        where = _rel(rec.path, out) + ("" if rec.index is None else f"[{rec.index}]")
        table.append([where, rec.method, str(rec.seed), str(rec.data["harness_version"]), commit[:12]])
    return tabulate(table, headers=["record", "method", "seed", "harness", "commit"], tablefmt="github",
                    disable_numparse=True)
