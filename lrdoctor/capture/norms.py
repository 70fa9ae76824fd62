"""Per-step norms from parameters before and after an optimizer step (numpy arrays)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _sq(arrays) -> float:
    import numpy as np

    return float(
        sum(np.dot(a.ravel(), a.ravel()) for a in (np.asarray(x, np.float64) for x in arrays))
    )


def step_stats(
    params_before: Sequence, params_after: Sequence, grads: Sequence | None = None
) -> dict[str, float]:
    """Global L2 norms: grad_norm (when grads are given), weight_norm (after the step),
    update_norm (‖after − before‖) and update_ratio = update_norm / weight_norm."""
    import numpy as np

    if len(params_before) != len(params_after):
        raise ValueError("params_before and params_after hold different numbers of arrays")
    weight = math.sqrt(_sq(params_after))
    update = math.sqrt(
        _sq(
            np.asarray(a, np.float64) - np.asarray(b, np.float64)
            for a, b in zip(params_after, params_before, strict=True)
        )
    )
    out = {
        "weight_norm": weight,
        "update_norm": update,
        "update_ratio": update / weight if weight > 0 else math.nan,
    }
    if grads is not None:
        out["grad_norm"] = math.sqrt(_sq(grads))
    return out
