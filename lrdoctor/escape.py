"""Untrusted text made safe where it goes: terminal, workflow commands, XML, Markdown, HTML.

File, run, column and tag names come from files anyone can write, and messages quote them. A
newline in a file name must not start a forged `::error` line, an escape sequence must not
repaint the terminal, a `\\x00` must not make the JUnit XML unparsable, a `|` must not add a
Markdown column. Every format escapes through this module, so the rules live in one place.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, the bidirectional
# overrides and isolates (they reorder what a reader sees: "Trojan Source"), lone surrogates
# (an undecodable byte in a file name; printing one raises UnicodeEncodeError), BOM and the
# non-characters U+FFFE/U+FFFF.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufeff\ufffe\uffff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(match: re.Match) -> str:
    c = match.group()
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def visible(text: object, keep: str = "") -> str:
    """Control and invisible characters written as `\\n`, `\\x1b`, `\\u202e` (those in `keep`
    left as they are), so every character that is there can be seen."""
    text = str(text)
    if keep:
        return _INVISIBLE.sub(lambda m: m.group() if m.group() in keep else _show(m), text)
    return _INVISIBLE.sub(_show, text)


def terminal(text: object) -> str:
    """A line for stderr or a plain terminal."""
    return visible(text)


def rich(text: object) -> str:
    """Text for rich's console: visible, and `[...]` never read as markup."""
    from rich.markup import escape

    return escape(visible(text))


def workflow_data(text: object) -> str:
    """The message of a GitHub workflow command: one line whatever it holds (the runner's
    own encoding of %, CR and LF, which the annotation shows decoded)."""
    return visible(text, keep="\r\n").replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: object) -> str:
    """A property (`title=...`) of a workflow command: also `:` and `,` end it."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


# Characters XML 1.0 cannot hold at all, even escaped; ElementTree writes them raw.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml(text: object) -> str:
    """Text for an XML attribute or element (ElementTree escapes `<&"`): characters XML cannot
    hold are written visibly instead of making the document unparsable."""
    return _NOT_XML.sub(_show, str(text))


# What can make inline Markdown forge something: links and images `[]!`, HTML and entities
# `<>&`, code and emphasis `` ` * ~ ``, math `$`, a new cell `|`, and the escape itself. (An
# intraword `_` opens no emphasis; block syntax like `#` only counts at a line's start, where
# no untrusted text is put.)
_MARKDOWN = re.compile(r"([\\`*\[\]<>|~&!$])")


def markdown(text: object) -> str:
    """Prose for a Markdown paragraph or table cell: no markup, link, image, HTML or column."""
    return _MARKDOWN.sub(r"\\\1", visible(text))


def markdown_code(text: object, in_table: bool = True) -> str:
    """A name as a Markdown code span: fenced by more backticks than it holds; in a table,
    `|` escaped (GFM splits cells before it parses code spans)."""
    body = visible(text)
    if in_table:
        body = body.replace("|", "\\|")
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", body)), default=0))
    pad = " " if body.startswith(("`", " ")) or body.endswith(("`", " ")) else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def figure(text: object) -> str:
    """Text for a matplotlib label: visible, and `$` never starts mathtext (a malformed
    formula raises, and a glyph it cannot draw breaks the SVG)."""
    return visible(text).replace("$", r"\$")


def html(text: object) -> str:
    """Text for an HTML element or quoted attribute."""
    from html import escape

    return escape(visible(text), quote=True)
