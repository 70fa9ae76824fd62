"""The CSV reader parses a column as float64 at once when its first row holds a decimal
number (skipping Arrow's type inference): the tables are those inference gives, whatever the
rest of the column holds."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from lrdoctor.readers import tabular
from lrdoctor.readers.base import select_all
from lrdoctor.readers.tabular import CsvReader, float_columns

CASES = {
    "dense floats": "step,loss,lr\n0,2.5,1e-3\n1,2.25,1e-3\n2,2.0,0.5e-3\n",
    "a word later": "step,loss,note\n0,2.5,1.5\n1,2.25,abc\n2,nan,2.0\n",
    "non-finite spellings": "step,loss\n0,2.5\n1,NaN\n2,inf\n3,-inf\n4,Infinity\n5,-nan\n",
    "null spellings": "step,loss,val\n0,2.5,1.5\n1,,NA\n2,2.0,-\n3,1.5,null\n",
    "bool later": "step,loss,flag\n0,2.5,1.5\n1,2.0,true\n",
    "date later": "step,loss,t\n0,2.5,1.5\n1,2.0,2024-01-01\n",
    "wrong first row": "step,loss\n0,2.5,9\n1,2.0\n2,1.5\n",
    "bad row later": "step,loss\n0,2.5\n1,2.0,7\n2,1.5\n",
    "quoted": 'step,"loss"\n0,"2.5"\n1,"2.25"\n',
    "integers first": "step,loss\n0,2\n1,2.5\n2,3\n",
    "big integers": "step,loss\n9007199254740993,1.5\n9007199254740995,1.25\n",
    "tsv": "step\tloss\tlr\n0\t2.5\t0.1\n1\t2.0\t0.1\n",
    "bare CR": "step,loss\r0,2.5\r1,2.0\r",
    "CRLF": "step,loss\r\n0,2.5\r\n1,2.0\r\n",
    "header only": "step,loss\n",
    "one row, no line end": "step,loss\n0,2.5",
    "spaces": "step,loss\n0, 2.5\n1,2.0 \n",
    "repeated column": "step,loss,loss\n0,2.5,1.5\n1,2.0,x\n",
    "exponent only": "step,loss\n0,1e5\n1,2E-3\n2,x\n",
}


def _read(path: Path, guess: bool, monkeypatch) -> list:
    with monkeypatch.context() as m:
        if not guess:
            m.setattr(tabular, "float_columns", lambda *a: [])
        (table,) = CsvReader().read(path, select_all)
    return table


def _same(a, b) -> None:
    assert (a.names, a.notes, a.rounded, a.meta) == (b.names, b.notes, b.rounded, b.meta)
    assert list(a.values) == list(b.values)
    for name in a.values:
        np.testing.assert_array_equal(a.values[name], b.values[name])
        assert a.values[name].dtype == b.values[name].dtype
        np.testing.assert_array_equal(a.empty[name], b.empty[name])


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_the_guess_reads_what_inference_reads(
    tmp_path: Path, monkeypatch, text: str, compressed: bool
) -> None:
    data = text.encode()
    path = tmp_path / ("log.csv.gz" if compressed else "log.csv")
    path.write_bytes(gzip.compress(data) if compressed else data)
    _same(_read(path, True, monkeypatch), _read(path, False, monkeypatch))


def test_the_columns_guessed_are_those_whose_first_cell_is_decimal() -> None:
    names = ["step", "loss", "lr", "note", "val", "t", "e"]
    row = '0,2.5,"1e-3",abc,,12:30,3E+2'
    assert float_columns(row, ",", names, names) == ["loss", "lr", "e"]
    assert float_columns(row, ",", names, ["step", "lr"]) == ["lr"]
    assert float_columns("0,2.5", ",", names, names) == []  # not the header's fields
    assert float_columns(None, ",", names, names) == []


def test_a_wrong_guess_is_parsed_again_with_inference(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "log.csv"
    path.write_text("step,loss,note\n0,2.5,1.5\n1,2.0,abc\n")
    calls = []
    real = tabular._read_csv
    monkeypatch.setattr(tabular, "_read_csv", lambda *a: calls.append(a[-1]) or real(*a))
    (table,) = CsvReader().read(path, select_all)
    assert [None if t is None else sorted(t) for t in calls] == [["loss", "note"], None]
    assert table.values["loss"].tolist() == [2.5, 2.0]
    assert table.values["note"][0] == 1.5 and np.isnan(table.values["note"][1])
