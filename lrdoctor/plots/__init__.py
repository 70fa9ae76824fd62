"""Pictures with matplotlib (the optional `plot` extra): a run, a range test, a sweep.

matplotlib is imported here only, when a picture is asked for, so a plain `check` never loads
it. Figures are built with the object API (no pyplot, no global state) and drawn by Agg.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from lrdoctor.errors import ConfigError

EXTRA = "pip install 'lrdoctor[plot]'"
# Colours by severity, shared by the figures and the HTML page.
SEVERITY_COLOR = {"error": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}
FORMATS = ("png", "svg")


def require(what: str):
    """The matplotlib module, or a one-line error naming the extra that brings it."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError(f"{what} needs matplotlib, which is not installed — {EXTRA}") from None
    return matplotlib


def new_figure(width: float, height: float):
    """A figure not attached to pyplot (so nothing is shown and nothing leaks between runs)."""
    require("a picture")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save(fig, path: Path) -> None:
    """Write a figure as PNG or SVG, chosen by the file's suffix."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ConfigError(
            f"{path}: cannot tell the picture format from the name — end it in .png or .svg"
        )
    buffer = io.BytesIO()
    _savefig(fig, buffer, kind, path.stem)
    try:
        path.write_bytes(buffer.getvalue())
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write there ({exc.strerror or exc}) — choose another path"
        ) from None


def svg_inline(fig, salt: str) -> str:
    """The figure as an <svg> element to put inside HTML: no XML prologue, no metadata and no
    namespace URIs, so the page names no URL; `salt` keeps element ids unique in the page."""
    buffer = io.StringIO()
    _savefig(fig, buffer, "svg", salt)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)
    # Path coordinates to a tenth of a point (matplotlib writes six decimals): a third the size.
    text = re.sub(r' d="([^"]*)"', lambda m: ' d="' + _compact(m.group(1)) + '"', text)
    return text.replace("xlink:href", "href")


def _compact(path: str) -> str:
    path = re.sub(r"(\.\d)\d+", r"\1", path)
    return re.sub(r"\s+", " ", path).strip()


def _savefig(fig, buffer, kind: str, salt: str) -> None:
    import numpy as np

    # Axes near 1e200 (a run that blew up) overflow inside the log transform; harmless.
    with np.errstate(all="ignore"):
        _draw(fig, buffer, kind, salt)


def _draw(fig, buffer, kind: str, salt: str) -> None:
    import matplotlib

    if kind == "png":
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return
    # Text as text (searchable in the page, small) and element ids salted per figure.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
