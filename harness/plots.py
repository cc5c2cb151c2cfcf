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
    """Average Pass@1 (95% CI bars) against mean tokens per answer (std over seeds), one point per row."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    several_students = len({row.student for row in rows}) > 1
    for i, row in enumerate(rows):
        label = f"{row.label} / {row.student}" if several_students else row.label
        acc = average_estimate(row, benches, 1)
        tok = tokens_estimate(row)
        if acc is None:
            continue
        color = f"C{i % 10}"
        lo, hi = acc.ci or (acc.mean, acc.mean)
        ax.errorbar(tok.mean, 100 * acc.mean, yerr=[[100 * (acc.mean - lo)], [100 * (hi - acc.mean)]],
                    xerr=tok.std or 0.0, fmt="o", color=color, capsize=3, label=label)
        ax.annotate(label, (tok.mean, 100 * acc.mean), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel("mean tokens per answer (bars: std over seeds)")
    ax.set_ylabel("average Pass@1, % (bars: 95% bootstrap CI)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def kept_prefix_distribution(rows: list[Row], path: Path, title: str) -> Path | None:
    """Histogram of kept-prefix ratios for every row that reports them; None when no row does."""
    series = [(row.label, kept_ratios(row)) for row in rows]
    series = [(label, values) for label, values in series if values]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    bins = np.linspace(0.0, 1.0, 21)
    for label, values in series:
        ax.hist(values, bins=bins, histtype="step", linewidth=1.8,
                label=f"{label} (n={len(values)}, median {np.median(values):.2f})")
    ax.set_xlabel("kept-prefix ratio (share of the teacher CoT kept)")
    ax.set_ylabel("traces (pooled over seeds)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata=_METADATA)
    plt.close(fig)
    return path
