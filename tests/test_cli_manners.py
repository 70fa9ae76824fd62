"""The CLI behaves like ruff's: --version, -h, an example per command, completion, one-line
usage errors with a did-you-mean, and options refused before any work is done."""

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import lrdoctor
from lrdoctor.cli import app

GROUP = get_command(app)
COMMANDS = sorted(GROUP.commands)
VISIBLE = sorted(name for name, c in GROUP.commands.items() if not c.hidden)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("lrdoctor: error: ") and " — " in line
    assert "Traceback" not in result.output and "╭" not in result.output
    return line


def test_version():
    for flag in ("--version", "-V"):
        result = run(flag)
        assert result.exit_code == 0 and result.stdout.strip() == f"lrdoctor {lrdoctor.__version__}"


def test_short_help_of_the_program_lists_every_command():
    result = run("-h")
    assert result.exit_code == 0
    assert all(name in result.stdout for name in COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_short_help_and_an_example_in_every_command(name):
    result = run(name, "-h")
    assert result.exit_code == 0
    assert GROUP.commands[name].epilog.startswith(f"Example: lrdoctor {name} ")
    assert f"Example: lrdoctor {name}" in result.stdout


def test_shell_completion_script():
    result = run("--show-completion", "bash")
    assert result.exit_code == 0 and "complete" in result.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["chek", "x.csv"], "no such command 'chek' — did you mean 'check'?"),
        (["check", "--selct", "NF", "x.csv"], "no such option --selct — did you mean '--select'?"),
        (["check", "x.csv", "--jobs", "0"], "invalid value for '--jobs'"),
        (["check"], "missing argument"),
        (["lr-find", "x.csv", "--format", "xml"], "invalid value for '--format'"),
        (["rules", "--formt", "json"], "did you mean '--format'?"),
        (
            ["check", "x.csv", "--select", "LR01"],
            "unknown rule selector 'LR01' — did you mean 'LR001'?",
        ),
        (["check", "x.csv", "--ignore", "lr-to-high"], "did you mean 'lr-too-high'?"),
        (
            ["check", "x.csv", "--set", "PL001.patiance=0.5"],
            "no parameter 'patiance' — did you mean 'patience'?",
        ),
        (["check", "x.csv", "--set", "PL01.patience=0.5"], "did you mean 'PL001'?"),
    ],
)
def test_usage_errors_are_one_line(args, needle):
    assert needle in one_error_line(run(*args))


def test_lr_find_and_compare_errors_share_the_style(tmp_path):
    line = one_error_line(run("lr-find", tmp_path / "nope.csv"))
    assert line.startswith(f"lrdoctor: error: {tmp_path / 'nope.csv'}: ")
    line = one_error_line(run("compare", tmp_path / "nope.csv"))
    assert line.startswith(f"lrdoctor: error: {tmp_path / 'nope.csv'}: ")


def test_train_refuses_a_bad_out_before_training(tmp_path, monkeypatch):
    import lrdoctor.trainer

    def no_training(*a, **k):
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(lrdoctor.trainer, "train", no_training)
    line = one_error_line(run("train", "--out", tmp_path / "x.txt", "--steps", "10"))
    assert "--out" in line and ".parquet" in line
    line = one_error_line(run("train", "--out", tmp_path / "x.csv", "--optimizer", "sgdd"))
    assert "sgdd" in line


@pytest.mark.parametrize("module", ["lrdoctor.trainer.sweep", "lrdoctor.trainer.fixtures"])
def test_trainer_scripts_parse_their_arguments(module, tmp_path, monkeypatch, capsys):
    import importlib

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        importlib.import_module(module).main(["--help"])
    assert exc.value.code == 0
    assert "usage: python -m " + module in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # no file named --help


def test_plots_follow_the_terminal_width(monkeypatch):
    from lrdoctor.commands.sweep import plot_width

    monkeypatch.setenv("COLUMNS", "200")
    assert plot_width(None) == 100
    monkeypatch.setenv("COLUMNS", "60")
    assert plot_width(None) == 44
    assert plot_width(30) == 30


def json_of(result) -> dict:
    import json

    return json.loads(result.stdout)


@pytest.fixture
def logs_with_a_summary(tmp_path):
    """A folder as users have it: two logs and a summary CSV that is not a log."""
    import shutil
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    for name in ("spirals_adam_too_low.parquet", "short_run.csv", "sweeps.csv"):
        shutil.copy(fixtures / name, tmp_path / name)
    (tmp_path / "old").mkdir()
    shutil.copy(fixtures / "blobs_adam_too_high.parquet", tmp_path / "old" / "a.parquet")
    return tmp_path


def test_a_non_log_in_a_folder_is_skipped_not_a_batch_failure(logs_with_a_summary):
    folder = logs_with_a_summary
    result = run("check", folder, "--format", "json", "--exclude", "old/*")
    assert result.exit_code == 0, result.output
    report = json_of(result)
    assert sorted(r["source"].rsplit("/", 1)[1] for r in report["runs"]) == [
        "short_run.csv",
        "spirals_adam_too_low.parquet",
    ]
    assert report["errors"] == []
    assert report["skipped"] == [
        {"source": str(folder / "sweeps.csv"), "reason": "not a training log (no loss column)"}
    ]
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"lrdoctor: warning: {folder / 'sweeps.csv'}: skipped")
    assert warning.endswith("--exclude")


def test_a_non_log_named_on_the_command_line_stays_an_error(logs_with_a_summary):
    line = one_error_line(run("check", logs_with_a_summary / "sweeps.csv"))
    assert "no loss column found" in line and line.endswith("name it with --loss-col")


def test_exclude_matches_names_trailing_parts_and_keeps_named_paths(logs_with_a_summary):
    folder = logs_with_a_summary

    def checked(*args):
        result = run("check", *args, "--format", "json")
        assert result.exit_code in (0, 1), result.output
        return sorted(r["source"].removeprefix(f"{folder}/") for r in json_of(result)["runs"])

    everything = ["old/a.parquet", "short_run.csv", "spirals_adam_too_low.parquet"]
    assert checked(folder) == everything
    assert checked(folder, "--exclude", "*.csv") == [
        "old/a.parquet",
        "spirals_adam_too_low.parquet",
    ]
    assert checked(folder, "--exclude", "old/*,short_run.csv") == ["spirals_adam_too_low.parquet"]
    assert checked(folder, "--exclude", "short_*", "--exclude", "a.parquet") == everything[2:]
    named = folder / "short_run.csv"
    assert checked(named, "--exclude", "*.csv") == ["short_run.csv"]


def test_exclude_and_extend_exclude_in_the_config_file_add_to_the_command_line(
    logs_with_a_summary, tmp_path
):
    folder = logs_with_a_summary

    def checked(config_text, *args):
        config = tmp_path / "lrdoctor.toml"
        config.write_text(config_text)
        result = run("check", folder, "--config", config, *args, "--format", "json")
        assert result.exit_code in (0, 1), result.output
        return sorted(r["source"].removeprefix(f"{folder}/") for r in json_of(result)["runs"])

    assert checked('exclude = ["*.csv"]') == ["old/a.parquet", "spirals_adam_too_low.parquet"]
    assert checked('exclude = ["*.csv"]\nextend-exclude = ["old/*"]') == [
        "spirals_adam_too_low.parquet"
    ]
    assert checked('extend-exclude = ["old/*"]', "--exclude", "short_*") == [
        "spirals_adam_too_low.parquet"
    ]
    config = tmp_path / "lrdoctor.toml"
    config.write_text("exclude = 3")
    result = run("check", folder, "--config", config)
    assert result.exit_code == 2
    assert "exclude: expected a list of strings" in result.output


def test_a_folder_of_non_logs_is_an_input_error(tmp_path):
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).resolve().parent.parent / "fixtures/sweeps.csv", tmp_path)
    result = run("check", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"lrdoctor: error: {tmp_path}: no training log found — name its loss with --loss-col"
    )


@pytest.mark.parametrize(
    "command, extra",
    [
        ("check", []),
        ("lr-find", []),
        ("compare", ["--lr", "0.1"]),
        ("watch", ["--idle", "0.05", "--interval", "0.01"]),
        ("plot", ["-o", "x.png"]),
    ],
)
def test_a_column_override_the_log_lacks_names_the_log_and_the_closest_column(
    command, extra, tmp_path, monkeypatch
):
    import shutil

    if command == "plot":
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "run.csv"
    shutil.copy(FIXTURES / "short_run.csv", log)
    line = one_error_line(run(command, log, "--loss-col", "los", *extra))
    assert line.startswith(f"lrdoctor: error: {log}: column 'los' given for loss is not in the log")
    assert "did you mean 'loss'?" in line


@pytest.mark.parametrize("columns", [60, 100])
def test_lr_find_text_fits_the_terminal(monkeypatch, columns):
    from pathlib import Path

    monkeypatch.setenv("COLUMNS", str(columns))
    log = Path(__file__).resolve().parent.parent / "fixtures" / "range_test_blobs_adam.csv"
    result = run("lr-find", log)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()[1:]  # the first names the file, whatever its length
    assert any(line.startswith("note: ") for line in lines)
    assert max(map(len, lines)) <= columns


@pytest.mark.parametrize("name", ["check", "plot", "watch"])
def test_optimizer_help_says_it_is_a_fallback(name, monkeypatch):
    """README: `--optimizer adam` when the log does not say (tests/test_docs_api.py: the log's
    own optimizer wins)."""
    monkeypatch.setenv("COLUMNS", "300")
    result = run(name, "-h")
    assert result.exit_code == 0
    assert "for logs that do not name it" in result.stdout
    assert "a log that names one keeps its own" in result.stdout


def _sweep(folder):
    """Three short runs of an LR sweep, each named by its LR, in a folder with a long path."""
    from lrdoctor.trainer import TrainConfig, train, write_log

    folder = folder / ("a-long-folder-name-" * 3)
    folder.mkdir()
    for lr in (0.001, 0.01, 0.1):
        write_log(train(TrainConfig(lr=lr, steps=60)), folder / f"lr={lr}.csv")
    return folder


# Every command that prints a report or a listing, on an input long enough to need wrapping.
WIDE = {
    "check": lambda tmp: [
        "check",
        FIXTURES / "spirals_adam_too_low.parquet",
        FIXTURES / "short_run.csv",
    ],
    "compare": lambda tmp: ["compare", _sweep(tmp)],
    "lr-find": lambda tmp: ["lr-find", FIXTURES / "range_test_blobs_adam.csv"],
    "rules": lambda tmp: ["rules"],
    "rule": lambda tmp: ["rule", "LR001"],
    "watch": lambda tmp: [
        "watch",
        FIXTURES / "blobs_momentum_diverge_nan.csv",
        "--interval",
        "0.01",
        "--idle",
        "0.05",
    ],
}


def test_every_printing_command_has_a_width_case():
    # train prints one short line; plot writes a picture file
    assert set(WIDE) == set(VISIBLE) - {"train", "plot"}


@pytest.mark.parametrize("columns", [70, 100])
@pytest.mark.parametrize("name", sorted(WIDE))
def test_every_command_fits_the_terminal(name, columns, tmp_path, monkeypatch):
    """$COLUMNS is what CliRunner's output (not a terminal) is held to, as in a CI log."""
    monkeypatch.setenv("COLUMNS", str(columns))
    args = WIDE[name](tmp_path)
    result = run(*args)
    assert result.exit_code in (0, 1), result.output
    named = [str(a) for a in args if isinstance(a, Path)]
    # a path named on the command line may be longer than any terminal: what is around it fits
    too_long = [
        line
        for line in result.stdout.splitlines()
        if len(line) - sum(len(n) for n in named if n in line) > columns
    ]
    assert too_long == []


# One input each command cannot use: a missing file, a CSV that is not a log, a bad option.
ERRORS = {
    "check": lambda tmp: ["check", tmp / "nope.csv"],
    "compare": lambda tmp: ["compare", FIXTURES / "sweeps.csv"],
    "lr-find": lambda tmp: ["lr-find", FIXTURES / "sweeps.csv"],
    "plot": lambda tmp: ["plot", tmp / "nope.csv", "-o", tmp / "x.png"],
    "rule": lambda tmp: ["rule", "XX001"],
    "rules": lambda tmp: ["rules", "--format", "xml"],
    "train": lambda tmp: ["train", "--out", tmp / "x.txt"],
    "watch": lambda tmp: ["watch", tmp / "nope.csv", "--idle", "0.05", "--interval", "0.01"],
}


def test_every_command_has_an_error_case():
    assert set(ERRORS) == set(VISIBLE)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_command_reports_an_error_in_one_line(name, tmp_path):
    line = one_error_line(run(*ERRORS[name](tmp_path)))
    what, _, hint = line.removeprefix("lrdoctor: error: ").partition(" — ")
    assert what and hint, line
