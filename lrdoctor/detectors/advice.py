"""Suggested learning rates as data: a point, a likely range, the method and its numbers.

The rules turn a Suggestion into words through the shared `[phrases.advice]` table
(rules/_phrases.toml); nothing here writes a sentence. Every number stays inside the range its
optimizer family is used with (DOMAIN.md), and advice to raise the LR is always above the run's
LR (to lower it, below).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrdoctor.detectors import knowledge
from lrdoctor.detectors.direction import Signs, typical_band
from lrdoctor.detectors.stats import human_lr
from lrdoctor.numeric import all_finite, where_true
from lrdoctor.run import Run

# How a suggestion is sized: numbers with their provenance in rules/_advice.toml.
TUNED_UPDATE_RATIO = knowledge.advice("tuned_update_ratio")
RATIO_EXPONENT = knowledge.advice("ratio_exponent")
RATIO_EXPONENT_RANGE = knowledge.advice("ratio_exponent_range")
BACKOFF = knowledge.advice("backoff")
BAND_MARGIN = knowledge.advice("band_margin")
AT_LEAST = knowledge.advice("at_least")
MIN_GROWTH = knowledge.advice("min_growth")
FIRST_JUMP = knowledge.advice("first_jump")
FIRST_JUMP_POWER = knowledge.advice("first_jump_power")
FALL_GAIN = knowledge.advice("fall_gain")
BEYOND_BOUNDED = knowledge.advice("beyond_bounded")
GEOMETRIC_CLIMB = knowledge.advice("geometric_climb")
PLAIN_SGD_JITTER = knowledge.advice("plain_sgd_jitter")
CALM_LR = knowledge.advice("calm_lr")


@dataclass(frozen=True)
class Profile:
    """The LR range practitioners use with an optimizer family (DOMAIN.md)."""

    low: float
    high: float


def profile(family: str | None) -> Profile | None:
    """The LR range practitioners use with the family (rules/_optimizers.toml `used`): the same
    number means different steps per optimizer."""
    known = knowledge.families().get(family)
    return Profile(*known.used) if known is not None and known.used else None


@dataclass(frozen=True)
class Suggestion:
    """An LR to try: `lr` (rounded for people), its likely range, how it was found."""

    lr: float | None
    low: float | None = None
    high: float | None = None
    method: str = "none"  # a code with a phrase in rules/_phrases.toml
    confidence: str = "low"  # low | medium | high
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def range(self) -> tuple[float, float] | None:
        return (self.low, self.high) if self.low is not None and self.high is not None else None

    def slots(self) -> dict[str, Any]:
        """The template slots of this advice: `advice` (the method code) and its numbers."""
        out = {"advice": self.method, "advice_confidence": self.confidence, **self.numbers}
        if self.lr is not None:
            out.update(advice_lr=self.lr, advice_low=self.low, advice_high=self.high)
        return out


NONE = Suggestion(None)


def lr_slots(lr: float | None) -> dict[str, Any]:
    """The `lr` slot, and `at_lr` saying whether there is one to name."""
    return {"lr": lr, "at_lr": "logged" if lr is not None else "not_logged"}


def lr_at(run: Run, step: float) -> float | None:
    """The LR in force at `step` (the last value logged at or before it)."""
    if not run.has("lr"):
        return None
    value = run["lr"].at(np.array([step], dtype=float))[0]
    return float(value) if np.isfinite(value) and value > 0 else None


def peak_lr(run: Run, until: float | None = None) -> float | None:
    """The highest positive LR logged (up to step `until`); several rules ask, so each
    answer is kept with the run (one pass over the LR column per question, not per rule)."""
    key = ("peak_lr", until)
    if key not in run.derived:
        run.derived[key] = _peak_lr(run, until)
    return run.derived[key]


def _peak_lr(run: Run, until: float | None) -> float | None:
    if not run.has("lr"):
        return None
    s = run["lr"] if until is None else run["lr"].until(until + 1)
    v = s.value
    if not (len(v) and all_finite(v) and v.min() > 0):  # the usual column: no mask to build
        v = where_true(v, np.isfinite(v) & (v > 0))
    return float(v.max()) if len(v) else None


def raise_floor(lr: float) -> float:
    """The least LR worth calling a raise: half as much again as the run's."""
    return lr * 1.5


def _make(
    run: Run,
    lr: float,
    point: float,
    low: float,
    high: float,
    method: str,
    confidence: str,
    direction: int,
    assumed: str | None = None,
    **numbers: Any,
) -> Suggestion:
    """Round, order and keep the advice inside the family's range and on the right side.

    `assumed` is the optimizer family when the log does not name it but the evidence does."""
    used = profile(run.optimizer_family or assumed)
    lo_bound, hi_bound = (used.low, used.high) if used else (1e-7, 10.0)
    if direction > 0:  # raise: strictly above the run's LR
        lo_bound = max(lo_bound, raise_floor(lr))
    else:
        hi_bound = min(hi_bound, lr / 1.5)
    if lo_bound > hi_bound:
        return NONE  # no LR in the family's range lies on the right side of this one
    clip = lambda x: float(np.clip(x, lo_bound, hi_bound))  # noqa: E731
    low, high = sorted((clip(low), clip(high)))
    point = clip(point)
    rounded = human_lr(point)
    if rounded is None or not lo_bound <= rounded <= hi_bound:
        rounded = point
    # The range holds the point people are told to try, also after rounding it.
    low, high = min(low, rounded), max(high, rounded)
    return Suggestion(rounded, low, high, method, confidence, dict(numbers))


def raise_from_ratio(
    run: Run, lr: float | None, ratio: float | None, tuned: float = TUNED_UPDATE_RATIO
) -> Suggestion:
    """Scale a crawling LR until the update/weight ratio reaches a well-tuned run's."""
    if lr is None or ratio is None or ratio <= 0:
        return raise_at_least(run, lr)
    gap = tuned / ratio
    lo_exp, hi_exp = RATIO_EXPONENT_RANGE
    return _make(
        run,
        lr,
        lr * gap ** (1 / RATIO_EXPONENT),
        lr * gap ** (1 / hi_exp),
        lr * gap ** (1 / lo_exp),
        "update_ratio",
        "medium",
        +1,
        ratio=ratio,
        target=tuned,
        exponent=RATIO_EXPONENT,
    )


@dataclass(frozen=True)
class FamilyGuess:
    """Which optimizer family a run's numbers point to, and from what."""

    family: str | None
    how: str | None  # logged | update_ratio | loss_per_lr (a code in [phrases.family_from])
    per_lr: float | None = None
    split: float | None = None


def guess_family(
    run: Run,
    lr: float | None,
    s: Signs | None,
    *,
    ratio_split: float = 1.0,  # LR003/LR004 adaptive_ratio_per_lr
    drop_split: float = 2.0,  # LR003/LR004 adaptive_drop_per_lr
) -> FamilyGuess:
    """The logged optimizer's family, else the one a crawling run's numbers point to.

    Adam-type steps move every weight by ~lr whatever the gradient, SGD by lr × gradient: per
    unit of LR, the update/weight ratio of an Adam-type run is orders of magnitude larger, and
    so is the share of its loss it loses per unit of lr × steps (loss-only logs). Both are
    ratios of the run's own numbers; the splits are rule parameters measured on too-low runs.
    """
    if run.optimizer_family:
        return FamilyGuess(run.optimizer_family, "logged")
    if lr is None or s is None:
        return FamilyGuess(None, None)
    if s.update_ratio:
        per_lr = s.update_ratio / lr
        jitter = step_jitter(run) if per_lr > ratio_split else None
        if jitter is not None and jitter < PLAIN_SGD_JITTER:
            return FamilyGuess("sgd", "update_follows_gradient", jitter, PLAIN_SGD_JITTER)
        return FamilyGuess(
            "adam" if per_lr > ratio_split else "sgd", "update_ratio", per_lr, ratio_split
        )
    per_lr = loss_per_lr(run, lr, s)
    if per_lr is None:
        return FamilyGuess(None, None)
    return FamilyGuess("adam" if per_lr > drop_split else "sgd", "loss_per_lr", per_lr, drop_split)


def usual_best(
    run: Run,
    lr: float | None,
    s: Signs | None,
    *,
    sgd_best: float = 0.178,  # LR003/LR004 sgd_best
    adaptive_best: float = 0.00562,  # LR003/LR004 adaptive_best
    ratio_split: float = 1.0,  # LR003/LR004 adaptive_ratio_per_lr
) -> float:
    """Where the best LR of the run's optimizer family usually lies, for judging which side of it
    a run that learned nothing sits on.

    Only a logged optimizer or the update ratio name the family here: a flat run lost nothing
    per unit of LR, so the loss-only guess would always say SGD. Past its edge an Adam-type
    run's weights blow up and its median ratio per unit of LR falls to SGD's; the first
    optimizer step, when logged, still shows its ~lr-sized steps (`first_step_ratio`).
    Without either, the lowest family's value (an LR above it may be past the edge of an
    Adam-type run); for a family with no measured value, the middle of its best band.
    """
    guess = guess_family(
        run, lr, s if s is not None and s.update_ratio else None, ratio_split=ratio_split
    )
    if guess.how == "update_ratio" and lr:
        first = first_step_ratio(run, lr)
        if first is not None and first > ratio_split:
            guess = FamilyGuess("adam", "first_step", first, ratio_split)
    measured = {"sgd": sgd_best, "adam": adaptive_best}
    if guess.family in measured:
        return measured[guess.family]
    if guess.family is None:
        return min(measured.values())
    low, high = typical_band(guess.family)
    return math.sqrt(low * high)


def known_best(run: Run, lr, s: Signs, sgd_best, adaptive_best, ratio_split) -> float | None:
    """`usual_best` when the log names the optimizer or its update/weight ratio points to a
    family; None when only the lowest family's value would stand in for it."""
    if run.optimizer_family is None and not s.update_ratio:
        return None
    return usual_best(
        run, lr, s, sgd_best=sgd_best, adaptive_best=adaptive_best, ratio_split=ratio_split
    )


def loss_per_lr(run: Run, lr: float, s: Signs) -> float | None:
    """The share of its first loss a run lost per unit of lr × steps (0 if it rose)."""
    steps = run["loss"].step
    span = float(steps[-1] - steps[0]) + 1.0
    if not np.isfinite(s.moved) or span <= 1 or lr <= 0:
        return None
    return max(1.0 - s.moved, 0.0) / (lr * span)


def raise_toward_best(
    run: Run,
    lr: float | None,
    s: Signs | None,
    *,
    tuned: float = TUNED_UPDATE_RATIO,
    sgd_best: float = 0.178,  # LR003/LR004 sgd_best
    adaptive_best: float = 0.00562,  # LR003/LR004 adaptive_best
    ratio_split: float = 1.0,  # LR003/LR004 adaptive_ratio_per_lr
    drop_split: float = 2.0,  # LR003/LR004 adaptive_drop_per_lr
    fall_gain: float | None = FALL_GAIN,  # LR003/LR004 fall_gain; None: the fall is noise
) -> Suggestion:
    """Raise a crawling LR toward where its optimizer family's best LR usually lies.

    A too-low run says little about how far below its best it sits (on ../shared/devcorpus one
    to five decades). Up to three estimates, each off by a task-dependent factor, are averaged
    in log: where the family's best LR usually lies; the LR that scales the update ratio, when
    logged, to a well-tuned run's; and the LR the run's own fall points to (`from_fall`: the
    loss fell in proportion to the LR, so the LR that would have lost the whole first loss in
    the same steps, times `fall_gain`). Without a family (Adagrad, Adadelta or no evidence)
    the ratio and the fall size it alone.
    """
    # LR003 and LR004 both ask on a crawling run: one answer per run and arguments. The Signs
    # are the run's own (kept in its `derived`); the kept answer holds them, so an id is not reused.
    key = ("raise_toward_best", lr, id(s), tuned, sgd_best, adaptive_best)
    key += (ratio_split, drop_split, fall_gain)
    kept = run.derived.get(key)
    if kept is None or kept[0] is not s:
        args = (tuned, sgd_best, adaptive_best, ratio_split, drop_split, fall_gain)
        kept = run.derived[key] = (s, _raise_toward_best(run, lr, s, *args))
    return kept[1]


def _raise_toward_best(
    run, lr, s, tuned, sgd_best, adaptive_best, ratio_split, drop_split, fall_gain
):
    ratio = s.update_ratio if s is not None else None
    # A fall within the loss's noise (fall_gain None) says nothing of the loss lost per unit
    # of LR either: only a logged optimizer or the update ratio name the family then.
    told = s if fall_gain is not None or ratio else None
    guess = guess_family(run, lr, told, ratio_split=ratio_split, drop_split=drop_split)
    prior = {"sgd": sgd_best, "adam": adaptive_best}.get(guess.family or "")
    fall = from_fall(lr, s, fall_gain)
    if lr is None or prior is None or prior <= raise_floor(lr):
        if fall is None:
            return raise_from_ratio(run, lr, ratio, tuned)
        prior = None  # no family band above the run's LR: the ratio and the fall size it
    return _raise_from(run, lr, prior, fall, ratio, tuned, guess, fall_gain, s)


def from_fall(lr: float | None, s: Signs | None, gain: float | None) -> float | None:
    """The LR a crawling run's fall points to: `gain` × lr / (share of its first loss lost).

    Far below its best LR a run loses a share of its loss in proportion to lr × steps, so
    lr / share is the LR at which that linear model loses the whole first loss in the run's
    own budget; the best LR sits `gain` times above it (rules/_advice.toml `fall_gain`). None
    when the loss did not fall."""
    if lr is None or s is None or gain is None or not np.isfinite(s.moved):
        return None
    share = 1.0 - s.moved
    return gain * lr / share if share > 0 else None


def _raise_from(run, lr, prior, fall, ratio, tuned, guess, fall_gain, s) -> Suggestion:
    """The geometric mean of the estimates there are (the family's prior, the scaled update
    ratio, the fall's), inside the family's typical band; the range: the estimates, widened
    1.7×."""
    family = dict(family=guess.family, family_from=guess.how) if guess.family else {}
    if guess.per_lr is not None:
        family.update(per_lr=guess.per_lr, split=guess.split)
    estimates = {} if prior is None else {"prior": prior}
    band = typical_band(guess.family)
    if ratio:
        # The ratio's extrapolation is not credible beyond where the family's best LR usually
        # lies (DOMAIN.md): a crawl several decades low, with a ratio near zero, scales past it.
        estimates["scaled"] = float(np.clip(lr * (tuned / ratio) ** (1 / RATIO_EXPONENT), *band))
    if fall is not None:
        estimates["fall"] = float(np.clip(fall, *band))
    values = list(estimates.values())
    point = math.exp(float(np.mean(np.log(values))))
    method = "+".join(sorted(estimates))
    numbers = dict(estimates)
    if ratio:
        numbers.update(ratio=ratio, target=tuned, exponent=RATIO_EXPONENT)
    if "fall" in estimates:
        numbers.update(moved=s.moved, gain=fall_gain)
    if len(values) == 1 and "prior" in estimates:
        low, high = point / 3, point * 3
    else:
        low, high = min(values) / 1.7, max(values) * 1.7
    return _make(
        run,
        lr,
        point,
        low,
        high,
        METHODS.get(method, method),
        "low" if len(values) == 1 else "medium",
        +1,
        guess.family,
        **numbers,
        **family,
    )


# The method codes (rules/_phrases.toml) of the estimates a raise averages.
METHODS = {
    "prior": "family_prior",
    "prior+scaled": "ratio_and_prior",
    "fall+prior": "fall_and_prior",
    "fall+prior+scaled": "ratio_fall_and_prior",
    "fall": "loss_fall",
    "fall+scaled": "ratio_and_fall",
}


def raise_at_least(run: Run, lr: float | None) -> Suggestion:
    """Nothing sizes the step: at least 10× up, toward where the family's best usually lies."""
    if lr is None:
        return NONE
    low, high = typical_band(run.optimizer_family)
    center = math.sqrt(low * high)
    point = max(lr * AT_LEAST, center)
    return _make(
        run,
        lr,
        point,
        lr * AT_LEAST,
        max(high, lr * AT_LEAST),
        "at_least",
        "low",
        +1,
        factor=AT_LEAST,
        center=center,
    )


def lower_from(
    run: Run,
    lr: float | None,
    *,
    sgd_best: float = 0.178,  # LR001 sgd_best
    far_past: bool = False,
    ratio_split: float = 1.0,  # LR001 adaptive_ratio_per_lr
) -> Suggestion:
    """Below an LR that was too high: ÷10, and no higher than a margin under the family's band
    (an unknown optimizer's: nor above what every family is used with).

    When the log does not name the optimizer, the family is the lowest-topped one (Adam-type)
    if the LR is under the safety margin above where SGD-type runs are usually best
    (`sgd_best` × `band_margin`: an SGD-type run there is rarely past its edge), or if the
    evidence says the run was thrown far past its edge (`far_past`: whatever the optimizer,
    its best then lies under every family's top), or if the update ratio of its first
    optimizer step says the steps were Adam-type (`first_step_ratio`). A run at `calm_lr` or
    more whose loss was never thrown up took SGD-type steps (`loss_calm`).
    """
    if lr is None:
        return NONE
    guess = lower_family(run, lr, sgd_best, far_past, ratio_split)
    top = typical_band(guess.family)[1] / BAND_MARGIN
    if guess.family is None:
        top = min(top, knowledge.used_by_every_family()[1])
    point = min(lr / BACKOFF, top)
    family = {} if guess.how is None else dict(family=guess.family, family_from=guess.how)
    if guess.per_lr is not None:
        family.update(per_lr=guess.per_lr, split=guess.split)
    backoff = _make(
        run,
        lr,
        point,
        point / 3.0,
        min(lr / 3.0, top * BAND_MARGIN),
        {None: "backoff_unnamed", "logged": "backoff"}.get(guess.how, "backoff_family"),
        "low",
        -1,
        guess.family,
        factor=BACKOFF,
        from_lr=lr,
        top=top,
        sgd_best=sgd_best,
        margin=BAND_MARGIN,
        **family,
    )
    # A first step that threw the loss up says how far past its edge the LR was; when that is
    # further than the backoff assumes, the edge sizes the step (the backoff stays the ceiling).
    # An edge that puts the best LR under the family's best band has left the linear model the
    # estimate rests on (a deep net compounds one step's growth across its layers): the jump
    # then says only "far past", which the backoff already assumes.
    edge = from_first_jump(run, lr, guess.family, **family)
    floor = typical_band(guess.family)[0]
    if edge is not None and backoff.lr is not None and floor <= edge.lr < backoff.lr:
        return edge
    return backoff


def lower_family(
    run: Run, lr: float, sgd_best: float, far_past: bool, ratio_split: float = 1.0
) -> FamilyGuess:
    """The family a too-high LR is sized for: the logged one, else the lowest-topped family
    when the LR or the evidence points to it (`lower_from`), else unknown."""
    if run.optimizer_family:
        return FamilyGuess(run.optimizer_family, "logged")
    if (growth := unbounded_growth(run)) is not None:
        return FamilyGuess("sgd", "weight_growth", growth, BEYOND_BOUNDED)
    if (climb := loss_climb(run)) is not None:
        return FamilyGuess("sgd", "loss_climb", climb, GEOMETRIC_CLIMB)
    lowest = min(
        (name for name in knowledge.families() if name is not None),
        key=lambda name: typical_band(name)[1],
    )
    if lr < sgd_best * BAND_MARGIN or far_past:
        return FamilyGuess(lowest, "far_past" if far_past else "below_sgd_best")
    first = first_step_ratio(run, lr)
    if first is not None and first > ratio_split:
        return FamilyGuess(lowest, "first_step", first, ratio_split)
    if lr >= CALM_LR and (rise := loss_calm(run)) is not None:
        return FamilyGuess("sgd", "loss_calm", rise, FIRST_JUMP)
    return FamilyGuess(None, None)


def step_jitter(run: Run) -> float | None:
    """How far the update/weight ratio strays from lr × gradient norm, row to row: the spread of
    the changes of log(ratio / (lr × grad norm)) over the spread of the changes of log(ratio).

    A plain SGD step is lr × gradient, so over a few steps (the weights' norm barely moves) the
    ratio follows lr × |g| exactly and the quotient does not jitter (near 0). Momentum, Adam,
    RMSprop and Adagrad steps smooth or normalise the gradient, so the quotient jitters as much
    as the ratio itself. A scale-free test, whatever the weights' size: a logistic regression
    started near zero has large SGD ratios per unit of LR, as Adam-type runs do. None without
    both columns on at least 30 shared finite rows.
    """
    # Every rule that guesses the family asks; the columns are the run's, so once is enough.
    if "step_jitter" not in run.derived:
        run.derived["step_jitter"] = _step_jitter(run)
    return run.derived["step_jitter"]


def _step_jitter(run: Run) -> float | None:
    if not run.has("update_ratio", "grad_norm", "lr"):
        return None
    ratio, grad, lr = run["update_ratio"], run["grad_norm"], run["lr"]
    steps, at_ratio, at_grad = np.intersect1d(
        ratio.step, grad.step, assume_unique=True, return_indices=True
    )
    at_lr = np.searchsorted(lr.step, steps)
    if not len(steps) or at_lr[-1] >= len(lr.step):
        return None
    same = lr.step[at_lr] == steps
    u, g, rate = ratio.value[at_ratio], grad.value[at_grad], lr.value[at_lr]
    ok = same & np.isfinite(u) & np.isfinite(g) & np.isfinite(rate) & (u > 0) & (g > 0) & (rate > 0)
    if ok.sum() < 30:
        return None
    log_ratio = np.log(u[ok])
    spread = float(np.std(np.diff(log_ratio)))
    if spread <= 0:
        return None
    return float(np.std(np.diff(log_ratio - np.log(g[ok] * rate[ok])))) / spread


def first_step_ratio(run: Run, lr: float) -> float | None:
    """The update/weight ratio per unit of LR of the run's first optimizer step, when the log's
    first row is that step (step 0, or 1 in a log counted from 1), else None.

    At the first step the weights are still the initial ones, however far past its edge the
    LR is: an Adam-type step moves every weight by about lr (m/sqrt(v) = sign(g)), a ratio of
    lr / rms(weights), above the LR for any initialisation with weights under 1; an SGD-type
    step moves them by lr x gradient. Later rows mix the two once the weights have blown up.
    """
    if lr <= 0 or not run.has("update_ratio"):
        return None
    ratio = run["update_ratio"]
    if (
        not len(ratio)
        or ratio.step[0] > 1
        or (run.has("loss") and run["loss"].step[0] < ratio.step[0])
    ):
        return None
    first = float(ratio.value[0])
    return first / lr if np.isfinite(first) and first > 0 else None


def unbounded_growth(run: Run) -> float | None:
    """How far the weight norm outgrew what bounded steps allow, when beyond `beyond_bounded`.

    Adam-type, Adagrad and Adadelta steps move a weight by at most about lr per step whatever
    the gradient, so |W_t| <= |W_0| + c·t: between logged steps t1 < t2 the norm grows at most
    t2/t1 times. SGD-type steps are lr × gradient, and past the edge of stability the weights
    grow geometrically. The largest (|W_t2| / |W_t1|) / (t2 / t1) over the log, O(n); None
    without a logged weight norm or when it stays within `beyond_bounded` of the bound."""
    if not run.has("weight_norm"):
        return None
    w = run["weight_norm"].finite()
    keep = (w.value > 0) & (w.step >= 1)
    per_step = w.value[keep] / w.step[keep]
    if len(per_step) < 5:
        return None
    lowest = np.minimum.accumulate(per_step)
    excess = float(np.max(per_step[1:] / lowest[:-1]))
    return excess if excess > BEYOND_BOUNDED else None


def loss_climb(run: Run) -> float | None:
    """How far the loss climbed after its first logged row, when beyond `geometric_climb`.

    Past the edge an SGD-type step multiplies the error by |1 - lr·λ|, so the loss keeps
    growing geometrically, row after row, until it overflows; Adam-type steps move a weight by
    about lr at most, so after the first jump the loss grows no faster than the weights do, in
    proportion to the steps. The largest finite loss before the first non-finite one over the
    second logged loss; None with fewer than three finite rows or a climb within the limit."""
    if not run.has("loss"):
        return None
    v = run["loss"].value
    bad = ~np.isfinite(v)
    head = v[: int(np.argmax(bad))] if bad.any() else v
    if len(head) < 3 or head[1] <= 0:
        return None
    climb = float(head[1:].max() / head[1])
    return climb if climb > GEOMETRIC_CLIMB else None


def loss_calm(run: Run) -> float | None:
    """How far the finite loss ever rose above its first logged value, when under `first_jump`.

    An Adam-type or Adagrad step moves every weight by about lr whatever the gradient: at an LR
    of `calm_lr` or more that is far over an initialisation's weights, and the loss is thrown up
    at once. An SGD-type step is lr × gradient, which a small gradient keeps small. None unless
    the log opens on the first optimizer step (a later first row may already be thrown), with
    fewer than three finite rows, or with a rise of `first_jump` or more."""
    if not run.has("loss"):
        return None
    loss = run["loss"].finite()
    v = loss.value
    if len(v) < 3 or v[0] <= 0 or loss.step[0] > 1:
        return None
    rise = float(v.max() / v[0])
    return rise if rise < FIRST_JUMP else None


def from_blow_up(
    run: Run, lr: float | None, until: float, safety: float = 3.0, last: int = 10
) -> Suggestion | None:
    """Size the LR from how fast the run blew up.

    Past the edge of stability an error grows by g = |1 - lr·λ| per step, so lr/lr_edge =
    (1 + g)/2; g is read off the per-step growth of the gradient norm (or of the loss, which
    grows as g²) just before the blow-up. Smith's rule then puts a good LR ~3× below the edge.
    """
    if lr is None:
        return None
    for name, power in (("grad_norm", 1.0), ("loss", 0.5)):
        if not run.has(name):
            continue
        part = run[name].until(until).finite()
        v, steps = part.value[-(last + 1) :], part.step[-(last + 1) :]
        if len(v) < 4 or np.any(v <= 0):
            continue
        # Growth per optimizer step, not per logged row: a log written every k steps shows
        # g^k between rows, which would put the edge k times too far below the LR.
        per_step = np.diff(np.log(v)) / np.maximum(np.diff(steps), 1.0)
        # Deep nets compound the growth as the weights blow up; its slowest steps are the ones
        # closest to the linear regime the estimate assumes.
        growth = float(np.exp(np.percentile(per_step, 25) * power))
        if growth <= MIN_GROWTH:
            continue
        edge = lr * max(2.0 / (1.0 + growth), 1e-2)
        numbers = dict(signal=name, growth=growth ** (1 / power))
        return _past_edge(run, lr, edge, safety, "blow_up_edge", **numbers)
    return None


def from_first_jump(
    run: Run, lr: float | None, assumed: str | None = None, safety: float = 3.0, **family: Any
) -> Suggestion | None:
    """Size the LR from a first logged step that threw the loss up (`first_jump` or more).

    The loss of the first step past the edge grows by g² = (1 - lr·λ)² (`from_blow_up`), so
    the jump between the first two logged rows, per optimizer step between them, gives g and
    the edge 2·lr/(1+g); a good LR sits `safety` below it. A deep net compounds the growth
    across its layers, which puts the edge too low rather than too high: `lower_from` keeps its
    backoff as the ceiling and drops an edge under the family's best band (`assumed`, and
    `family`: the numbers saying where that family came from). None without such a jump.
    """
    if lr is None or not run.has("loss"):
        return None
    loss = run["loss"].finite()
    if len(loss) < 2 or loss.value[0] <= 0:
        return None
    jump = float(loss.value[1] / loss.value[0])
    if not jump >= FIRST_JUMP or _compounded(run, loss, jump):
        return None
    gap = float(loss.step[1] - loss.step[0])  # optimizer steps between the two rows
    growth = jump ** (0.5 / max(gap, 1.0))
    edge = lr * 2.0 / (1.0 + growth)
    numbers = dict(jump=jump, steps=gap, growth=growth, **family)
    return _past_edge(run, lr, edge, safety, "first_jump_edge", assumed, **numbers)


def _compounded(run: Run, loss, jump: float) -> bool:
    """Whether the gradient norm grew too fast beside the loss's first jump for the quadratic
    regime `from_first_jump` rests on (loss ~ gradient^2; `first_jump_power`)."""
    if not run.has("grad_norm"):
        return False
    grad = run["grad_norm"].finite()
    if len(grad) < 2 or grad.step[0] != loss.step[0] or grad.step[1] != loss.step[1]:
        return False
    if not grad.value[0] > 0:
        return False
    grew = float(grad.value[1] / grad.value[0])
    return grew > 1.0 and np.log(jump) < FIRST_JUMP_POWER * np.log(grew)


def _past_edge(
    run: Run,
    lr: float,
    edge: float,
    safety: float,
    method: str,
    assumed: str | None = None,
    **numbers: Any,
) -> Suggestion:
    """`safety` below an edge of stability read off a blow-up; the range: 3× either way."""
    return _make(
        run,
        lr,
        edge / safety,
        edge / (3 * safety),
        edge / 1.5,
        method,
        "medium",
        -1,
        assumed,
        edge=edge,
        safety=safety,
        **numbers,
    )
