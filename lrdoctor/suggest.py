"""Suggested learning rates: what LR a run should have used, with its reasoning and confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detectors.stats import fmt_lr, human_lr
from lrdoctor.run import Run

# The healthy update/weight ratio per step (CS231n); a factor of ~3 either way is fine.
TARGET_UPDATE_RATIO = 1e-3
# Never move the LR by more than this factor from one run: beyond it the evidence is
# extrapolation.
MAX_FACTOR = 100.0


@dataclass(frozen=True)
class Suggestion:
    lr: float | None
    reason: str
    confidence: str  # "low" | "medium" | "high"

    @property
    def text(self) -> str:
        if self.lr is None:
            return ""
        return f"{fmt_lr(self.lr)} ({self.reason}; confidence {self.confidence})"


NONE = Suggestion(None, "not enough evidence for a number", "low")


@dataclass(frozen=True)
class Profile:
    """What the LR means for an optimizer family, and the range practitioners use."""

    low: float
    high: float
    meaning: str


# The same number means different steps per optimizer (DOMAIN.md): SGD takes lr × gradient;
# Adam-family steps are ~lr per parameter whatever the gradient's scale; Adagrad/RMSprop divide
# by a running root of squared gradients; Adadelta's lr is a multiplier whose default is 1.
PROFILES = {
    "sgd": Profile(1e-4, 1.0, "SGD steps lr × gradient"),
    "adam": Profile(1e-5, 0.1, "Adam-family steps are about lr per parameter"),
    "adaptive": Profile(1e-4, 1.0, "Adagrad divides lr by the root of all past squared gradients"),
    "adadelta": Profile(0.01, 100.0, "Adadelta's lr is a multiplier (default 1.0)"),
}


def within_profile(run: Run, s: Suggestion) -> Suggestion:
    """Keep a suggestion inside the range its optimizer family is used with."""
    profile = PROFILES.get(run.optimizer_family or "")
    if s.lr is None or profile is None or profile.low <= s.lr <= profile.high:
        return s
    bound = profile.high if s.lr > profile.high else profile.low
    return Suggestion(
        bound, f"{s.reason}, kept within {run.optimizer}'s usual range "
        f"{fmt_lr(profile.low)}–{fmt_lr(profile.high)} ({profile.meaning})", s.confidence,
    )


def lr_at(run: Run, step: float) -> float | None:
    """The LR in force at `step` (the last value logged at or before it)."""
    if not run.has("lr"):
        return None
    value = run["lr"].at(np.array([step], dtype=float))[0]
    return float(value) if np.isfinite(value) and value > 0 else None


def peak_lr(run: Run, until: float | None = None) -> float | None:
    if not run.has("lr"):
        return None
    s = run["lr"] if until is None else run["lr"].until(until + 1)
    v = s.value[np.isfinite(s.value) & (s.value > 0)]
    return float(v.max()) if len(v) else None


def ratio_median(run: Run, until: float | None = None) -> float | None:
    """Median update/weight ratio after the first 10% of steps (warm-up noise excluded)."""
    if not run.has("update_ratio"):
        return None
    s = run["update_ratio"] if until is None else run["update_ratio"].until(until)
    v = s.value[np.isfinite(s.value) & (s.value > 0)]
    if len(v) < 5:
        return None
    return float(np.median(v[len(v) // 10 :]))


def from_update_ratio(run: Run, lr: float, until: float | None = None) -> Suggestion | None:
    """Scale the LR so the update/weight ratio lands on ~1e-3 (linear for SGD, roughly for Adam)."""
    ratio = ratio_median(run, until)
    if ratio is None:
        return None
    factor = float(np.clip(TARGET_UPDATE_RATIO / ratio, 1 / MAX_FACTOR, MAX_FACTOR))
    confidence = "high" if run.optimizer_family == "sgd" else "medium"
    reason = f"update/weight ratio {ratio:.1e} → target {TARGET_UPDATE_RATIO:.0e}"
    return Suggestion(human_lr(lr * factor), reason, confidence)


def lower(run: Run, unstable_lr: float | None, factor: float = 10.0,
          until: float | None = None) -> Suggestion:
    """An LR safely below one that was unstable."""
    if unstable_lr is None:
        return NONE
    by_ratio = from_update_ratio(run, unstable_lr, until)
    if by_ratio is not None and by_ratio.lr is not None and by_ratio.lr < unstable_lr:
        return within_profile(run, by_ratio)
    return within_profile(run, Suggestion(
        human_lr(unstable_lr / factor),
        f"{factor:g}× below the unstable lr={fmt_lr(unstable_lr)}",
        "medium",
    ))


def from_blow_up(run: Run, lr: float | None, until: float, safety: float = 3.0,
                 last: int = 10) -> Suggestion | None:
    """Size the LR from how fast the run blew up.

    Past the edge of stability an error grows by g = |1 - lr·λ| per step, so lr/lr_edge =
    (1 + g)/2; g is read off the per-step growth of the gradient norm (or of the loss, which
    grows as g²) just before the NaN. Smith's rule then puts a good LR ~3× below the edge.
    """
    if lr is None:
        return None
    for name, power in (("grad_norm", 1.0), ("loss", 0.5)):
        if not run.has(name):
            continue
        v = run[name].until(until).finite().value[-(last + 1):]
        if len(v) < 4 or np.any(v <= 0):
            continue
        # Deep nets compound the growth as the weights blow up; its slowest steps are the ones
        # closest to the linear regime the estimate assumes.
        growth = float(np.exp(np.percentile(np.diff(np.log(v)), 25) * power))
        if growth <= 1.05:
            continue
        edge = lr * max(2.0 / (1.0 + growth), 1.0 / MAX_FACTOR)
        return within_profile(run, Suggestion(
            human_lr(edge / safety),
            f"the {name.replace('_', ' ')} grew {growth ** (1 / power):.3g}× per step before "
            f"the NaN, which puts the edge of stability near {fmt_lr(edge)}; {safety:g}× below it",
            "medium",
        ))
    return None


def higher(run: Run, slow_lr: float | None, factor: float = 10.0) -> Suggestion:
    """An LR above one that learned too slowly."""
    if slow_lr is None:
        return NONE
    by_ratio = from_update_ratio(run, slow_lr)
    if by_ratio is not None and by_ratio.lr is not None and by_ratio.lr > slow_lr:
        return within_profile(run, by_ratio)
    return within_profile(run, Suggestion(
        human_lr(slow_lr * factor),
        f"{factor:g}× above lr={fmt_lr(slow_lr)}, which learned too slowly",
        "low",
    ))
