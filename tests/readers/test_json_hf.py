"""JSON Lines, JSON records, Keras history dumps and Hugging Face trainer_state.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lrdoctor.errors import InputError
from lrdoctor.readers import discover, read_path
from lrdoctor.run import build_run

SAMPLES = Path(__file__).parent / "samples"


def run_of(path, index=0):
    tables = read_path(Path(path))
    return build_run(tables[index]), tables


def test_trainer_state_train_eval_and_summary_rows():
    run, (table,) = run_of(SAMPLES / "trainer_state.json")
    assert run.columns["loss"] == "loss"
    assert run.columns["val_loss"] == "val_loss"
    assert run["loss"].step.tolist() == [10, 20, 30, 40]  # summary row's train_loss left out
    assert run["loss"].value.tolist() == [2.3026, 0.0, 1.7712, 1.5001]
    assert run["val_loss"].step.tolist() == [20, 40]
    g = run["grad_norm"].value
    assert np.isnan(g[1]) and np.isposinf(g[2])
    assert run["lr"].value[0] == pytest.approx(4.5e-5)
    assert table.meta["framework"] == "huggingface"
    assert any("summary row" in n for n in table.notes)


def test_trainer_state_sniffed_by_content_under_another_name(tmp_path):
    odd = tmp_path / "state_backup.py"
    shutil.copy(SAMPLES / "trainer_state.json", odd)
    run, _ = run_of(odd)
    assert run.has("loss", "val_loss", "grad_norm")


def test_old_trainer_state_without_grad_norm(tmp_path):
    state = {
        "global_step": 2,
        "log_history": [
            {"epoch": 0.1, "learning_rate": 5e-05, "loss": 2.3026, "step": 1},
            {"epoch": 0.2, "learning_rate": 4e-05, "loss": 2.1, "step": 2},
        ],
    }
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    run, (table,) = run_of(tmp_path / "trainer_state.json")
    assert not run.has("grad_norm") and len(run["loss"]) == 2
    assert any("grad_norm" in n for n in table.notes)


def _state(steps):
    return json.dumps(
        {
            "global_step": steps[-1],
            "log_history": [
                {"loss": 1.0 / s, "learning_rate": 1e-4, "step": s, "epoch": s / 10} for s in steps
            ],
        }
    )


def test_output_dir_takes_newest_parsable_checkpoint(tmp_path):
    out = tmp_path / "out"
    for n in (10, 20, 30):
        (out / f"checkpoint-{n}").mkdir(parents=True)
        (out / f"checkpoint-{n}" / "trainer_state.json").write_text(_state(range(1, n + 1)))
    (out / "checkpoint-30" / "trainer_state.json").write_text('{"log_history": [')  # cut short
    assert discover([tmp_path]) == [out]
    (table,) = read_path(out)
    run = build_run(table)
    assert run["loss"].step[-1] == 20
    assert table.meta["history_from"] == "checkpoint-20"
    assert any("checkpoint-30" in n for n in table.notes)
    (out / "trainer_state.json").write_text(_state(range(1, 26)))
    (table,) = read_path(out)
    assert build_run(table)["loss"].step[-1] == 25 and table.meta["history_from"].endswith("json")


def test_jsonl_strings_nulls_nan_and_partial_last_line():
    run, (table,) = run_of(SAMPLES / "metrics.jsonl")
    assert run["loss"].step.tolist() == [1, 2, 3, 4]
    assert run["loss"].value[1] == 2.2 and np.isnan(run["loss"].value[2])
    assert run["grad_norm"].step.tolist() == [1, 3, 4]  # null is nothing logged, not NaN
    assert run["val_loss"].step.tolist() == [3]
    assert run["lr"].value.tolist() == [0.001] * 4
    assert any("job still writing" in n for n in table.notes)


def test_json_records_split_by_run_column():
    tables = read_path(SAMPLES / "records.json")
    assert [t.source.split("::")[1] for t in tables] == ["a", "b"]
    runs = [build_run(t) for t in tables]
    assert runs[1]["loss"].value.tolist() == [3.0, 2.9, 2.8]
    assert runs[0]["lr"].value.tolist() == [0.1, 0.1]
    assert "run" not in tables[0].values


def test_keras_history_dump_epoch_is_step():
    run, (table,) = run_of(SAMPLES / "history.json")
    assert run["loss"].step.tolist() == [0, 1, 2]
    assert run["val_loss"].value.tolist() == [1.9, 1.6, 1.55]
    assert run["lr"].value[-1] == 0.0005
    assert table.meta["framework"] == "keras"


def test_unrecognised_json_lists_supported_formats(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"model": "resnet", "depth": 50}, indent=2))
    with pytest.raises(InputError) as err:
        read_path(bad)
    assert "list of records" in str(err.value) and "jsonl" in str(err.value)
    junk = tmp_path / "x.bin"
    junk.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(InputError) as err:
        read_path(junk)
    assert "hf-trainer-state" in str(err.value) and "--loss-col" in str(err.value)
