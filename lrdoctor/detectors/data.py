"""Data sufficiency: too few points, signals worth logging, and repairs made while reading."""

from __future__ import annotations

import numpy as np

from lrdoctor.detectors import Evidence, detector
from lrdoctor.run import Run

# Signals that sharpen an LR diagnosis, with what each one confirms.
WORTH_LOGGING = {
    "lr": "the LR itself, so advice can name a number",
    "grad_norm": "the gradient norm, to tell an LR blow-up from a numerical bug",
    "update_ratio": "the update/weight ratio (or update_norm and weight_norm), to size the LR",
}


@detector("too_few_points")
def too_few_points(run: Run, *, min_points: int = 50) -> list[Evidence]:
    n = run.n_steps
    if n >= min_points or not np.isfinite(run["loss"].value).all():
        return []  # a run cut short by a NaN is explained by NF001
    return [Evidence(observed=float(n), limit=float(min_points), slots={"n": n})]


@detector("missing_signals")
def missing_signals(run: Run) -> list[Evidence]:
    missing = [name for name in WORTH_LOGGING if not run.has(name)]
    if not missing:
        return []
    return [
        Evidence(
            observed=float(len(missing)),
            slots={
                "missing": ", ".join(missing),
                "what": "; ".join(f"{name}: {WORTH_LOGGING[name]}" for name in missing),
            },
        )
    ]


@detector("repaired_data")
def repaired_data(run: Run) -> list[Evidence]:
    if not run.notes:
        return []
    return [Evidence(observed=float(len(run.notes)), slots={"notes": "; ".join(run.notes)})]
