"""Small synthetic training logs for the CLI, config, format and custom-rule tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def frame(n: int = 400, nan_at: int | None = None, **extra) -> pd.DataFrame:
    steps = np.arange(n)
    loss = np.exp(-steps / 100) + 0.1 + 0.01 * np.sin(steps)
    if nan_at is not None:
        loss[nan_at:] = np.nan
    return pd.DataFrame({"step": steps, "loss": loss, "lr": 0.01, **extra})


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False, na_rep="nan")  # NaN as computed, not a missing cell
    return path


def healthy(path: Path, **extra) -> Path:
    return write_csv(path, frame(**extra))


def nan_run(path: Path, nan_at: int = 300, **extra) -> Path:
    return write_csv(path, frame(nan_at=nan_at, **extra))
