"""The text format's rich-free layout (one run, no colour) is rich's layout, character for
character; text it cannot measure goes to rich."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

import lrdoctor
from lrdoctor.formats import FORMATS, Context
from lrdoctor.formats import text as text_format
from lrdoctor.formats.text import ONE_CELL, NeedsRich, PlainConsole, RichConsole

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def rich_console(width: int) -> RichConsole:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, no_color=True, color_system=None, highlight=False, emoji=False
    )
    return RichConsole(console, buffer)


def test_every_character_the_plain_layout_measures_is_one_cell_for_rich():
    assert [c for c in ONE_CELL if cell_len(c) != 1] == []


WORDS = st.text(alphabet="ab:→▲·" + " " * 3, max_size=120)
PIECES = st.lists(st.one_of(WORDS, st.tuples(WORDS, st.sampled_from(["bold", "dim red"]))))


@given(PIECES, st.integers(1, 50), st.integers(0, 12))
def test_plain_lines_and_indented_lines_are_riches(pieces, width, left):
    plain, rich = PlainConsole(width + left), rich_console(width + left)
    for out in (plain, rich):
        out.line(*pieces)
        out.indented(left, *pieces)
        out.line()
    strip = lambda text: [line.rstrip() for line in text.split("\n")]  # noqa: E731
    assert strip(plain.text()) == strip(rich.text())


@pytest.mark.parametrize("name", ["日本語のログ.csv", "tab\there.csv", "e\u0301.csv", "⚠.csv"])
def test_text_it_cannot_measure_goes_to_rich(name):
    with pytest.raises(NeedsRich):
        PlainConsole(80).line(("a run named ", "dim"), name)


class Refuse:
    """A PlainConsole that measures nothing: every report goes to rich."""

    def __init__(self, width: int) -> None:
        pass

    def line(self, *pieces) -> None:
        raise NeedsRich("refused")


@pytest.mark.parametrize(
    "fixture", ["spike_recovers.parquet", "blobs_momentum_diverge_nan.csv", "nan_log0.parquet"]
)
@pytest.mark.parametrize("width", [40, 80, 120])
def test_a_report_laid_out_without_rich_is_the_one_rich_lays_out(fixture, width, monkeypatch):
    report = lrdoctor.check(str(FIXTURES / fixture))
    ctx = Context(width=width)
    plain = text_format._render(PlainConsole(width), report, ctx)  # raises if it needs rich
    monkeypatch.setattr(text_format, "PlainConsole", Refuse)
    assert FORMATS["text"](report, ctx) == plain
