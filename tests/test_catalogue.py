"""The contract between rule files and detectors, and the fixtures each rule names."""

from __future__ import annotations

import inspect
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import lrdoctor
from lrdoctor.catalogue import builtin_rules_dir, load_builtin, template_fields
from lrdoctor.detectors import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
RULES = load_builtin()
_ENTRIES = tomllib.loads((ROOT / "fixtures/manifest.toml").read_text())["fixture"]
MANIFEST = {f["name"]: f for f in _ENTRIES}


def _report(name: str):
    return lrdoctor.check(ROOT / "fixtures" / MANIFEST[name]["file"]).runs[0]


def test_ids_are_unique_and_prefixed_by_category() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for r in RULES:
        assert r.id[:2].isalpha() and r.id[2:].isdigit(), r.id
        assert r.name == r.name.lower() and " " not in r.name and "_" not in r.name


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_binds_to_its_detector(rule) -> None:
    assert rule.detector in REGISTRY, f"{rule.id} names unknown detector {rule.detector}"
    signature = inspect.signature(REGISTRY[rule.detector])
    keyword = {n: p for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY}
    # Every declared parameter exists in the detector, with the same default.
    assert set(rule.params) == set(keyword), rule.id
    for name, param in rule.params.items():
        assert keyword[name].default == param.default, f"{rule.id}.{name}"
        assert param.help, f"{rule.id}.{name} needs a help text"
    for section in ("what", "why", "example", "limits"):
        assert rule.rationale.get(section), f"{rule.id} rationale lacks {section!r}"
    for template in rule.templates:
        assert all(f.isidentifier() for f in template_fields(template))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_fires_and_stays_quiet_on_its_fixtures(rule) -> None:
    assert rule.fixtures.get("fires") and rule.fixtures.get("quiet"), rule.id
    for name in rule.fixtures["fires"]:
        fired = [f for f in _report(name).findings if f.rule == rule.id]
        assert fired, f"{rule.id} should fire on {name}"
        # Every slot in the templates was filled by the detector or the engine.
        assert all("n/a" not in f.message for f in fired), fired[0].message
    for name in rule.fixtures["quiet"]:
        assert not [f for f in _report(name).findings if f.rule == rule.id], (
            f"{rule.id} should stay quiet on {name}"
        )


def test_readme_rule_table_matches_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text()
    for r in RULES:
        assert f"| {r.id} | {r.name} | {r.category} | {r.severity} |" in readme, r.id


def test_wheel_carries_the_catalogue(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("lrdoctor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("lrdoctor/_rules/")}
    assert shipped == {p.name for p in builtin_rules_dir().glob("*.toml")}
