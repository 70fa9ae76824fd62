"""LR too high or too low, from the loss curve's shape, the LR's signs and the update ratio.

Every detector here returns a reason code and raw numbers; the words, severities and measured
confidences live in rules/LR00*.toml.
"""

from __future__ import annotations

import math

import numpy as np

from lrdoctor.detectors import Evidence, NotJudged, detector
from lrdoctor.detectors import advice as adv
from lrdoctor.detectors.direction import (
    Sign,
    Signs,
    first_row_is_a_mean,
    high_signs,
    low_signs,
    opens_late,
    signs_of,
    typical_band,
)
from lrdoctor.detectors.learning import at_chance_level, memorised
from lrdoctor.detectors.shape import (
    blowup,
    high_lr_phase,
    loss_exploded,
    lr_outside_profile,
    misses_its_start,
    no_progress,
    shape_of,
    weights_exploded,
)
from lrdoctor.detectors.stats import median
from lrdoctor.detectors.validation import validation_rise
from lrdoctor.numeric import all_finite, where_true
from lrdoctor.run import Run


def _finite_loss(run: Run) -> bool:
    return run.has("loss") and all_finite(run["loss"].value)


def _sign_slots(prefix: str, sign: Sign) -> dict:
    return {prefix: sign.name, f"{prefix}_observed": sign.observed, f"{prefix}_limit": sign.limit}


@detector(
    "lr_too_high",
    reasons=(
        "rose_after_best",
        "never_fell",
        "weights_exploded",
        "loss_exploded",
        "above_range_stuck",
        "above_range",
        "above_range_quiet",
        "thrown_early",
        "gradient_outfell_loss",
        "ended_above_start",
        "early_blowup",
        "jumped_flat",
        "overshooting_steps",
        "overshooting_unnamed",
        "opened_flat",
        "opened_high",
        "opened_late",
        "stuck_high",
        "flat_above_best",
        "worse_as_a_whole",
    ),
)
def lr_too_high(
    run: Run,
    *,
    rise_fraction: float = 0.2,
    min_z: float = 3.0,
    blowup_factor: float = 10.0,
    weight_blowup: float = 100.0,
    above_start: float = 1.1,
    blowup_peak: float = 10.0,
    blowup_catapult: float = 20.0,
    blowup_moved: float = 0.5,
    stuck_moved: float = 0.8,
    peak: float = 1.5,
    catapult: float = 3.0,
    low_ratio: float = 1e-3,
    flat_trend: float = -0.5,
    thrown_catapult: float = 1000.0,
    thrown_excess: float = 10.0,
    thrown_outfell: float = 0.4,
    thrown_opening: float = 10.0,
    jump_trend: float = -0.5,
    above_range_opening: float = 3.0,
    flat_opening: float = 1.5,
    sgd_best: float = 0.178,
    adaptive_best: float = 0.00562,
    adaptive_ratio_per_lr: float = 1.0,
    edge_efficiency: float = 1e-4,
    flat_moved: float = 0.85,
    chance_tolerance: float = 0.02,
    chance_above: float = 0.05,
    most_classes: int = 10,
    calm_catapult: float = 1.5,
    steady_trend: float = -0.9,
    val_rise: float = 0.15,
    val_points: int = 6,
    memorised_below: float = 0.005,
    memorised_gap: float = 0.015,
) -> list[Evidence]:
    """Loss that rose back after its best, parameters that exploded, a run that blew up early
    and never learned, one that barely moved with the signs of an LR past its edge, or one
    whose validation loss rose while its training loss stopped falling."""
    if not _finite_loss(run):
        return []  # a run that went non-finite is NF001's, which also says why
    sh = shape_of(run)
    if sh is None:
        return []
    first_bad = int(sh.loss.step[0])
    found = _by_shape(run, sh, rise_fraction, min_z, blowup_factor, weight_blowup, stuck_moved)
    weak = None
    if found is not None and found[0] == "rose_after_best":
        first_bad = int(sh.curve.end[sh.best_at])
    if found is None and (s := signs_of(run)) is not None:
        lr = adv.peak_lr(run)
        chance = at_chance_level(run, s, flat_moved, chance_tolerance, chance_above, most_classes)
        # lr·|g|² is an SGD step's first-order fall; Adam-type and Adagrad steps are not lr·g.
        # The update ratio per unit of LR tells Adam-type steps apart, not Adagrad's, whose
        # shrinking steps look as small as SGD's: only a logged SGD-type name makes it evidence.
        guess = adv.guess_family(
            run, lr, s if s.update_ratio else None, ratio_split=adaptive_ratio_per_lr
        )
        sgd_type = guess.family == "sgd"
        found = _by_signs(
            s,
            lr,
            run.optimizer_family,
            adv.known_best(run, lr, s, sgd_best, adaptive_best, adaptive_ratio_per_lr),
            chance,
            above_start=above_start,
            blowup_peak=blowup_peak,
            blowup_catapult=blowup_catapult,
            blowup_moved=blowup_moved,
            stuck_moved=stuck_moved,
            peak=peak,
            catapult=catapult,
            low_ratio=low_ratio,
            flat_trend=flat_trend,
            thrown_catapult=thrown_catapult,
            thrown_excess=thrown_excess,
            thrown_outfell=thrown_outfell,
            thrown_opening=thrown_opening,
            jump_trend=jump_trend,
            edge_efficiency=edge_efficiency if sgd_type else None,
            calm_catapult=calm_catapult,
            steady_trend=steady_trend,
            flat_moved=flat_moved,
            memorising=memorised(run, s, chance, memorised_below, memorised_gap),
        )
        if found is not None and found[0] == "overshooting_steps" and guess.how != "logged":
            weak = "overshooting_unnamed", *found[1:]  # info, unless a later sign speaks
            found = None
    if found is None and (found := _worse_as_a_whole(run, val_rise, val_points, min_z)):
        first_bad = found[3]["val_best_step"]  # where the validation loss turned up
    if found is None:
        found = _above_range(run, s, above_range_opening)
    if (
        found is None
        and s is not None
        and s.opening >= flat_opening
        and s.moved >= blowup_moved
        and no_progress(sh, min_z)
    ):
        # The log opened on a loss above the next rows and never got clearly below them: the
        # plateau after a blow-up before the first row (LR003's no_progress steps aside here).
        found = "opened_flat", s.opening, flat_opening, _loss_slots(s)
    if found is None and s is not None and s.opening >= thrown_opening:
        # A first logged loss far above the next ones. When it is the mean of the run's first
        # steps (a logging window, an epoch), those steps went up before they came down: the
        # tail of an explosion. A single loss logged after unlogged steps fits a fast first
        # fall just as well (on ../shared/devcorpus runs rewritten every 5 steps, a third of
        # its firings were healthy runs): info.
        base = _loss_slots(s)
        reason = "opened_high" if first_row_is_a_mean(run) else "opened_late"
        found = reason, s.opening, thrown_opening, {**base, "first_step": int(sh.loss.step[0])}
    if found is None:
        found = weak
    if found is None:
        return []
    reason, observed, limit, slots = found
    slots = {"blowup_moved": blowup_moved, **slots}
    unstable = adv.peak_lr(run, until=first_bad) or adv.peak_lr(run)
    advice = adv.lower_from(
        run,
        unstable,
        sgd_best=sgd_best,
        far_past=reason in THROWN_FAR_PAST,
        ratio_split=adaptive_ratio_per_lr,
    )
    return [
        Evidence(
            reason=reason,
            observed=observed,
            limit=limit,
            step=first_bad,
            step_end=int(sh.loss.step[-1]),
            suggested_lr=advice.lr,
            suggested_lr_range=advice.range,
            slots={
                **adv.lr_slots(unstable),
                "best": sh.best,
                "best_step": first_bad,
                "end": sh.end,
                "start": sh.start,
                **slots,
                **advice.slots(),
            },
        )
    ]


# Reasons that say the loss was thrown up by orders of magnitude before the log began (a first
# gradient norm 1000x its later level, or one that fell far more than the loss did; a first
# window mean 10x the next rows), or the weights were (their norm grew 100x and stayed): far
# past the edge, whatever the optimizer (advice.lower_from; rules/_advice.toml `band_margin`).
THROWN_FAR_PAST = ("thrown_early", "gradient_outfell_loss", "opened_high", "weights_exploded")


def _by_shape(run: Run, sh, rise_fraction, min_z, blowup_factor, weight_blowup, stuck_moved):
    """(reason, observed, limit, slots) from the loss shape and explosions, or None."""
    rise = sh.end - sh.best_region
    rose = (
        rise > min_z * sh.late_se  # a difference of two smoothed levels
        and rise >= rise_fraction * max(sh.drop, 0.0)
        and (sh.best_at < len(sh.curve) - 2)
    )
    # The fall before the rise must itself be more than noise: on a flat noisy run the best of
    # 20 medians sits below the start by chance, and a rise "back" from it is no rise at all.
    if rose and not no_progress(sh, min_z):
        return "rose_after_best", float(min(rise / sh.drop, 1e6)), rise_fraction, {}
    if rose and sh.end - sh.start > min_z * sh.late_se:
        return "never_fell", None, None, {}
    # An explosion the run fully recovered from is a transient (a spike, or a warm-up to add);
    # one after which the loss stayed above its best, or never got below its start, is not.
    stuck = no_progress(sh, min_z)
    if (grown := weights_exploded(run, weight_blowup)) is not None:
        return "weights_exploded", grown, weight_blowup, {}
    if (stuck or rise > min_z * sh.se) and (peak := loss_exploded(run, blowup_factor)):
        return "loss_exploded", peak, blowup_factor, {"recovered": "never" if stuck else "above"}
    outside = lr_outside_profile(run)
    if stuck and outside and outside[0] == "high" and _stayed_at_its_start(run, stuck_moved):
        _, lr, low, high = outside
        return "above_range_stuck", lr, high, {"range_low": low, "range_high": high}
    return None


def _stayed_at_its_start(run: Run, stuck_moved: float) -> bool:
    """Whether the log shows the start and the loss never left it. The smoothed start is the
    head's median: a loss that fell decades within its first few logged steps (a convex model
    on separable data) sits there already, and the first logged value says it left; a log
    that opens after unlogged updates does not show where training started."""
    s = signs_of(run)
    return not opens_late(run) and not (s is not None and s.moved < stuck_moved)


def _loss_slots(s: Signs) -> dict:
    """Where the loss started and ended, the slots every sign-based reason shows."""
    return {"moved": s.moved, "first": s.start, "final": s.end}


def _worse_as_a_whole(run: Run, val_rise, val_points, min_z):
    """(reason, observed, limit, slots) when the validation loss rose beyond its noise and
    `val_rise` above its minimum while the training loss did not keep falling, and the rise is
    also `val_rise` of the first logged training loss: a loss near zero that bounces up by a
    few hundredths of where training began is noise around convergence, not an LR problem."""
    vr = validation_rise(
        run, min_rise=val_rise, min_points=val_points, min_z=min_z, best_before=1.0
    )
    if vr is None or not vr.robust or vr.train_falling:
        return None
    if not vr.rise >= val_rise * abs(vr.first_train):
        return None
    return (
        "worse_as_a_whole",
        vr.rise / abs(vr.low) if vr.low != 0 else np.inf,
        val_rise,
        {
            "best_val": vr.low,
            "end_val": vr.end,
            "val_best_step": vr.best_step,
            "share": vr.rise / abs(vr.first_train) if vr.first_train != 0 else np.inf,
            "first": vr.first_train,
        },
    )


def _above_range(run: Run, s: Signs | None, opening: float):
    """(reason, observed, limit, slots) when the LR is above its optimizer's usual range and
    nothing else spoke: an error when the log opened on the tail of a fall too sharp for a
    fresh start, else info (a convex model, e.g. logistic regression under Adagrad or SGD, can
    be at its best LR well above the range networks are trained with)."""
    outside = lr_outside_profile(run)
    if not outside or outside[0] != "high":
        return None
    _, lr, low, high = outside
    opened = s.opening if s is not None else 1.0
    reason = "above_range" if opened >= opening else "above_range_quiet"
    return reason, lr, high, {"range_low": low, "range_high": high, "opening": opened}


def _by_signs(
    s: Signs,
    lr,
    family,
    best: float | None,
    chance: int | None,
    *,
    above_start,
    blowup_peak,
    blowup_catapult,
    blowup_moved,
    stuck_moved,
    peak,
    catapult,
    low_ratio,
    flat_trend,
    thrown_catapult,
    thrown_excess,
    thrown_outfell,
    thrown_opening,
    jump_trend,
    edge_efficiency,
    calm_catapult,
    steady_trend,
    flat_moved,
    memorising,
):
    """(reason, observed, limit, slots) when the run's signs put it above its best LR; `best`
    is where its family's best LR usually lies (None when the family is not known), `chance`
    the K of a run that sat at ln K (else None), `edge_efficiency` None when the steps are not
    SGD-type, `memorising` whether that run fitted its training labels and nothing else
    (learning.memorised: the labels' sign, not the LR's, for the flat reasons)."""
    base = _loss_slots(s)
    gc = s.grad_catapult
    crawl = low_signs(s, lr, family, ratio=low_ratio)
    if (
        gc is not None
        and gc >= thrown_catapult
        and (s.opening >= thrown_opening or gc * s.moved >= thrown_outfell)
    ):
        # The first logged step already came after an explosion (loggers without a pre-update
        # row): its gradient dwarfs every later one. Unless the loss fell as far: a run that fits
        # its training set to ~0 loss takes its gradient down by the same decades, from a first
        # row that does not stand out from the next ones.
        return "thrown_early", gc, thrown_catapult, base
    if s.moved >= above_start and not crawl:
        # Not with steps too small to have moved the loss: a flat crawl's end sits above one
        # logged batch by noise alone when the log begins after unlogged updates.
        return "ended_above_start", s.moved, above_start, base
    if s.moved >= blowup_moved and (s.early_peak >= blowup_peak or (gc or 0) >= blowup_catapult):
        sign = (
            Sign("early_peak", s.early_peak, blowup_peak)
            if s.early_peak >= blowup_peak
            else Sign("grad_catapult", gc, blowup_catapult)
        )
        return "early_blowup", sign.observed, sign.limit, {**base, **_sign_slots("sign", sign)}
    if s.early_peak >= peak and s.trend > jump_trend and s.moved >= blowup_moved and not memorising:
        # Thrown up early, then a plateau that never descends again: an LR that healthy runs
        # recover from leaves a steady descent behind the jump. A weak rank trend alone is no
        # plateau: a noisy loss near zero has one too, however far it fell (the same limit as
        # early_blowup's "never recovered").
        return (
            "jumped_flat",
            s.early_peak,
            peak,
            {**base, "trend": s.trend, "jump_trend": jump_trend},
        )
    if gc is not None and gc * s.moved >= thrown_excess:
        # A healthy run's gradient shrinks with its loss (a fast first fall takes both down by
        # the same decades); one that shrank far more than the loss fell was thrown out by the
        # first updates and came back without learning.
        return "gradient_outfell_loss", gc * s.moved, thrown_excess, {**base, "catapult": gc}
    if (
        edge_efficiency is not None
        and s.efficiency is not None
        and abs(s.efficiency) < edge_efficiency
        and (s.early_peak >= peak or (gc or 0) >= catapult or s.opening >= peak)
    ):
        # lr·|g|² predicts the fall of a step that stays in the linear regime; a step that
        # overshoots the valley converts almost none of it, whatever the loss did overall. The
        # ratio couples the loss's units to the gradient's, so a sign that needs neither (an
        # early jump, a catapult, a log that opened on a jump) must back it.
        return "overshooting_steps", s.efficiency, edge_efficiency, base
    if s.moved < stuck_moved or memorising:
        # A run at chance level whose training loss went under ln K while its validation loss
        # stayed over it learned its training labels and nothing that generalises: shuffled or
        # disconnected labels, at any LR (benchmarks/data_bugs.py), which NL001 names; a dead
        # network past its edge sits at or over ln K on both.
        return None
    high = high_signs(s, lr, family, peak=peak, catapult=catapult)
    # Still descending: a jump or a catapult it is recovering from. The rank trend counts how
    # steadily the binned loss fell, not how far: window or epoch means average the batch noise
    # away, and a drift of a few per mille then ranks as steady as a real descent (a moons run
    # at chance level: -0.37 logged per step, -0.93 as HF's 5-step means). A run that ended
    # within NL001's flat band of its start learned nothing, whatever its rank trend.
    if s.trend < flat_trend and s.moved < flat_moved:
        high = [h for h in high if h.name == "lr_above_band"]
    if crawl:
        return None
    if high:
        return "stuck_high", s.moved, stuck_moved, {**base, **_sign_slots("sign", high[0])}
    # LR003's signs of a crawling flat run (a calm start, an unbroken descent) rule it out too.
    crawling = low_signs(s, lr, family, ratio=low_ratio, calm=calm_catapult, steady=steady_trend)
    if chance and best is not None and lr is not None and lr > best and not crawling:
        # At chance level with no sign of either side, above where its family's best usually
        # lies: an LR past its edge leaves dead or saturated units and a flat loss; a crawling
        # LR sits below.
        return "flat_above_best", lr, best, {**base, "classes": chance, "ln_k": math.log(chance)}
    return None


@detector(
    "lr_too_low",
    reasons=(
        "barely_moved",
        "below_band",
        "no_progress",
        "flat_below_best",
        "below_range",
        "unfinished",
        "unfinished_low",
        "unfinished_straight",
        "short_peak_phase",
    ),
)
def lr_too_low(
    run: Run,
    *,
    min_share: float = 0.15,
    min_z: float = 3.0,
    min_left: float = 0.1,
    stuck_moved: float = 0.8,
    low_ratio: float = 1e-3,
    peak: float = 1.5,
    catapult: float = 3.0,
    tuned_ratio: float = adv.TUNED_UPDATE_RATIO,
    sgd_best: float = 0.178,
    adaptive_best: float = 0.00562,
    adaptive_ratio_per_lr: float = 1.0,
    adaptive_drop_per_lr: float = 2.0,
    fall_gain: float = adv.FALL_GAIN,
    flat_moved: float = 0.85,
    calm_catapult: float = 1.5,
    steady_trend: float = -0.9,
    learned_moved: float = 0.5,
    opening_jump: float = 1.5,
    chance_tolerance: float = 0.02,
    chance_above: float = 0.05,
    most_classes: int = 10,
    peak_share: float = 0.5,
    peak_least: float = 0.25,
    peak_points: int = 40,
    val_rose: float = 0.0,
    straight: float = 0.6,
) -> list[Evidence]:
    """The run barely moved with the signs of a crawling LR, made no progress beyond its noise
    with no sign of an LR past its edge, or ran below its optimizer's range (warnings); or its
    loss still falls steadily at the end (info, unless a low sign backs it: the budget-best LR
    is often unfinished too).

    Under a decaying schedule only the phase at high LR (at least half the peak) is judged,
    since the decay slows the end of every run on purpose.
    """
    if not _finite_loss(run) or blowup(run):
        return []
    lr = adv.peak_lr(run)
    s = signs_of(run)
    if s is not None and s.validation_rose(val_rose):
        # A crawling LR slows the held-out loss with the training loss; one that rose points to
        # the data or to memorising (NL001, OF001), which a higher LR would not fix.
        return []
    family = run.optimizer_family
    prior = dict(
        tuned=tuned_ratio,
        sgd_best=sgd_best,
        adaptive_best=adaptive_best,
        ratio_split=adaptive_ratio_per_lr,
        drop_split=adaptive_drop_per_lr,
        fall_gain=fall_gain,
    )
    if s is not None and s.moved >= stuck_moved:
        flat = flat_moved <= s.moved <= 1.0  # a loss that ended above its start is not crawling
        # The validation loss has no batch noise: a train loss within the flat band either side
        # of its start (a per-epoch EMA can end a hair above it) lets its descent speak.
        val_flat = flat_moved <= s.moved <= 1 / flat_moved
        low = low_signs(
            s,
            lr,
            family,
            ratio=low_ratio,
            # The first logged gradient is the start's only where the log shows the start.
            calm=calm_catapult if flat and not misses_its_start(run) else None,
            steady=steady_trend if flat else None,
            steady_val=steady_trend if val_flat else None,
        )
        thrown = high_signs(s, lr, family, peak=peak, catapult=catapult, opening=opening_jump)
        if low and not thrown:
            return [
                _too_low(
                    run,
                    "barely_moved",
                    s.moved,
                    stuck_moved,
                    lr,
                    s,
                    _sign_slots("sign", low[0]),
                    prior=prior,
                )
            ]
    centre = adv.usual_best(
        run,
        lr,
        s,
        sgd_best=sgd_best,
        adaptive_best=adaptive_best,
        ratio_split=adaptive_ratio_per_lr,
    )
    if (
        found := _no_progress(
            run,
            s,
            lr,
            family,
            centre,
            learned_moved,
            (flat_moved, chance_tolerance, chance_above, most_classes),
            opening_jump,
            peak,
            catapult,
            min_z,
            low_ratio,
        )
    ) is not None:
        return [found]
    band_low = typical_band(family)[0]
    if (
        s is not None
        and lr is not None
        and lr < band_low
        and s.moved >= learned_moved
        and not high_signs(s, lr, family, peak=peak, catapult=catapult)
    ):
        # Below where any run of its family (or, unknown, of any family) trains best, and the
        # loss not even halved: the LR's doing, however the curve is shaped.
        return [_too_low(run, "below_band", lr, band_low, lr, s, {})]
    phase, held = high_lr_phase(run, peak_share, peak_least, peak_points)
    if phase is None:
        # A decaying schedule slows every run's end on purpose: with too little of the run at
        # its peak LR, "still falling" or "stopped falling" says nothing about the LR.
        raise NotJudged(
            Evidence(
                reason="short_peak_phase",
                observed=held,
                limit=peak_least,
                slots={
                    "points": peak_points,
                    "peak_share": peak_share,
                    "kept": round(held * len(run["loss"])),
                },
            )
        )
    sh = shape_of(phase)
    if sh is None:
        return []
    outside = lr_outside_profile(run)
    # Below the range its (known) optimizer is used with and not past a tenth of its start: on
    # ../shared/devcorpus all 19 runs below the range were too low.
    if (
        outside
        and outside[0] == "low"
        and (no_progress(sh, min_z) or (s is not None and s.moved >= min_left))
    ):
        _, lr_out, low, high = outside
        return [
            _too_low(
                run,
                "below_range",
                lr_out,
                low,
                lr,
                s,
                {"range_low": low, "range_high": high},
                prior=prior,
            )
        ]
    steady = (
        _still_falling(sh, min_z)
        and sh.second_half_share >= min_share
        and sh.start - sh.mid > min_z * sh.late_se  # both halves fell: a steady descent
    )
    if not steady:
        return []
    slots = {"fell_from": sh.start, "fell_to": sh.end}
    # Unfinished at an LR below the band where the optimizer's best usually lies, or with steps
    # in the linear regime: the slow descent is the LR's doing, not the budget's.
    below = low_signs(s, lr, family, ratio=0.0) if s is not None and s.moved >= min_left else []
    if below:
        return [
            _too_low(
                run,
                "unfinished_low",
                sh.second_half_share,
                min_share,
                lr,
                s,
                {**slots, **_sign_slots("sign", below[0])},
                sh,
                prior,
            )
        ]
    if (
        sh.loss.step[-1] == run["loss"].step[-1]
        and len(sh.loss) >= peak_points
        and run["loss"].step[0] <= 1
        and (line := _straightness(sh)) >= straight
    ):
        # At its peak LR to the end (no decay to slow it) and still near a straight line: the
        # budget-best LR bends into its slow tail within the budget, a crawl never gets there.
        # Only on the full 20-bin shape: with fewer values the last quarter's slope is a few
        # wide bins' noise; and only from the first update on: a log that opens after a good
        # LR's steep first steps has cut off the bend and reads straighter than the run was.
        slots.update(second_half=sh.second_half_share, late_rate=sh.late_rate)
        return [_too_low(run, "unfinished_straight", line, straight, lr, s, slots, sh, prior)]
    return [_too_low(run, "unfinished", sh.second_half_share, min_share, lr, s, slots, sh, prior)]


def _no_progress(
    run,
    s,
    lr,
    family,
    centre,
    learned_moved,
    chance_test,
    opening_jump,
    peak,
    catapult,
    min_z,
    low_ratio,
):
    """Evidence when the smoothed loss never got clearly below its start (batch noise hides
    any fall), or sat at chance level (`chance_test`: NL001's flat share, ln K tolerances and
    largest K), at an LR below where its family's best usually lies (`centre`), and nothing
    says the LR was past its edge: no early jump, no gradient catapult, no LR above its
    family's band, and the first logged loss no jump above the next ones."""
    sh = shape_of(run)
    if s is None or sh is None:
        return None
    stalled = no_progress(sh, min_z)
    chance = None if stalled or lr is None else at_chance_level(run, s, *chance_test)
    if not stalled and chance is None:
        return None
    # Flat at or above the usual best LR says nothing about the side: an LR past the edge
    # (dead or saturated units) leaves the loss just as flat.
    if lr is not None and lr >= centre:
        return None
    # A run that halved its loss learned; one that ended above its start (its first value, or
    # its smoothed start by more than noise: LR001's never_fell) is LR001's.
    if not learned_moved <= s.moved <= 1.0:
        return None
    if sh.end - sh.start > min_z * sh.late_se:
        return None
    if high_signs(s, lr, family, peak=peak, catapult=catapult, opening=opening_jump):
        return None
    # A log that may have missed the whole fall (its first row after more than one bin of
    # unlogged updates), flat from its first row on, needs a sign of a crawl besides the LR's
    # place below the usual best.
    if misses_its_start(run) and not low_signs(s, lr, family, ratio=low_ratio):
        return None
    slots = {"start_level": sh.start, "best_level": sh.best_region, "centre": centre}
    if not stalled:  # a fall a hair beyond the noise, at chance level: nothing learned
        slots.update(classes=chance, ln_k=math.log(chance))
        return _too_low(run, "flat_below_best", s.moved, chance_test[0], lr, s, slots)
    fall, noise = sh.start - sh.best_region, min_z * sh.late_se
    return _too_low(run, "no_progress", fall, noise, lr, s, slots)


# Reasons that say the loss did not fall beyond its noise: its fall is noise, not a size.
NO_FALL = ("no_progress", "flat_below_best")


def _too_low(
    run: Run,
    reason: str,
    observed,
    limit,
    lr,
    s: Signs | None,
    slots: dict,
    sh=None,
    prior: dict | None = None,
) -> Evidence:
    prior = dict(prior or {})
    if reason in NO_FALL:
        prior["fall_gain"] = None  # a fall within the noise sizes nothing
    advice = adv.raise_toward_best(run, lr, s, **prior)
    loss = sh.loss if sh is not None else run["loss"]
    base = {"first": s.start, "final": s.end, "moved": s.moved} if s is not None else {}
    return Evidence(
        reason=reason,
        observed=observed,
        limit=limit,
        step=int(loss.step[0]),
        step_end=int(loss.step[-1]),
        suggested_lr=advice.lr,
        suggested_lr_range=advice.range,
        slots={**adv.lr_slots(lr), **base, **slots, **advice.slots()},
    )


def _straightness(sh) -> float:
    """How near the descent is to a straight line (1), by the less straight of two measures:
    the second half's share of the fall over a line's 0.5, and the last quarter's pace over
    the run's average (`late_rate`), each as min(x, 1/x). A curve that bent into its tail is
    low on both; so is a late sudden drop (a plateau escaped late, at any LR)."""
    return min(min(v, 1 / v) if v > 0 else v for v in (sh.second_half_share / 0.5, sh.late_rate))


def _still_falling(sh, min_z: float) -> bool:
    """The second half lowered the smoothed loss by more than noise can explain."""
    return sh.total > min_z * sh.se and sh.second_half_fall > min_z * sh.late_se


def _ratio_window(run: Run, skip: float = 0.1) -> np.ndarray:
    s = run["update_ratio"].finite()
    v = s.value[int(len(s) * skip) :]
    return where_true(v, v > 0)


@detector("update_ratio_high")
def update_ratio_high(run: Run, *, limit: float = 0.1) -> list[Evidence]:
    """The median update/weight ratio sits far above what healthy training shows."""
    v = _ratio_window(run)
    if len(v) < 10:
        return []
    ratio = float(median(v))
    if ratio <= limit:
        return []
    lr = adv.peak_lr(run)
    return _ratio_evidence(run, None, ratio, limit, lr, adv.lower_from(run, lr))


@detector("update_ratio_low", reasons=("barely_moved", "fell_little", "crawling"))
def update_ratio_low(
    run: Run,
    *,
    limit: float = 1e-3,
    peak: float = 1.5,
    min_left: float = 0.1,
    stuck_moved: float = 0.8,
    tuned_ratio: float = adv.TUNED_UPDATE_RATIO,
    sgd_best: float = 0.178,
    adaptive_best: float = 0.00562,
    adaptive_ratio_per_lr: float = 1.0,
    adaptive_drop_per_lr: float = 2.0,
    fall_gain: float = adv.FALL_GAIN,
    halved: float = 0.5,
    converged_share: float = 0.15,
    peak_share: float = 0.5,
    opening_jump: float = 1.5,
    val_rose: float = 0.0,
    crawl_limit: float = 3e-3,
    crawl_moved: float = 0.3,
    crawl_trend: float = -0.75,
    catapult: float = 3.0,
) -> list[Evidence]:
    """A small update/weight ratio over the peak-LR phase of a run that never blew up, did not
    cut its loss tenfold, and did not converge (more than halve its loss, then stop); or a
    ratio only a few times that floor in a run that kept most of its loss while descending
    steadily, with no sign of an LR past its edge."""
    s = signs_of(run)
    if s is None or s.update_ratio is None or blowup(run):
        return []
    lr = adv.peak_lr(run)
    crawling = limit <= s.update_ratio < crawl_limit
    if crawling and not _crawls(run, s, lr, crawl_moved, crawl_trend, peak, catapult, opening_jump):
        return []
    # After a jump of the loss, tiny updates mean dead units, not a small LR; a run that cut
    # its loss tenfold is not crawling, whatever its updates.
    # The same after a log that began on a jump (its first loss far above the next rows).
    if (
        (s.update_ratio >= limit and not crawling)
        or s.early_peak >= peak
        or s.opening >= opening_jump
        or s.moved < min_left
        or s.validation_rose(val_rose)  # as LR003: not the LR's doing
    ):
        return []
    # A run that more than halved its loss and made almost none of that progress in the second
    # half of its peak-LR phase reached its floor: the update ratio of a well-tuned Adam step on
    # a large unnormalised net sits under 1e-3 too. Adagrad's steps shrink by design, so its
    # slowing says nothing.
    if s.moved < halved and run.optimizer_family != "adaptive":
        phase, _ = high_lr_phase(run, peak_share, 0.0, 1)
        sh = shape_of(phase) if phase is not None else None
        if sh is not None and sh.second_half_share < converged_share:
            return []
    reason = "barely_moved" if s.moved >= stuck_moved else "fell_little"
    reason = "crawling" if crawling else reason
    return _ratio_evidence(
        run,
        reason,
        s.update_ratio,
        crawl_limit if crawling else limit,
        lr,
        adv.raise_toward_best(
            run,
            lr,
            s,
            tuned=tuned_ratio,
            sgd_best=sgd_best,
            adaptive_best=adaptive_best,
            ratio_split=adaptive_ratio_per_lr,
            drop_split=adaptive_drop_per_lr,
            fall_gain=fall_gain,
        ),
        first=s.start,
        final=s.end,
        moved=s.moved,
    )


def _crawls(run: Run, s: Signs, lr, moved: float, trend: float, peak, catapult, opening) -> bool:
    """A ratio only a few times the floor is a crawl where the run kept most of its loss, still
    descends steadily in its second half, and shows no sign of an LR past its edge (dead or
    saturated units also take small steps, but their loss stops falling)."""
    if not moved <= s.moved <= 1.0 or s.trend > trend:
        return False
    if high_signs(s, lr, run.optimizer_family, peak=peak, catapult=catapult, opening=opening):
        return False
    sh = shape_of(run)
    return sh is not None and _still_falling(sh, 0.0) and sh.second_half_share > 0


def _ratio_evidence(
    run: Run,
    reason: str | None,
    ratio: float,
    limit: float,
    lr: float | None,
    advice: adv.Suggestion,
    **slots,
) -> list[Evidence]:
    """The finding of an update-ratio rule: the ratio against its limit, over the run."""
    steps = run["update_ratio"].step
    return [
        Evidence(
            reason=reason,
            observed=ratio,
            limit=limit,
            step=int(steps[0]),
            step_end=int(steps[-1]),
            suggested_lr=advice.lr,
            suggested_lr_range=advice.range,
            slots={**adv.lr_slots(lr), **slots, **advice.slots()},
        )
    ]
