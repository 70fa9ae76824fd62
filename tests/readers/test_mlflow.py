"""MLflow file store and SQLite backend, written here the way MLflow writes them."""

from __future__ import annotations

import sqlite3

import numpy as np

from lrdoctor.readers import discover, read_path
from lrdoctor.run import build_run


def make_store(root):
    exp = root / "mlruns" / "1"
    exp.mkdir(parents=True)
    (exp / "meta.yaml").write_text("artifact_location: file:///x\nexperiment_id: '1'\nname: demo\n")
    for run_id, name, lr in (("a1b2c3", "baseline", "0.001"), ("d4e5f6", "high-lr", "0.1")):
        run = exp / run_id
        (run / "metrics" / "train").mkdir(parents=True)
        (run / "params").mkdir()
        (run / "meta.yaml").write_text(
            f"run_id: {run_id}\nrun_name: {name}\nstatus: 3\nexperiment_id: '1'\n"
        )
        (run / "params" / "optimizer").write_text("AdamW")
        (run / "params" / "learning_rate").write_text(lr)
        (run / "metrics" / "train" / "loss").write_text(
            "1700000000000 2.3 0\n1700000001000 2.1 1\n1700000002000 nan 2\n"
        )
        (run / "metrics" / "lr").write_text(f"1700000000000 {lr}\n")  # legacy 2 fields
        (run / "metrics" / "val_loss").write_text("1700000002000 2.2 2 ds d1g3st\n")
    (root / "mlruns" / ".trash").mkdir()
    return root / "mlruns"


def test_file_store_experiment_is_one_table_per_run(tmp_path):
    store = make_store(tmp_path)
    assert discover([tmp_path]) == [store]
    tables = read_path(store)
    assert [t.source.rsplit("::", 1)[1] for t in tables] == ["baseline", "high-lr"]
    run = build_run(tables[0])
    assert run.columns["loss"] == "train/loss"
    assert run["loss"].step.tolist() == [0, 1, 2] and np.isnan(run["loss"].value[2])
    assert run["lr"].step.tolist() == [0] and run["lr"].value[0] == 0.001
    assert run["val_loss"].value.tolist() == [2.2]
    assert run.optimizer == "AdamW" and tables[1].meta["lr"] == "0.1"


def test_single_run_folder(tmp_path):
    store = make_store(tmp_path)
    (table,) = read_path(store / "1" / "d4e5f6")
    assert table.meta["run_name"] == "high-lr"


def test_sqlite_backend_nan_and_clamped_inf(tmp_path):
    db = tmp_path / "mlflow.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), status VARCHAR(9));
        CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32),
                              step BIGINT, is_nan BOOLEAN);
        CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));
    """)
    con.executemany(
        "INSERT INTO runs VALUES (?, ?, ?)",
        [("r1", "good", "FINISHED"), ("r2", "blown", "FAILED"), ("r3", "empty", "RUNNING")],
    )
    rows = [("loss", 2.0 - 0.1 * s, 1000 + s, "r1", s, 0) for s in range(5)]
    rows += [
        ("loss", 2.0, 1000, "r2", 0, 0),
        ("loss", 1.7976931348623157e308, 1001, "r2", 1, 0),
        ("loss", 0.0, 1002, "r2", 2, 1),
        ("lr", 0.5, 1000, "r2", 0, 0),
    ]
    con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute("INSERT INTO params VALUES ('optimizer', 'SGD', 'r2')")
    con.commit()
    con.close()
    assert discover([tmp_path]) == [db]
    tables = read_path(db)
    assert [t.meta["run_name"] for t in tables] == ["good", "blown"]
    blown = build_run(tables[1])
    v = blown["loss"].value
    assert v[0] == 2.0 and np.isposinf(v[1]) and np.isnan(v[2])
    assert blown.optimizer == "SGD" and tables[1].meta["status"] == "FAILED"


def test_sqlite_backend_found_when_metrics_is_not_in_the_first_pages(tmp_path):
    # MLflow 3.x migrations create ~30 tables with long schemas before `metrics` and `runs`.
    db = tmp_path / "mlflow.db"
    con = sqlite3.connect(db)
    for i in range(60):
        cols = ", ".join(f"column_with_a_long_name_{j} VARCHAR(250)" for j in range(40))
        con.execute(f"CREATE TABLE padding_{i} ({cols})")
    con.executescript("""
        CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), status VARCHAR(9));
        CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32),
                              step BIGINT, is_nan BOOLEAN);
        CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));
        INSERT INTO runs VALUES ('r1', 'only', 'FINISHED');
        INSERT INTO metrics VALUES ('loss', 1.0, 1000, 'r1', 0, 0);
    """)
    con.commit()
    con.close()
    assert b"CREATE TABLE metrics" not in db.read_bytes()[: 1 << 16]
    (table,) = read_path(db)
    assert table.meta["run_name"] == "only"


def test_sqlite_file_without_mlflow_tables_is_not_claimed(tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE metrics (x INT)")
    con.commit()
    con.close()
    from lrdoctor.readers.mlflow import MlflowSqliteReader

    assert not MlflowSqliteReader().sniff(db, db.read_bytes()[:100])
