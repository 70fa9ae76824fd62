"""A Parquet file that holds several runs (a `run` column) is checked as several runs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import lrdoctor


def test_run_column_splits_a_parquet_file(tmp_path):
    n = 300
    falling = np.exp(-np.arange(n) / 50) + 0.1
    diverging = falling.copy()
    diverging[200:] = np.nan
    table = pa.table(
        {
            "run_id": ["good"] * n + ["bad"] * n,
            "step": np.r_[np.arange(n), np.arange(n)],
            "loss": np.r_[falling, diverging],
            "lr": np.full(2 * n, 0.1),
        }
    )
    pq.write_table(table, tmp_path / "sweep.parquet")
    runs = {r.source.split("::")[1]: r for r in lrdoctor.check(tmp_path / "sweep.parquet").runs}
    assert set(runs) == {"good", "bad"}
    assert runs["good"].n_steps == n and "NF001" not in {f.rule for f in runs["good"].findings}
    assert "NF001" in {f.rule for f in runs["bad"].findings}
