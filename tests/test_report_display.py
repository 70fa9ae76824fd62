"""Report in a notebook (`_repr_html_`): the curve of each run when matplotlib is there, else a
small table of verdicts; both name every run, its verdict and its findings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lrdoctor
from lrdoctor.errors import LrdoctorError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RUNS = [str(FIXTURES / "spirals_adam_too_low.parquet"), str(FIXTURES / "short_run.csv")]


def test_notebook_display_draws_each_runs_curve():
    pytest.importorskip("matplotlib")
    report = lrdoctor.check(RUNS)
    html = report._repr_html_()
    assert html.count("<svg") >= len(report.runs)  # a figure per run
    assert "<html" not in html  # a fragment for the notebook's page, not a document
    for run in report:
        assert run.source in html
        assert {f.rule for f in run.findings} <= set(re.findall(r"\b[A-Z]{2}\d{3}\b", html))


def test_notebook_display_without_matplotlib_is_a_table_of_verdicts(monkeypatch):
    import lrdoctor.formats.html as html_format

    def no_matplotlib(report):
        raise LrdoctorError("no matplotlib")

    monkeypatch.setattr(html_format, "report_fragment", no_matplotlib)
    report = lrdoctor.check(RUNS)
    rows = re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", report._repr_html_()
    )
    assert rows == [
        (r.source, r.status, f"{r.n_steps:,}", ", ".join(f.rule for f in r.findings))
        for r in report
    ]
