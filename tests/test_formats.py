"""Every output format parses back and carries the report; machine formats have no ANSI."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrdoctor.escape import visible
from lrdoctor.findings import Finding, Report, RuleOutcome, RunReport
from lrdoctor.formats import FORMATS, Context
from lrdoctor.formats.github import escape_data, escape_property

FINDING = Finding(
    rule="NF001",
    name="non-finite-loss",
    category="non_finite",
    severity="error",
    message="loss became nan at step 300, 100% gone:\nbad",
    recommendation="lower the LR",
    step=300,
)
WARN = Finding(
    rule="XX001",
    name="something",
    category="other",
    severity="warning",
    message="meh",
    recommendation="look",
    step=10,
    step_end=20,
)


def report() -> Report:
    bad = RunReport(
        source="runs/a,b.csv",
        findings=[FINDING, WARN],
        n_steps=400,
        outcomes=[
            RuleOutcome("NF001", "non-finite-loss", "fired"),
            RuleOutcome("XX001", "something", "fired"),
            RuleOutcome("YY001", "other", "skipped", "needs grad_norm"),
        ],
        preview=((0.0, 100.0, 300.0), (2.0, 1.0, float("nan"))),
    )
    good = RunReport(
        source="ok.csv", n_steps=10, outcomes=[RuleOutcome("NF001", "non-finite-loss", "passed")]
    )
    broken = RunReport(source="x.parquet", error="x.parquet: not a Parquet file")
    return Report(runs=[bad, good, broken])


@pytest.mark.parametrize("name", ["json", "github", "junit", "markdown", "text"])
def test_no_ansi_without_colour(name):
    assert "\x1b[" not in FORMATS[name](report(), Context())


def test_json_is_exactly_the_report_dict():
    out = FORMATS["json"](report(), Context())
    assert json.loads(out) == report().to_dict()
    assert out == FORMATS["json"](report(), Context())


LINE = re.compile(r"^::(error|warning|notice) title=([^:,\r\n]*)::([^\r\n]*)$")


def test_github_lines_follow_the_grammar_worst_first(tmp_path):
    summary = tmp_path / "summary.md"
    out = FORMATS["github"](report(), Context(step_summary=summary)).splitlines()
    kinds = [LINE.match(line).group(1) for line in out]
    assert kinds == ["error", "error", "warning"]
    nf = next(line for line in out if "NF001" in line)
    assert "%0A" in nf and "100%25" in nf and "runs/a,b.csv:" in nf
    assert "| `runs/a,b.csv` | ❌ fail |" in summary.read_text()


def test_github_escaping():
    assert escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert escape_property("x: y, z") == "x%3A y%2C z"


def test_junit_parses_with_counts():
    root = ET.fromstring(FORMATS["junit"](report(), Context(fail_on="error")))
    suites = {s.get("name"): s for s in root}
    bad = suites["runs/a,b.csv"]
    assert (bad.get("tests"), bad.get("failures"), bad.get("skipped")) == ("3", "1", "1")
    warn_case = bad.find("testcase[@name='XX001 something']")
    assert warn_case.find("failure") is None and "meh" in warn_case.find("system-out").text
    assert bad.find("testcase/skipped").get("message") == "needs grad_norm"
    assert suites["x.parquet"].find("testcase/error") is not None
    assert root.get("errors") == "1"
    strict = ET.fromstring(FORMATS["junit"](report(), Context(fail_on="warning")))
    assert strict.get("failures") == "2"


def test_markdown_summary_and_escaped_cells():
    out = FORMATS["markdown"](report(), Context())
    assert "| run | verdict | steps | worst finding | suggested LR |" in out
    assert "### `x.parquet` — 💥 error" in out
    assert "Skipped: YY001 (needs grad_norm)" in out


def test_text_shows_verdicts_marks_and_skips():
    out = FORMATS["text"](report(), Context(width=120))
    assert "✗ FAIL  runs/a,b.csv" in out and "✓ PASS  ok.csv" in out
    assert "steps 10–20" in out and "→ lrdoctor rule NF001" in out
    assert "skipped: YY001 other (needs grad_norm)" in out
    assert "▼" in out and "×" in out
    assert "3 runs checked: 1 error, 1 fail, 1 pass" in out
    assert not [line for line in out.splitlines() if line != line.rstrip()]  # no padding
    coloured = FORMATS["text"](report(), Context(color=True))
    assert "\x1b[" in coloured


def _unescape(text: str) -> str:
    return (
        text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(TEXT, TEXT, TEXT)
def test_any_text_stays_one_parseable_line_in_every_machine_format(source, message, rec):
    f = Finding(
        rule="ZZ001",
        name="odd-text",
        category="other",
        severity="warning",
        message=message,
        recommendation=rec,
        step=5,
    )
    rep = Report(
        runs=[
            RunReport(
                source=source,
                findings=[f],
                n_steps=10,
                outcomes=[RuleOutcome("ZZ001", "odd-text", "fired")],
            )
        ]
    )
    ctx = Context(fail_on="warning")
    # The runner reads stdout line by line at "\n" only (not str.splitlines's separators).
    (line,) = FORMATS["github"](rep, ctx).removesuffix("\n").split("\n")
    match = LINE.match(line)
    assert match and match.group(1) == "warning"
    # Control characters other than CR/LF are shown visibly (\\x1b), the rest round-trips.
    assert _unescape(match.group(3)) == visible(f"{source}: {message} → {rec}", keep="\r\n")
    assert json.loads(FORMATS["json"](rep, ctx)) == rep.to_dict()
    xml_ok = all(c in "\t\n\r" or ord(c) >= 0x20 for c in source + message + rec)
    if xml_ok and not any(0xFFFE <= ord(c) <= 0xFFFF for c in source + message + rec):
        case = ET.fromstring(FORMATS["junit"](rep, ctx).encode()).find(".//testcase")
        assert case.get("classname") == source and case.find("failure") is not None


@pytest.mark.parametrize("width", [60, 80, 120])
def test_text_summary_is_one_line_per_run_within_the_width(width):
    runs = [
        RunReport(
            source=f"logs/run_{i:03}_with_a_long_name.parquet", n_steps=12_345, findings=[WARN]
        )
        for i in range(12)
    ]
    out = FORMATS["text"](Report(runs=runs), Context(width=width)).split("Summary")[1]
    rows = [line for line in out.splitlines() if "logs/run_" in line]
    assert len(rows) == 12 and all(len(row) <= width for row in rows)
    assert all("! WARN" in row and "12,345" in row and "XX001 something" in row for row in rows)
