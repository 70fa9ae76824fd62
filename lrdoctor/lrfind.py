"""LR range-test analysis: from (lr, loss) per step to candidate LRs, a suggestion and notes.

Pure functions, arrays in and a result out. Two smoothers, each where it fits:
- a bias-corrected EMA (causal, like fastai's recorder) decides where the test blew up and is
  what the plot shows;
- a centred robust local line fit (Theil-Sen over a window in log LR) gives the slopes, the
  minimum and the valley, because the EMA lags by about 1/(1-beta) steps (a decade of LR in a
  short test) and a single finite difference is fooled by one bad batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lrdoctor.detectors.stats import fmt_lr, human_lr
from lrdoctor.errors import InputError

SCHEMA = "lrdoctor.lrfind/1"
MIN_POINTS = 20
METHODS = (
    "landmarks",
    "steepest",
    "valley",
    "half_drop",
    "minimum",
    "min_div10",
    "edge",
    "update_ratio",
)
DEFAULT_METHOD = "landmarks"
# The default reads three landmarks of the curve, each a position in log10(LR):
#   half_drop  where the fitted loss has made half of its fall,
#   minimum    where it stops falling,
#   edge       where it climbs back above its starting level (the blow-up edge).
# Each is moved by the median of log10(sweep-best LR / landmark) over the 56 range tests of
# the development corpus (../shared/devcorpus, 7 tasks x 4 optimizers x 2 speeds; measured by
# `python benchmarks/measure_lrfind.py --devcorpus ../shared/devcorpus`, which also refits them
# leave-one-task-out), and the suggestion is the mean of the three moved landmarks. Ratios in
# log LR only: multiplying every LR by k multiplies the suggestion by k.
LANDMARK_SHIFT = {"half_drop": 0.71, "minimum": -0.44, "edge": -1.23}
# The same medians over the range tests of one optimizer family (its optimizer from the corpus'
# labels: SGD and Nesterov -> "sgd", AdamW and RMSprop -> "adam"; 28 tests each), used when the
# log names the optimizer (MLflow params, Lightning's `lr-Adam` column, `--optimizer`). The
# landmarks of Adam-type tests sit most of a decade higher relative to the sweep-best than
# SGD-type ones: the range test is shorter than Adam's second-moment memory (1/(1-0.999) = 1000
# steps), so its early large gradients keep the steps small and the blow-up late. Other families
# (Adagrad, Adadelta) were not measured and use LANDMARK_SHIFT.
FAMILY_SHIFT: dict[str, dict[str, float]] = {
    "sgd": {"half_drop": 1.15, "minimum": 0.01, "edge": -0.59},
    "adam": {"half_drop": 0.59, "minimum": -0.78, "edge": -1.63},
}
# The training budget a suggestion assumes, in steps (`lr-find --steps`): the offsets above
# were fitted against the sweep-best LR at the development corpus' planned budgets, 300 to
# 1200 steps (geometric mean 570, rounded). Stopping each of its 28 sweeps at 10 % to 100 % of
# its planned steps (30 to 1200 steps) moved the sweep-best LR by +0.08 decades per decade of
# budget (90 % bootstrap over tasks -0.14 to +0.29; 15 of 28 sweeps up), and moving the default
# by that slope (fitted leave-one-task-out) landed less often than leaving it (66 % vs 69 % of
# (test, budget) pairs within 3x) (`python benchmarks/measure_lrfind.py --devcorpus ...`, its
# `budget within a sweep` line): the budget does not move the best LR measurably there, so a
# stated budget is recorded and noted but does not move the suggestion. BUDGET_MEASURED is the
# range of budgets that measurement covered; outside it the note says so.
DEFAULT_STEPS = 600
BUDGET_MEASURED = (30, 1200)
# The update ratio (|weight change| / |weights| per step, when the log has it) that the
# sweep-best LR gives during a range test: log10 of its median over the 32 of the development
# corpus' 56 tests whose log has the column (SGD-type -1.66, Adam-type -1.76: one level serves
# both, it is dimensionless). The ratio grows in proportion to the LR, so the LR at which the
# test reaches this level is a second estimate of the best LR, read from the size of the steps,
# not from the loss curve's shape; the default averages the two (in log LR). On the corpus the
# two err partly independently: the default's median abs error fell from 0.45 to 0.27 decades
# (`python benchmarks/measure_lrfind.py --devcorpus ...` refits the level leave-one-task-out).
# A level is read as the median, over the steps whose update ratio lies within UR_BAND decades
# of it, of log ur - log lr: one noisy step cannot move it.
UR_TARGET = -1.66
UR_BAND = 0.75
# When the loss reached its minimum more than this many decades of LR below where the update
# ratio reaches UR_TARGET, the steps at the minimum were far smaller than a tuned run's: the
# loss stopped falling because the test had converged (or hit its noise floor), not because
# the LR grew too large, so the descent landmarks say how fast the model learns in a short
# test, not where its best LR lies, and the update-ratio LR alone is the suggestion. A
# judgement, not fitted: a decade, twice the 3x tolerance (`measure_lrfind.py --devcorpus`
# prints how the figures move with it, and how often it fires and lands).
MIN_BELOW_UR_DECADES = 1.0
# A descent smaller than this many sigmas of a window's fitted level is no descent at all
# (the minimum over many windows of a flat curve sits ~2.5 sigmas low by chance).
FLAT_NOISE_UNITS = 4.0
# Fewer finite steps than this and the landmarks rest on a handful of windows (100 is
# fastai's default num_it; a convention, not fitted).
SHORT_STEPS = 100
# Fewer steps per decade of LR than this and the loss cannot follow the LR: the EMA lags by
# ~1/(1-beta) = 50 steps, i.e. more than 5 decades (fastai's default 100 steps over 8 decades
# gives 12.5).
FAST_STEPS_PER_DECADE = 10.0
# Within this fraction of the drop from the minimum counts as "at the bottom"; a bottom wider
# than FLAT_BOTTOM_DECADES in log LR is flat, and the minimum's position is arbitrary (a
# judgement, not fitted: a decade is twice the 3x tolerance either way).
BOTTOM_FRACTION = 0.1
FLAT_BOTTOM_DECADES = 1.0
# suggested_lr_range: the suggestion times 10^(+-RANGE_DECADES). On the development corpus the
# sweep-best LR lay within it for 43 of the 56 range tests (77 %; the command of
# LANDMARK_SHIFT prints this and the deciles of log10(best / suggestion): -0.95 / +0.59).
RANGE_DECADES = 0.8
# Confidence is "medium" at best: the default lands within 3x of the sweep-best on about
# three quarters of the 56 development-corpus tests, and no evidence in the curve singled out
# a subset that lands >= 80 % of the time (the landmarks' agreement did not, nor their
# agreement with the update-ratio LR: where they agree the error is shared; docs/lr-numbers.md).
# A caveat note (flat bottom, short, fast, no turn-up, capped) makes it "low", and so does a
# number read from the edge alone (no descent and no update ratio). No descent with an update
# ratio stays "medium": the update-ratio LR does not need a descent, and alone it is the
# estimate the default averages in (`measure_lrfind.py --devcorpus` prints the calibration, per
# confidence and per note).
CAVEATS = ("flat_bottom", "short_test", "fast_test", "never_turned_up", "capped")


@dataclass(frozen=True)
class LrFindResult:
    """What a range test says: landmarks, candidate LRs, the chosen one, how sure, caveats."""

    source: str
    suggested_lr: float | None  # rounded to 1, 2, 3 or 5 x 10^k
    raw_lr: float | None  # the chosen value before rounding
    suggested_lr_range: tuple[float, float] | None  # [low, high] around raw_lr
    method: str
    candidates: dict[str, float | None]
    confidence: str  # "high" | "medium" | "low"
    spread_decades: float | None  # max - min of the three moved landmarks
    steps_per_decade: float
    notes: list[str] = field(default_factory=list)
    # one code per note, in order (NOTE_CODES): what a test or a program reads instead of prose
    note_codes: list[str] = field(default_factory=list)
    # the planned training the suggestion assumes: steps, and "default" or "--steps"
    budget_steps: int = DEFAULT_STEPS
    budget_source: str = "default"
    # which landmark offsets were used: an optimizer family of FAMILY_SHIFT, or "all"
    offsets: str = "all"
    shift: dict[str, float] = field(default_factory=lambda: dict(LANDMARK_SHIFT))
    # curves for plotting: every analysed step (after the trimmed start, before the cut)
    lr: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    smoothed: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    fitted: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "source": self.source,
            "suggested_lr": self.suggested_lr,
            "suggested_lr_range": (
                list(self.suggested_lr_range) if self.suggested_lr_range else None
            ),
            "raw_lr": self.raw_lr,
            "method": self.method,
            "confidence": self.confidence,
            "candidates": dict(self.candidates),
            "spread_decades": self.spread_decades,
            "steps_per_decade": self.steps_per_decade,
            "offsets": self.offsets,
            "notes": list(self.notes),
            "note_codes": list(self.note_codes),
            "budget_steps": self.budget_steps,
            "budget_source": self.budget_source,
        }


def ema_smooth(loss: np.ndarray, beta: float = 0.98) -> np.ndarray:
    """Bias-corrected EMA (started at 0, divided by 1 - beta^t) so the start does not dip."""
    out = np.empty(len(loss))
    avg = 0.0
    for t, v in enumerate(loss, start=1):
        avg = beta * avg + (1 - beta) * v
        out[t - 1] = avg / (1 - beta**t)
    return out


def robust_local_fit(x: np.ndarray, y: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Theil-Sen line over a centred window of 2*half+1 points: (fitted level, slope) per point.

    The median of pairwise slopes ignores up to ~29 % bad points per window, so one spike
    cannot make the steepest descent.
    """
    n = len(x)
    level, slope = np.empty(n), np.empty(n)
    for i in range(n):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        xs, ys = x[lo:hi], y[lo:hi]
        dx = xs[None, :] - xs[:, None]
        dy = ys[None, :] - ys[:, None]
        ok = dx > 0
        s = float(np.median(dy[ok] / dx[ok])) if ok.any() else 0.0
        slope[i] = s
        level[i] = float(np.median(ys - s * (xs - x[i])))
    return level, slope


def _compress(x: np.ndarray, y: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-count bins (median x, median y) so long tests cost the same as short ones."""
    if len(x) <= most:
        return x, y
    edges = np.linspace(0, len(x), most + 1).astype(int)
    xs = np.array([np.median(x[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    ys = np.array([np.median(y[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return xs, ys


def longest_descent(y: np.ndarray) -> tuple[int, int]:
    """(start, end) of the longest decreasing subsequence: fastai's 'valley' stretch.

    A subsequence, not a contiguous run, so small bumps of a noisy curve do not cut it.
    """
    n = len(y)
    length = np.ones(n, dtype=int)
    first = np.arange(n)
    for i in range(1, n):
        higher = np.nonzero(y[:i] > y[i])[0]
        if len(higher):
            j = higher[np.argmax(length[higher])]
            length[i] = length[j] + 1
            first[i] = first[j]
    end = int(np.argmax(length))
    return int(first[end]), end


def _noise(loss: np.ndarray) -> float:
    """Batch-to-batch noise (robust sigma of first differences / sqrt 2): trend-free."""
    d = np.diff(loss)
    if len(d) < 2:
        return 0.0
    mad = float(np.median(np.abs(d - np.median(d))))
    return 1.4826 * mad / math.sqrt(2)


def _check_range_test(source: str, lr: np.ndarray) -> None:
    ok = np.isfinite(lr) & (lr > 0)
    if not ok.all():
        raise InputError(
            source,
            "the lr column has non-positive or non-finite values",
            "a range test logs a positive, increasing LR at every step",
        )
    steps = np.diff(lr)
    falls = steps < -1e-9 * lr[1:]
    rises = steps > 1e-12 * lr[1:]
    if falls.any() or rises.mean() < 0.5 or lr[-1] < 10 * lr[0]:
        where = int(np.argmax(falls)) + 1 if falls.any() else None
        detail = (
            f"the LR falls at row {where}"
            if where is not None
            else f"the LR spans {fmt_lr(lr[0])} to {fmt_lr(lr[-1])} and rises at only "
            f"{rises.mean():.0%} of steps"
        )
        raise InputError(
            source,
            f"not an LR range test: {detail}",
            "lr-find reads a log whose LR grows every step over a decade or more; "
            "use `lrdoctor check` for training runs, `lrdoctor compare` for sweeps",
        )


def _over_limit(
    loss: np.ndarray, smoothed: np.ndarray, start: int, diverge_factor: float
) -> np.ndarray:
    """Steps (from `start` on) where the smoothed loss is over the blow-up limit."""
    best = np.minimum.accumulate(smoothed)
    if (loss > 0).all():
        limit = diverge_factor * best
    else:
        limit = best + diverge_factor * np.maximum(smoothed[start] - best, 1e-12)
    return np.nonzero((smoothed > limit) & (np.arange(len(smoothed)) >= start))[0]


def blew_up(
    loss, *, beta: float = 0.98, trim_start: float = 0.1, diverge_factor: float = 4.0
) -> bool:
    """Whether a range test whose losses so far are `loss` has blown up, by `analyse`'s rule
    (a non-finite loss, or the smoothed loss over `diverge_factor` x its best after the
    trimmed start): a live range test stops here."""
    loss = np.asarray(loss, dtype=float)
    if not np.isfinite(loss).all():
        return True
    start = max(1, int(round(trim_start * len(loss))))
    if len(loss) <= start:
        return False
    return len(_over_limit(loss, ema_smooth(loss, beta), start, diverge_factor)) > 0


def landmark_estimate(
    candidates: dict[str, float | None], shift: dict[str, float]
) -> tuple[float | None, float | None]:
    """(mean of the moved landmarks in log LR, their spread in decades); None if one is missing."""
    moved = [math.log10(candidates[k]) + d for k, d in shift.items() if candidates.get(k)]
    if len(moved) < len(shift):
        return None, None
    return float(np.mean(moved)), float(max(moved) - min(moved))


def _ur_points(lr: np.ndarray, ur: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if ur is None:
        return np.empty(0), np.empty(0)
    ur = np.asarray(ur, dtype=float)
    ok = np.isfinite(ur) & (ur > 0)
    return np.log10(lr[ok]), np.log10(ur[ok])


def update_ratio_lr(
    lr: np.ndarray, ur: np.ndarray | None, target: float = UR_TARGET, band: float = UR_BAND
) -> float | None:
    """The LR at which the update ratio reaches 10**target: the median, over the steps whose
    update ratio lies within `band` decades of it, of lr * 10**target / ur (the ratio grows in
    proportion to the LR); None when fewer than three steps come that close."""
    x, u = _ur_points(np.asarray(lr, dtype=float), ur)
    near = np.abs(u - target) < band
    if near.sum() < 3:
        return None
    return float(10 ** np.median(x[near] + target - u[near]))


def update_ratio_level(
    lr: np.ndarray, ur: np.ndarray | None, at: float, band: float = UR_BAND
) -> float | None:
    """log10 of the update ratio at LR `at`, read as `update_ratio_lr` reads its LR (the steps
    within `band` decades of `at`); what UR_TARGET is the median of, at the sweep-best LR."""
    x, u = _ur_points(np.asarray(lr, dtype=float), ur)
    near = np.abs(x - math.log10(at)) < band
    if near.sum() < 3:
        return None
    return float(np.median(u[near] - x[near]) + math.log10(at))


def analyse(
    lr: np.ndarray,
    loss: np.ndarray,
    *,
    source: str = "<range test>",
    beta: float = 0.98,
    trim_start: float = 0.1,
    diverge_factor: float = 4.0,
    method: str = DEFAULT_METHOD,
    window: float = 0.05,
    shift: dict[str, float] | None = None,
    family: str | None = None,
    update_ratio: np.ndarray | None = None,
    ur_target: float = UR_TARGET,
    min_below_ur: float = MIN_BELOW_UR_DECADES,
    steps: int | None = None,
    steps_source: str = "--steps",
) -> LrFindResult:
    """Analyse one range test (lr and loss per step, lr increasing).

    `family` (sgd, adam, ...: `columns.canonical_optimizer`) picks its FAMILY_SHIFT offsets when
    measured, else LANDMARK_SHIFT; `shift` replaces either (the leave-one-task-out measurement
    refits them). `update_ratio` (per step, aligned with `lr`; NaN where not logged) adds the
    LR that reaches `ur_target` as a candidate and into the default; `min_below_ur` is
    MIN_BELOW_UR_DECADES (the measurement scans it). `steps` is the planned training's length
    (`--steps`; None: DEFAULT_STEPS): recorded and noted, it does not move the suggestion
    (DEFAULT_STEPS says why); `steps_source` names where it came from (`budget_source`).
    """
    lr = np.asarray(lr, dtype=float)
    loss = np.asarray(loss, dtype=float)
    offsets = family if family in FAMILY_SHIFT else "all"
    if shift is None:
        shift = FAMILY_SHIFT.get(offsets, LANDMARK_SHIFT)
    if method not in METHODS:
        raise InputError(source, f"unknown method {method!r}", f"choose from {', '.join(METHODS)}")
    if len(lr) < MIN_POINTS:
        raise InputError(
            source,
            f"only {len(lr)} steps; a range test needs {MIN_POINTS} or more",
            "log the loss at every step of the test",
        )
    _check_range_test(source, lr)
    notes: list[str] = []
    codes: list[str] = []

    def note(code: str, text: str) -> None:
        codes.append(code)
        notes.append(text)

    steps_per_decade = float((len(lr) - 1) / math.log10(lr[-1] / lr[0]))

    bad = ~np.isfinite(loss)
    n_finite = int(np.argmax(bad)) if bad.any() else len(loss)
    blew_up = n_finite < len(loss)
    smoothed = ema_smooth(loss[:n_finite], beta)

    # Where the test blew up: the smoothed loss passes `diverge_factor` x its best so far, or,
    # when losses can be <= 0 (ratios mean nothing), the best plus that many start-to-best ranges.
    start = max(1, int(round(trim_start * n_finite)))
    if n_finite - start < MIN_POINTS // 2:
        raise InputError(
            source,
            f"the loss is finite for only {n_finite} steps",
            "start the range at a lower LR or log more steps",
        )
    over = _over_limit(loss[:n_finite], smoothed, start, diverge_factor)
    cut = int(over[0]) if len(over) else n_finite
    diverged = blew_up or len(over) > 0
    stop = max(cut, start + MIN_POINTS // 2)

    x_all = np.log10(lr[start:stop])
    y_all = loss[start:stop]
    x, y = _compress(x_all, y_all, 400)
    half = max(3, int(round(window * len(x))))
    fitted, slope = robust_local_fit(x, y, half)

    # The start level is the median of the first window (an edge fit is one-sided and noisy);
    # a descent counts when it beats the noise of a window's level (batch noise / sqrt(points)).
    noise = _noise(y_all)
    per_window = (2 * half + 1) * len(y_all) / len(y)
    level_noise = 1.25 * noise / math.sqrt(per_window)
    level0 = float(np.median(y[: 2 * half + 1]))
    i_min = int(np.argmin(fitted))
    drop = level0 - float(fitted[i_min])
    flat = drop <= max(FLAT_NOISE_UNITS * level_noise, 0.0)

    # edge: the last LR before the fitted loss climbs back over its starting level
    after = np.nonzero(fitted[i_min:] > level0)[0]
    i_edge = i_min + int(after[0]) - 1 if len(after) else len(x) - 1
    rise = float(fitted[-1] - fitted[i_min])
    turned_up = diverged or rise >= max(0.25 * drop, FLAT_NOISE_UNITS * level_noise)
    if not turned_up:
        i_edge = len(x) - 1  # every LR tried was stable
    edge = float(10 ** x[i_edge])

    candidates: dict[str, float | None] = dict.fromkeys(METHODS[1:])
    candidates["edge"] = edge
    candidates["update_ratio"] = update_ratio_lr(
        lr[:n_finite], None if update_ratio is None else update_ratio[:n_finite], ur_target
    )
    if flat:
        if diverged:
            note(
                "no_fall",
                "the loss never fell before the test blew up: the range starts too "
                "high or climbs too fast; start it at lower LRs or take more steps",
            )
        else:
            note(
                "flat_curve",
                "flat curve: the loss did not fall by more than its noise "
                f"(drop {drop:.3g}, noise {level_noise:.3g}); model already trained "
                "or range too low",
            )
    else:
        # Search the main descent only: from where the fitted loss last sat near its start
        # level to the minimum, so noise wiggles on the flat start cannot win.
        near_start = np.nonzero(fitted[: i_min + 1] >= level0 - 0.1 * drop)[0]
        d0 = int(near_start[-1]) if len(near_start) else 0
        i_steep = d0 + int(np.argmin(slope[d0 : i_min + 1]))
        candidates["steepest"] = float(10 ** x[i_steep])
        a, b = longest_descent(fitted[d0 : i_min + 1])
        a, b = a + d0, b + d0
        # fastai's valley: the point halfway (in log LR) along the longest descent
        candidates["valley"] = float(10 ** x[a + (b - a) // 2])
        i_half = int(np.nonzero(fitted[: i_min + 1] <= level0 - 0.5 * drop)[0][0])
        candidates["half_drop"] = float(10 ** x[i_half])
        candidates["minimum"] = float(10 ** x[i_min])
        candidates["min_div10"] = candidates["minimum"] / 10
        bottom = x[fitted <= fitted[i_min] + BOTTOM_FRACTION * drop]
        if bottom[-1] - bottom[0] > FLAT_BOTTOM_DECADES:
            note(
                "flat_bottom",
                f"flat bottom: the loss stays within {BOTTOM_FRACTION:.0%} of its "
                f"fall from its minimum from {fmt_lr(10 ** bottom[0])} to "
                f"{fmt_lr(10 ** bottom[-1])}; the minimum's position is uncertain",
            )
    if not turned_up:
        note(
            "never_turned_up",
            "the loss never turned up: extend the range to higher LRs "
            f"(edge {fmt_lr(edge)} is only a lower bound)",
        )
    elif not diverged:
        note("no_blow_up", "the loss rose but the test did not blow up; the edge is an estimate")
    if n_finite < SHORT_STEPS:
        note(
            "short_test",
            f"short test: {n_finite} steps before it ended or blew up; the "
            f"landmarks rest on few points (run {SHORT_STEPS} or more)",
        )
    if steps_per_decade < FAST_STEPS_PER_DECADE:
        note(
            "fast_test",
            f"fast test: {steps_per_decade:.1f} steps per decade of LR; the loss lags "
            f"the LR (take {FAST_STEPS_PER_DECADE:.0f} or more steps per decade)",
        )

    if steps is not None:
        low, high = BUDGET_MEASURED
        where = (
            f"within the {low}-{high} steps measured"
            if low <= steps <= high
            else f"and {steps} steps lie outside the {low}-{high} measured"
        )
        note(
            "budget",
            f"budget: {steps} steps of training ({steps_source}); the suggestion is the one for "
            f"the default budget ({DEFAULT_STEPS} steps): on the development corpus the budget did "
            f"not move the sweep-best LR measurably, {where}",
        )

    log_mean, spread = landmark_estimate(candidates, shift)
    edge_only = False
    # The suggestion never goes above the edge: past it the loss climbed in this test.
    ceiling, ceiling_name = edge, "the edge"
    if method == "landmarks":
        chosen = None if log_mean is None else float(10**log_mean)
        end_level = float(np.median(y[-(2 * half + 1) :]))
        climbed = end_level > level0 + FLAT_NOISE_UNITS * level_noise
        ur_lr = candidates["update_ratio"]
        if chosen is None and (diverged or climbed):
            # No descent to read landmarks from, but the test blew up or its loss climbed clearly
            # over its start level: the edge is real, and alone it is moved by its offset.
            # On the development corpus these are the 7 clipped-LSTM tests of adding_lstm whose
            # loss sits on the adding problem's plateau until it blows up (plain SGD's best,
            # 0.56, lies above its test's edge: the plateau only breaks after hundreds of
            # steps); where the log has the update ratio, the LR that reaches a tuned run's
            # level is read instead: the size of the steps does not need a descent (confidence
            # as for the default: see CAVEATS); the edge alone is low confidence. Not silence.
            if ur_lr is None:
                edge_only = True
                chosen = float(edge * 10 ** shift["edge"])
                how = (
                    f"the edge {fmt_lr(edge)} moved by its measured offset "
                    f"({shift['edge']:+.2f} decades) alone; low confidence"
                )
            else:
                chosen = ur_lr
                how = (
                    f"the LR at which the update ratio reaches a tuned run's ({fmt_lr(ur_lr)}) "
                    "alone"
                )
                # With no descent the edge is where a plateau's fitted loss drifted over its
                # start level, not where a falling loss turned up, so it bounds nothing the
                # size of the steps says; the bound is the highest LR the test survived (on
                # the development corpus, plain SGD on the adding problem: its best, 0.56,
                # lies above that edge and near the update-ratio LR).
                ceiling, ceiling_name = float(10 ** x[-1]), "the highest LR the test survived"
            note("no_descent", f"no descent to read: the suggestion is {how}")
        elif chosen is not None and ur_lr is not None and turned_up:
            # Only a curve that turned up: otherwise its minimum and edge are lower bounds at the
            # range's top, and the steps' size cannot say how far above them the best lies
            # (docs/lr-numbers.md, lr-find step 5: the held-out logistic regression).
            below = math.log10(ur_lr / candidates["minimum"])
            if below > min_below_ur:
                # The minimum came where the steps were far smaller than a tuned run's
                # (MIN_BELOW_UR_DECADES): the loss stopped falling because the test converged,
                # not because the LR grew too large, so the size of the steps alone is read.
                note(
                    "bottomed_out",
                    f"the loss bottomed out at {fmt_lr(candidates['minimum'])}, {below:.1f} "
                    "decades below where the update ratio reaches a tuned run's level: the "
                    f"suggestion is that LR ({fmt_lr(ur_lr)}) alone",
                )
                chosen = ur_lr
            else:
                # two independent estimates (the curve's shape, the size of the steps): their mean
                chosen = float(math.sqrt(chosen * ur_lr))
    else:
        chosen = candidates[method]
    if chosen is not None and chosen > ceiling:
        note("capped", f"{method} ({fmt_lr(chosen)}) is above {ceiling_name}: capped there")
        chosen = ceiling
    confidence, span = "low", None
    if chosen is not None:
        caveat = edge_only or any(c in CAVEATS for c in codes)
        confidence = "medium" if method == "landmarks" and not caveat else "low"
        span = (
            float(chosen / 10**RANGE_DECADES),
            float(min(ceiling, chosen * 10**RANGE_DECADES)),
        )

    return LrFindResult(
        source=source,
        suggested_lr=human_lr(chosen),
        raw_lr=chosen,
        suggested_lr_range=span,
        method=method if chosen is not None else "none",
        candidates=candidates,
        confidence=confidence,
        spread_decades=spread,
        steps_per_decade=steps_per_decade,
        notes=notes,
        note_codes=codes,
        budget_steps=DEFAULT_STEPS if steps is None else int(steps),
        budget_source="default" if steps is None else steps_source,
        offsets=offsets,
        shift=dict(shift),
        lr=10**x,
        smoothed=np.interp(x, np.log10(lr[:n_finite]), smoothed),
        fitted=fitted,
    )


def analyse_run(run, **options) -> LrFindResult:
    """Analyse a normalised run (`lrdoctor.run.Run`) holding a range test, with the offsets of
    the optimizer family the log names (or `--optimizer` gave), if measured."""
    if not run.has("loss") or not run.has("lr"):
        missing = " and ".join(s for s in ("loss", "lr") if not run.has(s))
        raise InputError(
            run.source,
            f"no {missing} column found",
            "a range test logs the lr and the loss of every step; "
            "name them with --lr-col/--loss-col",
        )
    loss = run["loss"]
    lr_series = run["lr"].finite()
    if len(lr_series) < 2:
        raise InputError(run.source, "the lr column has fewer than two values")
    # LR at every loss step, interpolated in log space (some loggers write the LR less often)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lr = np.log10(lr_series.value)
    if not np.isfinite(log_lr).all():
        raise InputError(
            run.source,
            "the lr column has non-positive values",
            "a range test logs a positive, increasing LR at every step",
        )
    _check_range_test(run.source, lr_series.value)
    inside = (loss.step >= lr_series.step[0]) & (loss.step <= lr_series.step[-1])
    lr = 10 ** np.interp(loss.step[inside], lr_series.step, log_lr)
    options.setdefault("family", run.optimizer_family)
    options.setdefault("update_ratio", update_ratio_on(run, loss.step[inside]))
    return analyse(lr, loss.value[inside], source=run.source, **options)


def update_ratio_on(run, steps: np.ndarray) -> np.ndarray | None:
    """The run's update ratio at `steps` (NaN where it was not logged), or None without one."""
    if not run.has("update_ratio"):
        return None
    ur = run["update_ratio"]
    out = np.full(len(steps), np.nan)
    at = np.searchsorted(ur.step, steps)
    hit = at < len(ur.step)
    hit[hit] = ur.step[at[hit]] == steps[hit]
    out[hit] = ur.value[at[hit]]
    return out
