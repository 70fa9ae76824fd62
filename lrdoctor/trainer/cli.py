"""The `lrdoctor train` command; numpy and the trainer are imported only when it runs."""

from __future__ import annotations

from pathlib import Path

import typer

from lrdoctor.commands import boundary


def _ints(text: str | None) -> tuple[int, ...]:
    return tuple(int(s) for s in text.split(",") if s.strip()) if text else ()


@boundary
def train_command(
    out: Path = typer.Option(..., help="Log file: .csv, .csv.gz or .parquet."),
    dataset: str = typer.Option("spirals", help="blobs, spirals or regression."),
    n_samples: int = typer.Option(2000, help="Dataset size (train + validation)."),
    label_noise: float = typer.Option(0.0, help="Fraction of training labels replaced at random."),
    optimizer: str = typer.Option(
        "sgd", help="sgd, momentum, nesterov, adagrad, adadelta, rmsprop or adam."
    ),
    lr: float | None = typer.Option(None, help="Peak LR (default 0.1; adadelta 1.0)."),
    steps: int = typer.Option(2000, help="Optimizer steps."),
    batch_size: int = typer.Option(64),
    depth: int = typer.Option(2, help="Hidden layers."),
    width: int = typer.Option(64, help="Units per hidden layer."),
    activation: str = typer.Option("relu", help="relu or tanh."),
    momentum: float = typer.Option(0.9),
    weight_decay: float = typer.Option(0.0),
    clip_norm: float | None = typer.Option(None, help="Clip the global gradient norm."),
    schedule: str = typer.Option(
        "constant", help="constant, step, exponential, linear, inverse_sqrt, cosine or plateau."
    ),
    warmup_steps: int = typer.Option(0),
    milestones: str | None = typer.Option(None, help="Step decay milestones, e.g. 500,1000."),
    gamma: float = typer.Option(0.1, help="Decay factor (step, exponential)."),
    plateau_patience: int = typer.Option(10, help="Evaluations without improvement."),
    eval_every: int = typer.Option(50, help="Steps between validation evaluations (0: none)."),
    seed: int = typer.Option(0),
    per_layer: bool = typer.Option(False, help="Also log update_ratio/layerN."),
    fault: str | None = typer.Option(None, help="Inject a numerical bug: log0 or zero_std."),
    fault_step: int = typer.Option(1000, help="Step at which the fault triggers."),
    range_test: bool = typer.Option(False, help="LR range test: LR grows geometrically."),
    range_start: float = typer.Option(1e-7),
    range_end: float = typer.Option(10.0),
) -> None:
    """Train a small numpy MLP and write its per-step log."""
    params = {k: v for k, v in locals().items() if k != "out"}  # options named as TrainConfig
    import os
    import time

    # The MLP's matrices are tiny: BLAS threads cost more than they give (2-3x slower measured
    # in benchmarks/perf.py). Set before numpy loads; a user's own setting wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

    from rich.progress import Progress

    from lrdoctor.errors import ConfigError
    from lrdoctor.trainer import TrainConfig, train, write_log
    from lrdoctor.trainer.logfile import FORMATS

    # Refused before training, not after the whole run has been computed.
    if not out.name.lower().endswith(FORMATS):
        raise ConfigError(
            f"--out {out}: cannot tell the log format from the name",
            f"end it in {', '.join(FORMATS)}",
        )
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: no such folder {out.parent}", "create it first")
    params["milestones"] = _ints(milestones)
    try:
        config = TrainConfig.from_dict(params)
    except ValueError as exc:
        raise ConfigError(str(exc), "see lrdoctor train --help") from None
    start = time.perf_counter()
    with Progress(transient=True, disable=steps < 20_000) as bar:
        task = bar.add_task("training", total=steps)
        log = train(config, progress=lambda t: bar.update(task, completed=t))
    elapsed = time.perf_counter() - start
    write_log(log, out)
    n = len(log["step"])
    typer.echo(
        f"{n} steps in {elapsed:.2f} s ({n / elapsed:,.0f} steps/s), "
        f"final loss {log['loss'][-1]:.4g} -> {out}"
    )


@boundary
def fixtures_command(
    out: Path | None = typer.Option(None, help="Output folder (default: the manifest's)."),
    only: list[str] | None = typer.Option(None, help="Generate only these fixtures."),
) -> None:
    """Regenerate the fixture corpus from fixtures/manifest.toml."""
    from lrdoctor.trainer.fixtures import generate

    for path in generate(out_dir=out, only=only):
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add `train` (and the hidden maintainer command `fixtures`) to the lrdoctor CLI."""
    app.command(
        "train",
        epilog="Example: lrdoctor train --out run.parquet --optimizer adam --lr 3e-4 --steps 2000",
    )(train_command)
    app.command(
        "fixtures", hidden=True, epilog="Example: lrdoctor fixtures --out /tmp/fx --only short_run"
    )(fixtures_command)
