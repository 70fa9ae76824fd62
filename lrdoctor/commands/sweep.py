"""The `lr-find` (LR range test) and `compare` (LR sweep) commands.

Exit codes: 0 when the analysis ran, whether or not it could name an LR (a null suggestion
comes with notes saying why); 2 when an input cannot be read or is not what the command needs.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from lrdoctor.commands import CONFIG_OPTION, RULES_OPTION, boundary
from lrdoctor.escape import terminal


class Format(StrEnum):
    text = "text"
    json = "json"


# The options lr-find and compare share.
FORMAT_OPTION = typer.Option(Format.text, "--format", help="text or json.")
LOSS_COL_OPTION = typer.Option(None, help="Column holding the loss.")
LR_COL_OPTION = typer.Option(None, help="Column holding the LR.")
WIDTH_OPTION = typer.Option(
    None, min=20, help="Plot width in characters (default: the terminal's, at most 100)."
)


def plot_width(width: int | None) -> int:
    """The plot's width: the option, else the terminal's less the axis labels (20 to 100)."""
    import shutil

    if width is not None:
        return width
    return max(20, min(100, shutil.get_terminal_size((80, 24)).columns - 16))


def _notes(notes, columns: int | None = None, label: str = "note: ") -> list[str]:
    """`note: ...` lines wrapped to the terminal's width, continuations indented under the text."""
    import shutil
    import textwrap

    columns = columns or shutil.get_terminal_size((80, 24)).columns
    return [
        textwrap.fill(
            n, max(40, columns - 1), initial_indent=label, subsequent_indent=" " * len(label)
        )
        for n in notes
    ]


def _overrides(loss_col: str | None, lr_col: str | None) -> dict[str, str]:
    return {k: v for k, v in (("loss", loss_col), ("lr", lr_col)) if v}


def _session(
    loss_col: str | None,
    lr_col: str | None,
    config: Path | None = None,
    rules_dirs: list[Path] | None = None,
    optimizer: str | None = None,
):
    """The one session (config file, user rules, column names, optimizer) `check` uses too."""
    from lrdoctor.session import open_session

    return open_session(
        config=config,
        rules_dirs=rules_dirs or (),
        columns=_overrides(loss_col, lr_col),
        optimizer=optimizer,
    )


def _dump(data: dict) -> str:
    return json.dumps(data, indent=2, allow_nan=False)


def _plot_option(what: str):
    return typer.Option(
        None,
        "--plot",
        help=f"Also draw {what} to this .png or .svg file "
        "(needs the plot extra: pip install 'lrdoctor[plot]').",
    )


def _show(result, plot: Path | None, figure, output_format, text) -> None:
    """The figure to --plot when asked, then the result as JSON or as `text(result)`."""
    if plot is not None:
        from lrdoctor.plots import save

        save(figure(result), plot)
    typer.echo(_dump(result.to_dict()) if output_format is Format.json else text(result))


def _check_plot(path: Path | None, what: str) -> None:
    """Before any work: matplotlib is there and the file name says PNG or SVG."""
    if path is None:
        return
    from lrdoctor.errors import ConfigError
    from lrdoctor.plots import FORMATS, require

    require(what)
    if path.suffix.lower().lstrip(".") not in FORMATS:
        raise ConfigError(f"--plot {path}: end the name in .png or .svg")


@boundary
def lr_find_command(
    run: Path = typer.Argument(..., help="Log of an LR range test (the LR grows every step)."),
    method: str = typer.Option(
        "landmarks",
        help="What to suggest: landmarks (default: the "
        "half-drop, minimum and edge, each moved by its measured offset), "
        "averaged with the LR whose update ratio reaches its measured level when the log "
        "has one), or one candidate: steepest, valley, half_drop, minimum, "
        "min_div10 (the conservative choice), edge or update_ratio.",
    ),
    beta: float = typer.Option(0.98, min=0.0, max=0.999, help="EMA smoothing of the loss."),
    trim: float = typer.Option(
        0.1, min=0.0, max=0.5, help="Fraction of noisy first steps to ignore."
    ),
    diverge_factor: float = typer.Option(
        4.0,
        min=1.01,
        help="The test blew up once the smoothed loss exceeds this multiple of its best.",
    ),
    output_format: Format = FORMAT_OPTION,
    loss_col: str | None = LOSS_COL_OPTION,
    lr_col: str | None = LR_COL_OPTION,
    width: int | None = WIDTH_OPTION,
    config: Path | None = CONFIG_OPTION,
    plot: Path | None = _plot_option("the loss vs LR with every candidate marked"),
    optimizer: str | None = typer.Option(
        None,
        "--optimizer",
        help="The test's optimizer when the log does not say (sgd, momentum, adam, adamw, "
        "rmsprop, ...): its family's measured landmark offsets are used.",
    ),
    steps: int | None = typer.Option(
        None,
        "--steps",
        min=1,
        help="Steps of the planned training the suggestion is for (default: assumes 600, the "
        "budgets it was measured on; on the development corpus the budget did not move the "
        "best LR measurably, so a stated budget is recorded and noted, not applied).",
    ),
) -> None:
    """Suggest an LR from an LR range test (fastai lr_find / Smith's range test)."""
    from lrdoctor.errors import InputError
    from lrdoctor.lrfind import analyse_run

    _check_plot(plot, "lr-find --plot")
    runs = _session(loss_col, lr_col, config, optimizer=optimizer).read(run)
    if len(runs) != 1:
        raise InputError(run, f"holds {len(runs)} runs", "lr-find reads one range test")
    result = analyse_run(
        runs[0],
        method=method,
        beta=beta,
        trim_start=trim,
        diverge_factor=diverge_factor,
        steps=steps,
    )
    from lrdoctor.plots.lrfind import lrfind_figure

    _show(result, plot, lrfind_figure, output_format, lambda r: _lrfind_text(r, plot_width(width)))


def _budget_lines(result) -> list[str]:
    """What planned training the suggestion assumes, and whether that is the default."""
    default = result.budget_source == "default"
    how = "the default; state yours with --steps" if default else "--steps"
    return _notes([f"assumes {result.budget_steps} steps of training ({how})"], label="budget: ")


def _lrfind_text(result, width: int) -> str:
    from lrdoctor.charts import xy_plot
    from lrdoctor.detectors.stats import fmt_lr

    lines = [f"LR range test: {terminal(result.source)}"]
    marks = {"suggested": result.suggested_lr} if result.suggested_lr else {}
    lines.append(
        xy_plot(result.lr, result.smoothed, width=width, height=12, logx=True, marks=marks)
    )
    lines.append("")
    lines.append("candidates:")
    for name, value in result.candidates.items():
        lines.append(f"  {name:<11} {fmt_lr(value)}")
    lines.append(f"test speed: {result.steps_per_decade:.0f} steps per decade of LR")
    lines += _budget_lines(result)
    if result.suggested_lr is None:
        span = result.suggested_lr_range
        likely = f" (likely {fmt_lr(span[0])} to {fmt_lr(span[1])})" if span else ""
        lines.append(f"suggested LR: none{likely}")
    else:
        low, high = result.suggested_lr_range
        lines += _notes(
            [
                f"{fmt_lr(result.suggested_lr)} ({result.method}, range "
                f"{fmt_lr(low)} to {fmt_lr(high)}); confidence {result.confidence}"
            ],
            label="suggested LR: ",
        )
    lines.extend(_notes(result.notes))
    return "\n".join(lines)


@boundary
def compare_command(
    runs: list[Path] = typer.Argument(
        ..., help="Logs of runs that differ in LR (files, folders or globs)."
    ),
    lr: list[float] | None = typer.Option(
        None,
        "--lr",
        help="The LR of each run, in the "
        "order listed (repeat the option); overrides the "
        "lr column and the file name.",
    ),
    output_format: Format = FORMAT_OPTION,
    loss_col: str | None = LOSS_COL_OPTION,
    lr_col: str | None = LR_COL_OPTION,
    width: int | None = WIDTH_OPTION,
    config: Path | None = CONFIG_OPTION,
    rules_dirs: list[Path] | None = RULES_OPTION,
    plot: Path | None = _plot_option("the final loss vs LR per optimizer (the U curve)"),
) -> None:
    """Compare the runs of an LR sweep: best LR, edge of stability, a suggested LR."""
    from lrdoctor.compare import compare_runs, summarise
    from lrdoctor.errors import ConfigError, InputError
    from lrdoctor.readers import discover

    _check_plot(plot, "compare --plot")
    session = _session(loss_col, lr_col, config, rules_dirs)
    paths = discover(runs)
    loaded = [r for p in paths for r in session.read(p, extra=("val_loss",))]
    if lr and len(lr) != len(loaded):
        raise ConfigError(
            f"--lr was given {len(lr)} times for {len(loaded)} runs",
            "give one LR per run, in order",
        )
    summaries = []
    for k, run in enumerate(loaded):
        if not run.has("loss"):
            raise InputError(run.source, "no loss column found", "name it with --loss-col")
        summary = summarise(run, session.evaluate(run), lr[k] if lr else None)
        if summary.lr is None:
            raise InputError(
                run.source,
                "cannot tell this run's LR: no lr column and none in the file name (e.g. lr=0.01)",
                "pass --lr per run",
            )
        summaries.append(summary)
    result = compare_runs(summaries)
    from lrdoctor.plots.sweep import compare_figure

    _show(
        result, plot, compare_figure, output_format, lambda r: _compare_text(r, plot_width(width))
    )


def _compare_text(result, width: int) -> str:
    from lrdoctor.charts import xy_plot
    from lrdoctor.detectors.stats import fmt_lr, fmt_num

    def loss(x: float | None) -> str:
        return "-" if x is None else "diverged" if x == float("inf") else fmt_num(x)

    import shutil

    columns = shutil.get_terminal_size((80, 24)).columns
    head = f"{'lr':>9}  {'final':>9}  {'best':>9}  {'final val':>9}  {'best val':>9}  status"
    lines = [head]
    for r in result.runs:
        row = (
            f"{fmt_lr(r.lr):>9}  {loss(r.final_loss):>9}  {loss(r.best_loss):>9}  "
            f"{loss(r.final_val_loss):>9}  {loss(r.best_val_loss):>9}  {r.status:<6}"
        )
        source = terminal(r.source)
        # A path that does not fit goes on its own line rather than past the terminal's edge.
        fits = len(row) + 1 + len(source) <= columns
        lines += [f"{row} {source}"] if fits else [row.rstrip(), f"{'':>11}{source}"]
    lines.append("")
    marks = {
        k: v
        for k, v in (
            ("best", result.best_lr),
            ("suggested", result.suggested_lr),
            ("stable edge", result.stable_edge_lr),
        )
        if v is not None
    }
    label = "final val loss" if result.metric == "final_val_loss" else "final loss"
    lines.append(f"{label} vs LR (diverged runs are not drawn):")
    lines.append(
        xy_plot(
            [r.lr for r in result.runs],
            [result.score(r) for r in result.runs],
            width=width,
            height=10,
            logx=True,
            marks=marks,
        )
    )
    lines.append("")
    for label_, text in (
        ("best LR:", f"{fmt_lr(result.best_lr)} (lowest {label})"),
        (
            "interpolated LR:",
            f"{fmt_lr(result.interpolated_lr)} (parabola through the best and its "
            "neighbours, in log LR)",
        ),
        (
            "largest stable LR:",
            f"{fmt_lr(result.stable_edge_lr)} (finite, ended below its first loss)",
        ),
        ("suggested LR:", fmt_lr(result.suggested_lr)),
    ):
        lines += _notes([text], columns, label=f"{label_:<20}")
    lines.extend(_notes(result.notes))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `lr-find` and `compare` to the lrdoctor CLI."""
    app.command(
        "lr-find",
        epilog="Example: lrdoctor lr-find fixtures/range_test_blobs_adam.csv --method min_div10",
    )(lr_find_command)
    app.command(
        "compare",
        epilog="Example: lrdoctor compare sweep/*.parquet --format json",
    )(compare_command)
