"""`lrdoctor check`: options, exit codes, errors as one line, atomic --output."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app
from tests.logs import frame, healthy, nan_run, write_csv

runner = CliRunner()


def run(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], **kwargs)


def test_healthy_run_passes(tmp_path):
    result = run("check", healthy(tmp_path / "ok.csv"))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "columns: step=step, loss=loss, lr=lr" in result.output


def test_nan_run_fails_with_evidence_and_pointer(tmp_path):
    result = run("check", nan_run(tmp_path / "bad.csv"))
    assert result.exit_code == 1
    assert "FAIL" in result.output and "NF001 non-finite-loss" in result.output
    assert "step 300" in result.output and "→ lrdoctor rule NF001" in result.output
    assert "\x1b[" not in result.output  # not a terminal: no colour


def test_exit_zero_and_fail_on(tmp_path):
    bad = nan_run(tmp_path / "bad.csv")
    assert run("check", bad, "--exit-zero").exit_code == 0
    assert run("check", bad, "--set", "NF001.severity=warning").exit_code == 0
    assert (
        run("check", bad, "--set", "NF001.severity=warning", "--fail-on", "warning").exit_code == 1
    )


def test_ignore_and_select(tmp_path):
    bad = nan_run(tmp_path / "bad.csv")
    assert run("check", bad, "--ignore", "NF", "--extend-select", "NF001").exit_code == 1
    result = run("check", bad, "--select", "NF001", "--ignore", "NF001")
    assert result.exit_code == 2 and "no rule to run" in result.output
    result = run("check", bad, "--select", "ZZ")
    assert result.exit_code == 2 and "unknown rule selector 'ZZ'" in result.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--set", "NF001.nope=1"], "no parameter 'nope' — valid: window"),
        (["--set", "XX001.window=1"], "unknown rule 'XX001'"),
        (["--set", "NF001.window=9"], "out of range"),
        (["--set", "garbage"], "expected RULE.param=value"),
        (["--fail-on", "fatal"], "'fatal' is not one of error, warning, info"),
        (["--optimizer", "sgdd"], "unknown optimizer 'sgdd'"),
        (["--format", "xml"], "use one of text, json"),
        (["--loss-col", "nope"], "column 'nope' given for loss is not in the log"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path, args, needle):
    result = run("check", healthy(tmp_path / "ok.csv"), *args)
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_missing_input_exits_2_with_one_line(tmp_path):
    result = run("check", tmp_path / "nope.csv")
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln]
    assert lines == [
        f"lrdoctor: error: {tmp_path / 'nope.csv'}: no such file or directory — check the path"
    ]


def test_unreadable_input_among_good_ones_exits_2(tmp_path):
    healthy(tmp_path / "ok.csv")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    result = run("check", tmp_path)
    assert result.exit_code == 2
    assert "ERROR" in result.output and "PASS" in result.output


def test_column_overrides_and_optimizer(tmp_path):
    df = frame().rename(columns={"loss": "objective_value", "lr": "eta"})
    path = write_csv(tmp_path / "renamed.csv", df)
    result = run(
        "check",
        path,
        "--loss-col",
        "objective_value",
        "--lr-col",
        "eta",
        "--optimizer",
        "adam",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["runs"][0]
    assert data["columns"]["loss"] == "objective_value" and data["columns"]["lr"] == "eta"
    assert data["optimizer"] == "adam"


def test_json_output_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "report.json"
    out.write_text("old")
    replaced = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((a, b)), real(a, b)))
    result = run("check", nan_run(tmp_path / "bad.csv"), "--format", "json", "--output", out)
    assert result.exit_code == 1 and result.output == ""
    assert json.loads(out.read_text())["runs"][0]["findings"][0]["rule"] == "NF001"
    ((src, dst),) = replaced
    assert os.path.dirname(src) == str(tmp_path) and dst == out
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_output_to_missing_folder_is_a_usage_error(tmp_path):
    result = run("check", healthy(tmp_path / "ok.csv"), "-o", tmp_path / "no" / "r.json")
    assert result.exit_code == 2 and "cannot write there" in result.output


def test_color_always_and_never(tmp_path):
    bad = nan_run(tmp_path / "bad.csv")
    assert "\x1b[" in run("check", bad, "--color", "always").output
    assert "\x1b[" not in run("check", bad, "--color", "never").output
    forced = run("check", bad, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[" in forced.output
    assert "\x1b[" not in run("check", bad, "--format", "json", "--color", "always").output


def test_quiet_prints_only_failing_runs(tmp_path):
    healthy(tmp_path / "ok.csv")
    assert run("check", tmp_path / "ok.csv", "--quiet").output == ""
    nan_run(tmp_path / "bad.csv")
    result = run("check", tmp_path, "-q")
    assert "bad.csv" in result.output and "ok.csv" not in result.output.split("Summary")[0]


def test_many_runs_get_a_summary_table_and_jobs(tmp_path):
    for i in range(8):
        (nan_run if i == 3 else healthy)(tmp_path / f"r{i}.csv")
    result = run("check", tmp_path / "*.csv", "--jobs", "2")
    assert result.exit_code == 1
    assert "Summary" in result.output and "8 runs checked: 1 fail, 7 pass" in result.output
    assert result.output.count("columns:") == 1  # passing runs only in the table


def test_run_where_no_rule_can_run_exits_2(tmp_path):
    path = write_csv(tmp_path / "v.csv", frame(val_accuracy=0.5))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X.toml").write_text(CUSTOM_NEEDS_MISSING)
    result = run("check", path, "--rules", rules, "--select", "CU900")
    assert result.exit_code == 2 and "no selected rule could run" in result.output


CUSTOM_NEEDS_MISSING = """
id = "CU900"
name = "needs-a-missing-column"
category = "other"
severity = "error"
detector = "non_finite_signal"
signal = "not_logged"
summary = "x"
message = "{signal} became {value} at step {step}"
recommendation = "fix it"
"""


def test_help_and_typer_usage_error_exit_codes():
    assert run("check", "--help").exit_code == 0
    assert run("check").exit_code == 2
    assert run("check", "x.csv", "--jobs", "0").exit_code == 2


def test_every_column_option_maps_its_signal(tmp_path):
    names = {
        "step": "it_",
        "loss": "obj",
        "lr": "eta",
        "grad_norm": "g",
        "update_ratio": "u",
        "val_loss": "vl",
        "epoch": "ep",
    }
    df = frame(grad_norm=1.0, update_ratio=1e-3, val_loss=0.5, epoch=0.0)
    path = write_csv(tmp_path / "odd.csv", df.rename(columns=names))
    flags = [f"--{sig.replace('_', '-')}-col" for sig in names]
    args = [a for flag, col in zip(flags, names.values(), strict=True) for a in (flag, col)]
    result = run("check", path, "-f", "json", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["runs"][0]["columns"] == names


def test_github_format_appends_the_step_summary(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = run(
        "check",
        nan_run(tmp_path / "bad.csv"),
        "--format",
        "github",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1 and result.output.startswith("::error title=NF001 ")
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "| run | verdict |" in text and "bad.csv" in text


def test_text_goes_to_a_file_without_colour(tmp_path):
    out = tmp_path / "report.txt"
    result = run("check", nan_run(tmp_path / "bad.csv"), "-o", out, env={"FORCE_COLOR": ""})
    assert result.exit_code == 1 and result.output == ""
    assert "NF001 non-finite-loss" in out.read_text() and "\x1b[" not in out.read_text()


def test_rules_lists_the_catalogue_as_table_and_json():
    from lrdoctor.catalogue import load_builtin

    ids = [r.id for r in load_builtin()]
    table = run("rules")
    assert table.exit_code == 0 and all(i in table.output for i in ids)
    assert "non-finite-loss" in table.output and "severity" in table.output
    data = json.loads(run("rules", "--format", "json").output)
    assert [r["id"] for r in data] == ids
    nf = next(r for r in data if r["id"] == "NF001")
    assert nf["severity"] == "error" and "window" in nf["params"] and "loss" in nf["requires"]
    bad = run("rules", "--format", "yaml")
    assert bad.exit_code == 2 and "use text or json" in bad.output


def test_rule_explains_sections_params_columns_and_fixtures():
    result = run("rule", "NF001")
    assert result.exit_code == 0
    for heading in (
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Known problems",
        "## Parameters",
        "## Columns",
        "## Fixtures",
    ):
        assert heading in result.output
    assert "- window = " in result.output and "--set NF001.window=VALUE" in result.output
    assert "requires: loss" in result.output
    assert run("rule", "non-finite-loss").output == result.output  # by name too


def test_unknown_rule_exits_2_listing_the_ids():
    result = run("rule", "XX999")
    assert result.exit_code == 2
    assert result.output.startswith("lrdoctor: error: unknown rule 'XX999' — rules: ")
    assert "NF001" in result.output and len(result.output.strip().splitlines()) == 1


def test_rule_shows_a_custom_rule_from_rules_dir(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X.toml").write_text(CUSTOM_NEEDS_MISSING)
    result = run("rule", "CU900", "--rules", rules)
    assert result.exit_code == 0 and "watches: not_logged" in result.output
    assert "CU900" in run("rules", "--rules", rules).output


def test_progress_path_gives_the_same_report(tmp_path):
    from lrdoctor.commands.check import PROGRESS_FROM, _run_all
    from lrdoctor.session import open_session

    paths = [
        (nan_run if i % 7 == 0 else healthy)(tmp_path / f"r{i:02}.csv")
        for i in range(PROGRESS_FROM + 3)
    ]
    session = open_session(select=["NF001"])
    shown = _run_all(session, paths, 1, show=True)
    plain = _run_all(session, paths, 1, show=False)
    assert shown.to_dict() == plain.to_dict() and len(shown.runs) == len(paths)


def test_unknown_selector_in_the_file_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lrdoctor.toml").write_text('select = ["QQ9"]\n')
    result = run("check", healthy(tmp_path / "ok.csv"))
    assert result.exit_code == 2
    assert result.output.startswith(f"lrdoctor: error: {tmp_path / 'lrdoctor.toml'}: select: ")
    assert "'QQ9'" in result.output


def test_unreadable_input_is_on_stderr_when_the_text_goes_to_a_file(tmp_path):
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    healthy(tmp_path / "ok.csv")
    result = run("check", tmp_path, "-o", tmp_path / "r.txt")
    assert result.exit_code == 2 and result.output.startswith("lrdoctor: error: ")
    assert "broken.parquet" in result.output
    assert "ERROR" in (tmp_path / "r.txt").read_text()


def test_error_line_is_red_only_when_asked_for(tmp_path):
    missing = tmp_path / "nope.csv"
    red = run("check", missing, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert red.exit_code == 2 and red.output.startswith("\x1b[31mlrdoctor: error: ")
    plain = run("check", missing, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.output.startswith("lrdoctor: error: ")
