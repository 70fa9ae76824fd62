"""What a check of many small logs does once per process instead of once per file, and what it
skips when the output format does not show it: the same results either way."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from lrdoctor.columns import CACHED_HEADER, detect_columns
from lrdoctor.commands.check import PREVIEW_FORMATS, _read_options
from lrdoctor.engine import Options, check_path
from lrdoctor.errors import ConfigError
from lrdoctor.limits import DEFAULT
from lrdoctor.present import fill
from lrdoctor.session import open_session

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOGS = [FIXTURES / "blobs_sgd_healthy.csv", FIXTURES / "overfit_blobs.parquet"]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_a_check_without_preview_differs_only_by_the_preview(path: Path) -> None:
    planned = open_session().planned
    (full,) = check_path(path, planned, Options())
    (bare,) = check_path(path, planned, Options(preview=False))
    assert full.preview[0] and bare.preview == ((), ())
    assert dataclasses.replace(full, preview=((), ())) == bare
    assert full.to_dict() == bare.to_dict()


@pytest.mark.parametrize(
    ("fmt", "preview"),
    [("text", True), ("html", True), ("json", False), ("github", False), ("junit", False)],
)
def test_only_the_formats_that_draw_the_preview_compute_it(fmt: str, preview: bool) -> None:
    if fmt == "html":
        pytest.importorskip("matplotlib")
    session = _read_options(open_session(), fmt, DEFAULT)
    assert session.options.preview is preview
    assert (fmt in PREVIEW_FORMATS) is preview


def test_detected_columns_are_the_callers_own_dict() -> None:
    names = ["step", "loss", "lr", "grad_norm"]
    first = detect_columns(names)
    first["extra"] = "changed"
    assert detect_columns(names) == {
        "step": "step",
        "loss": "loss",
        "lr": "lr",
        "grad_norm": "grad_norm",
    }
    assert detect_columns(tuple(names), {"loss": "lr"})["loss"] == "lr"


def test_a_bad_override_is_an_error_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ConfigError, match="not in the log"):
            detect_columns(["step", "loss"], {"loss": "train_loss"})


def test_a_wide_header_is_matched_like_a_narrow_one() -> None:
    wide = [f"metric_{i}" for i in range(CACHED_HEADER + 5)] + ["loss", "learning_rate"]
    assert (
        detect_columns(wide)
        == detect_columns(wide[-2:])
        == {
            "loss": "loss",
            "lr": "learning_rate",
        }
    )


def test_one_template_fills_with_each_call_s_slots() -> None:
    template = "loss grew {factor:times} (limit {limit:times}) at lr={lr:lr}"
    assert fill(template, {"factor": 7.3, "limit": 3, "lr": 0.03}) == (
        "loss grew 7.3× (limit 3×) at lr=0.03"
    )
    assert fill(template, {"factor": 60.0, "limit": 10, "lr": 3e-4}) == (
        "loss grew 60× (limit 10×) at lr=3e-4"
    )


def test_a_finding_s_record_is_asdict_s() -> None:
    planned = open_session().planned
    runs = [r for p in FIXTURES.glob("*.parquet") for r in check_path(p, planned, Options())]
    findings = [f for r in runs for f in r.findings]
    assert any(f.suggested_lr_range for f in findings)
    for f in findings:
        assert f.to_dict() == dataclasses.asdict(f)
        assert list(f.to_dict()) == list(dataclasses.asdict(f))


def test_the_command_line_s_check_collects_once_its_imports_are_done(monkeypatch) -> None:
    import gc

    from lrdoctor.commands.check import settle_start_up

    was = gc.get_freeze_count()
    settle_start_up(LOGS)  # collector on (an API caller, typer): nothing happens
    assert gc.isenabled() and gc.get_freeze_count() == was
    gc.disable()  # as lrdoctor.cli.main starts a check
    try:
        settle_start_up(LOGS)
        assert gc.isenabled() and gc.get_freeze_count() > was
        assert {"pyarrow.csv", "pyarrow.parquet", "lrdoctor.detectors"} <= set(sys.modules)
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_rules_needs_and_detector_arguments_are_worked_out_once_per_process() -> None:
    for p in open_session().planned:
        assert p.detector_params is p.detector_params  # one dict, shared by every run
        expected = {**p.params, "signal": p.rule.signal} if p.rule.signal else dict(p.params)
        assert p.detector_params == expected
        assert p.needs == (*p.rule.requires, *([p.rule.signal] if p.rule.signal else []))
