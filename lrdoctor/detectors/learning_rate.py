"""LR too high or too low, from the loss curve's shape and the update/weight ratio."""

from __future__ import annotations

import numpy as np

from lrdoctor import suggest
from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors.direction import Sign, Signs, high_signs, low_signs, signs_of
from lrdoctor.detectors.shape import (
    blowup,
    high_lr_phase,
    loss_exploded,
    lr_outside_profile,
    no_progress,
    shape_of,
    weights_exploded,
)
from lrdoctor.detectors.stats import fmt_lr, fmt_num
from lrdoctor.run import Run


@detector("lr_too_high")
def lr_too_high(
    run: Run, *, rise_fraction: float = 0.2, min_z: float = 3.0, blowup_factor: float = 10.0,
    backoff: float = 10.0, above_start: float = 1.1, blowup_peak: float = 10.0,
    blowup_catapult: float = 20.0, blowup_moved: float = 0.5, stuck_moved: float = 0.8,
    peak: float = 1.5, catapult: float = 3.0, low_ratio: float = 1e-3, flat_trend: float = -0.5,
    thrown_catapult: float = 1000.0,
) -> list[Evidence]:
    """Loss that rose back after its best, parameters that exploded, a run that blew up early
    and never learned, or one that barely moved with the signs of an LR past its edge."""
    if not run.has("loss") or not np.isfinite(run["loss"].value).all():
        return []  # a run that went non-finite is NF001's, which also says why
    sh = shape_of(run)
    if sh is None:
        return []
    rise = sh.end - sh.best_region
    reasons = []
    observed = limit = None
    first_bad = int(sh.loss.step[0])
    if rise > min_z * sh.se and rise >= rise_fraction * max(sh.drop, 0.0) and (
        sh.best_at < len(sh.curve) - 2
    ):
        first_bad = int(sh.curve.end[sh.best_at])
        share = rise / sh.drop if sh.drop > 0 else np.inf
        observed, limit = (float(min(share, 1e6)) if np.isfinite(share) else None), rise_fraction
        reasons.append(
            f"the loss rose from its best {fmt_num(sh.best)} (step {first_bad}) back to "
            f"{fmt_num(sh.end)}, {_share(share)} of its earlier fall (limit {rise_fraction:.0%})"
            if np.isfinite(share) else
            f"the loss never fell and rose to {fmt_num(sh.end)} from {fmt_num(sh.start)}"
        )
    # An explosion the run fully recovered from is a transient (a spike, or a warm-up to add);
    # one after which the loss stayed above its best, or never got below its start, is not.
    stuck = no_progress(sh, min_z)
    if (exploded := weights_exploded(run)) is not None:
        reasons.append(exploded)
    elif (stuck or rise > min_z * sh.se) and (
        exploded := loss_exploded(run, blowup_factor)
    ) is not None:
        ending = "never recovered" if stuck else f"ended above its best, at {fmt_num(sh.end)}"
        reasons.append(f"{exploded} and the loss {ending}")
    outside = lr_outside_profile(run)
    if not reasons and stuck and outside and outside[0] == "high":
        reasons.append(f"the loss never left its starting level {fmt_num(sh.start)}; {outside[1]}")
    elif not reasons and outside and outside[0] == "high":
        # The optimizer is known and its LR is beyond anything it is used with: on
        # ../shared/devcorpus all 23 such runs were too high, whatever their curves looked like.
        reasons.append(outside[1])
    if not reasons and (s := signs_of(run)) is not None:
        lr = suggest.peak_lr(run)
        found = _high_side(s, lr, run.optimizer_family, above_start, blowup_peak,
                           blowup_catapult, blowup_moved, stuck_moved, peak, catapult, low_ratio,
                           flat_trend, thrown_catapult)
        if found is not None:
            observed, limit, text = found
            reasons.append(text)
    if not reasons:
        return []
    unstable = suggest.peak_lr(run, until=first_bad) or suggest.peak_lr(run)
    advice = suggest.lower(run, unstable, backoff)
    return [
        Evidence(
            observed=observed, limit=limit, step=first_bad, step_end=int(sh.loss.step[-1]),
            suggested_lr=advice.lr,
            slots={"what": "; ".join(reasons), "lr": fmt_lr(unstable),
                   "advice": advice.text or "a lower LR"},
        )
    ]


def _high_side(s: Signs, lr, family, above_start, blowup_peak, blowup_catapult, blowup_moved,
               stuck_moved, peak, catapult, low_ratio, flat_trend, thrown_catapult):
    """(observed, limit, what) when the loss-shape signs put the run above its best LR."""
    gc = s.grad_catapult
    if gc is not None and gc >= thrown_catapult:
        # The first logged step already came after an explosion (loggers that skip the
        # pre-update row): its gradient dwarfs every later one, whatever the loss did next.
        return gc, thrown_catapult, (
            f"the first logged gradient norm was {fmt_num(gc)}× its later median (limit "
            f"{thrown_catapult:g}×): the first updates threw the weights far out")
    if s.moved >= above_start:
        return s.moved, above_start, (
            f"the loss ended at {fmt_num(s.end)}, {s.moved:.3g}× its first logged value "
            f"{fmt_num(s.start)} (limit {above_start:g}×)")
    if s.moved >= blowup_moved and (s.early_peak >= blowup_peak or (gc or 0) >= blowup_catapult):
        what, value, lim = (("loss", s.early_peak, blowup_peak) if s.early_peak >= blowup_peak
                            else ("gradient norm", gc, blowup_catapult))
        return value, lim, (
            f"the {what} blew up early ({fmt_num(value)}× its first value, limit {lim:g}×) and "
            f"the loss ended at {s.moved:.0%} of where it started")
    if s.moved < stuck_moved:
        return None
    high = high_signs(s, lr, family, peak=peak, catapult=catapult)
    if s.trend < flat_trend:  # still descending: a jump or a catapult it is recovering from
        high = [h for h in high if h.name == "lr_above_band"]
    low = low_signs(s, lr, family, ratio=low_ratio)
    if not high or low:
        return None
    sign = high[0]
    return s.moved, stuck_moved, (
        f"the loss barely moved ({fmt_num(s.start)} → {fmt_num(s.end)}, {s.moved:.0%} of its "
        f"start; limit {stuck_moved:.0%}) and {_sign_text(sign)}")


def _sign_text(sign: Sign) -> str:
    return {
        "early_peak": f"first jumped to {sign.observed:.3g}× its start (limit {sign.limit:g}×)",
        "grad_catapult": (f"the first gradient norm was {sign.observed:.3g}× its later level "
                          f"(limit {sign.limit:g}×): a catapult past the edge of stability"),
        "lr_above_band": (f"lr={fmt_lr(sign.observed)} is above {fmt_lr(sign.limit)}, where "
                          "this optimizer's best LR usually lies"),
        "small_updates": (f"the update/weight ratio is only {sign.observed:.1e} "
                          f"(limit {sign.limit:.0e})"),
        "lr_below_band": (f"lr={fmt_lr(sign.observed)} is below {fmt_lr(sign.limit)}, where "
                          "this optimizer's best LR usually lies"),
        "linear_regime": (f"each step made {sign.observed:.2g}× the fall that lr·|g|² predicts "
                          f"(limit {sign.limit:g}): steps this small are far below the edge"),
    }[sign.name]


def _share(x: float) -> str:
    return f"{x:.0%}" if x < 10 else f"{fmt_num(x)}×"


@detector("lr_too_low")
def lr_too_low(
    run: Run, *, min_share: float = 0.15, min_z: float = 3.0, boost: float = 10.0,
    stuck_moved: float = 0.8, low_ratio: float = 1e-3, peak: float = 1.5, catapult: float = 3.0,
    min_left: float = 0.1,
) -> list[Evidence]:
    """The run barely moved with the signs of a crawling LR (a warning), or its loss still falls
    steadily at the end (info: unfinished, which the budget-best LR often is too).

    Under a decaying schedule only the phase at high LR (at least half the peak) is judged,
    since the decay slows the end of every run on purpose.
    """
    if not run.has("loss") or not np.isfinite(run["loss"].value).all() or blowup(run):
        return []
    lr = suggest.peak_lr(run)
    s = signs_of(run)
    if s is not None and s.moved >= stuck_moved:
        low = low_signs(s, lr, run.optimizer_family, ratio=low_ratio)
        high = high_signs(s, lr, run.optimizer_family, peak=peak, catapult=catapult)
        if low and not high:
            advice = suggest.higher(run, lr, boost)
            return [Evidence(
                observed=s.moved, limit=stuck_moved, step=int(run["loss"].step[0]),
                step_end=int(run["loss"].step[-1]), suggested_lr=advice.lr,
                slots={"what": (f"the loss barely moved ({fmt_num(s.start)} → {fmt_num(s.end)},"
                                f" {s.moved:.0%} of its start; limit {stuck_moved:.0%}) and "
                                f"{_sign_text(low[0])}"),
                       "lr": fmt_lr(lr), "advice": advice.text or "a higher LR"},
            )]
    phase = high_lr_phase(run)
    if phase is None:
        return []
    sh = shape_of(phase)
    if sh is None:
        return []
    outside = lr_outside_profile(run)
    # Below the range its (known) optimizer is used with and not past a tenth of its start:
    # on ../shared/devcorpus all 19 runs below the range were too low.
    stuck_low = outside is not None and outside[0] == "low" and (
        no_progress(sh, min_z) or (s is not None and s.moved >= min_left))
    steady = (
        _still_falling(sh, min_z) and sh.second_half_share >= min_share
        and sh.start - sh.mid > min_z * sh.late_se  # both halves fell: a steady descent
    )
    if not (steady or stuck_low):
        return []
    advice = suggest.higher(run, lr, boost if sh.second_half_share >= 0.3 else boost / 3)
    # Unfinished at an LR below the band where the optimizer's best usually lies: the slow
    # descent is the LR's doing, not the budget's.
    below = low_signs(s, lr, run.optimizer_family, ratio=0.0) if s else []
    what = (f"the loss ended at {s.moved if s else 1:.0%} of its start; {outside[1]}"
            if stuck_low else
            f"the loss fell from {fmt_num(sh.start)} to {fmt_num(sh.end)} and the second half "
            f"of the run still made {sh.second_half_share:.0%} of that progress (limit "
            f"{min_share:.0%}; a converging run makes far less)"
            + (f", and {_sign_text(below[0])}" if below else ""))
    return [
        Evidence(
            observed=sh.second_half_share, limit=min_share, step=int(sh.loss.step[0]),
            step_end=int(sh.loss.step[-1]), suggested_lr=advice.lr,
            # Still falling at the end is what the budget-best LR does too: unfinished, not
            # evidence of a low LR on its own.
            severity=None if stuck_low or below else "info",
            slots={"what": what, "lr": fmt_lr(lr), "advice": advice.text or "a higher LR"},
        )
    ]


def _still_falling(sh, min_z: float) -> bool:
    """The second half lowered the smoothed loss by more than noise can explain."""
    return sh.total > min_z * sh.se and sh.second_half_fall > min_z * sh.late_se


def _ratio_window(run: Run, skip: float = 0.1) -> np.ndarray:
    s = run["update_ratio"].finite()
    v = s.value[int(len(s) * skip):]
    return v[v > 0]


@detector("update_ratio_high")
def update_ratio_high(run: Run, *, limit: float = 0.1, backoff: float = 10.0) -> list[Evidence]:
    """The median update/weight ratio sits far above the ~1e-3 that healthy training shows."""
    v = _ratio_window(run)
    if len(v) < 10:
        return []
    ratio = float(np.median(v))
    if ratio <= limit:
        return []
    lr = suggest.peak_lr(run)
    return _ratio_evidence(run, ratio, limit, lr, suggest.lower(run, lr, backoff), "a lower LR")


@detector("update_ratio_low")
def update_ratio_low(
    run: Run, *, limit: float = 1e-3, boost: float = 10.0, peak: float = 1.5,
    min_left: float = 0.1,
) -> list[Evidence]:
    """A small update/weight ratio over the peak-LR phase of a run that never blew up and did
    not cut its loss tenfold."""
    s = signs_of(run)
    if s is None or s.update_ratio is None or blowup(run) is not None:
        return []
    # After a jump of the loss, tiny updates mean dead units, not a small LR; a run that cut
    # its loss tenfold is not crawling, whatever its updates.
    if s.update_ratio >= limit or s.early_peak >= peak or s.moved < min_left:
        return []
    state = (f"and the loss barely moved ({fmt_num(s.start)} → {fmt_num(s.end)})"
             if s.moved >= 0.8 else f"and the loss only fell to {s.moved:.0%} of its start")
    lr = suggest.peak_lr(run)
    advice = suggest.higher(run, lr, boost)
    return _ratio_evidence(run, s.update_ratio, limit, lr, advice, "a higher LR", state=state)


def _ratio_evidence(run: Run, ratio: float, limit: float, lr: float | None, advice,
                    fallback: str, **slots: str) -> list[Evidence]:
    """The finding of an update-ratio rule: the median ratio against its limit, over the run."""
    steps = run["update_ratio"].step
    return [
        Evidence(
            observed=ratio, limit=limit, step=int(steps[0]), step_end=int(steps[-1]),
            suggested_lr=advice.lr,
            slots={"lr": fmt_lr(lr), "advice": advice.text or fallback, **slots},
        )
    ]
