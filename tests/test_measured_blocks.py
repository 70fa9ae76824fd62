"""Benchmarks write their printed figures into the docs' marked blocks (benchmarks/measured.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("measured", ROOT / "benchmarks/measured.py")
measured = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measured)

PAGE = "# Page\n\nbefore\n<!-- measured: demo -->\nstale figures\n<!-- end measured -->\nafter\n"


def test_a_block_is_replaced_by_what_was_printed_with_its_provenance(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE + "<!-- measured: other -->\nkept\n<!-- end measured -->\n")
    with measured.tee() as printed:
        print("accuracy 0.917")
    measured.write(page, "demo", printed.getvalue(), "python benchmarks/x.py --loto")
    text = page.read_text()
    body = measured.block("demo").search(text)[2]
    assert "```text\naccuracy 0.917\n```" in body
    assert "stale figures" not in text
    assert re.search(r"`python benchmarks/x.py --loto` at \S+.* UTC, Python 3\.\d+", body)
    assert "load average" in body
    assert text.startswith("# Page\n\nbefore\n") and "after\n" in text
    assert "kept" in measured.block("other").search(text)[2]
    measured.write(page, "demo", "accuracy 0.92\n", "python benchmarks/x.py")
    assert page.read_text().count("<!-- measured: demo") == 1
    assert "accuracy 0.92\n" in page.read_text() and "0.917" not in page.read_text()


def test_markdown_is_written_as_it_is(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    measured.write(page, "demo", "| a | b |\n|---|---|\n", "python benchmarks/x.py", markdown=True)
    body = measured.block("demo").search(page.read_text())[2]
    assert body.endswith(":\n\n| a | b |\n|---|---|\n") and "```" not in body


def test_a_page_without_the_block_is_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    with pytest.raises(SystemExit, match="no '<!-- measured: missing -->' block"):
        measured.write(page, "missing", "x", "cmd")
    assert page.read_text() == PAGE


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_every_measured_block_in_the_docs_names_its_command(page):
    for m in measured.block().finditer(page.read_text()):
        assert re.match(r"Measured by `python benchmarks/\S+\.py[^`]*` at ", m[2]), m[1]
        # the date and how busy the machine was stand beside the figures
        head = m[2].split("\n", 1)[0]
        assert re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d UTC, ", head), m[1]
        assert re.search(r"load average \d+\.\d", head), m[1]


def test_a_name_is_not_taken_for_a_longer_one_it_begins(tmp_path):
    """`devcorpus` must not write into `devcorpus-summary` when that block comes first."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- measured: demo-summary -->\n<!-- end measured -->\n"
        "<!-- measured: demo -->\nold\n<!-- end measured -->\n"
    )
    measured.write(page, "demo", "new figures", "python benchmarks/x.py")
    text = page.read_text()
    assert measured.block("demo-summary").search(text)[2] == ""
    assert "new figures" in measured.block("demo").search(text)[2]
    with pytest.raises(SystemExit, match="no '<!-- measured: dem -->' block"):
        measured.write(page, "dem", "x", "cmd")


def test_figures_of_another_checkouts_lrdoctor_are_refused(tmp_path, monkeypatch):
    """A benchmark run in a worktree imports the editable install of another checkout unless
    told otherwise; its figures would then carry this checkout's commit."""
    import sys
    import types

    page = tmp_path / "page.md"
    page.write_text(PAGE)
    elsewhere = types.ModuleType("lrdoctor")
    elsewhere.__file__ = str(tmp_path / "other" / "lrdoctor" / "__init__.py")
    monkeypatch.setitem(sys.modules, "lrdoctor", elsewhere)
    with pytest.raises(SystemExit, match=r"measured the lrdoctor at .*other.*PYTHONPATH="):
        measured.write(page, "demo", "x", "python benchmarks/x.py")
    assert page.read_text() == PAGE
    here = types.ModuleType("lrdoctor")
    here.__file__ = str(ROOT / "lrdoctor" / "__init__.py")
    monkeypatch.setitem(sys.modules, "lrdoctor", here)
    measured.write(page, "demo", "x", "python benchmarks/x.py")
    assert "```text\nx\n```" in page.read_text()
