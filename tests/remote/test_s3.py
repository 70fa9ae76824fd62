"""`lrdoctor check s3://...` against a real S3 server on loopback: the same report as the local
path on the same logs, only the byte ranges a Parquet read needs, one-line errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Parquet, plain CSV, gzip CSV, a diverging run and a short one: every remote read path.
LOGS = [
    "spirals_adam_too_low.parquet",
    "blobs_adam_too_high.parquet",
    "blobs_sgd_healthy.csv",
    "blobs_momentum_diverge_nan.csv",
    "sched_step.csv.gz",
    "short_run.csv",
    "overfit_blobs.parquet",
]
PREFIX = "sweeps/2026-11-30"
runner = CliRunner()


def check_json(*args) -> tuple[int, dict]:
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def normalised(report: dict, prefix: str) -> dict:
    """The report with each run's source made relative to where the logs were put."""
    text = json.dumps(report, sort_keys=True)
    return json.loads(text.replace(prefix, "<root>/"))


@pytest.fixture
def bucket(s3_env, tmp_path):
    import boto3

    client = boto3.client("s3")
    name = f"runs-{tmp_path.name.replace('_', '-').lower()}"[:63]
    client.create_bucket(Bucket=name)
    local = tmp_path / "local" / PREFIX
    local.mkdir(parents=True)
    for log in LOGS:
        shutil.copy(FIXTURES / log, local / log)
        client.upload_file(str(FIXTURES / log), name, f"{PREFIX}/{log}")
    client.put_object(Bucket=name, Key=f"{PREFIX}/notes.txt", Body=b"not a log")
    return client, name, local


def test_bucket_report_equals_local_report(bucket):
    _, name, local = bucket
    code_local, local_report = check_json(local)
    code_remote, remote_report = check_json(f"s3://{name}/{PREFIX}/")
    assert code_remote == code_local
    assert [Path(r["source"]).name for r in remote_report["runs"]] == sorted(LOGS)
    assert all(r["source"].startswith(f"s3://{name}/{PREFIX}/") for r in remote_report["runs"])
    assert normalised(remote_report, f"s3://{name}/{PREFIX}/") == normalised(
        local_report, f"{local}/"
    )


def test_one_object_and_a_glob(bucket):
    _, name, _ = bucket
    _, one = check_json(f"s3://{name}/{PREFIX}/spirals_adam_too_low.parquet")
    assert [r["source"] for r in one["runs"]] == [
        f"s3://{name}/{PREFIX}/spirals_adam_too_low.parquet"
    ]
    assert "LR003" in {f["rule"] for f in one["runs"][0]["findings"]}
    _, globbed = check_json(f"s3://{name}/sweeps/*/*.parquet")
    assert sorted(Path(r["source"]).name for r in globbed["runs"]) == sorted(
        log for log in LOGS if log.endswith(".parquet")
    )


def test_local_and_remote_arguments_together_keep_their_order(bucket, tmp_path):
    _, name, local = bucket
    _, report = check_json(f"s3://{name}/{PREFIX}/short_run.csv", local / "blobs_sgd_healthy.csv")
    assert [Path(r["source"]).name for r in report["runs"]] == [
        "short_run.csv",
        "blobs_sgd_healthy.csv",
    ]


def test_missing_prefix_and_bucket_are_one_line_exit_2(bucket):
    _, name, _ = bucket
    for uri in (f"s3://{name}/nowhere/", "s3://no-such-bucket-lrdoctor/x/"):
        result = runner.invoke(app, ["check", uri])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"lrdoctor: error: {uri.rstrip('/')}")
        assert "Traceback" not in result.output


def test_prefix_without_logs_is_an_error(bucket):
    client, name, _ = bucket
    client.put_object(Bucket=name, Key="empty/readme.txt", Body=b"hello")
    result = runner.invoke(app, ["check", f"s3://{name}/empty/"])
    assert result.exit_code == 2
    assert "the prefix holds no training logs" in result.stderr


def test_unreadable_object_is_that_inputs_error_entry(bucket):
    client, name, _ = bucket
    client.put_object(Bucket=name, Key=f"{PREFIX}/zz_empty.csv", Body=b"")
    client.put_object(Bucket=name, Key=f"{PREFIX}/zz_cut.parquet", Body=b"PAR1" + b"\0" * 64)
    result = runner.invoke(app, ["check", f"s3://{name}/{PREFIX}/", "--format", "json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    errors = {Path(e["source"]).name: e["error"] for e in report["errors"]}
    where = f"s3://{name}/{PREFIX}"
    assert set(errors) == {"zz_empty.csv", "zz_cut.parquet"}
    assert errors["zz_empty.csv"].startswith(f"{where}/zz_empty.csv: the file is empty")
    assert errors["zz_cut.parquet"].startswith(
        f"{where}/zz_cut.parquet: the Parquet file has no footer"
    )
    assert len(report["runs"]) == len(LOGS)


def test_parquet_reads_only_the_footer_and_the_needed_columns():
    """The remote Parquet path hands the reader a seekable file: count the bytes it pulls."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lrdoctor.readers.tabular import read_parquet

    n = 5000
    rng = np.random.default_rng(0)
    columns = {"step": np.arange(n), "loss": np.linspace(2, 0.1, n)}
    columns.update({f"layer{i}/weight_hist": rng.random(n) for i in range(40)})
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer, compression="none")
    data = buffer.getvalue()

    class Counting(io.BytesIO):
        pulled = 0

        def read(self, size=-1):
            out = super().read(size)
            Counting.pulled += len(out)
            return out

    (table,) = read_parquet("mem://wide.parquet", Counting(data), lambda names: {"step", "loss"})
    assert set(table.values) == {"step", "loss"} and len(table.names) == 42
    assert np.allclose(table.values["loss"], columns["loss"])
    assert Counting.pulled < len(data) * 0.15, (Counting.pulled, len(data))


def test_run_folders_are_one_input_each_fetching_only_what_their_reader_opens(s3_env, tmp_path):
    import boto3

    from lrdoctor.sources.remote import RemoteFolder, list_files
    from tests.readers.test_mlflow import make_store
    from tests.readers.test_tensorboard import event, simple, write

    samples = Path(__file__).resolve().parents[1] / "readers" / "samples"
    local = tmp_path / "local" / "night"
    shutil.copytree(samples / "lightning_logs", local / "lightning_logs")
    shutil.copytree(samples / "dvclive", local / "dvclive")
    for sub in ("train", "validation"):  # a Keras TensorBoard run: one run, not two
        (local / "tb" / sub).mkdir(parents=True)
        losses = [event(s, [simple("epoch_loss", 2.0 / (1 + s))]) for s in range(40)]
        write(local / "tb" / sub / "events.out.tfevents.1700000000.host.1.v2", losses)
    checkpoint = local / "hf" / "checkpoint-10"
    checkpoint.mkdir(parents=True)
    shutil.copy(samples / "trainer_state.json", checkpoint / "trainer_state.json")
    (checkpoint / "model.safetensors").write_bytes(bytes(4096))  # weights: never fetched
    store = make_store(local)
    (store / "1" / "a1b2c3" / "artifacts").mkdir()
    (store / "1" / "a1b2c3" / "artifacts" / "model.pt").write_bytes(bytes(4096))
    shutil.copy(FIXTURES / "blobs_sgd_healthy.csv", local / "run.csv")
    (local / "run.csv.lrdoctor").write_text('{"optimizer": "sgd"}', encoding="utf-8")

    client = boto3.client("s3")
    name = f"night-{tmp_path.name.replace('_', '-').lower()}"[:63]
    client.create_bucket(Bucket=name)
    for file in sorted(p for p in local.rglob("*") if p.is_file()):
        client.upload_file(str(file), name, f"night/{file.relative_to(local).as_posix()}")

    _, local_report = check_json(local)
    _, remote_report = check_json(f"s3://{name}/night/")
    names = [r["source"].removeprefix(f"s3://{name}/night/") for r in remote_report["runs"]]
    assert len(names) == len(local_report["runs"]) == 8, names
    assert normalised(remote_report, f"s3://{name}/night/") == normalised(local_report, f"{local}/")
    assert next(r for r in remote_report["runs"] if r["source"].endswith("run.csv"))["optimizer"]

    inputs = {
        str(i).removeprefix(f"s3://{name}/night/"): i for i in list_files(f"s3://{name}/night")
    }
    folders = {k: i.members for k, i in inputs.items() if isinstance(i, RemoteFolder)}
    assert folders["hf"] == ("checkpoint-10/trainer_state.json",)
    assert set(folders["tb"]) == {
        f"{sub}/events.out.tfevents.1700000000.host.1.v2" for sub in ("train", "validation")
    }
    assert not any("artifacts" in m for m in folders["mlruns"])
    assert inputs["run.csv"].side == f"{name}/night/run.csv.lrdoctor"
