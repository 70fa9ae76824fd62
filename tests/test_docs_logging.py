"""docs/logging.md: every snippet parses, every name it imports from lrdoctor exists (a plain
`import lrdoctor` does not load the capture helpers, so only imports are shown), and every
capture helper it offers runs in a framework integration test (tests/integrations/)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs/logging.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.S)
INLINE = re.findall(r"`(from lrdoctor[\w.]* import [\w, ]+)`", DOC)


def _imports(code: str) -> list[tuple[str, str]]:
    return [
        (node.module, alias.name)
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lrdoctor")
        for alias in node.names
    ]


IMPORTS = sorted({pair for code in [*BLOCKS, *INLINE] for pair in _imports(code)})


def test_the_doc_has_snippets_and_imports():
    assert len(BLOCKS) >= 6 and len(IMPORTS) >= 5, (len(BLOCKS), IMPORTS)


@pytest.mark.parametrize("module, name", IMPORTS, ids=[f"{m}.{n}" for m, n in IMPORTS])
def test_every_documented_import_exists(module, name):
    if module == "lrdoctor.capture.torch":
        pytest.importorskip("torch")
    assert hasattr(importlib.import_module(module), name)


def test_no_dotted_helper_that_a_plain_import_lrdoctor_lacks():
    # `lrdoctor.capture.callbacks.x(...)` after `import lrdoctor` raises AttributeError.
    assert not re.findall(r"(?<![\w.])lrdoctor\.capture\.\w+\.\w+\(", DOC)


@pytest.mark.parametrize("helper", sorted(set(re.findall(r"\b(\w+_callback)\(", DOC))))
def test_every_documented_callback_runs_in_an_integration_test(helper):
    tests = " ".join(p.read_text() for p in (ROOT / "tests/integrations").glob("test_*.py"))
    assert re.search(rf"\b{helper}\(", tests), helper


def test_the_range_test_claim_is_what_the_integration_test_asserts():
    """'within 3x of the best LR of an 8-LR constant sweep (1e-4 ... 3e-1, 100 steps)'."""
    spec = importlib.util.spec_from_file_location("tiny", ROOT / "tests/integrations/tiny.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    text = " ".join(DOC.split())
    factor, count, low, high, steps = re.search(
        r"lands within (\d+)x of the best LR of an (\d+)-LR constant sweep "
        r"\(([\d.e-]+) \.\.\. ([\d.e-]+), (\d+) steps\)",
        text,
    ).groups()
    assert (int(count), float(low), float(high)) == (len(tiny.GRID), tiny.GRID[0], tiny.GRID[-1])
    assert int(steps) == tiny.SWEEP_STEPS
    test = (ROOT / "tests/integrations/test_range_test.py").read_text()
    assert f"assert 1 / {factor} <= ratio <= {factor}" in test
    assert "result.suggested_lr_range[0] <= best <= result.suggested_lr_range[1]" in test
