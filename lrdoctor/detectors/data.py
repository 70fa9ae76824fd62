"""Data sufficiency: too few points, signals worth logging, and repairs made while reading."""

from __future__ import annotations

import numpy as np

from lrdoctor.detectors import Evidence, detector
from lrdoctor.run import Run

# Signals that sharpen an LR diagnosis (what each confirms is in the rule file's phrases).
WORTH_LOGGING = ("lr", "grad_norm", "update_ratio")


@detector("too_few_points", slots=("n",))
def too_few_points(run: Run, *, min_points: int = 50) -> list[Evidence]:
    n = run.n_steps
    if n >= min_points or not np.isfinite(run["loss"].value).all():
        return []  # a run cut short by a NaN is explained by NF001
    return [Evidence(observed=float(n), limit=float(min_points), slots={"n": n})]


@detector("missing_signals", slots=("missing", "what"))
def missing_signals(run: Run) -> list[Evidence]:
    missing = tuple(name for name in WORTH_LOGGING if not run.has(name))
    if not missing:
        return []
    return [Evidence(observed=float(len(missing)), slots={"missing": missing, "what": missing})]


@detector("repaired_data", slots=("notes",))
def repaired_data(run: Run) -> list[Evidence]:
    if not run.notes:
        return []
    # The notes are the reader's and the run model's own record of what they repaired.
    return [Evidence(observed=float(len(run.notes)), slots={"notes": tuple(run.notes)})]
