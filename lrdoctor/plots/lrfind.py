"""The picture of an LR range test: loss vs LR (log x), every candidate marked, the default
highlighted, and beside it why each candidate sits where it does (fastai's plot, explained).

Draws lrdoctor/lrfind.py's result as computed (its curves and candidates), recomputes nothing.
"""

from __future__ import annotations

import numpy as np

from lrdoctor.plots import new_figure

# What each candidate is, in the words of lrdoctor/lrfind.py's analysis.
MEANING = {
    "steepest": "steepest fall of the fitted loss",
    "valley": "halfway along the longest descent (fastai's valley)",
    "half_drop": "where the loss has made half of its fall",
    "minimum": "lowest point of the fitted loss",
    "min_div10": "the minimum / 10 (the conservative choice)",
    "edge": "last LR before the loss climbs back above its start",
    "update_ratio": "where |weight change| / |weights| per step reaches its measured level",
}
COLORS = {
    "steepest": "#6a1b9a",
    "valley": "#00838f",
    "half_drop": "#5d4037",
    "minimum": "#1565c0",
    "min_div10": "#9e9d24",
    "edge": "#c62828",
    "update_ratio": "#ef6c00",
}
DEFAULT = "#2e7d32"


def lrfind_figure(result):
    """A matplotlib Figure of an `LrFindResult`."""
    from lrdoctor.lrfind import LANDMARK_SHIFT
    from lrdoctor.present import fmt_lr

    fig = new_figure(11, 5.2)
    ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.1, 1]})
    lr, smoothed, fitted = (
        np.asarray(a, dtype=float) for a in (result.lr, result.smoothed, result.fitted)
    )
    ax.plot(lr, smoothed, color="#9e9e9e", linewidth=1, label="loss (EMA)")
    ax.plot(lr, fitted, color="#1f4e99", linewidth=1.8, label="robust local fit")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log)")
    ax.set_ylabel("loss")
    ax.grid(True, which="major", alpha=0.25)
    # The y range of the curve up to just past the edge: the blow-up after it would flatten
    # the part that matters (fastai's plot cuts there too).
    edge = result.candidates.get("edge")
    upto = lr <= edge * 2 if edge else np.ones(len(lr), dtype=bool)
    finite = np.concatenate([v[upto & np.isfinite(v)] for v in (smoothed, fitted)])
    if len(finite):
        low, high = float(finite.min()), float(finite.max())
        pad = (high - low) / 10 or 0.1
        ax.set_ylim(low - pad, high + pad)
    for name, value in result.candidates.items():
        if value is None:
            continue
        y = float(np.interp(np.log10(value), np.log10(lr), fitted)) if len(lr) else None
        ax.axvline(value, color=COLORS[name], linestyle=":", linewidth=1.2)
        if y is not None:
            ax.plot(
                [value], [y], "o", color=COLORS[name], markersize=6, label=f"{name} {fmt_lr(value)}"
            )
    if result.suggested_lr is not None:
        if result.suggested_lr_range:
            ax.axvspan(*result.suggested_lr_range, color=DEFAULT, alpha=0.1, linewidth=0)
        ax.axvline(
            result.suggested_lr,
            color=DEFAULT,
            linewidth=2.5,
            label=f"suggested {fmt_lr(result.suggested_lr)} ({result.method})",
        )
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    from lrdoctor.escape import figure

    ax.set_title(f"LR range test: {figure(result.source)}", fontsize=10, loc="left")

    lines = _reasons(result, result.shift or LANDMARK_SHIFT, fmt_lr)
    side.axis("off")
    side.text(
        0,
        1,
        "\n".join(lines),
        va="top",
        ha="left",
        fontsize=8,
        wrap=True,
        family="DejaVu Sans",
        transform=side.transAxes,
    )
    return fig


def _reasons(result, shift, fmt_lr) -> list[str]:
    import textwrap

    out = []
    if result.suggested_lr is None:
        out.append("suggested LR: none")
    else:
        low, high = result.suggested_lr_range
        out.append(
            f"suggested LR {fmt_lr(result.suggested_lr)}  ({result.method}, "
            f"confidence {result.confidence})"
        )
        out.append(f"  range {fmt_lr(low)} to {fmt_lr(high)}")
        if result.method == "landmarks":
            moves = ", ".join(f"{k} ×10^{v:+.2f}" for k, v in shift.items())
            out.extend(
                textwrap.wrap(
                    f"  the mean (in log LR) of three landmarks, each moved "
                    f"by its offset measured on the dev corpus: {moves}"
                    + (
                        ", averaged with the update-ratio LR"
                        if result.candidates.get("update_ratio")
                        else ""
                    ),
                    52,
                    subsequent_indent="  ",
                )
            )
    out.append("")
    out.append("candidates:")
    for name, value in result.candidates.items():
        where = fmt_lr(value) if value is not None else "none"
        out.append(f"● {name} {where}")
        out.extend(textwrap.wrap(MEANING[name], 50, initial_indent="   ", subsequent_indent="   "))
    out.append(f"test speed: {result.steps_per_decade:.0f} steps per decade of LR")
    out.append(f"budget: assumes {result.budget_steps} steps of training ({result.budget_source})")
    for note in result.notes:
        out.extend(textwrap.wrap(f"note: {note}", 52, subsequent_indent="  "))
    return out
