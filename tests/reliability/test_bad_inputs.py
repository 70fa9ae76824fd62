"""A catalogue of broken and hostile logs, each with the outcome a user should see.

Every case goes through `lrdoctor check --format json`: either a real analysis (exit 0/1, with a
data finding where something was repaired or ignored) or exit 2 with one line on stderr that
names the file and says what is wrong. Never a traceback.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.inputs import csv_text, healthy_rows, invoke, losses, write


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def healthy_table(n: int = 300) -> pa.Table:
    return pa.table({"step": list(range(n)), "loss": losses(n), "lr": [0.01] * n})


HEALTHY = csv_text(healthy_rows())


@dataclass
class Case:
    """What to write, and what the user must get back."""

    build: object  # (tmp_path) -> path to check
    error: str | None = None  # exit 2 and this text in the one error line
    fires: set[str] = field(default_factory=set)  # rule ids that must be in the report
    note: str | None = None  # text that must appear in some finding's message
    args: tuple = ()


def file(name: str, content) -> object:
    def build(tmp: Path) -> Path:
        data = content() if callable(content) else content
        return write(tmp / name, data)

    return build


def rows_with(loss_cells: list[str]) -> str:
    return csv_text([(i, c, 0.01) for i, c in enumerate(loss_cells)])


def nan_spelled(word: str) -> str:
    cells = [f"{v:.6f}" for v in losses()]
    cells[200:] = [word] * 100
    return rows_with(cells)


def cut_mid_line() -> str:
    text = HEALTHY + "300,0.1"  # the job is writing row 300 right now
    return text


def one_bad_cell() -> str:
    cells = [f"{v:.6f}" for v in losses()]
    cells[150] = "oops"
    return rows_with(cells)


def duplicated_steps() -> str:
    rows = healthy_rows()
    return csv_text(
        rows[:200]
        + [(i, f"{v:.6f}", 0.01) for i, v in zip(range(150, 300), losses(300)[150:], strict=True)]
    )


def many_columns() -> str:
    extra = [f"metric_{k}" for k in range(2997)]
    header = ",".join(["step", "loss", "lr", *extra])
    rows = [",".join([str(i), f"{v:.5f}", "0.01", *["1"] * 2997]) for i, v in enumerate(losses(60))]
    return "\n".join([header, *rows]) + "\n"


def extra_field() -> str:
    rows = healthy_rows()
    lines = HEALTHY.splitlines()
    lines[100] = lines[100] + ",42"
    assert rows
    return "\n".join(lines) + "\n"


def nested_parquet() -> bytes:
    n = 300
    t = (
        healthy_table(n)
        .append_column("hist", pa.array([[1.0, 2.0]] * n))
        .append_column("meta", pa.array([{"a": 1, "b": "x"}] * n))
    )
    return parquet_bytes(t)


def string_parquet() -> bytes:
    n = 300
    return parquet_bytes(
        pa.table(
            {"step": list(range(n)), "loss": [f"{v:.6f}" for v in losses(n)], "lr": ["0.01"] * n}
        )
    )


def nulls_parquet() -> bytes:
    n = 300
    vals = [None if i % 7 == 0 else v for i, v in enumerate(losses(n))]
    return parquet_bytes(
        pa.table({"step": list(range(n)), "loss": pa.array(vals, pa.float64()), "lr": [0.01] * n})
    )


def truncated_parquet() -> bytes:
    data = parquet_bytes(healthy_table())
    return data[: len(data) // 2]


def symlink_loop(tmp: Path) -> Path:
    a, b = tmp / "a.csv", tmp / "b.csv"
    os.symlink(b, a)
    os.symlink(a, b)
    return a


def empty_dir(tmp: Path) -> Path:
    d = tmp / "runs"
    (d / "sub").mkdir(parents=True)
    (d / "notes.txt").write_text("nothing here")
    return d


CASES: dict[str, Case] = {
    "empty csv": Case(file("run.csv", b""), error="empty"),
    "empty parquet name": Case(file("run.parquet", b""), error="empty"),
    "whitespace only": Case(file("run.csv", b"  \n\n\t\n"), error="empty"),
    "header without rows": Case(file("run.csv", "step,loss,lr\n"), error="no rows"),
    "one row": Case(file("run.csv", csv_text([(0, 2.3, 0.01)]))),
    "two rows": Case(file("run.csv", csv_text([(0, 2.3, 0.01), (1, 2.2, 0.01)]))),
    "binary garbage": Case(file("run.csv", bytes(range(256)) * 40), error="not a training log"),
    "utf-16 text": Case(file("run.csv", HEALTHY.encode("utf-16")), error="is UTF-16 text"),
    "prose": Case(
        file("run.csv", "Dear team,\nthe run went fine. Loss was low.\nBye\n"),
        error="no loss column",
    ),
    "json garbage": Case(file("run.json", "{not json at all"), error="run.json"),
    "csv named parquet": Case(file("run.parquet", HEALTHY)),
    "parquet named csv": Case(file("run.csv", lambda: parquet_bytes(healthy_table()))),
    "gzip named csv": Case(file("run.csv", lambda: gzip.compress(HEALTHY.encode()))),
    "truncated gzip": Case(
        file("run.csv.gz", lambda: gzip.compress(HEALTHY.encode())[:300]), error="run.csv.gz"
    ),
    "truncated parquet": Case(file("run.parquet", truncated_parquet), error="has not closed"),
    "parquet magic then garbage": Case(
        file("run.parquet", b"PAR1" + b"\x07" * 500 + b"PAR1"), error="run.parquet"
    ),
    "csv cut mid-line": Case(
        file("run.csv", cut_mid_line), fires={"DA003"}, note="could not be parsed"
    ),
    "all loss cells text": Case(file("run.csv", rows_with(["abc"] * 50)), error="no numbers"),
    "one bad loss cell": Case(
        file("run.csv", one_bad_cell), fires={"DA003"}, note="could not be parsed"
    ),
    "textual nan": Case(file("run.csv", nan_spelled("nan")), fires={"NF001"}),
    "textual NaN": Case(file("run.csv", nan_spelled("NaN")), fires={"NF001"}),
    "textual inf": Case(file("run.csv", nan_spelled("inf")), fires={"NF001"}),
    "textual Infinity": Case(file("run.csv", nan_spelled("Infinity")), fires={"NF001"}),
    "textual -inf": Case(file("run.csv", nan_spelled("-inf")), fires={"NF001"}),
    "all nan loss": Case(file("run.csv", rows_with(["nan"] * 300)), fires={"NF001"}),
    "constant loss": Case(file("run.csv", rows_with(["0.5"] * 300))),
    "huge losses": Case(
        file("run.csv", rows_with([f"{1e308 * (1 - i / 1000):.6e}" for i in range(300)]))
    ),
    "tiny losses": Case(
        file("run.csv", rows_with([f"{1e-308 * (300 - i):.6e}" for i in range(300)]))
    ),
    "negative losses": Case(file("run.csv", rows_with([f"{-v:.6f}" for v in losses()]))),
    "duplicated columns": Case(
        file(
            "run.csv",
            csv_text([(i, v, v, 0.01) for i, v in enumerate(losses())], header="step,loss,loss,lr"),
        )
    ),
    "3000 columns": Case(file("run.csv", many_columns)),
    "semicolons": Case(file("run.csv", csv_text(healthy_rows(), sep=";"))),
    "tabs": Case(file("run.tsv", csv_text(healthy_rows(), sep="\t"))),
    "bom and crlf": Case(file("run.csv", "\ufeff" + csv_text(healthy_rows(), newline="\r\n"))),
    "row with an extra field": Case(file("run.csv", extra_field), fires={"DA003"}),
    "unsorted steps": Case(
        file("run.csv", csv_text(sorted(healthy_rows(), key=lambda r: (r[0] * 37) % 300))),
        fires={"DA003"},
        note="sorted",
    ),
    "reversed steps": Case(file("run.csv", csv_text(healthy_rows()[::-1])), fires={"DA003"}),
    "resumed run": Case(file("run.csv", duplicated_steps), fires={"DA003"}, note="more than once"),
    "non-ascii columns": Case(
        file("run.csv", csv_text(healthy_rows(), header="schritt,损失 ü,lr")),
        args=("--step-col", "schritt", "--loss-col", "损失 ü"),
    ),
    "non-ascii extra column": Case(
        file(
            "run.csv",
            csv_text([(*r, 1) for r in healthy_rows()], header="step,loss,lr,Genauigkeit_ß"),
        )
    ),
    "nested parquet columns": Case(file("run.parquet", nested_parquet)),
    "string parquet columns": Case(file("run.parquet", string_parquet)),
    "null cells": Case(file("run.parquet", nulls_parquet)),
    "empty loss cells": Case(file("run.csv", rows_with([""] * 100)), error="run.csv"),
    "text steps": Case(
        file("run.csv", csv_text([(f"s{i}", f"{v:.5f}", 0.01) for i, v in enumerate(losses())]))
    ),
    "undecodable short row": Case(
        file("run.csv", b"step,loss,lr\n1,2,3\n\x8b\xff,5\n2,3,4\n"), error="could not parse"
    ),
    "old mac line ends": Case(file("run.csv", csv_text(healthy_rows(), newline="\r"))),
    "huge header field": Case(
        file("run.csv", "step,loss," + "x" * 200_000 + "\n1,2,3\n"), error="run.csv"
    ),
    "steps near the float limits": Case(
        file("run.csv", csv_text([(1e308, 1.0, 0.01), (-1e308, 2.0, 0.01), (5, 3.0, 0.01)])),
        fires={"DA003"},
    ),
    "lr near the float limits": Case(
        file(
            "run.csv",
            csv_text([(i, f"{v:.5f}", 1e308 if i % 2 else -1e308) for i, v in enumerate(losses())]),
        )
    ),
    "json integer beyond float range": Case(
        file(
            "run.jsonl",
            "".join(
                f'{{"step": {i}, "loss": {10**400 if i > 250 else round(v, 5)}}}\n'
                for i, v in enumerate(losses())
            ),
        ),
        fires={"NF001"},
    ),
    "step cells all empty": Case(
        file("run.csv", csv_text([("", f"{v:.5f}", 0.01) for v in losses()])),
        error="the step column 'step' holds no numbers",
    ),
    "folder with no logs": Case(empty_dir, error="no training logs"),
    "missing path": Case(lambda tmp: tmp / "nope.csv", error="no such file"),
    "glob matching nothing": Case(lambda tmp: tmp / "*.nothing", error="no file matches"),
    "symlink loop": Case(symlink_loop, error="a.csv"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, tmp_path):
    case = CASES[name]
    path = case.build(tmp_path)
    result = invoke("check", path, "--format", "json", *case.args)
    if case.error is not None:
        assert result.exit_code == 2, result.stdout
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("lrdoctor: error: ") and Path(path).name in lines[0]
        assert case.error in lines[0], lines[0]
        return
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    run = report["runs"][0]
    assert run.get("error") is None
    fired = {f["rule"] for f in run["findings"]}
    assert case.fires <= fired, fired
    if case.note:
        assert any(case.note in f["message"] for f in run["findings"]), run["findings"]


def test_catalogue_is_large_enough():
    assert len(CASES) >= 40


def test_unreadable_file(tmp_path):
    path = write(tmp_path / "run.csv", HEALTHY)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("permissions are not enforced for this user (root?)")
        result = invoke("check", path, "--format", "json")
        assert result.exit_code == 2 and "permission denied" in result.stderr
    finally:
        path.chmod(0o644)


def test_enormous_single_line_fails_fast(tmp_path):
    path = tmp_path / "run.csv"
    with open(path, "wb") as fh:
        chunk = b"loss," * (1 << 20)
        for _ in range(10):  # ~50 MB, no newline anywhere
            fh.write(chunk)
    start = time.monotonic()
    result = invoke("check", path, "--format", "json")
    assert time.monotonic() - start < 10
    assert result.exit_code == 2 and "run.csv" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_enormous_data_line_fails_fast(tmp_path):
    path = tmp_path / "run.csv"
    with open(path, "wb") as fh:
        fh.write(HEALTHY.encode())
        fh.write(b"1" * (50 << 20))  # a 50 MB "row" with no newline
    start = time.monotonic()
    result = invoke("check", path, "--format", "json")
    assert time.monotonic() - start < 10
    assert result.exit_code == 2 and "over 16 MiB" in result.stderr and "run.csv" in result.stderr


def test_folder_mixing_good_and_broken_logs(tmp_path):
    """Each broken log is named on its own line; the good one is still analysed."""
    write(tmp_path / "good.csv", HEALTHY)
    write(tmp_path / "empty.csv", b"")
    write(tmp_path / "cut.parquet", truncated_parquet())
    symlink_loop(tmp_path)
    result = invoke("check", tmp_path, "--format", "json")
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    runs = {Path(r["source"]).name: r for r in out["runs"]}
    assert set(runs) == {"good.csv"} and runs["good.csv"]["steps"] == 300
    broken = {Path(e["source"]).name for e in out["errors"]}
    assert broken == {"empty.csv", "cut.parquet", "a.csv", "b.csv"}
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(broken)
    assert all(ln.startswith("lrdoctor: error: ") for ln in lines)


ANALYSED = [name for name, case in CASES.items() if case.error is None]


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit"])
@pytest.mark.parametrize("name", ANALYSED)
def test_every_format_renders_odd_data(name, fmt, tmp_path, monkeypatch):
    """Charts and tables must cope with the same odd data (huge, tiny, constant, one row)."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    case = CASES[name]
    result = invoke("check", case.build(tmp_path), "--format", fmt, *case.args)
    assert result.exit_code in (0, 1), result.output
    assert result.stdout.strip()


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    """The same path as `test_unreadable_file`, for when tests run as root."""
    import builtins

    path = write(tmp_path / "run.csv", HEALTHY)
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    result = invoke("check", path, "--format", "json")
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"lrdoctor: error: {path}: permission denied — make the file "
        "readable"
    )
