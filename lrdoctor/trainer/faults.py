"""Injected numerical bugs and data glitches that break a run at a healthy LR.

- ``log0``: the loss is computed as log(softmax) with no clamping; from ``fault_step`` on, one
  example per batch has a saturated wrong-class logit (+1000, as after an overflow upstream), so
  its true-class probability underflows to exactly 0 and log(0) = -inf.
- ``zero_std``: inputs are standardised by the *batch* std with no epsilon; from ``fault_step``
  on, feature 0 is stuck at a constant (a dead sensor), so its batch std is 0 and 0/0 = NaN.
- spikes (not NaN): at each step in ``spike_at`` one corrupted mini-batch is fed, its inputs
  scaled by ``spike_scale`` and its labels shuffled (or targets scaled, for regression).
"""

from __future__ import annotations

import numpy as np

FAULTS = ("log0", "zero_std")
SATURATED_LOGIT = 1000.0


def batch_standardise(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the batch, deliberately without an epsilon."""
    return (x - x.mean(axis=0)) / x.std(axis=0)


def stick_feature(x: np.ndarray) -> np.ndarray:
    """Feature 0 reads a constant, as from a dead sensor."""
    x = x.copy()
    x[:, 0] = 0.5
    return x


def saturate_logit(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Push a wrong class of example 0 to a saturated logit (its true-class prob becomes 0)."""
    logits = logits.copy()
    k = logits.shape[1]
    logits[0, (y[0] + 1) % k] += SATURATED_LOGIT
    return logits


def corrupt_batch(x, y, scale, rng, classification):
    """A glitched mini-batch: inputs scaled and labels permuted (targets scaled for regression)."""
    if classification:
        return x * scale, rng.permutation(y)
    return x * scale, y * scale
