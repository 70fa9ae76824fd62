"""One error shape everywhere: `<file>: <what> — <what to do>`, with a did-you-mean for typos."""

import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.errors import ConfigError, InputError, did_you_mean, error_text


def test_error_text_shape():
    assert error_text("run.csv", "no loss column", "name it with --loss-col") == (
        "run.csv: no loss column — name it with --loss-col"
    )
    assert error_text("", "bad", "") == "bad"
    assert str(InputError("a.csv", "empty", "log something")) == "a.csv: empty — log something"
    assert str(ConfigError("--format 'xml'", "use text")) == "--format 'xml' — use text"


@pytest.mark.parametrize(
    "word, choices, expected",
    [
        ("NF01", ["NF001", "LR001"], "did you mean 'NF001'?"),
        ("selekt", ["select", "ignore"], "did you mean 'select'?"),
        ("LOSS", ["loss", "lr"], "did you mean 'loss'?"),
        ("zzz", ["loss", "lr"], ""),
    ],
)
def test_did_you_mean(word, choices, expected):
    assert did_you_mean(word, choices) == expected


def test_did_you_mean_keeps_the_list_as_fallback():
    assert did_you_mean("zzz", ["a"], "use a") == "use a"
    assert did_you_mean("windoww", ["window"], "valid: window") == (
        "did you mean 'window'? (valid: window)"
    )


@pytest.mark.parametrize(
    "args, needle",
    [
        (["rule", "NF01"], "unknown rule 'NF01' — did you mean 'NF001'?"),
        (["rule", "lr-too-hihg"], "unknown rule 'lr-too-hihg' — did you mean 'lr-too-high'?"),
    ],
)
def test_cli_suggests_the_rule(args, needle):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"lrdoctor: error: {needle}")
