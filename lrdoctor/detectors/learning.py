"""Nothing learned: a loss that stayed where it started, often at chance level (ln K)."""

from __future__ import annotations

import math

import numpy as np

from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors import advice as adv
from lrdoctor.detectors.direction import Signs, high_signs, low_signs, opens_late, signs_of
from lrdoctor.numeric import median
from lrdoctor.run import Run


def chance_classes(level: float, below: float, above: float, most: int) -> int | None:
    """K when `level` sits within `below` under ln K or `above` over it (relative), for some
    2 <= K <= `most`. The window leans up: a model that predicts one constant distribution q
    scores ln K + KL(uniform || q) >= ln K on balanced labels, so a dead or saturated classifier
    sits at or over ln K, and under it only by batch noise."""
    if not 0 < level <= math.log(most) * (1 + above):
        return None
    off = {k: level / math.log(k) - 1 for k in range(2, most + 1)}
    inside = [k for k, d in off.items() if -below <= d <= above]
    return min(inside, key=lambda k: abs(off[k])) if inside else None  # the nearest ln K


def learned_nothing(run: Run, s: Signs, min_moved: float) -> tuple[bool, float | None]:
    """Whether the train loss, and the validation loss where logged, ended within `min_moved`
    of where it started (either way); with the validation loss's final share of its first."""
    if not min_moved <= s.moved <= 1 / min_moved:
        return False, None
    if not run.has("val_loss"):
        return True, None
    v = run["val_loss"].finite().value
    if len(v) < 2 or v[0] <= 0:
        return True, None
    val_moved = float(median(v[-max(1, len(v) // 4) :]) / v[0])
    return min_moved <= val_moved <= 1 / min_moved, val_moved


def at_chance_level(
    run: Run, s: Signs | None, min_moved: float, below: float, above: float, most: int
) -> int | None:
    """K when nothing was learned and the loss sat at ln K (uniform predictions over K
    classes): a dead or untrained model, whenever the log began."""
    if s is None or not learned_nothing(run, s, min_moved)[0]:
        return None
    return chance_classes(s.end, below, above, most)


def memorised(run: Run, s: Signs, k: int | None, below: float, gap: float) -> bool:
    """Whether a run at chance level (ln K) fitted its training labels and nothing else: its
    training loss ended at least `below` (relative) under ln K, which no constant prediction
    scores on balanced labels, while its validation loss ended at least `gap` over the training
    loss. A dead or saturated network sits at or over ln K on both; labels disconnected from the
    inputs (shuffled) let a network memorise its training batches a little, and no further."""
    if k is None or not run.has("val_loss") or not s.end <= (1 - below) * math.log(k):
        return False
    v = run["val_loss"].finite().value
    if len(v) < 2:
        return False
    return float(median(v[-max(1, len(v) // 4) :])) >= (1 + gap) * s.end


@detector("nothing_learned", reasons=("at_chance", "flat", "flat_late"))
def nothing_learned(
    run: Run,
    *,
    min_moved: float = 0.85,
    tolerance: float = 0.02,
    tolerance_above: float = 0.05,
    most_classes: int = 10,
    peak: float = 1.5,
    catapult: float = 3.0,
    low_ratio: float = 1e-3,
    steady_trend: float = -0.9,
    calm_catapult: float = 1.5,
    sgd_best: float = 0.178,
    adaptive_best: float = 0.00562,
    adaptive_ratio_per_lr: float = 1.0,
    val_rose: float = 0.0,
    memorised_below: float = 0.005,
    memorised_gap: float = 0.015,
) -> list[Evidence]:
    """The training loss (and the validation loss, where logged) ended within a tenth of where
    it started; when that level is ln K, the model predicts uniformly over K classes."""
    s = signs_of(run)
    if s is None:
        return []
    nothing, val_moved = learned_nothing(run, s, min_moved)
    if not nothing:
        return []
    lr = adv.peak_lr(run)
    causes = []
    if high_signs(s, lr, run.optimizer_family, peak=peak, catapult=catapult):
        causes.append("lr_high")
    # A steady, unbroken descent, or a calm start, is learning, only too slowly (unless the
    # LR's high signs show): LR003 barely_moved's signs of a crawling flat run.
    # A validation loss that rose while nothing was learned is the data's sign (LR003 steps
    # aside for it): labels disconnected from the inputs fit nothing that generalises.
    rose = s.validation_rose(val_rose)
    if not rose and low_signs(
        s,
        lr,
        run.optimizer_family,
        ratio=low_ratio,
        calm=None if causes or s.moved > 1.0 else calm_catapult,  # as LR003: not if it rose
        steady=None if causes else steady_trend,
    ):
        causes.append("lr_low")
    k = chance_classes(s.end, tolerance, tolerance_above, most_classes)
    if not causes and not rose and lr is not None and k is not None:
        # At chance level with no sign of either side: where the LR sits against its family's
        # usual best decides (LR001 flat_above_best, LR003 flat_below_best), when the family
        # is known.
        best = adv.known_best(run, lr, s, sgd_best, adaptive_best, adaptive_ratio_per_lr)
        if best is not None:
            causes.append("lr_high" if lr > best else "lr_low")
    if s.update_ratio == 0 or (run.has("grad_norm") and not np.any(run["grad_norm"].value > 0)):
        causes.append("frozen")
    if rose:
        causes.insert(0, "data_rose")
    elif memorised(run, s, k, memorised_below, memorised_gap):
        # Under ln K in training, over it in validation: the labels' sign outranks an early
        # jump's (LR001 steps aside for it too).
        causes.insert(0, "data_memorised")
    else:
        causes += ["data", "lr_either"] if not causes else ["data"]
    slots = {
        "first": s.start,
        "final": s.end,
        "moved": s.moved,
        "causes": causes,
        "val": "logged" if val_moved is not None else "not_logged",
        "val_moved": val_moved,
        **adv.lr_slots(lr),
    }
    loss = run["loss"]
    if k is not None:
        slots.update(classes=k, ln_k=math.log(k))
    return [
        Evidence(
            reason="at_chance" if k is not None else "flat_late" if opens_late(run) else "flat",
            observed=s.moved,
            limit=min_moved,
            step=int(loss.step[0]),  # the first logged step: flat_late names it
            step_end=int(loss.step[-1]),
            slots=slots,
        )
    ]
