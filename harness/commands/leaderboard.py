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

from harness.comparisons import contrast_section, findings, fmt, judge, paired_section, text
from harness.console import console
from harness.contrasts import board_settings
from harness.errors import HarnessError
from harness.leaderboard import (BASELINE, BOOTSTRAP_SAMPLES, K_VALUES, Row, average_estimate, budget_estimate,
                                 build_rows, cap_share, dropped_by_reason, kept_ratios, no_answer_share,
                                 outcome_tokens, pass_estimate, tokens_estimate, training_budget, training_value)
from harness.leaderboard_metrics import other_metrics_section
from harness.protocol import load_protocol
from harness.records import DIRTY, Record, check_integrity, check_provenance, find_records, setup_folder

HELP = "Render leaderboards/README.md from stored result records (--check to verify)."

HOW_TO_READ = f"""\
How to read these tables. Every number is recomputed from the per-sample outcomes stored in
the records. Pass@k is the unbiased estimator (1 - C(n-c,k)/C(n,k) per problem, averaged over
problems), in percent. A cell reads `mean ± std [lo, hi]`: the mean over seeds, the sample
standard deviation over seeds (ddof=1; absent with one seed; the number of seeds is in the
`seeds` column), and a 95% two-level percentile bootstrap interval ({BOOTSTRAP_SAMPLES} resamples,
seeded): seeds are resampled, then problems, so the interval sees both the training run and the
benchmark's draw of problems (with one seed it is the bootstrap over problems). Pass@3 needs at
least 3 samples per problem in every seed. `avg Pass@1` is the unweighted mean over benchmarks.
`tokens/answer` is the mean generated tokens per sample; `kept prefix` is the mean share of the
teacher CoT that a prefix method kept. The answers table gives, per benchmark, the share of
samples that stopped at the token cap (`at cap`) and of samples with no extractable answer
(`no answer`), in percent, mean ± std over seeds without an interval (— where a record's samples
lack a finish reason), and the generated tokens of correct and of incorrect samples (incorrect:
every sample not graded correct), as `mean / median`, each the mean over seeds. Where records
carry token budgets (`eval.budgets`), Pass@1 with every generation cut at each budget and graded
again is shown, mean ± std over seeds. The training table shows how much each model trained,
mean ± std over seeds (— for a method that does not train, or a record written before the field
existed): `budget` is `steps=N` (every method ran N optimizer steps, cycling its data) or
`epochs=E` (E passes over the method's own data); `steps` are the optimizer steps run;
`examples` the training examples; `examples seen` the examples fed over all steps, repeats
included; `trained tokens` the non-padding prompt+completion tokens processed over all steps;
`tokens/epoch` the prompt+completion tokens of one pass over the data after truncation;
`dropped traces` the teacher traces the method discarded, by reason, as the mean count per seed.
The paired table compares each method with the setup's baseline (`{BASELINE}` unless its
`board.yaml` names another) on the same student, teacher data, problems and seeds, in points,
with the two-level interval; it is descriptive and uncorrected. A setup with a protocol
(`protocol.yaml`, written before its runs) builds every table from the seeds it planned and
decides each listed contrast by its rule: established or not established. The contrasts table
gives the two-level interval, the seed-level paired t-interval (with at least 3 seeds), every
seed's difference, the problem-only interval (blind to seed-to-seed variance, shown for
comparison only) and the corrected p-values. An interval that contains 0 is not evidence of a
difference, and "not established" is not evidence of no difference."""


def add_parser(sub, parent) -> None:
    p = sub.add_parser("leaderboard", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--records", metavar="DIR", default="leaderboards",
                   help="folder of result records: DIR/<setup>/records/*.json[.gz] (default: leaderboards)")
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
    check_provenance(records)
    check_integrity(records)
    folder = setup_folder(records)
    protocol = load_protocol(folder)
    settings = board_settings(folder)
    if protocol is not None and settings.contrasts:
        raise HarnessError(f"{folder}: contrasts are listed in both protocol.yaml and board.yaml; keep them in protocol.yaml")
    planned = [r for r in records if protocol is None or protocol.planned(r.seed)]
    added = [r for r in records if protocol is not None and not protocol.planned(r.seed)]
    if not planned:
        raise HarnessError(f"{folder}: no record has a seed the protocol plans ({', '.join(map(str, protocol.seeds))})")
    rows = build_rows(planned)
    benches = _benchmarks(rows)
    if protocol is not None and protocol.benchmark not in benches:
        raise HarnessError(f"{protocol.path}: primary benchmark {protocol.benchmark!r} is in no planned record "
                           f"(they have {', '.join(benches)})")
    pairs = list(protocol.contrasts) if protocol else settings.contrasts
    judged = judge(pairs, rows, benches, protocol)
    lines = [f"## {text(name)}", "", *_describe(rows, records, benches, out, protocol), ""]
    notes = folder / "NOTES.md"
    if notes.is_file():
        lines += [notes.read_text(encoding="utf-8").strip(), ""]
    lines += ["### Results", "", results_table(rows, benches), ""]
    if not any(pass_estimate(r, b, 3) for r in rows for b in benches if b in r.benches):
        lines += ["Pass@3 is not available: no run here has at least 3 samples per problem (eval.n >= 3).", ""]
    lines += ["### Answers: cut at the cap, unanswered, and their lengths", "", answers_table(rows, benches), ""]
    lines += budgets_section(rows, benches)
    lines += other_metrics_section(rows, benches)
    lines += ["### Training", "", *training_section(rows), ""]
    lines += [f"### Paired comparison with `{text(settings.baseline)}`", "",
              *paired_section(rows, benches, settings.baseline), ""]
    if pairs:
        title = "### Contrasts (the protocol's tests)" if protocol else "### Contrasts (exploratory: this setup has no protocol)"
        lines += [title, "", *contrast_section(judged, benches, protocol), ""]
    lines += ["### Findings (generated from the numbers above)", "",
              *findings(rows, benches, settings.baseline, judged, protocol), ""]
    if added:
        lines += ["### Added after the protocol", "",
                  f"Records of seeds outside the protocol's planned seeds ({', '.join(map(str, protocol.seeds))}): "
                  "they enter no table, contrast or finding above. Their own rows, for the record:", "",
                  results_table(build_rows(added), _benchmarks(build_rows(added))), ""]
    lines += ["### Plots", "", *_plots(name, rows, benches, out, write_plots), ""]
    lines += ["### Records", "", *records_section(records, out), ""]
    return lines


def _benchmarks(rows: list[Row]) -> list[str]:
    seen: list[str] = []
    for row in rows:
        seen += [b for b in row.benches if b not in seen]
    return seen


def _rel(path: Path, out: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), out.resolve().parent)).as_posix()


def _describe(rows: list[Row], records: list, benches: list[str], out: Path, protocol) -> list[str]:
    students = sorted({r.student for r in rows})
    teachers = sorted({f"{text(r.teacher['source'])} ({text(r.teacher['num_traces'])} traces, key `{text(r.teacher['key'])}`)"
                       for r in rows})
    sizes = []
    for b in benches:
        ns = sorted({r.benches[b].min_n for r in rows if b in r.benches})
        count = next(len(r.benches[b].problems) for r in rows if b in r.benches)
        sizes.append(f"{text(b)} ({count} problems, n={'/'.join(map(str, ns))})")
    sampling = sorted({_sampling(rec.data) for rec in records} - {""})
    lines = [f"- Student: {', '.join(f'`{text(s)}`' for s in students)}",
             f"- Teacher data: {'; '.join(teachers)}",
             f"- Benchmarks (problems, samples per problem): {', '.join(sizes)}",
             f"- Records: {len(records)} in `{_rel(records[0].path.parent, out)}/`, {len(rows)} rows"]
    if sampling:
        lines.append(f"- Evaluation sampling: {'; '.join(sampling)}")
    if protocol is None:
        lines.append("- Protocol: none (no `protocol.yaml`): every comparison here is exploratory")
        return lines
    when = "written before the runs" if not protocol.retrospective else \
        "written after the runs (retrospective: its verdicts describe these records, they were not planned for them)"
    lines.append(f"- Protocol: `{protocol.path.name}`, {when}; primary {text(protocol.benchmark)} "
                 f"{protocol.metric.capitalize()}; α = {protocol.alpha:g}, {protocol.correction} correction; planned "
                 f"seeds {', '.join(map(str, protocol.seeds))}; {len(protocol.contrasts)} contrasts"
                 + (f". {text(protocol.note)}" if protocol.note else ""))
    short = [f"{text(r.label)} on `{text(r.student)}` ({', '.join(map(str, sorted(set(protocol.seeds) - set(r.seeds))))})"
             for r in rows if set(protocol.seeds) - set(r.seeds)]
    if short:
        lines.append(f"- Planned seeds without a record: {'; '.join(short)}")
    return lines


def _sampling(data: dict) -> str:
    """Evaluation sampling from the record's manifest, when the manifest carries the config."""
    config = (data.get("manifest") or {}).get("config") or {}
    sampling = ((config.get("eval") or {}) if isinstance(config, dict) else {}).get("sampling")
    if not isinstance(sampling, dict):
        return ""
    keys = ("temperature", "top_p", "repetition_penalty", "max_new_tokens")
    return ", ".join(f"{k}={text(sampling[k])}" for k in keys if k in sampling)


def results_table(rows: list[Row], benches: list[str]) -> str:
    show_k3 = any(pass_estimate(r, b, 3) for r in rows for b in benches if b in r.benches)
    ks = [k for k in K_VALUES if k == 1 or show_k3]
    headers = ["method", "student", "teacher data", "seeds"]
    headers += [f"{text(b)} Pass@{k}" for k in ks for b in benches]
    headers += ["avg Pass@1", "tokens/answer", "kept prefix"]
    table = []
    for row in rows:
        cells = [text(row.label), text(row.student), f"{text(row.teacher['source'])} ({text(row.teacher['num_traces'])})",
                 str(len(row.records))]
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


def answers_table(rows: list[Row], benches: list[str]) -> str:
    """Per benchmark: shares at the token cap and without an answer, and tokens of correct and incorrect samples."""
    headers = ["method", "student", "seeds"]
    headers += [f"{text(b)} {what}" for b in benches
                for what in ("at cap %", "no answer %", "tokens correct (mean / median)",
                             "tokens incorrect (mean / median)")]
    table = []
    for row in rows:
        cells = [text(row.label), text(row.student), str(len(row.records))]
        for b in benches:
            if b not in row.benches:
                cells += ["—"] * 4
                continue
            cells += [fmt(cap_share(row, b)), fmt(no_answer_share(row, b))]
            cells += [_mean_median(outcome_tokens(row, b, correct)) for correct in (True, False)]
        table.append(cells)
    return tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def _mean_median(tokens: tuple[float, float] | None) -> str:
    return "—" if tokens is None else f"{tokens[0]:.0f} / {tokens[1]:.0f}"


def budgets_section(rows: list[Row], benches: list[str]) -> list[str]:
    """Pass@1 at each token budget the records carry; nothing when none carries one."""
    budgets = sorted({budget for row in rows for stats in row.benches.values() for budget in stats.budgets})
    if not budgets:
        return []
    headers = ["method", "student", "seeds", *(f"{text(b)} Pass@1 at {budget}" for b in benches for budget in budgets)]
    table = [[text(row.label), text(row.student), str(len(row.records))]
             + [fmt(budget_estimate(row, b, budget)) if b in row.benches else "—" for b in benches for budget in budgets]
             for row in rows]
    return ["### Accuracy against token budget", "",
            "Each stored generation cut at the budget's number of tokens and graded again (`eval.budgets`); with "
            "per-sample seeded sampling that is what generating with that `max_new_tokens` gives. Not budget "
            "forcing, which changes the text. Mean ± std over seeds, — where a seed's record lacks the budget.", "",
            tabulate(table, headers=headers, tablefmt="github", disable_numparse=True), ""]


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
        cells = [text(row.label), text(row.student), str(len(row.records)), ", ".join(shown) or "—",
                 ", ".join(rates) or "—"]
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
    shown = [f"{text(k)} {v:.0f}" if v == int(v) else f"{text(k)} {v:.1f}" for k, v in reasons.items() if v]
    return ", ".join(shown) if shown else "0"


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


def records_section(records: list, out: Path) -> list[str]:
    """Every record file with its commit; records from uncommitted code are listed with their exemption."""
    table, exempt = [], []
    for rec in sorted(records, key=lambda r: (r.path.as_posix(), r.index or 0)):
        where = _rel(rec.path, out) + ("" if rec.index is None else f"[{rec.index}]")
        commit = rec.commit or "—"
        shown = commit[:12] + (DIRTY if commit.endswith(DIRTY) else "")
        table.append([text(where), text(rec.method), str(rec.seed), text(rec.data["harness_version"]), text(shown)])
        if rec.exemption:
            exempt.append(f"- `{text(where)}` ({text(rec.method)}, seed {rec.seed}): {text(rec.exemption)}")
    lines = [tabulate(table, headers=["record", "method", "seed", "harness", "commit"], tablefmt="github",
                      disable_numparse=True)]
    if exempt:
        lines += ["", "Made from uncommitted code (commit ending in `-dirty`), kept by an explicit exemption:", "",
                  *exempt]
    return lines
