"""Properties of the whole pipeline on real fixtures: order, scale, growth and repetition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrdoctor
from lrdoctor.columns import detect_columns
from tests.reliability.inputs import invoke

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Fewer examples than the profile's default: every example runs the whole catalogue twice.
FEW = settings(
    max_examples=max(3, settings.default.max_examples // 5),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SHUFFLED = [
    "spirals_sgd_healthy.parquet",
    "spirals_adam_too_high.csv.gz",
    "spirals_sgd_diverge_nan.parquet",
    "overfit_blobs.parquet",
    "spike_recovers.parquet",
]
SCALED = [
    "spirals_sgd_healthy.parquet",
    "blobs_sgd_healthy.csv",
    "spirals_adam_too_high.csv.gz",
    "spirals_sgd_diverge_nan.parquet",
    "spirals_sgd_too_low_stuck.csv",
    "plateau_constant.parquet",
    "overfit_blobs.parquet",
]


def load(name: str) -> pa.Table:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {name} not generated")
    return pq.read_table(path) if name.endswith(".parquet") else pacsv.read_csv(path)


def save(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def report(path: Path, **kwargs) -> dict:
    out = lrdoctor.check(path, jobs=1, **kwargs).to_dict()
    for run in out["runs"]:
        run.pop("source")
    return out


# Reasons whose statistic reads the loss in the gradient's units (the first-order efficiency,
# loss fall over lr·|g|²): rescaling the logged loss alone is, to them, a logged loss that is not
# the differentiated one. test_efficiency_is_invariant_under_a_consistent_rescale covers them.
UNIT_COUPLED = {("LR001", "overshooting_steps")}


def fired(path: Path) -> set[str]:
    return {
        f["rule"]
        for run in report(path)["runs"]
        for f in run["findings"]
        if (f["rule"], f["reason"]) not in UNIT_COUPLED
    }


@pytest.mark.parametrize("name", SHUFFLED)
@FEW
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_the_report(tmp_path, name, seed):
    table = load(name)
    order = np.random.default_rng(seed).permutation(table.num_rows)
    ordered = save(table, tmp_path / "a" / "run.parquet")
    shuffled = save(table.take(pa.array(order)), tmp_path / "b" / "run.parquet")
    # DA003 says that the rows were sorted: the only thing the order may change.
    assert report(shuffled, ignore=["DA003"]) == report(ordered, ignore=["DA003"])


@pytest.mark.parametrize("name", SCALED)
@pytest.mark.parametrize("factor", [1e-3, 7.0, 1e4])
def test_loss_scale_does_not_change_which_rules_fire(tmp_path, name, factor):
    table = load(name)
    columns = detect_columns(table.column_names)
    for signal in ("loss", "val_loss"):
        if signal in columns:
            i = table.column_names.index(columns[signal])
            scaled = pc.multiply(table.column(i).cast(pa.float64()), factor)
            table = table.set_column(i, columns[signal], scaled)
    original = save(load(name), tmp_path / "a" / "run.parquet")
    assert fired(save(table, tmp_path / "b" / "run.parquet")) == fired(original)


@pytest.mark.parametrize("factor", [1e-3, 7.0, 1e4])
def test_efficiency_is_invariant_under_a_consistent_rescale(factor):
    """The same trajectory in other loss units: loss × c, gradient × c, and lr ÷ c (SGD's step
    lr·g unchanged) give the same first-order efficiency."""
    from lrdoctor.detectors.direction import first_order_efficiency
    from lrdoctor.run import build_run
    from lrdoctor.sources import read_input

    path = FIXTURES / "spirals_sgd_healthy.parquet"
    if not path.exists():
        pytest.skip("fixture spirals_sgd_healthy.parquet not generated")
    table = read_input(path, lambda names: names)[0]
    wanted = {"loss", "lr", "grad_norm"}
    base = first_order_efficiency(build_run(table, {}, None, extra=wanted))
    found = detect_columns(table.names)
    for signal, scale in (("loss", factor), ("grad_norm", factor), ("lr", 1 / factor)):
        table.values[found[signal]] = table.values[found[signal]] * scale
    scaled = first_order_efficiency(build_run(table, {}, None, extra=wanted))
    assert base is not None and scaled == pytest.approx(base, rel=1e-9)


HEALTHY = ["spirals_sgd_healthy.parquet", "blobs_sgd_healthy.csv", "regression_sgd_healthy.parquet"]


@pytest.mark.parametrize("name", HEALTHY)
@FEW
@given(seed=st.integers(0, 2**32 - 1), extra=st.floats(0.05, 0.5))
def test_more_healthy_steps_keep_a_healthy_run_healthy(tmp_path, name, seed, extra):
    table = load(name)
    columns = detect_columns(table.column_names)
    step = table.column(columns["step"]).to_numpy().astype(float)
    loss = table.column(columns["loss"]).to_numpy(zero_copy_only=False).astype(float)
    tail = loss[-max(10, len(loss) // 10) :]
    tail = tail[np.isfinite(tail)]
    noise = np.std(np.diff(tail)) / np.sqrt(2)
    n = max(1, int(extra * len(step)))
    spacing = float(np.median(np.diff(step)))
    rng = np.random.default_rng(seed)
    new = {c: pa.nulls(n, table.schema.field(c).type) for c in table.column_names}
    new[columns["step"]] = pa.array(step[-1] + spacing * np.arange(1, n + 1)).cast(
        table.schema.field(columns["step"]).type
    )
    new[columns["loss"]] = pa.array(np.median(tail) + noise * rng.standard_normal(n)).cast(
        table.schema.field(columns["loss"]).type
    )
    if "lr" in columns:
        last_lr = table.column(columns["lr"]).to_numpy(zero_copy_only=False)[-1]
        new[columns["lr"]] = pa.array(np.full(n, last_lr)).cast(
            table.schema.field(columns["lr"]).type
        )
    grown = pa.concat_tables([table, pa.table(new, schema=table.schema)])
    base = save(table, tmp_path / "a" / "run.parquet")
    assert _alarms(base) == set(), "the fixture itself must be healthy"
    assert _alarms(save(grown, tmp_path / "b" / "run.parquet")) == set()


def _alarms(path: Path) -> set[str]:
    return {
        f["rule"]
        for run in report(path)["runs"]
        for f in run["findings"]
        if f["severity"] in ("warning", "error")
    }


@pytest.mark.parametrize(
    "name", ["spirals_sgd_diverge_nan.parquet", "blobs_sgd_healthy.csv", "resumed_momentum.parquet"]
)
def test_same_input_twice_gives_identical_json(name):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {name} not generated")
    first = invoke("check", path, "--format", "json")
    second = invoke("check", path, "--format", "json")
    assert first.exit_code in (0, 1)
    assert first.stdout_bytes == second.stdout_bytes
