"""The picture of one checked run: its findings over the loss, LR, gradient norm and update ratio.

Panels share the step axis (TensorBoard's layout): a lane of findings, each a bar over its
step range labelled with its rule id; the loss on a log axis (raw batches faint, a robust
smooth on top, validation loss as points) with the findings' ranges shaded; then the LR with the
suggested LR and its range, the gradient norm and the update/weight ratio. Everything drawn comes
from the RunReport (its findings and binned curves), never from a detector.
"""

from __future__ import annotations

import numpy as np

from lrdoctor.findings import RunReport
from lrdoctor.plots import SEVERITY_COLOR, new_figure

RAW = "#9e9e9e"
SMOOTH = "#1f4e99"
VAL = "#e65100"
SUGGESTED = "#2e7d32"
# The smooth is a running median over this fraction of the plotted points (robust to spikes).
SMOOTH_FRACTION = 0.03
# A loss bin above this multiple of the robust top (98th percentile) is drawn clipped and
# marked ▲ at the panel's top edge, so one blow-up does not flatten the rest of the curve.
CLIP_FACTOR = 10.0
TOP_QUANTILE = 0.98
# Lanes of the findings strip; more findings than this show the worst of each rule.
MAX_LANES = 8
LABELS = {"lr": "LR", "grad_norm": "grad norm", "update_ratio": "update ratio"}


def run_figure(run: RunReport):
    """A matplotlib Figure of one run (the run must have been read: run.error is None)."""
    from lrdoctor.curves import bin_series

    curves = dict(run.curves)
    if "loss" not in curves and run.preview[0]:  # a report made without curves: its preview
        curves["loss"] = bin_series(np.array(run.preview[0]), np.array(run.preview[1]))
    below = [name for name in ("lr", "grad_norm", "update_ratio") if name in curves]
    findings = _lane_findings(run)
    lanes = max(1, len(findings))
    ratios = [0.25 + 0.18 * lanes, 3.0] + [1.0] * len(below)
    fig = new_figure(10, 0.7 + sum(ratios) * 0.95)
    axes = fig.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    lane_ax, loss_ax, panels = axes[0], axes[1], axes[2:]
    fig.suptitle(_title(run), fontsize=11, x=0.01, ha="left")

    _findings_lane(lane_ax, findings)
    if "loss" in curves:
        _loss_panel(loss_ax, curves["loss"], curves.get("val_loss"))
    _shade(loss_ax, findings, alpha=0.05)
    for ax in panels:
        _shade(ax, findings, alpha=0.0)
    for ax, name in zip(panels, below, strict=True):
        _signal_panel(ax, name, curves[name], run)
    axes[-1].set_xlabel("step")
    steps = [c.step for c in curves.values() if len(c)]
    if steps:
        lo, hi = min(float(s[0]) for s in steps), max(float(s[-1]) for s in steps)
        axes[-1].set_xlim(lo, hi if hi > lo else lo + 1)
    return fig


def _title(run: RunReport) -> str:
    from lrdoctor.present import fmt_lr

    facts = [run.status.upper(), f"{run.n_steps:,} steps"]
    if run.optimizer:
        facts.append(run.optimizer)
    peak = _peak_lr(run)
    if peak is not None:
        facts.append(f"peak LR {fmt_lr(peak)}")
    if run.suggested_lr is not None:
        facts.append(f"suggested LR {fmt_lr(run.suggested_lr)}")
    from lrdoctor.escape import figure

    return f"{figure(run.source)}\n" + " · ".join(facts)


def _peak_lr(run: RunReport) -> float | None:
    curve = run.curves.get("lr")
    if curve is None or not np.isfinite(curve.high).any():
        return None
    return float(np.nanmax(curve.high))


def _lane_findings(run: RunReport) -> list:
    from lrdoctor.formats import worst_per_rule

    placed = [f for f in run.findings if f.step is not None]
    return placed if len(placed) <= MAX_LANES else worst_per_rule(run)[:MAX_LANES]


def _findings_lane(ax, findings) -> None:
    """One row per finding: a bar over its steps, its rule id and severity written on it."""
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if not findings:
        ax.text(
            0.0,
            0.5,
            "no findings",
            transform=ax.transAxes,
            va="center",
            fontsize=9,
            color="#555555",
        )
        ax.set_ylim(0, 1)
        return
    for row, f in enumerate(findings):
        start, end = f.step, f.step_end if f.step_end is not None else f.step
        color = SEVERITY_COLOR[f.severity]
        y = len(findings) - 1 - row
        ax.barh(
            y,
            max(end - start, 0) or 0.001,
            left=start,
            height=0.7,
            color=color,
            alpha=0.3,
            edgecolor=color,
            linewidth=1,
        )
        ax.text(
            start,
            y,
            f" {f.rule} {f.name} ({f.severity})",
            va="center",
            ha="left",
            fontsize=8,
            color="#212121",
            clip_on=True,
            gid=f"finding-{f.rule}",
        )
    ax.set_ylim(-0.6, len(findings) - 0.4)
    ax.set_title("findings", fontsize=9, loc="left")


def _shade(ax, findings, alpha: float) -> None:
    """Each finding's range shaded (lightly: they overlap) and its first step as a line."""
    for f in findings:
        color = SEVERITY_COLOR[f.severity]
        end = f.step_end if f.step_end is not None else f.step
        if end > f.step and alpha:
            ax.axvspan(f.step, end, color=color, alpha=alpha, linewidth=0)
        ax.axvline(f.step, color=color, alpha=0.6, linewidth=0.8, linestyle="--")


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """A centred running median that ignores NaN (shrinking at the ends)."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < 3:
        return values.copy()
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), values, np.full(half, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is simply NaN
        return np.nanmedian(windows, axis=1)


def robust_top(high: np.ndarray, smooth: np.ndarray) -> float | None:
    """The loss panel's top when one blow-up would flatten the rest, else None (no clip)."""
    finite = high[np.isfinite(high)]
    if len(finite) < 10:
        return None
    top = max(float(np.quantile(finite, TOP_QUANTILE)), float(np.nanmax(smooth)))
    return top if float(finite.max()) > CLIP_FACTOR * top else None


def set_limits(ax, low: float, high: float, log: bool) -> None:
    """Y limits with a margin, kept inside what matplotlib can tick (its log ticks overflow
    past ~1e250, and a run that blew up to 1e279 must still draw)."""
    if log:
        low, high = max(low / 1.3, 1e-200), min(high * 1.3, 1e200)
        if high < 100 * low:  # at least two decades, or the log ticks label every minor tick
            mid = (low * high) ** 0.5
            low, high = mid / 10, mid * 10
    else:
        pad = (high / 2 - low / 2) / 10 or abs(low) / 10 or 1.0  # halved: no overflow
        low, high = max(low - pad, -1e300), min(high + pad, 1e300)
    ax.set_ylim(low, high)


def _loss_panel(ax, loss, val) -> None:
    from lrdoctor.present import fmt_num

    values = [loss.low, loss.high] + ([val.low] if val is not None else [])
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    log = len(finite) > 0 and bool((finite > 0).all())
    if loss.binned:
        ax.fill_between(
            loss.step,
            loss.low,
            loss.high,
            color=RAW,
            alpha=0.35,
            linewidth=0,
            label="batch loss (range per bin)",
        )
    else:
        ax.plot(loss.step, loss.mean, color=RAW, alpha=0.6, linewidth=0.6, label="batch loss")
    window = max(1, int(round(SMOOTH_FRACTION * len(loss)))) | 1
    smooth = running_median(loss.mean, window)
    if len(loss) >= 10:
        ax.plot(loss.step, smooth, color=SMOOTH, linewidth=1.6, label="running median")
    if val is not None and np.isfinite(val.mean).any():
        ax.plot(val.step, val.mean, "o", color=VAL, markersize=3.5, label="validation loss")
    if log:
        ax.set_yscale("log")
    top = robust_top(loss.high, smooth)
    upper = float(finite.max()) if len(finite) else 1.0
    if top is not None:
        upper = top
        shown = top * 1.3 if log else top + (top - float(finite.min())) / 10
        over = loss.high > shown
        ax.plot(
            loss.step[over],
            np.full(over.sum(), shown),
            "^",
            color="#b71c1c",
            markersize=5,
            clip_on=False,
            label=f"clipped (max {fmt_num(float(np.nanmax(loss.high)))})",
        )
    if len(finite):
        set_limits(ax, float(finite.min()), upper, log)
    if len(loss.nonfinite):
        ymax = ax.get_ylim()[1]
        ax.plot(
            loss.nonfinite,
            np.full(len(loss.nonfinite), ymax),
            "x",
            color="#b71c1c",
            markersize=6,
            clip_on=False,
            label="NaN / inf loss",
        )
    ax.set_ylabel("loss" + (" (log)" if log else ""))
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(loc="upper right", fontsize=7.5, framealpha=0.8)


def _signal_panel(ax, name: str, curve, run: RunReport) -> None:
    from lrdoctor.present import fmt_lr

    finite = np.concatenate(
        [curve.low[np.isfinite(curve.low)], curve.high[np.isfinite(curve.high)]]
    )
    log = len(finite) > 0 and bool((finite > 0).all())
    if curve.binned and not np.allclose(curve.low, curve.high, equal_nan=True):
        ax.fill_between(curve.step, curve.low, curve.high, color=SMOOTH, alpha=0.25, linewidth=0)
    ax.plot(curve.step, curve.mean, color=SMOOTH, linewidth=1.0)
    if log:
        ax.set_yscale("log")
    if name == "lr":  # the suggestion must be in view: where the run stood against it
        extra = [v for v in (run.suggested_lr, *(run.suggested_lr_range or ())) if v]
        finite = np.concatenate([finite, [v for v in extra if v > 0 or not log]])
    if len(finite):
        set_limits(ax, float(finite.min()), float(finite.max()), log)
    if name == "lr":
        peak = _peak_lr(run)
        if run.suggested_lr_range is not None:
            ax.axhspan(
                *run.suggested_lr_range,
                color=SUGGESTED,
                alpha=0.12,
                linewidth=0,
                label="suggested range",
            )
        if run.suggested_lr is not None:
            ax.axhline(
                run.suggested_lr,
                color=SUGGESTED,
                linestyle="--",
                linewidth=1.2,
                label=f"suggested LR {fmt_lr(run.suggested_lr)}",
            )
        if peak is not None:
            at = curve.step[int(np.nanargmax(curve.high))]
            ax.plot(
                [at],
                [peak],
                "o",
                color="#212121",
                markersize=4,
                label=f"this run: peak {fmt_lr(peak)}",
            )
        if run.suggested_lr is not None or peak is not None:
            ax.legend(loc="best", fontsize=7.5, framealpha=0.8)
    if len(curve.nonfinite):
        ax.plot(
            curve.nonfinite,
            np.full(len(curve.nonfinite), ax.get_ylim()[1]),
            "x",
            color="#b71c1c",
            markersize=5,
            clip_on=False,
        )
    ax.set_ylabel(LABELS[name] + (" (log)" if log else ""), fontsize=8)
    ax.grid(True, which="major", alpha=0.25)
