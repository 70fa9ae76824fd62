"""The reader registry imports a format's module only when an input reaches its reader."""

from __future__ import annotations

import copy
import importlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

from lrdoctor.readers import DIRECTORY_READERS, READERS, Deferred

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = [r for r in [*READERS, *DIRECTORY_READERS] if isinstance(r, Deferred)]


def test_each_deferred_name_is_its_readers_own():
    for entry in DEFERRED:
        cls = getattr(importlib.import_module(f"lrdoctor.readers.{entry.module}"), entry.cls)
        assert entry.name == cls.name, entry.cls


def test_a_parquet_check_imports_no_other_format(tmp_path):
    fixture = ROOT / "fixtures/blobs_adam_healthy.parquet"
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lrdoctor", "check", str(fixture)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's lrdoctor
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    assert "lrdoctor.readers.tabular" in imported
    assert imported & {f"lrdoctor.readers.{e.module}" for e in DEFERRED} == set()


def test_a_csv_still_reaches_every_sniffer_in_order(tmp_path):
    from lrdoctor.readers import reader_for

    log = tmp_path / "metrics.csv"
    log.write_text("step,loss\n0,1.0\n1,0.9\n")
    assert reader_for(log).name in {"csv", "csv-frameworks"}
    state = tmp_path / "trainer_state.json"
    state.write_text('{"log_history": [{"step": 1, "loss": 1.0}]}')
    assert reader_for(state).name == "hf-trainer-state"


def test_a_deferred_reader_survives_copy_and_pickle():
    entry = next(e for e in DEFERRED if e.name == "jsonl")
    for clone in (copy.copy(entry), pickle.loads(pickle.dumps(entry))):
        assert clone.name == "jsonl"
        assert clone.sniff(Path("x.jsonl"), b'{"step": 0, "loss": 1.0}\n') is True
