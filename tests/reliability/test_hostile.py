"""The hostile-input catalogue: one table of cases, one runner that checks every guarantee.

Each case builds its inputs under `tmp/in`, names the command, and states the outcome: the exit
code and, for exit 2, the one stderr line (it names the file and says what). For every case the
runner also checks what holds for all of them (docs/reliability.md): no traceback, no hang past
the deadline, no exit 1 unless a finding reached the fail level, inputs byte-identical (sha256),
and an output that parses when the format is a machine's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.inputs import csv_text, healthy_rows, invoke, write

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60  # seconds: a hang guard, far above any case's run time
HEALTHY = csv_text(healthy_rows())


@dataclass(frozen=True)
class Hostile:
    """A case: `build(tmp)` writes the inputs (under tmp/"in") and returns the CLI arguments."""

    build: Callable[[Path], list]
    exit: int
    says: str = ""  # what the single stderr error line contains (exit 2)
    names: str | None = None  # the file the error line names (default: none required)
    parses: str | None = None  # "json" or "junit": stdout must parse as that
    process: bool = False  # run in a fresh interpreter (signals, real stdout, FIFOs)
    patch: Callable | None = None  # (monkeypatch) -> None: inject a fault in-process
    lines: int = 1  # error lines expected on stderr when exit is 2
    check: Callable | None = field(default=None)  # (tmp, result) -> None: a further assertion


def inputs(tmp: Path) -> Path:
    folder = tmp / "in"
    folder.mkdir(exist_ok=True)
    return folder


def healthy(name: str = "run.csv") -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        return write(inputs(tmp) / name, HEALTHY)

    return build


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# ---- faults injected in-process (a bug somewhere in lrdoctor) --------------------------------


def reader_raises(monkeypatch) -> None:
    from lrdoctor.readers.tabular import CsvReader

    real = CsvReader.read

    def read(self, path, select):
        if Path(path).name == "bad.csv":
            raise ValueError("a reader bug")
        return real(self, path, select)

    monkeypatch.setattr(CsvReader, "read", read)


def normalise_raises(monkeypatch) -> None:
    import lrdoctor.engine
    import lrdoctor.run

    def build_run(*args, **kwargs):
        raise ZeroDivisionError("a normalisation bug")

    monkeypatch.setattr(lrdoctor.run, "build_run", build_run)
    assert lrdoctor.engine  # check_path imports build_run from lrdoctor.run at call time


def format_raises(monkeypatch) -> None:
    from lrdoctor.formats import FORMATS

    def broken(report, ctx):
        raise KeyError("a renderer bug")

    monkeypatch.setitem(FORMATS, "json", broken)


def worker_dies(monkeypatch) -> None:
    """Kill the worker process that reads `die.csv` (as the OOM killer would)."""
    import lrdoctor.engine

    real = lrdoctor.engine.check_path

    def check_path(path, planned, options):
        if Path(path).name == "die.csv":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, planned, options)

    monkeypatch.setattr(lrdoctor.engine, "check_path", check_path)


def folder_of(good: int, *bad: str) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        folder = inputs(tmp)
        for k in range(good):
            write(folder / f"good{k:02d}.csv", HEALTHY)
        for name in bad:
            write(folder / name, HEALTHY)
        return [folder]

    return build


def report_lists(path: Path, good: int, errors: list[str]) -> None:
    report = json.loads(path.read_text())
    assert sum(r.get("error") is None for r in report["runs"]) == good
    assert [Path(e["source"]).name for e in report["errors"]] == errors


def batch_reports_the_rest(tmp: Path, result) -> None:
    report = json.loads(result.stdout)
    assert len(report["runs"]) >= 5 and all(r.get("error") is None for r in report["runs"])
    assert [Path(e["source"]).name for e in report["errors"]] == [
        n for n in ("bad.csv", "die.csv") if (tmp / "in" / n).exists()
    ]


# ---- inputs are sacred ----------------------------------------------------------------------


def mlflow_db(path: Path, metrics_view: bool = False) -> Path:
    import math
    import sqlite3

    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT, status TEXT);
        CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);
        CREATE TABLE m (key TEXT, value FLOAT, timestamp BIGINT, run_uuid TEXT, step BIGINT,
                        is_nan BOOLEAN);
        INSERT INTO runs VALUES ('r1', 'good', 'FINISHED');
    """)
    con.executemany(
        "INSERT INTO m VALUES ('loss', ?, ?, 'r1', ?, 0)",
        [(math.exp(-s / 60) + 0.1, s, s) for s in range(300)],
    )
    if metrics_view:  # rows without end: a recursive view
        con.execute(
            "CREATE VIEW metrics AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL "
            "SELECT i + 1 FROM n) SELECT 'r1' AS run_uuid, 'loss' AS key, i AS step, "
            "1.0 AS value, 0 AS is_nan, i AS timestamp FROM n"
        )
    else:
        con.execute("ALTER TABLE m RENAME TO metrics")
    con.commit()
    con.close()
    return path


def no_side_files(tmp: Path, result) -> None:
    names = sorted(p.name for p in (tmp / "in").iterdir())
    assert not [n for n in names if n.endswith(("-wal", "-shm", "-journal"))], names


def fifo_in_folder(tmp: Path) -> list:
    folder = folder_of(1)(tmp)[0]
    os.mkfifo(folder / "live.csv")
    return [folder, *json_args]


def skipped_fifo(tmp: Path, result) -> None:
    report = json.loads(result.stdout)
    assert report["skipped"] == [
        {"source": str(tmp / "in" / "live.csv"), "reason": "a FIFO (named pipe)"}
    ]
    assert len(report["runs"]) == 1 and "live.csv" in result.stderr


def glob_loop(tmp: Path) -> list:
    folder = folder_of(2)(tmp)[0]
    (folder / "up").symlink_to("..")
    (folder / "self").symlink_to(".")
    return [str(folder / "**" / "*.csv"), *json_args]


def two_runs(tmp: Path, result) -> None:
    runs_are(result, 2)


def runs_are(result, n: int) -> None:
    assert len(json.loads(result.stdout)["runs"]) == n


def output_is(target: Callable[[Path], Path], *extra) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        log = healthy()(tmp)
        return [log, "-o", target(tmp), *extra]

    return build


def log_in_folder(tmp: Path) -> list:
    folder = folder_of(2)(tmp)[0]
    return [folder, "-o", folder / "good01.csv"]


def symlink_to_log(tmp: Path) -> Path:
    link = tmp / "report.txt"
    link.symlink_to(healthy()(tmp))
    return link


def hard_link_to_log(tmp: Path) -> Path:
    link = tmp / "report.txt"
    os.link(healthy()(tmp), link)
    return link


def step_summary_is_log(monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "in/run.csv")


def step_summary_unwritable(monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "no/such/folder/summary.md")


# ---- bounded work ---------------------------------------------------------------------------


def gzip_bomb(tmp: Path) -> Path:
    """~20 MB of rows in ~40 KB of gzip: a terabyte bomb works the same way, only longer."""
    import gzip

    return write(inputs(tmp) / "bomb.csv.gz", gzip.compress(HEALTHY.encode() * 20_000, 9))


def parquet_rows(tmp: Path, rows: int = 2_000_000) -> Path:
    """A Parquet whose dictionary and RLE pages decode to far more rows than its size says."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = inputs(tmp) / "rle.parquet"
    pq.write_table(pa.table({"step": [0] * rows, "loss": [1.0] * rows}), path)
    return path


def wide_csv(tmp: Path) -> Path:
    header = ",".join(["step", "loss", "lr", *(f"layer{j}/grad_norm" for j in range(300))])
    rows = [",".join([str(i), "1.0", "0.01", *["1"] * 300]) for i in range(10)]
    return write(inputs(tmp) / "wide.csv", "\n".join([header, *rows]) + "\n")


def reader_loops(monkeypatch) -> None:
    """A reader stuck in a pure-Python loop (the slow-record kind): only the time limit ends it."""
    import time

    from lrdoctor.readers.tabular import CsvReader

    def read(self, path, select):
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(CsvReader, "read", read)


def nested(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def trainer_state_nested(tmp: Path) -> Path:
    return write(inputs(tmp) / "trainer_state.json", '{"log_history": ' + nested() + "}")


def beyond_2_53(suffix: str, stride: int = 1) -> Callable[[Path], Path]:
    """300 steps from 2^53 on: with stride 1, float64 would merge every other pair of them."""

    def build(tmp: Path) -> Path:
        steps = [2**53 + stride * i for i in range(300)]
        path = inputs(tmp) / f"big{suffix}"
        rows = healthy_rows()
        if suffix == ".csv":
            return write(path, csv_text([(s, *r[1:]) for s, r in zip(steps, rows, strict=True)]))
        if suffix == ".jsonl":
            body = "".join(
                json.dumps({"step": s, "loss": float(r[1]), "lr": r[2]}) + "\n"
                for s, r in zip(steps, rows, strict=True)
            )
            return write(path, body)
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            losses = [float(r[1]) for r in rows]
            pq.write_table(pa.table({"step": steps, "loss": losses}), path)
            return path
        if suffix == "mlflow.db":
            import sqlite3

            db = mlflow_db(inputs(tmp) / "mlflow.db")
            with contextlib.closing(sqlite3.connect(db)) as con:
                con.execute("UPDATE metrics SET step = step + ?", (2**53,))
                con.commit()
            return db
        from tests.readers.test_tensorboard import event, simple
        from tests.readers.test_tensorboard import write as write_events

        path = inputs(tmp) / "events.out.tfevents.1"
        return write_events(
            path,
            [event(s, [simple("loss", float(r[1]))]) for s, r in zip(steps, rows, strict=True)],
        )

    return build


def tensorboard_run(tmp: Path, tag_bytes: int = 0) -> Path:
    """A TensorBoard run folder; `tag_bytes` adds one scalar whose tag is that long."""
    from tests.readers.test_tensorboard import event, simple
    from tests.readers.test_tensorboard import write as write_events

    folder = inputs(tmp) / "tb"
    folder.mkdir()
    events = [event(i, [simple("loss", float(r[1]))]) for i, r in enumerate(healthy_rows())]
    if tag_bytes:
        events.append(event(300, [simple("x" * tag_bytes, 1.0)]))
    write_events(folder / "events.out.tfevents.1", events)
    return folder


def long_integers(name: str) -> Callable[[Path], list]:
    """Losses written as 5,000-digit integers: past Python's int-parsing limit (4,300 digits),
    where `json.loads` raises a ValueError that is no JSON error."""

    def build(tmp: Path) -> list:
        big = "1" + "0" * 5000
        records = [f'{{"step": {i}, "loss": {big}}}' for i in range(300)]
        body = {
            "d.jsonl": "\n".join(records) + "\n",
            "d.json": "[" + ",".join(records) + "]",
            "trainer_state.json": '{"log_history": [' + ",".join(records) + "]}",
        }[name]
        return [write(inputs(tmp) / name, body), *json_args]

    return build


def fires(rule: str) -> Callable:
    def check(tmp: Path, result) -> None:
        (run,) = json.loads(result.stdout)["runs"]
        assert rule in {f["rule"] for f in run["findings"]}, run["findings"]

    return check


def side_file_nested(tmp: Path) -> list:
    log = healthy()(tmp)
    write(log.with_name("run.csv.lrdoctor"), nested())
    return [log, *json_args]


def run_names_not_utf8(tmp: Path) -> list:
    rows = b"".join(
        f"{i},{v},0.01,".encode() + (b"a\xff\n" if i % 2 else b"b\n")
        for i, v in enumerate(healthy_losses())
    )
    return [write(inputs(tmp) / "runs.csv", b"step,loss,lr,run\n" + rows), *json_args]


def column_names_not_utf8(tmp: Path) -> Path:
    rows = "".join(f"{i},{v},0.01,a\n" for i, v in enumerate(healthy_losses())).encode()
    return write(inputs(tmp) / "runs.csv", b"step,loss\xff\xfe,lr,run\n" + rows)


def healthy_losses() -> list[str]:
    return [r[1] for r in healthy_rows()]


# ---- output that cannot be forged --------------------------------------------------------------

FORGED = "x\n::error title=pwned::owned.csv"


def forged_names(tmp: Path) -> list:
    """A good log and an empty one whose names carry a workflow command and terminal escapes."""
    folder = folder_of(1)(tmp)[0]
    write(folder / FORGED, HEALTHY)
    write(folder / "\x1b]0;pwned\x07\x1b[2Jempty.csv", "")
    return [folder]


def nothing_forged(tmp: Path, result) -> None:
    for line in (result.stdout + result.stderr).split("\n"):
        # A line the runner would read as a command: only lrdoctor's own, well-formed ones.
        assert not line.lstrip().startswith("::") or ANNOTATION.match(line), line
        assert not line.lstrip().startswith("::error title=pwned"), line
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stderr
    assert "pwned" in result.stdout + result.stderr  # the names are shown, escaped


ANNOTATION = __import__("re").compile(r"^::(error|warning|notice) title=[^:,\r\n]*::[^\r\n]*$")


def markdown_columns(tmp: Path, result) -> None:
    rows = [ln for ln in result.stdout.splitlines() if ln.startswith("| ")]
    seps = {len(__import__("re").findall(r"(?<!\\)\|", r)) for r in rows}
    assert seps == {6}, rows  # | run | verdict | steps | worst finding | suggested LR |


def non_utf8_name(tmp: Path) -> Path:
    folder = inputs(tmp)
    raw = os.path.join(os.fsencode(folder), b"run\xff\xfe.csv")
    with open(raw, "wb") as fh:
        fh.write(HEALTHY.encode())
    return Path(os.fsdecode(raw))


# ---- trust: configuration and rule files ------------------------------------------------------


def with_config(body: str) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        config = write(tmp / "pyproject.toml", "[tool.lrdoctor]\n" + body + "\n")
        return [healthy()(tmp), "--config", config, *json_args]

    return build


def rule_with_nan_default(tmp: Path) -> list:
    return rule_with_default(tmp, "nan")


def rule_with_default(tmp: Path, default: str) -> list:
    import re

    text = next((ROOT / "rules").glob("PL001-*.toml")).read_text()
    text = re.sub(r'(?m)^id = ".*"', 'id = "XX901"', text)
    text = re.sub(r'(?m)^name = ".*"', 'name = "my-plateau"', text)
    text = re.sub(r"(?m)^default = [0-9.]+", f"default = {default}", text, count=1)
    (tmp / "myrules").mkdir()
    write(tmp / "myrules" / "XX901-my-plateau.toml", text)
    return [healthy()(tmp), "--rules", tmp / "myrules"]


def names_the_config(tmp: Path, result) -> None:
    assert json.loads(result.stdout)["config"] == str(tmp / "pyproject.toml")


# ---- known false alarms --------------------------------------------------------------------------


def inverse_time(tmp: Path) -> list:
    rows = "".join(f"{t},{1 / (1 + t)},{0.1 / (1 + t)}\n" for t in range(6000))
    return [write(inputs(tmp) / "inv.csv", "step,loss,lr\n" + rows), *json_args]


def no_lr_finding(tmp: Path, result) -> None:
    (run,) = json.loads(result.stdout)["runs"]
    assert not [
        f for f in run["findings"] if f["rule"].startswith("LR") or f["severity"] == "error"
    ]


BEYOND = "the step column 'step' holds integers beyond 2^53 that a float64 cannot hold exactly"


def no_step_merged(result) -> None:
    (run,) = json.loads(result.stdout)["runs"]
    assert run["steps"] == 300, run


# ---- the processes a case may need -------------------------------------------------------------

SLOW_READ = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even under xdist
from pathlib import Path
import lrdoctor.engine as engine
busy = Path(sys.argv[1])
def check_path(path, planned, options):
    busy.touch()   # tell the test a worker is busy
    time.sleep(60)
engine.check_path = check_path
sys.argv = ["lrdoctor", *sys.argv[2:]]
from lrdoctor.cli import main
main()
"""

# A worker that has been forked but not yet set its own signal handlers (the pool starting):
# a signal to the process group (CI cancelling the job, `timeout`, Ctrl-C) reaches it there.
STARTING_WORKER = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even under xdist
from pathlib import Path
import lrdoctor.engine as engine
busy = Path(sys.argv[1])
real = engine._worker_init
def _worker_init(*args):
    busy.touch()   # tell the test a worker is starting
    time.sleep(2)
    real(*args)
engine._worker_init = _worker_init
sys.argv = ["lrdoctor", *sys.argv[2:]]
from lrdoctor.cli import main
main()
"""


def run_process(
    args: list,
    signal_after_start: int | None,
    tmp: Path,
    script: str = SLOW_READ,
    to_group: bool = False,
):
    """Run the real entry point (`lrdoctor.cli.main`) in a fresh interpreter; with a signal,
    run `script` and send it (to the process, or its whole group) once the script says."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    if signal_after_start is None:
        cmd = [sys.executable, "-c", "from lrdoctor.cli import main; main()", *map(str, args)]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            timeout=DEADLINE,
            env=env,
            cwd=tmp,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        return proc.returncode, proc.stdout, proc.stderr
    ready = tmp / "busy"
    cmd = [sys.executable, "-c", script, str(ready), *map(str, args)]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=to_group,
    )
    for _ in range(DEADLINE * 10):
        if ready.exists() or proc.poll() is not None:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.1)
    if to_group:
        os.killpg(proc.pid, signal_after_start)
    else:
        proc.send_signal(signal_after_start)
    out, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, out, err


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail a case that hangs (a FIFO opened, a loop that never ends) instead of the suite."""

    def expire(signum, frame):
        raise TimeoutError(f"the case did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---- the table -----------------------------------------------------------------------------------

json_args = ["--format", "json"]

CASES: dict[str, Hostile] = {
    # 1. A crash is never exit 1.
    "reader bug on the only input": Hostile(
        lambda t: [healthy("bad.csv")(t)],
        2,
        says="internal error in the csv reader (ValueError: a reader bug) — please report",
        names="bad.csv",
        patch=reader_raises,
    ),
    "reader bug in a batch": Hostile(
        lambda t: [*folder_of(6, "bad.csv")(t), *json_args],
        2,
        names="bad.csv",
        says="internal error in the csv reader",
        parses="json",
        patch=reader_raises,
        check=batch_reports_the_rest,
    ),
    "reader bug in a parallel batch": Hostile(
        lambda t: [*folder_of(6, "bad.csv")(t), *json_args, "--jobs", "2"],
        2,
        names="bad.csv",
        says="internal error in the csv reader",
        parses="json",
        patch=reader_raises,
        check=batch_reports_the_rest,
    ),
    "normalisation bug": Hostile(
        lambda t: [healthy()(t)],
        2,
        says="internal error in run normalisation (ZeroDivisionError",
        names="run.csv",
        patch=normalise_raises,
    ),
    "renderer bug": Hostile(
        lambda t: [healthy()(t), *json_args],
        2,
        says="internal error in lrdoctor check (KeyError",
        patch=format_raises,
    ),
    "a killed worker loses only its input": Hostile(
        lambda t: [*folder_of(6, "die.csv")(t), *json_args, "--jobs", "2"],
        2,
        names="die.csv",
        says="the worker process reading it died",
        parses="json",
        patch=worker_dies,
        check=batch_reports_the_rest,
    ),
    "SIGTERM stops the workers": Hostile(
        lambda t: ["check", *folder_of(8)(t), "--jobs", "2"], 143, process=True, lines=0
    ),
    "SIGINT stops the workers": Hostile(
        lambda t: ["check", *folder_of(8)(t), "--jobs", "2"], 130, process=True, lines=0
    ),
    "SIGTERM to the group while the workers start": Hostile(
        lambda t: ["check", *folder_of(8)(t), "--jobs", "2"], 143, process=True, lines=0
    ),
    "Ctrl-C to the group while the workers start": Hostile(
        lambda t: ["check", *folder_of(8)(t), "--jobs", "2"], 130, process=True, lines=0
    ),
    # 3. Bounded work: each limit is one line naming it and the flag that raises it.
    "JSON nested 100,000 deep": Hostile(
        lambda t: [write(inputs(t) / "d.json", nested())],
        2,
        says="is nested too deeply to read",
        names="d.json",
    ),
    "JSON Lines record nested 100,000 deep": Hostile(
        lambda t: [write(inputs(t) / "d.jsonl", '{"loss": ' + nested() + "}\n")],
        2,
        names="d.jsonl",
    ),
    "trainer_state.json nested 100,000 deep": Hostile(
        lambda t: [trainer_state_nested(t)], 2, names="trainer_state.json"
    ),
    "lr-find on JSON nested 100,000 deep": Hostile(
        lambda t: ["lr-find", write(inputs(t) / "d.json", nested())],
        2,
        says="is nested too deeply to read",
        names="d.json",
    ),
    "compare on JSON nested 100,000 deep": Hostile(
        lambda t: ["compare", healthy()(t), write(inputs(t) / "d.json", nested())],
        2,
        says="is nested too deeply to read",
        names="d.json",
    ),
    "gzip bomb past --max-bytes": Hostile(
        lambda t: [gzip_bomb(t), "--max-bytes", "1000000"],
        2,
        says="holds more than 976.6 KiB of data, the limit per input — raise it with --max-bytes",
        names="bomb.csv.gz",
    ),
    "file past --max-bytes": Hostile(
        lambda t: [healthy()(t), "--max-bytes", "1000"],
        2,
        says=f"holds more than 1,000 bytes of data, the limit per input — raise it with "
        f"--max-bytes {len(HEALTHY.encode())} if the log is real",
        names="run.csv",
    ),
    "Parquet RLE pages past --max-rows": Hostile(
        lambda t: [parquet_rows(t), "--max-rows", "1000000"],
        2,
        says="has 2,000,000 rows, over the limit of 1,000,000 per input — raise it with "
        "--max-rows 2000000",
        names="rle.parquet",
    ),
    "Parquet decoding past --max-bytes": Hostile(
        lambda t: [parquet_rows(t), "--max-bytes", "1000000"],
        2,
        says="raise it with --max-bytes",
        names="rle.parquet",
    ),
    "CSV past --max-rows": Hostile(
        lambda t: [healthy()(t), "--max-rows", "100"],
        2,
        says="has 300 rows, over the limit of 100 per input — raise it with --max-rows 300",
        names="run.csv",
    ),
    "columns past --max-columns": Hostile(
        lambda t: [wide_csv(t), "--max-columns", "100"],
        2,
        says="has 303 columns, over the limit of 100 per input — raise it with --max-columns 303",
        names="wide.csv",
    ),
    "a reader that never ends, past --timeout": Hostile(
        lambda t: [healthy()(t), "--timeout", "0.5"],
        2,
        says="took over 0.5 s, the limit per input — raise it with --timeout 60",
        names="run.csv",
        patch=reader_loops,
    ),
    "one input past a limit in a parallel batch with -o": Hostile(
        lambda t: [
            *folder_of(6)(t),
            gzip_bomb(t),
            "--max-bytes",
            "1000000",
            "-j",
            "2",
            *json_args,
            "-o",
            t / "report.json",
        ],
        2,
        says="--max-bytes",
        names="bomb.csv.gz",
        check=lambda t, r: report_lists(t / "report.json", 6, ["bomb.csv.gz"]),
    ),
    "steps beyond 2^53, CSV": Hostile(
        lambda t: [beyond_2_53(".csv")(t)], 2, says=BEYOND, names="big.csv"
    ),
    "steps beyond int64 in a CSV (parsed as floats)": Hostile(
        lambda t: [
            write(
                inputs(t) / "huge.csv",
                "step,loss\n" + "".join(f"{2**63 + 2 * i},{1.0 - i / 400}\n" for i in range(300)),
            )
        ],
        2,
        says=BEYOND,
        names="huge.csv",
    ),
    "steps beyond 2^53, JSON Lines": Hostile(
        lambda t: [beyond_2_53(".jsonl")(t)], 2, says=BEYOND, names="big.jsonl"
    ),
    "steps beyond 2^53, Parquet": Hostile(
        lambda t: [beyond_2_53(".parquet")(t)], 2, says=BEYOND, names="big.parquet"
    ),
    "steps beyond 2^53, MLflow SQLite": Hostile(
        lambda t: [beyond_2_53("mlflow.db")(t)], 2, says=BEYOND, names="mlflow.db"
    ),
    "steps beyond 2^53, TensorBoard": Hostile(
        lambda t: [beyond_2_53(".tfevents")(t)], 2, says=BEYOND, names="events.out.tfevents.1"
    ),
    "steps beyond 2^53, watch": Hostile(
        lambda t: ["watch", beyond_2_53(".csv")(t), "--idle", "0.2", "--interval", "0.05"],
        2,
        says=BEYOND,
        names="big.csv",
    ),
    "steps beyond 2^53 that float64 holds exactly are read": Hostile(
        lambda t: [beyond_2_53(".csv", stride=2)(t), *json_args],
        0,
        parses="json",
        check=lambda t, r: no_step_merged(r),
    ),
    "TensorBoard run folder past --max-bytes": Hostile(
        lambda t: [tensorboard_run(t), "--max-bytes", "1000"],
        2,
        says="the limit per input — raise it with --max-bytes",
        names="tb",
    ),
    "a 2 MB TensorBoard scalar record (CRC in blocks, not byte by byte)": Hostile(
        lambda t: [tensorboard_run(t, tag_bytes=2_000_000), *json_args], 0, parses="json"
    ),
    "JSON Lines integers of 5,000 digits": Hostile(
        long_integers("d.jsonl"), 1, parses="json", check=fires("NF001")
    ),
    "JSON integers of 5,000 digits": Hostile(
        long_integers("d.json"), 1, parses="json", check=fires("NF001")
    ),
    "trainer_state.json integers of 5,000 digits": Hostile(
        long_integers("trainer_state.json"), 1, parses="json", check=fires("NF001")
    ),
    "a side file (.lrdoctor) nested 100,000 deep is ignored": Hostile(
        side_file_nested, 0, parses="json"
    ),
    "watch on JSON Lines nested 100,000 deep": Hostile(
        lambda t: [
            "watch",
            write(inputs(t) / "d.jsonl", '{"loss": ' + nested() + "}\n"),
            "--idle",
            "0.2",
            "--interval",
            "0.05",
        ],
        2,
        says="is nested too deeply to read",
        names="d.jsonl",
    ),
    "framework CSV whose run names are not UTF-8": Hostile(
        run_names_not_utf8, 0, parses="json", check=lambda t, r: runs_are(r, 2)
    ),
    "a UTF-16 CSV (PowerShell's >, Excel's Unicode text)": Hostile(
        lambda t: [write(inputs(t) / "w.csv", HEALTHY.encode("utf-16"))],
        2,
        says="is UTF-16 text; lrdoctor reads UTF-8",
        names="w.csv",
    ),
    "a UTF-16 CSV without a byte-order mark": Hostile(
        lambda t: [write(inputs(t) / "w.csv", HEALTHY.encode("utf-16-le"))],
        2,
        says="is UTF-16 text",
        names="w.csv",
    ),
    "a UTF-32 CSV": Hostile(
        lambda t: [write(inputs(t) / "w.csv", HEALTHY.encode("utf-32"))],
        2,
        says="is UTF-32 text",
        names="w.csv",
    ),
    "framework CSV whose column names are not UTF-8": Hostile(
        lambda t: [column_names_not_utf8(t)], 2, says="no loss column found", names="runs.csv"
    ),
    # 4. Output that cannot be forged: names from files are escaped for every format.
    "file name forging a workflow command, github": Hostile(
        lambda t: [*forged_names(t), "-f", "github"],
        2,
        says="the file is empty",
        check=nothing_forged,
    ),
    "file name forging a workflow command, text": Hostile(
        lambda t: [*forged_names(t), "--select", "LR", "-o", t / "report.txt"],
        2,
        says="the file is empty",
        check=lambda t, r: nothing_forged(
            t, type("R", (), {"stdout": (t / "report.txt").read_text(), "stderr": r.stderr})
        ),
    ),
    "control characters in a name, junit": Hostile(
        lambda t: [write(inputs(t) / "run\x01\x1b[31m\x0c.csv", HEALTHY), "-f", "junit"],
        0,
        parses="junit",
    ),
    "pipes and backticks in a name, markdown": Hostile(
        lambda t: [write(inputs(t) / "a|b`c``|.csv", HEALTHY), "-f", "markdown"],
        0,
        check=markdown_columns,
    ),
    "a name that is not UTF-8": Hostile(lambda t: [non_utf8_name(t), "-f", "markdown"], 0),
    "a name that is not UTF-8, text": Hostile(lambda t: [non_utf8_name(t)], 0),
    # 6. Trust: a config or rule value of the wrong type, out of range or NaN is one line.
    "--set a NaN": Hostile(
        lambda t: [healthy()(t), "--set", "PL001.patience=nan"],
        2,
        says="--set PL001.patience: expected a finite number, got nan",
    ),
    "--timeout nan": Hostile(
        lambda t: [healthy()(t), "--timeout", "nan"],
        2,
        says="--timeout: expected a positive, finite number, got nan",
    ),
    "--set an infinite whole number": Hostile(
        lambda t: [healthy()(t), "--set", "SP001.min_steps=inf"],
        2,
        says="--set SP001.min_steps: expected a finite number, got inf",
    ),
    "config value NaN": Hostile(
        with_config("rules.PL001.patience = nan"),
        2,
        says="PL001.patience: expected a finite number, got nan",
        names="pyproject.toml",
    ),
    "config value of the wrong type": Hostile(
        with_config("fail-on = 3"), 2, says="fail-on: 3 is not one of", names="pyproject.toml"
    ),
    "config value out of range": Hostile(
        with_config("rules.PL001.patience = -5"),
        2,
        says="PL001.patience: -5.0 is out of range",
        names="pyproject.toml",
    ),
    "rule file with a NaN default": Hostile(
        rule_with_nan_default,
        2,
        says="params.patience.default: expected a finite number, got nan",
        names="XX901-my-plateau.toml",
    ),
    "config integer of 5,000 digits (past Python's int parsing limit)": Hostile(
        with_config("rules.PL001.patience = 1" + "0" * 5000),
        2,
        says="not a valid TOML file (Exceeds the limit (4300 digits)",
        names="pyproject.toml",
    ),
    "config integer past float range": Hostile(
        with_config("rules.PL001.patience = 1" + "0" * 400),
        2,
        says="PL001.patience: expected a finite number, got a 1329-bit integer",
        names="pyproject.toml",
    ),
    "rule file with a 5,000-digit default": Hostile(
        lambda t: rule_with_default(t, "1" + "0" * 5000),
        2,
        says="not a valid rule file",
        names="XX901-my-plateau.toml",
    ),
    "the config file used is named in the report": Hostile(
        with_config('fail-on = "error"'), 0, parses="json", check=names_the_config
    ),
    # 5. Known false alarms.
    "a loss of 1/(1+t) over 6,000 steps is no explosion": Hostile(
        inverse_time, 0, parses="json", check=no_lr_finding
    ),
    # 2. Inputs are sacred.
    "output is the input": Hostile(
        output_is(lambda t: t / "in" / "run.csv"), 2, says="is one of the inputs", names="run.csv"
    ),
    "output is a log inside the checked folder": Hostile(
        log_in_folder, 2, says="is one of the inputs", names="good01.csv"
    ),
    "output is a symlink to the input": Hostile(
        output_is(symlink_to_log), 2, says="is one of the inputs", names="report.txt"
    ),
    "output is a hard link to the input": Hostile(
        output_is(hard_link_to_log), 2, says="is one of the inputs"
    ),
    "output is a folder": Hostile(output_is(lambda t: t / "in"), 2, says="is a folder"),
    "output is a device": Hostile(
        output_is(lambda t: Path(os.devnull)), 2, says="is a character device"
    ),
    "step summary is the input": Hostile(
        lambda t: [healthy()(t), "-f", "github"],
        2,
        says="GITHUB_STEP_SUMMARY",
        names="run.csv",
        patch=step_summary_is_log,
    ),
    "step summary unwritable": Hostile(
        lambda t: [healthy()(t), "-f", "github"], 0, patch=step_summary_unwritable
    ),
    "FIFO given directly": Hostile(
        lambda t: [(os.mkfifo(inputs(t) / "live.csv"), t / "in" / "live.csv")[1]],
        2,
        says="is a FIFO (named pipe), not a regular file",
        names="live.csv",
    ),
    "FIFO in a folder is skipped": Hostile(fifo_in_folder, 0, parses="json", check=skipped_fifo),
    "a folder holding only a FIFO is no pass": Hostile(
        lambda t: [(os.mkfifo(inputs(t) / "live.csv"), t / "in")[1]],
        2,
        says="no regular log file found (1 special file skipped)",
        names="in",
    ),
    "trainer_state.json a link to /dev/zero": Hostile(
        lambda t: [((inputs(t) / "trainer_state.json").symlink_to("/dev/zero"), t / "in")[1]],
        2,
        says="no regular log file found",
    ),
    "symlink loop under a ** glob": Hostile(glob_loop, 0, parses="json", check=two_runs),
    "SQLite name that reads as a URI": Hostile(
        lambda t: [mlflow_db(inputs(t) / "x?mode=rwc#mlflow.db"), *json_args],
        0,
        parses="json",
        check=no_side_files,
    ),
    "SQLite metrics as an endless view": Hostile(
        lambda t: [mlflow_db(inputs(t) / "mlflow.db", metrics_view=True)],
        2,
        says="is not a training log",
        names="mlflow.db",
    ),
}

# Cases run in a process that must be signalled once a worker is busy.
SIGNALLED = {
    "SIGTERM stops the workers": (signal.SIGTERM, SLOW_READ, False),
    "SIGINT stops the workers": (signal.SIGINT, SLOW_READ, False),
    "SIGTERM to the group while the workers start": (signal.SIGTERM, STARTING_WORKER, True),
    "Ctrl-C to the group while the workers start": (signal.SIGINT, STARTING_WORKER, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile(name, tmp_path, monkeypatch):
    case = CASES[name]
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    args = [str(a) for a in case.build(tmp_path)]
    if (
        not case.process
        and args[:1] != ["check"]
        and args[:1] not in (["watch"], ["compare"], ["lr-find"], ["rules"])
    ):
        args = ["check", *args]
    before = digest(tmp_path / "in") if (tmp_path / "in").exists() else {}
    if case.process:
        signum, script, to_group = SIGNALLED.get(name, (None, SLOW_READ, False))
        code, out, err = run_process(args, signum, tmp_path, script, to_group)
        assert "Traceback" not in out + err, err
    else:
        if case.patch is not None:
            case.patch(monkeypatch)
        with deadline(DEADLINE):
            result = invoke(*args)
        code, out, err = result.exit_code, result.stdout, result.stderr
    assert code == case.exit, (code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if ln.startswith("lrdoctor: warning: ")]
    errors = [ln for ln in lines if ln not in warnings]
    if case.exit == 2:
        assert len(errors) == case.lines, err
        assert all(ln.startswith("lrdoctor: error: ") for ln in errors), err
        assert any(case.says in ln for ln in errors), err
        if case.names:
            assert any(case.names in ln for ln in errors), err
    elif case.exit in (130, 143):
        assert not errors, err
    if case.parses == "json":
        json.loads(out)
    elif case.parses == "junit":
        ET.fromstring(out)
    after = digest(tmp_path / "in") if (tmp_path / "in").exists() else {}
    assert after == before, "an input was modified"
    if case.check is not None:
        case.check(tmp_path, type("Result", (), {"stdout": out, "stderr": err})())


@pytest.mark.parametrize("starting", [False, True], ids=["busy", "starting"])
def test_no_worker_outlives_a_signal(tmp_path, starting):
    """After SIGTERM (to the command while a worker is busy, or to the whole group while the
    workers start) no process of the batch is left (they would hold files and cores)."""
    import time

    args = ["check", *folder_of(8)(tmp_path), "--jobs", "2"]
    script = STARTING_WORKER if starting else SLOW_READ
    code, _, err = run_process(args, signal.SIGTERM, tmp_path, script, to_group=starting)
    assert code == 143, err
    time.sleep(0.5)
    mine = subprocess.run(["pgrep", "-f", str(tmp_path / "busy")], capture_output=True, text=True)
    assert not mine.stdout.strip(), mine.stdout


def test_column_selection_runs_once_per_file(tmp_path):
    """A 4,000-column Parquet (per-layer metrics) asks for its columns once, not per column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lrdoctor.readers import read_path

    n = 50
    cols = {"step": list(range(n)), "loss": losses_of(n), "lr": [0.01] * n}
    cols.update({f"layer{j}/grad_norm": [1.0] * n for j in range(4000)})
    pq.write_table(pa.table(cols), tmp_path / "wide.parquet")
    calls = []

    def select(names):
        calls.append(len(names))
        return {"step", "loss", "lr"}

    (table,) = read_path(tmp_path / "wide.parquet", select)
    assert calls == [4003] and sorted(table.values) == ["loss", "lr", "step"]


def losses_of(n: int) -> list[float]:
    import math

    return [math.exp(-i / 20) + 0.1 for i in range(n)]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_one_error_line(tmp_path):
    """`lrdoctor check run.csv > /dev/full`: the write fails (ENOSPC), one line, exit 2."""
    log = healthy()(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-c", "from lrdoctor.cli import main; main()", "check", str(log)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=DEADLINE,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "lrdoctor: error: lrdoctor check: could not write (No space left on device)"
    ], proc.stderr
