"""Figures and samples in the docs are what the tool prints today (scripts/update_readme.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts/update_readme.py")
update_readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_readme)


def sections(text: str) -> dict[str, str]:
    return {m["name"]: m["body"] for m in update_readme.SECTION.finditer(text)}


def test_readme_has_its_generated_sections() -> None:
    assert set(sections(update_readme.README.read_text())) == set(update_readme.GENERATORS)


def test_readme_generated_sections_are_current() -> None:
    """If this fails: python scripts/update_readme.py (and read the diff)."""
    text = update_readme.README.read_text()
    now = sections(update_readme.render(text))
    for name, body in sections(text).items():
        assert body == now[name], f"README.md section {name} is stale: run scripts/update_readme.py"


def test_sample_report_is_the_run_the_quick_start_checks() -> None:
    body = sections(update_readme.README.read_text())["sample-report"]
    import lrdoctor

    run = lrdoctor.check(ROOT / update_readme.SAMPLE[1]).runs[0]
    assert f"{run.status.upper()}  {update_readme.SAMPLE[1]}" in body
    for f in run.findings:
        assert f"{f.severity:<7} {f.rule} {f.name}" in body


def test_check_mode_reports_a_stale_section(tmp_path, monkeypatch, capsys) -> None:
    stale = update_readme.README.read_text().replace("| DA001 | too-few-points", "| DA001 | x", 1)
    (tmp_path / "README.md").write_text(stale)
    monkeypatch.setattr(update_readme, "README", tmp_path / "README.md")
    assert update_readme.main(["--check"]) == 1
    assert "-| DA001 | x" in capsys.readouterr().out
    assert update_readme.main([]) == 0
    assert update_readme.main(["--check"]) == 0
