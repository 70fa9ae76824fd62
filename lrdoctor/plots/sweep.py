"""The picture of an LR sweep: final loss vs LR per optimizer (the U curve), with the best LR,
the largest stable LR and the suggested next value marked.

Draws lrdoctor/compare.py's result as computed (its runs, scores and marks), recomputes nothing.
"""

from __future__ import annotations

import math

from lrdoctor.plots import new_figure

MARKS = (
    ("best_lr", "best", "#1565c0", "-"),
    ("stable_edge_lr", "largest stable", "#c62828", "--"),
    ("suggested_lr", "suggested next", "#2e7d32", "-"),
)


def compare_figure(result):
    """A matplotlib Figure of a `CompareResult`."""
    from lrdoctor.present import fmt_lr

    fig = new_figure(9, 5.4)
    ax = fig.subplots()
    label = "final validation loss" if result.metric == "final_val_loss" else "final loss"
    groups: dict[str, list] = {}
    for r in result.runs:
        if r.lr is not None:
            groups.setdefault((r.optimizer or "optimizer not logged").lower(), []).append(r)
    finite = [result.score(r) for r in result.runs if math.isfinite(result.score(r))]
    top = max(finite) if finite else 1.0
    bottom = min(finite) if finite else 0.0
    diverged_y = top + (top - bottom) * 0.08 or top + 0.1
    from lrdoctor.escape import figure

    for name, runs in sorted(groups.items()):
        runs = sorted(runs, key=lambda r: r.lr)
        ok = [r for r in runs if math.isfinite(result.score(r))]
        line = ax.plot(
            [r.lr for r in ok],
            [result.score(r) for r in ok],
            "o-",
            linewidth=1.5,
            markersize=5,
            label=figure(name),
        )[0]
        bad = [r for r in runs if not math.isfinite(result.score(r))]
        if bad:
            ax.plot(
                [r.lr for r in bad],
                [diverged_y] * len(bad),
                "x",
                color=line.get_color(),
                markersize=8,
                clip_on=False,
                label=f"{figure(name)}: diverged",
            )
    for attr, what, color, style in MARKS:
        value = getattr(result, attr)
        if value is not None:
            ax.axvline(
                value, color=color, linestyle=style, linewidth=1.6, label=f"{what} {fmt_lr(value)}"
            )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log)")
    ax.set_ylabel(label)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    ax.set_title(f"LR sweep: {label} vs LR ({len(result.runs)} runs)", fontsize=10, loc="left")
    if result.notes:
        import textwrap

        text = "\n".join(textwrap.shorten(f"note: {n}", 140) for n in result.notes[:4])
        fig.supxlabel(text, fontsize=7.5, x=0.01, ha="left")
    return fig
