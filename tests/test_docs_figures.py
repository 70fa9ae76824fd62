"""Figures and samples in the docs are what the tool prints today (scripts/update_docs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts/update_docs.py")
update_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_docs)


def sections(text: str) -> dict[str, str]:
    return {m["name"]: m["body"] for m in update_docs.SECTION.finditer(text)}


def test_every_generator_has_its_section() -> None:
    found = [name for page in update_docs.PAGES for name in sections(page.read_text())]
    assert sorted(found) == sorted(update_docs.GENERATORS)


@pytest.mark.parametrize("page", update_docs.PAGES, ids=lambda p: p.name)
def test_generated_sections_are_current(page: Path) -> None:
    """If this fails: python scripts/update_docs.py (and read the diff)."""
    text = page.read_text()
    now = sections(update_docs.render(text, page.name))
    for name, body in sections(text).items():
        assert body == now[name], (
            f"{page.name}: section {name} is stale: run scripts/update_docs.py"
        )


def test_sample_report_is_the_run_the_quick_start_checks() -> None:
    body = sections(update_docs.PAGES[0].read_text())["sample-report"]
    import lrdoctor

    run = lrdoctor.check(ROOT / update_docs.SAMPLE[1]).runs[0]
    assert f"{run.status.upper()}  {update_docs.SAMPLE[1]}" in body
    for f in run.findings:
        assert f"{f.severity:<7} {f.rule} {f.name}" in body


def test_u_curves_mark_each_sweeps_best_lr() -> None:
    import csv

    body = sections((ROOT / "docs/trainer.md").read_text())["u-curves"]
    rows = list(csv.DictReader((ROOT / "fixtures/sweeps.csv").read_text().splitlines()))
    sweeps = {(r["dataset"], r["optimizer"]) for r in rows}
    assert body.count("| final |") == len(sweeps) == 13
    assert body.count(" * |") == len(sweeps)  # one best LR per sweep


def test_check_mode_reports_a_stale_section(tmp_path, capsys) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        update_docs.PAGES[0].read_text().replace("| DA001 | too-few", "| DA001 | x", 1)
    )
    assert update_docs.main(["--check"], [readme]) == 1
    assert "-| DA001 | x" in capsys.readouterr().out
    assert update_docs.main([], [readme]) == 0
    assert update_docs.main(["--check"], [readme]) == 0


def test_rules_page_fixture_count_is_the_golden_tests() -> None:
    """docs/rules.md §2 states how many fixtures meet their manifest entry and names the misses;
    tests/test_golden.py checks each (the misses as strict expected failures)."""
    import re

    spec = importlib.util.spec_from_file_location("golden", ROOT / "tests/test_golden.py")
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    page = (ROOT / "docs/rules.md").read_text()
    section = page[page.index("## 2. The fixtures") : page.index("## 3.")]
    met, total = map(int, re.search(r"(\d+) of the (\d+) checkable fixtures", section).groups())
    assert total == len(golden.FIXTURES)
    assert met == total - len(golden.KNOWN_MISSES)
    for name in golden.KNOWN_MISSES:
        assert f"`{name}`" in section, f"docs/rules.md §2 does not name the miss {name}"


def test_readme_supported_versions_are_pyprojects_bounds() -> None:
    """README's 'Supported:' line states the bounds .ci/lowest installs (pyproject.toml's)."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    line = next(
        x for x in update_docs.PAGES[0].read_text().splitlines() if x.startswith("Supported:")
    )
    assert f"Python {project['requires-python'].removeprefix('>=')} or newer" in line
    for dep in project["dependencies"]:
        name, low, high = re.fullmatch(r"(\w+)>=([\d.]+)(?:,<([\d.]+))?", dep).groups()
        if high:  # "typer 0.16 to 0.27": the last minor below the cap
            major, minor = high.split(".")
            assert f"{name} {low} to {major}.{int(minor) - 1}" in line, dep
        else:
            assert f"{name} ≥ {low}" in line, dep


def test_readme_lists_every_command_and_format() -> None:
    import re

    from typer.main import get_command

    from lrdoctor.cli import app
    from lrdoctor.formats import FORMATS

    readme = update_docs.PAGES[0].read_text()
    table = readme[readme.index("## Commands") : readme.index("In Python:")]
    listed = set(re.findall(r"`lrdoctor ([a-z-]+)", table))
    assert listed == set(get_command(app).commands)
    [formats] = re.findall(r"`--format ([a-z|]+)`", readme)
    assert formats.split("|") == list(FORMATS)


DOCS = [update_docs.PAGES[0], *sorted((ROOT / "docs").glob("*.md"))]


def _rule_params() -> dict[str, set[float]]:
    from lrdoctor.catalogue import load_builtin

    params: dict[str, set[float]] = {}
    for rule in load_builtin():
        for name, p in rule.params.items():
            if isinstance(p.default, int | float) and not isinstance(p.default, bool):
                params.setdefault(name, set()).add(float(p.default))
    return params


def test_rule_parameters_quoted_in_the_docs_are_the_rule_files() -> None:
    """`sgd_best` 0.178, `adaptive_ratio_per_lr` = 1, ...: a parameter named in backticks and
    followed by a number states the rule file's default."""
    import re

    params = _rule_params()
    quoted = re.compile(r"`(\w+)`\s*(?:=\s*)?(-?\d[\d.]*(?:e-?\d+)?)(?![\w.×-])")
    seen = 0
    for page in DOCS:
        for name, value in quoted.findall(page.read_text()):
            if name in params:
                seen += 1
                assert float(value) in params[name], f"{page.name}: `{name}` {value}"
    assert seen >= 4  # the check section of lr-numbers.md quotes the family parameters


def test_lr_find_offsets_and_range_in_the_docs_are_lrfinds() -> None:
    import re

    from lrdoctor import lrfind

    page = (ROOT / "docs/lr-numbers.md").read_text()
    shifts = dict(re.findall(r"(half_drop|minimum|edge) x 10\^(-?\d+(?:\.\d+)?)", page))
    assert {k: float(v) for k, v in shifts.items()} == lrfind.LANDMARK_SHIFT
    [decades] = set(re.findall(r"suggestion x/÷ 10\^(\d+(?:\.\d+)?)", page))
    assert float(decades) == lrfind.RANGE_DECADES


def test_the_sweep_run_count_in_the_docs_is_fixtures_sweeps() -> None:
    """README and rules.md name the reference trainer's sweeps by their size."""
    import csv
    import re

    rows = list(csv.DictReader((ROOT / "fixtures/sweeps.csv").read_text().splitlines()))
    pairs = {(r["dataset"], r["optimizer"]) for r in rows}
    lrs = {r["lr"] for r in rows if (r["dataset"], r["optimizer"]) == min(pairs)}
    readme = update_docs.PAGES[0].read_text()
    assert re.findall(r"(\d+)-run LR sweeps", readme) == [str(len(rows))]
    rules = (ROOT / "docs/rules.md").read_text()
    assert f"numpy trainer's {len(rows)} sweep runs" in rules
    assert f"The {len(pairs)} dataset × optimizer pairs × {len(lrs)} LRs" in rules


def test_an_html_report_is_the_size_the_pictures_page_states() -> None:
    """docs/pictures.md: 'Size: A–B KB per run', for a run logged every step and a short one."""
    import re

    pytest.importorskip("matplotlib")
    import lrdoctor
    from lrdoctor.formats.html import render_report_html

    page = (ROOT / "docs/pictures.md").read_text()
    low, high = map(int, re.search(r"Size: (\d+)–(\d+) KB per run", page).groups())
    for name in ("spirals_adam_too_low.parquet", "warmup_too_high.parquet"):
        size = len(render_report_html(lrdoctor.check(ROOT / "fixtures" / name)).encode())
        assert low * 1024 <= size <= high * 1024, (name, size)


def test_the_advice_for_an_absurd_lr_is_what_lr_numbers_quotes(tmp_path) -> None:
    """docs/lr-numbers.md: `lrdoctor train --lr 1000` then `check` says 'lower the LR to about
    P (likely A–B)'; the trainer's CSV names no optimizer, so every family gets that advice."""
    import re

    import lrdoctor
    from lrdoctor.trainer import TrainConfig, train, write_log

    page = (ROOT / "docs/lr-numbers.md").read_text()
    point, low, high = re.search(
        r"\"lower\s+the\s+LR\s+to\s+about\s+([\d.]+)\s+\(likely\s+([\d.]+)–([\d.]+)\)\"", page
    ).groups()
    for optimizer in ("sgd", "adam"):
        path = tmp_path / f"{optimizer}.csv"
        write_log(train(TrainConfig(optimizer=optimizer, lr=1000.0, steps=300)), path)
        [run] = lrdoctor.check(str(path)).runs
        assert f"{run.suggested_lr:.2g}" == point
        assert [f"{x:.2g}" for x in run.suggested_lr_range] == [low, high]


def test_the_optimizer_ranges_in_lr_numbers_are_the_data_files() -> None:
    """docs/lr-numbers.md: '(SGD 1e-4–1, Adam-type 1e-5–0.1, Adagrad 1e-4–1, Adadelta 0.01–100)'
    are the ranges of rules/_optimizers.toml every suggested LR stays inside."""
    import re

    from lrdoctor.columns import canonical_optimizer
    from lrdoctor.detectors import advice

    page = (ROOT / "docs/lr-numbers.md").read_text()
    quoted = re.search(r"family is used with \(([^)]+)\)", page.replace("\n", " "))[1]
    names = {"SGD": "sgd", "Adam-type": "adam", "Adagrad": "adagrad", "Adadelta": "adadelta"}
    ranges = dict(re.findall(r"([\w-]+) ([\d.e-]+–[\d.e-]+)", quoted))
    assert set(ranges) == set(names)
    for label, name in names.items():
        low, high = map(float, ranges[label].split("–"))
        profile = advice.profile(canonical_optimizer(name))
        assert (profile.low, profile.high) == (low, high), label


def test_the_best_lr_bands_quoted_in_the_docs_are_the_data_files() -> None:
    """'SGD 1e-3–1, Adam-type 1e-4–3e-2' (and 'unknown: 1e-4–1') wherever the docs quote the
    bands each family's best LR usually lies in: rules/_optimizers.toml's `best`."""
    import re
    import tomllib

    data = tomllib.loads((ROOT / "rules/_optimizers.toml").read_text())
    names = {"SGD": "sgd", "Adam-type": "adam", "unknown:": "unknown"}
    seen = 0
    for page in DOCS:
        text = page.read_text().replace("\n", " ")
        for label, low, high in re.findall(r"(SGD|Adam-type|unknown:) (1e-\d)–([\d.e-]*\d)", text):
            if f"{label} {low}–{high}" in ("SGD 1e-4–1", "Adam-type 1e-5–0.1"):
                continue  # the `used` ranges (test_the_optimizer_ranges_in_lr_numbers_...)
            seen += 1
            assert [float(low), float(high)] == data[names[label]]["best"], (page.name, label)
    assert seen >= 4
