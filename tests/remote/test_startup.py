"""The core install starts as before: a local check imports no remote client and no engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEAVY = (
    "lrdoctor.sources.remote",
    "lrdoctor.sources.mlflow",
    "lrdoctor.executors",
    "dask",
    "distributed",
    "ray",
    "urllib.request",
    "http.client",
    "mlflow",
)
PROBE = """
import json, sys
from lrdoctor.cli import main
sys.argv = ["lrdoctor", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str], names=HEAVY) -> set[str]:
    return {m for m in modules if m in names or m.startswith(tuple(f"{n}." for n in names))}


def test_local_csv_check_loads_no_remote_filesystem_and_no_engine():
    modules = loaded("check", str(FIXTURES / "blobs_sgd_healthy.csv"), "--format", "json")
    assert "lrdoctor.engine" in modules  # the probe did run a check
    assert heavy(modules, (*HEAVY, "pyarrow.fs", "pyarrow._s3fs")) == set()


def test_local_parquet_check_and_help_load_nothing_of_ours_beyond_the_core():
    # pyarrow.parquet itself imports pyarrow.fs; lrdoctor adds nothing remote on top.
    assert heavy(loaded("check", str(FIXTURES / "spirals_adam_too_low.parquet"))) == set()
    assert heavy(loaded("check", "--help")) == set()
