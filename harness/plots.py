"""Leaderboard plots: accuracy against tokens per answer, and the kept-prefix ratio distribution.

PNG files are written with the Agg backend and without the "Software" metadata entry, so
re-rendering the same records gives the same bytes on one machine. `--check` never compares
them (font rendering differs between machines); only the markdown is checked.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from harness.leaderboard import Row, average_estimate, kept_ratios, tokens_estimate  # noqa: E402

_METADATA = {"Software": None}


def accuracy_vs_tokens(rows: list[Row], benches: list[str], path: Path, title: str) -> Path:
    """Average Pass@1 (95% CI bars) against mean tokens per answer (std over seeds), one point per row.

    One panel per student, sharing the y axis, so that two students' rows of one method do
    not crowd each other; a method variant has the same colour in every panel.
    """
    students = list(dict.fromkeys(row.student for row in rows))
    labels = list(dict.fromkeys(row.label for row in rows))
    fig, axes = plt.subplots(1, len(students), figsize=(3.6 * len(students) + 2.2, 4.4), dpi=100,
                             sharey=True, squeeze=False)
    handles = {}
    for ax, student in zip(axes[0], students):
        for row in (r for r in rows if r.student == student):
            acc = average_estimate(row, benches, 1)
            if acc is None:
                continue
            tok = tokens_estimate(row)
            lo, hi = acc.ci or (acc.mean, acc.mean)
            handles[row.label] = ax.errorbar(
                tok.mean, 100 * acc.mean, yerr=[[100 * (acc.mean - lo)], [100 * (hi - acc.mean)]],
                xerr=tok.std or 0.0, linestyle="none", color=f"C{labels.index(row.label) % 10}",
                marker="os^D"[labels.index(row.label) // 10 % 4], capsize=3)
        ax.set_title(student if len(students) > 1 else "", fontsize=9)
        ax.set_xlabel("mean tokens per answer\n(bars: std over seeds)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("average Pass@1, % (bars: 95% bootstrap CI)")
    fig.suptitle(title)
    if handles:
        fig.legend([handles[k] for k in labels if k in handles], [k for k in labels if k in handles],
                   fontsize=8, loc="center left", bbox_to_anchor=(1 - 2.2 / fig.get_figwidth(), 0.5))
    # the legend sits right of the panels, in the 2.2 inches the figure's width leaves for it
    fig.tight_layout(rect=(0, 0, 1 - 2.2 / fig.get_figwidth(), 1))
    return _save(fig, path, layout=False)


def kept_prefix_distribution(rows: list[Row], path: Path, title: str) -> Path | None:
    """Histogram of kept-prefix ratios for every row that reports them; None when no row does."""
    several_students = len({row.student for row in rows}) > 1
    series = [(f"{row.label} / {row.student}" if several_students else row.label, kept_ratios(row)) for row in rows]
    series = [(label, values) for label, values in series if values]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.0 + 0.12 * len(series)), dpi=100)
    bins = np.linspace(0.0, 1.0, 21)
    for label, values in series:
        ax.hist(values, bins=bins, histtype="step", linewidth=1.8,
                label=f"{label} (n={len(values)}, median {np.median(values):.2f})")
    ax.set_xlabel("kept-prefix ratio (share of the teacher CoT kept)")
    ax.set_ylabel("traces (pooled over seeds)")
    ax.set_title(title)
    # below the axes: the histograms fill the whole width, so no corner inside it is free
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    return _save(fig, path)


def _save(fig, path: Path, layout: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        fig.tight_layout()
    fig.savefig(path, format="png", metadata=_METADATA)
    plt.close(fig)
    return path
