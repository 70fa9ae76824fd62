"""`lrdoctor plot RUN -o run.png|run.svg`: the picture of one checked run (the `plot` extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from lrdoctor.commands import OPTIMIZER_OPTION, boundary


@boundary
def plot_command(
    run: Path = typer.Argument(..., help="A training log (one run)."),
    output: Path = typer.Option(..., "--output", "-o", help="The picture to write: .png or .svg."),
    config: Path | None = typer.Option(None, "--config", help="Configuration file to use."),
    loss_col: str | None = typer.Option(None, "--loss-col"),
    lr_col: str | None = typer.Option(None, "--lr-col"),
    optimizer: str | None = OPTIMIZER_OPTION,
) -> None:
    """Draw a run: loss, LR, gradient norm and update ratio, with the findings marked."""
    import dataclasses

    from lrdoctor.errors import ConfigError, InputError
    from lrdoctor.plots import FORMATS, require, save
    from lrdoctor.session import open_session

    require("lrdoctor plot")
    if output.suffix.lower().lstrip(".") not in FORMATS:
        raise ConfigError(f"--output {output}: end the name in .png or .svg")
    session = open_session(
        config=config, optimizer=optimizer, columns={"loss": loss_col, "lr": lr_col}
    )
    session = dataclasses.replace(
        session, options=dataclasses.replace(session.options, curves=True)
    )
    report = session.check([run])
    if report.runs and report.runs[0].error is not None:
        raise ConfigError(report.runs[0].error)
    if len(report.runs) != 1:
        raise InputError(
            run,
            f"holds {len(report.runs)} runs",
            "plot draws one run; use check --format html for several",
        )
    import numpy as np

    from lrdoctor.plots.run import run_figure

    with np.errstate(all="ignore"):  # log axes near 1e200 (a run that blew up) overflow
        fig = run_figure(report.runs[0])
    save(fig, output)


def register(app: typer.Typer) -> None:
    app.command(
        "plot",
        epilog="Example: lrdoctor plot fixtures/spirals_adam_too_high.csv.gz -o run.svg",
    )(plot_command)
