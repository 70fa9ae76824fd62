"""Seeded toy datasets (blobs, spirals, nonlinear regression) with a train/validation split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DATASETS = ("blobs", "spirals", "regression")


@dataclass(frozen=True)
class Dataset:
    """Train/validation arrays; `n_classes == 0` means regression (targets are floats)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.n_classes or self.y_train.shape[1]


def _blobs(rng, n, n_classes, noise):
    centers = rng.uniform(-4.0, 4.0, size=(n_classes, 2))
    y = rng.integers(0, n_classes, size=n)
    return centers[y] + noise * rng.standard_normal((n, 2)), y


def _spirals(rng, n, n_classes, noise, turns=1.5):
    # Interleaved arms: class k is the same spiral rotated by 2*pi*k/n_classes.
    y = rng.integers(0, n_classes, size=n)
    r = rng.uniform(0.05, 1.0, size=n)
    theta = 2 * np.pi * (turns * r + y / n_classes)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return 2.0 * (x + noise * rng.standard_normal((n, 2))), y


def _regression(rng, n, noise):
    x = rng.uniform(-2.0, 2.0, size=(n, 3))
    y = np.sin(2.0 * x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] - 0.3 * x[:, 2] ** 2 + 0.3
    return x, (y + noise * rng.standard_normal(n))[:, None]


def make_dataset(
    name: str,
    n_samples: int = 2000,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    noise: float | None = None,
    n_classes: int | None = None,
    label_noise: float = 0.0,
) -> Dataset:
    """Generate `name` from `seed`; `label_noise` flips that fraction of training labels."""
    rng = np.random.Generator(np.random.PCG64(seed))
    if name == "blobs":
        x, y = _blobs(rng, n_samples, n_classes or 4, 1.0 if noise is None else noise)
    elif name == "spirals":
        x, y = _spirals(rng, n_samples, n_classes or 2, 0.04 if noise is None else noise)
    elif name == "regression":
        x, y = _regression(rng, n_samples, 0.1 if noise is None else noise)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    n_val = int(round(val_fraction * n_samples))
    xt, yt, xv, yv = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    k = 0 if name == "regression" else int(y.max()) + 1 if n_classes is None else n_classes
    if label_noise and k:
        # Noisy labels only in the training split, so validation measures generalisation.
        flip = rng.random(len(yt)) < label_noise
        yt = np.where(flip, rng.integers(0, k, size=len(yt)), yt)
    return Dataset(xt, yt, xv, yv, k)
