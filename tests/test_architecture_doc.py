"""docs/architecture.md names only modules and folders that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_lrdoctor_path_the_page_names_exists() -> None:
    paths = set(re.findall(r"lrdoctor/[\w/]+(?:\.py)?", DOC))
    assert paths, "the page names no lrdoctor/ path"
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []


def test_every_module_in_the_table_exists() -> None:
    names = set(re.findall(r"^\| `([\w/.]+)`", DOC, flags=re.M))
    assert names
    missing = [n for n in names if not (ROOT / "lrdoctor" / n).exists()]
    assert missing == []
