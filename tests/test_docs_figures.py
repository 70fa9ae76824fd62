"""Figures and samples in the docs are what the tool prints today (scripts/update_docs.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
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
    """docs/lr-numbers.md: `lrdoctor train --lr 1000` then `check` tells SGD-type runs, then
    Adam-type ones, 'lower the LR to about P (likely A–B)'; the trainer's CSV names no
    optimizer, so the family is the one the weight norm's growth points to."""
    import re

    import lrdoctor
    from lrdoctor.trainer import TrainConfig, train, write_log

    page = (ROOT / "docs/lr-numbers.md").read_text()
    quotes = re.findall(
        r"(\S+)\s+runs\s+are\s+told\s+\"lower\s+the\s+LR\s+to\s+about\s+([\d.]+)\s+"
        r"\(likely\s+([\d.]+)–([\d.]+)\)\"",
        page,
    )
    assert [q[0] for q in quotes] == ["SGD-type", "Adam-type"]
    for optimizer, (_, point, low, high) in zip(("sgd", "adam"), quotes, strict=True):
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


# Figures that look measured: a share, "N of M", a decimal factor, a time, a size, a signed
# offset, a before -> after, a correlation, decimal decades, a load average.
_NUM = r"\d[\d,]*(?:\.\d+)?"
MEASURED_LOOKING = re.compile(
    "|".join(
        [
            rf"{_NUM}\s?%",
            rf"\b{_NUM} of (?:the |its |those |these )?{_NUM}\b",
            r"\b\d+\.\d+\s?[×x](?!\w)",
            rf"\b{_NUM}\s?(?:s|ms|µs|min|minutes|seconds|hours?)\b",
            rf"\b{_NUM}\s?[KMGk]i?B\b",
            r"(?<![\w.^(])[+\-−]\d+\.\d+",
            r"\b\d+\.\d+\s?(?:->|→)\s?\d+\.\d+\b",
            r"(?:\b(?:r|sd)|σ)\s?[=≈<>≤]+\s?\d",
            r"\b\d+\.\d+ decades?\b",
            r"load average \d",
        ]
    )
)


@dataclasses.dataclass(frozen=True)
class Param:
    """A rule file's parameter default."""

    rule: str
    name: str
    value: float

    def check(self) -> None:
        from lrdoctor.catalogue import load_builtin

        [rule] = [r for r in load_builtin() if r.id == self.rule]
        assert rule.params[self.name].default == self.value, self


@dataclasses.dataclass(frozen=True)
class Const:
    """A constant of lrdoctor's code (`expr` evaluated in `module`)."""

    module: str
    expr: str
    value: object

    def check(self) -> None:
        import importlib

        namespace = vars(importlib.import_module(self.module))
        assert eval(self.expr, dict(namespace)) == self.value, self


@dataclasses.dataclass(frozen=True)
class Default:
    """A default argument of a function of lrdoctor."""

    module: str
    function: str
    name: str
    value: object

    def check(self) -> None:
        import importlib
        import inspect

        function = getattr(importlib.import_module(self.module), self.function)
        assert inspect.signature(function).parameters[self.name].default == self.value, self


# The figures allowed to stand in prose, because they are definitions, not measurements: a
# rule's threshold, a constant of the code, a target or goal, the size of a test's input, an
# example of a format. Each entry is the phrase that holds the figure (whitespace-normalised)
# and where the figure is defined: a Param or Const is checked against the rule file or the
# code; a string says where else it is defined. A measured figure goes in the measured block
# its script writes (benchmarks/measured.py), or the prose points at that block.
DEFINED: list[tuple[str, str, object]] = [
    # formats and examples
    ("architecture.md", '("60×", "3.3×")', "examples of the {x:times} slot format"),
    ("ci.md", 'a factor ("3.3×")', "an example of the {x:times} slot format"),
    # lr-numbers.md: the suggestion's methods and lr-find's definitions
    ("lr-numbers.md", "widened 1.7×", "lrdoctor/detectors/advice.py (low / 1.7, high * 1.7)"),
    ("lr-numbers.md", "The goal (80 % within 3×)", "the goal the issue set"),
    ("lr-numbers.md", "the goal of issue 13 (>= 70 % within 3x)", "issue 13's goal"),
    ("lr-numbers.md", "lands >= 80 % of the time", "what confidence `high` would have to mean"),
    (
        "lr-numbers.md",
        "The first 10 % of steps are ignored",
        Default("lrdoctor.lrfind", "analyse", "trim_start", 0.1),
    ),
    (
        "lr-numbers.md",
        "over a window of 10 % of the points",
        "lrfind.analyse's `window`, each side",
    ),
    (
        "lr-numbers.md",
        "within 10 % of the drop of its start level",
        "lrfind.py, the descent's start",
    ),
    (
        "lr-numbers.md",
        "within 0.75 decades of the level",
        Const("lrdoctor.lrfind", "UR_BAND", 0.75),
    ),
    (
        "lr-numbers.md",
        "within 10 % of its fall from the minimum",
        Const("lrdoctor.lrfind", "BOTTOM_FRACTION", 0.1),
    ),
    (
        "lr-numbers.md",
        "half_drop +1.15, minimum +0.01, edge -0.59",
        Const(
            "lrdoctor.lrfind",
            "FAMILY_SHIFT['sgd']",
            {"half_drop": 1.15, "minimum": 0.01, "edge": -0.59},
        ),
    ),
    (
        "lr-numbers.md",
        "tests +0.59, -0.78, -1.63",
        Const(
            "lrdoctor.lrfind",
            "FAMILY_SHIFT['adam']",
            {"half_drop": 0.59, "minimum": -0.78, "edge": -1.63},
        ),
    ),
    (
        "lr-numbers.md",
        "Final loss: mean of the last 10 % of batch losses",
        "compare.py's summarise (the last 10 %)",
    ),
    (
        "lr-numbers.md",
        "final loss = mean of the last 10 % of logged losses",
        "compare.py's summarise (the last 10 %)",
    ),
    ("lr-numbers.md", "A grid step is 3.16x", "a half-decade grid: 10^0.5"),
    # rules.md's mechanisms: the rule files' thresholds
    ("rules.md", "within ~15 % of its start", Param("NL001", "min_moved", 0.85)),
    ("rules.md", "final loss is 85–100 % of its first", Param("LR003", "flat_moved", 0.85)),
    ("rules.md", "under 1.5× its later level", Param("LR003", "calm_catapult", 1.5)),
    ("rules.md", "(rank trend ≤ −0.9)", Param("LR003", "steady_trend", -0.9)),
    ("rules.md", "within 85–118 % of its start", Param("LR003", "flat_moved", 0.85)),  # 1/0.85
    ("rules.md", "an early 3-point median ≥ 1.5×", Param("LR001", "peak", 1.5)),
    ("rules.md", "a rank trend above −0.5 afterwards", Param("LR001", "jump_trend", -0.5)),
    (
        "rules.md",
        "46 of the 49 checkable fixtures",
        "test_rules_page_fixture_count_is_the_golden_tests",
    ),
    # monitoring and watch schedules
    ("monitoring.md", "(by 20 % each)", Const("lrdoctor.monitor", "ADAPTIVE", 5)),
    ("monitoring.md", "the denser 2 % schedule", Const("lrdoctor.commands.watch", "RECHECK", 50)),
    ("monitoring.md", "past 1 % of the loop's time", "the example's Monitor(budget=0.01)"),
    ("monitoring.md", "idle for 5 s", "the example's --idle 5"),
    ("performance.md", "(every 2 % of growth)", Const("lrdoctor.commands.watch", "RECHECK", 50)),
    ("performance.md", "within 1 % of the loop's time", "Monitor(budget=0.01)"),
    ("reliability.md", "(every 2 % of growth)", Const("lrdoctor.commands.watch", "RECHECK", 50)),
    ("reliability.md", "the Monitor's (every 20 %)", Const("lrdoctor.monitor", "ADAPTIVE", 5)),
    # the test-bed's definitions
    ("ood.md", "10 % flipped", "benchmarks/torch_ood.py's tabular task"),
    ("ood.md", "+ 5 % warm-up/cosine", "benchmarks/torch_ood.py's cnn task"),
    ("ood.md", "median of the last 10 % of batch losses", "lrdoctor.trainer.sweep.label_sweep"),
    ("ood.md", "within 1.25× best + 0.02", "lrdoctor.trainer.sweep.label_sweep"),
    ("trainer.md", "20 % validation split", "lrdoctor.trainer's datasets"),
    ("trainer.md", "median of the last 10 % of batch losses", "lrdoctor.trainer.sweep.label_sweep"),
    ("trainer.md", "0.02 (≈ 3 % of ln 2)", "arithmetic: 0.02 / ln 2"),
    # targets
    (
        "performance.md",
        "≤ 1.3× time and peak RSS",
        "the targets table (perf.py prints them beside each figure)",
    ),
    ("performance.md", "| ≤ 1.3× |", "the targets table"),
    ("performance.md", "| ≤ 1.5× |", "the targets table"),
    ("performance.md", "≤ 1.5× (independent of length)", "the targets table"),
    ("performance.md", "| ≤ 1 % |", "the targets table"),
    (
        "pictures.md",
        "Size: 20–60 KB per run",
        "test_an_html_report_is_the_size_the_pictures_page_states",
    ),
    (
        "pictures.md",
        "at least 1.5× on a log scale",
        "lrdoctor's heat-map cell rule (lrdoctor/charts)",
    ),
    ("scale.md", "under 15% of the object's bytes", "tests/remote/test_s3.py asserts it"),
    ("scale.md", "6 needed signals: ~50 MB", "arithmetic: 10^6 rows × 6 float64 columns"),
    # limits and sizes of the code
    ("reliability.md", "| 4 GiB |", Const("lrdoctor.limits", "DEFAULT.max_bytes", 4 * 1024**3)),
    ("reliability.md", "| 600 s |", Const("lrdoctor.limits", "DEFAULT.timeout", 600.0)),
    (
        "reliability.md",
        "a CSV line over 16 MiB",
        Const("lrdoctor.readers.tabular", "CSV_BLOCK", 1 << 24),
    ),
    (
        "reliability.md",
        "a header over 4 MiB",
        Const("lrdoctor.readers.tabular", "MAX_HEADER_BYTES", 1 << 22),
    ),
    (
        "reliability.md",
        "over 512 MiB",
        Const("lrdoctor.readers.jsonlog", "MAX_JSON_BYTES", 1 << 29),
    ),
    ("reliability.md", "into 4 KiB blocks", Const("lrdoctor.readers.tensorboard", "BLOCK", 4096)),
    (
        "reliability.md",
        "gathered 4 MiB at a time",
        Const("lrdoctor.readers.tensorboard", "BATCH_BYTES", 1 << 22),
    ),
    ("reliability.md", "a 2 MB scalar record", "the size of test_hostile.py's input"),
    ("reliability.md", "a deadline of 30 s per example", "tests/conftest.py's long profile"),
    ("reliability.md", "(under 5 ms)", "pytest's --durations threshold"),
]


def _without_indented_code(text: str) -> str:
    """Drop indented code blocks: indented lines after a blank line that follows a paragraph
    at the margin (not a list item, whose continuation lines are indented too)."""
    out: list[str] = []
    prose_before, blank, in_code = "", False, False
    for line in text.splitlines():
        indented = line.startswith(("    ", "\t"))
        if in_code and (indented or not line.strip()):
            continue
        in_code = indented and blank and not re.match(r"\s|[-*+] |\d+\. ", prose_before)
        if in_code:
            continue
        if line.strip():
            prose_before = line
        blank = not line.strip()
        out.append(line)
    return "\n".join(out)


def prose(page: Path) -> str:
    """The page without its measured and generated blocks, code blocks and code spans, with
    its whitespace collapsed: the text a person wrote by hand."""
    text = page.read_text()
    block = r"^<!-- (measured|generated): [^\n]*-->\n.*?^<!-- end \1 -->"
    text = re.sub(block, " ", text, flags=re.S | re.M)
    text = re.sub(r"^ *```.*?^ *```", " ", text, flags=re.S | re.M)
    text = _without_indented_code(text)
    # a code span: the same run of backticks closes it, within its paragraph
    text = re.sub(r"(`+)(?!`)(?:[^`\n]|`(?!\1)|\n(?!\s*\n))*?(?<!`)\1(?!`)", "`…`", text)
    return re.sub(r"\s+", " ", text)


def test_no_measured_figure_stands_in_prose_outside_its_block() -> None:
    """A figure that looks measured stands only inside the block its script writes; what is
    left in prose is a definition listed in DEFINED (and checked against its source)."""
    unexplained, stale = [], []
    for page in DOCS:
        text = prose(page)
        allowed = [
            (m.start(), m.end())
            for name, phrase, _ in DEFINED
            if name == page.name
            for m in re.finditer(re.escape(phrase), text)
        ]
        for name, phrase, _ in DEFINED:
            if name == page.name and phrase not in text:
                stale.append(f"{name}: {phrase!r}")
        for m in MEASURED_LOOKING.finditer(text):
            if not any(a <= m.start() and m.end() <= b for a, b in allowed):
                unexplained.append(
                    f"{page.name}: {m[0]!r} in …{text[max(0, m.start() - 60) : m.end() + 40]}…"
                )
    assert not stale, "DEFINED phrases no longer in the docs:\n" + "\n".join(stale)
    assert not unexplained, (
        "figures outside a measured block (move them into the block of the script that measures "
        "them, point at that block, or list a definition in DEFINED):\n" + "\n".join(unexplained)
    )


@pytest.mark.parametrize("source", [s for _, _, s in DEFINED if not isinstance(s, str)], ids=repr)
def test_a_definition_quoted_in_prose_is_its_source(source) -> None:
    source.check()
