"""Fuzzing: arbitrary bytes, weird CSV and wild float series never crash, warn or wobble."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrdoctor
from lrdoctor.catalogue import load_builtin
from lrdoctor.detectors import REGISTRY
from lrdoctor.engine import check_run, plan
from lrdoctor.errors import LrdoctorError
from lrdoctor.readers import read_path
from lrdoctor.run import run_from_frame
from tests.reliability.inputs import invoke

# Each example writes a fresh file into a shared tmp folder.
tmp_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# File names and first bytes that steer the input to each reader.
SUFFIXES = st.sampled_from(
    [
        ".csv",
        ".parquet",
        ".json",
        ".jsonl",
        ".csv.gz",
        ".tsv",
        ".log",
        "/events.out.tfevents.1700000000.host",
        "/trainer_state.json",
        "/mlflow.db",
        "/results.csv",
        "/metrics.csv",
    ]
)
HEADS = st.sampled_from(
    [
        b"",
        b"PAR1",
        b"\x1f\x8b",
        b"step,loss\n",
        b"{",
        b"[",
        b"\xef\xbb\xbf",
        b"SQLite format 3\x00",
        b'{"log_history": [{"step": 1, "loss": ',
        b'{"step": 1, "loss": 2}\n',
        b"\x18\x00\x00\x00\x00\x00\x00\x00",
        b"Step,run - loss\n",
        b"epoch,train/box_loss,lr/pg0\n",
    ]
)


@tmp_ok
@given(head=HEADS, body=st.binary(max_size=2000), suffix=SUFFIXES)
def test_read_path_only_raises_project_errors(tmp_path, head, body, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(head + body)
    try:
        tables = read_path(path)
    except LrdoctorError:
        return
    for table in tables:
        assert all(v.dtype == np.float64 for v in table.values.values())


@tmp_ok
@given(head=HEADS, body=st.binary(max_size=1000), suffix=SUFFIXES)
def test_check_on_arbitrary_bytes(tmp_path, head, body, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(head + body)
    before = path.read_bytes()
    result = invoke("check", path, "--format", "json")
    if result.exit_code == 2:
        assert result.stderr.startswith("lrdoctor: error: ")
    assert path.read_bytes() == before


CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "1e308",
            "-1e308",
            "1e-308",
            "5e-324",
            "0",
            "-0",
            "NA",
            "null",
            " 1.5 ",
            "1,5",
            '"2"',
            "abc",
        ]
    ),
)
NAME = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=',"\r\n'),
    min_size=0,
    max_size=12,
)


@tmp_ok
@given(
    names=st.lists(
        st.one_of(NAME, st.sampled_from(["step", "loss", "lr", "val_loss", "grad_norm", "epoch"])),
        min_size=1,
        max_size=6,
    ),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=40),
)
def test_check_on_weird_csv(tmp_path, names, rows):
    lines = [",".join(names)] + [",".join(r) for r in rows]
    path = tmp_path / "weird.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("check", path, "--format", "json")
    if result.exit_code != 2:
        json.loads(result.stdout)


VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 1e-308, 5e-324, 0.0]),
)


@st.composite
def series(draw):
    """A loss curve of any length: random, constant, or a clean curve with wild cells spliced in."""
    n = draw(st.sampled_from([0, 1, 2, 3, 5, 20, 200, 1500]))
    kind = draw(st.sampled_from(["random", "constant", "curve"]))
    if kind == "constant":
        return [draw(VALUE)] * n
    if kind == "curve" or n > 50:
        base = np.exp(-np.arange(n) / max(n / 5, 1)) * draw(st.sampled_from([1e-300, 1, 1e300]))
        for _ in range(draw(st.integers(0, 5))):
            if n:
                base[draw(st.integers(0, n - 1))] = draw(VALUE)
        return base.tolist()
    return draw(st.lists(VALUE, min_size=n, max_size=n))


@st.composite
def frames(draw):
    loss = draw(series())
    n = len(loss)
    data = {"step": np.arange(n), "loss": loss}
    if draw(st.booleans()):
        data["lr"] = [draw(VALUE)] * n if draw(st.booleans()) else np.geomspace(1e-6, 10, n)
    for extra in ("grad_norm", "update_ratio", "val_loss"):
        if draw(st.booleans()):
            with np.errstate(all="ignore"):
                scale = draw(st.sampled_from([0.0, 1e-3, 1.0, 1e300]))
                data[extra] = np.abs(np.asarray(loss, float)) * scale
    return pd.DataFrame(data)


def _report(df):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return lrdoctor.check(df)
        except lrdoctor.InputError as exc:  # unusable (e.g. no numeric loss): the CLI's exit 2
            return exc


@given(df=frames())
def test_api_check_on_wild_series(df):
    first = _report(df)
    again = _report(df.copy())
    if isinstance(first, lrdoctor.InputError):
        assert str(first) == str(again) and first.source == "<dataframe>" and " — " in str(first)
        return
    assert first.to_dict() == again.to_dict()
    assert first.exit_code("error") in (0, 1, 2)
    json.dumps(first.to_dict(), allow_nan=False)  # the JSON contract holds real numbers only


ALL_RULES = plan(load_builtin())


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=10)
@given(df=frames())
def test_every_detector_on_wild_series(name, df):
    rules = [p for p in ALL_RULES if p.rule.detector == name]
    if not rules:  # a generic detector for custom rules: watch the loss with its defaults
        rule = replace(
            ALL_RULES[0].rule,
            id="CU999",
            detector=name,
            signal="loss",
            requires=("loss",),
            params={},
        )
        rules = plan([rule])
    run = run_from_frame(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = check_run(run, rules).to_dict()
        assert check_run(run, rules).to_dict() == first


JSON_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**400), 10**400),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["nan", "inf", "-Infinity", "1e999", "", "abc", "0.5"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "step",
            "loss",
            "lr",
            "eval_loss",
            "epoch",
            "grad_norm",
            "learning_rate",
            "global_step",
            "run",
        ]
    ),
    st.text(max_size=8),
)


@tmp_ok
@given(
    records=st.lists(st.dictionaries(KEYS, JSON_VALUE, max_size=6), max_size=25),
    layout=st.sampled_from(["run.jsonl", "run.json", "trainer_state.json", "history.json"]),
)
def test_check_on_weird_json(tmp_path, records, layout):
    if layout == "run.jsonl":
        text = "\n".join(json.dumps(r) for r in records) + "\n"
    elif layout == "trainer_state.json":
        text = json.dumps({"global_step": len(records), "log_history": records})
    elif layout == "history.json":  # Keras-style {metric: [values per epoch]}
        keys = {k for r in records for k in r}
        text = json.dumps({k: [r.get(k) for r in records] for k in keys})
    else:
        text = json.dumps(records)
    path = tmp_path / layout
    path.write_text(text, encoding="utf-8")
    result = invoke("check", path, "--format", "json")
    if result.exit_code == 2:
        assert result.stderr.startswith("lrdoctor: error: ")
