"""Performance benchmark: lrdoctor against a baseline measured in the same run.

    python benchmarks/perf.py            # full sizes (10M-row logs, 500 files, 1M-row watch)
    python benchmarks/perf.py --quick    # 1M rows, 100 files: a few minutes

Every measurement is a fresh subprocess; its wall time comes from a monotonic clock and its peak
memory from the kernel (`os.wait4` rusage, the figure `/usr/bin/time -v` prints). Each figure
is the median of several repetitions after one discarded warm-up (page cache, bytecode: children
may write .pyc files to a temporary prefix, as an installed package has them). Inputs are
generated into a temporary folder and deleted.
Targets are fixed here, not tuned to the result: a MISS is reported, never hidden.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PY = sys.executable
LRDOCTOR = [PY, "-m", "lrdoctor"]
ROOT = Path(__file__).resolve().parent.parent
# Set per run by `run()`: the children's environment (bytecode cache and rule-file cache in
# the temporary folder).
CHILD_ENV: dict[str, str] | None = None


@dataclass
class Sample:
    seconds: float
    peak_mb: float
    cpu: float  # user + system seconds: less disturbed than wall time on a busy machine


@dataclass
class Row:
    case: str
    what: str  # the quantity compared, e.g. "time" or "peak RSS"
    ours: float
    base: float
    unit: str
    ratio: float
    target: str
    ok: bool
    cpu_ratio: float | None = None


# pyarrow's thread pool can abort a process at exit after its work is done (apache/arrow#34314);
# such a run is measured again, up to this many times, and each retry is counted in the report.
EXIT_ABORT = "terminate called without an active exception"
ABORT_RETRIES = 3
aborts_retried = 0


def measure(cmd: list[str], ok_codes=(0, 1)) -> Sample:
    """Run `cmd` once in a fresh process; wall time and the kernel's peak RSS of that process."""
    global aborts_retried
    for _ in range(ABORT_RETRIES):
        sample, code, err = _measure_once(cmd)
        if not (code == -signal.SIGABRT and EXIT_ABORT in err):
            break
        aborts_retried += 1
    if code not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err.strip()[-500:]}")
    return sample


def _measure_once(cmd: list[str]) -> tuple[Sample, int, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=CHILD_ENV
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    # ru_maxrss is in KiB on Linux
    sample = Sample(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
    return sample, proc.returncode, err


def median(cmd: list[str], reps: int, **kw) -> Sample:
    measure(cmd, **kw)  # warm-up, discarded
    runs = [measure(cmd, **kw) for _ in range(reps)]
    return Sample(
        statistics.median(r.seconds for r in runs),
        statistics.median(r.peak_mb for r in runs),
        statistics.median(r.cpu for r in runs),
    )


# -- inputs -------------------------------------------------------------------------------------


def log_columns(rows: int, seed: int = 0) -> dict:
    """A plausible log: noisy decaying loss, cosine LR, val_loss every 100 steps, null between."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    step = np.arange(rows, dtype=np.int64)
    t = step / max(rows - 1, 1)
    loss = 2.0 * np.exp(-5 * t) + 0.2 + 0.05 * rng.standard_normal(rows)
    lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * t))
    val_every = 100
    val = pa.array(loss + 0.05, mask=(step % val_every) != 0)
    return {
        "step": pa.array(step),
        "loss": pa.array(loss),
        "lr": pa.array(lr),
        "grad_norm": pa.array(np.abs(1 + 0.1 * rng.standard_normal(rows))),
        "update_ratio": pa.array(lr * 1e0 + 1e-4),
        "val_loss": val,
    }


def write_parquet(path: Path, rows: int, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(log_columns(rows, seed)), path)
    return path


def write_csv(path: Path, rows: int, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pacsv.write_csv(
        pa.table(log_columns(rows, seed)), path, pacsv.WriteOptions(quoting_style="none")
    )
    return path


def generate(kind: str, path: Path, rows: int, seed: int = 0) -> Path:
    """Write a log in a child process: the kernel's peak RSS of a child starts at its parent's
    (ru_maxrss survives fork), so generating 10M rows here would inflate every figure."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import perf; "
        f"from pathlib import Path; perf.write_{kind}(Path({str(path)!r}), {rows}, {seed})"
    )
    subprocess.run([PY, "-c", code], check=True, env=CHILD_ENV)
    return path


# -- cases --------------------------------------------------------------------------------------


def _pair(
    case: str, ours: Sample, base: Sample, time_limit: float, mem_limit: float | None
) -> list[Row]:
    rows = [
        Row(
            case,
            "time",
            ours.seconds,
            base.seconds,
            "s",
            ours.seconds / base.seconds,
            f"<= {time_limit}x",
            ours.seconds / base.seconds <= time_limit,
            ours.cpu / base.cpu,
        )
    ]
    if mem_limit is not None:
        r = ours.peak_mb / base.peak_mb
        rows.append(
            Row(
                case,
                "peak RSS",
                ours.peak_mb,
                base.peak_mb,
                "MB",
                r,
                f"<= {mem_limit}x",
                r <= mem_limit,
            )
        )
    return rows


READ_TABLE = "import pyarrow.parquet as pq; pq.read_table({path!r})"
READ_CSV = "import pyarrow.csv as pc; pc.read_csv({path!r})"


def case_large(tmp: Path, rows: int, reps: int, kind: str) -> list[Row]:
    """Rows 1-3: a big log, lrdoctor check vs pyarrow reading the same file (all columns)."""
    path = tmp / f"large.{kind}"
    generate(kind, path, rows)
    base = median(
        [PY, "-c", (READ_TABLE if kind == "parquet" else READ_CSV).format(path=str(path))], reps
    )
    ours = median([*LRDOCTOR, "check", str(path), "--format", "json"], reps)
    return _pair(f"{rows:,}-row {kind}", ours, base, 1.3, 1.3)


def case_small(tmp: Path, reps: int) -> list[Row]:
    """Row 4: a 1,000-row log, against the start-up floor of importing numpy and pyarrow."""
    path = generate("parquet", tmp / "small.parquet", 1000)
    base = median([PY, "-c", "import numpy, pyarrow.parquet"], reps)
    ours = median([*LRDOCTOR, "check", str(path)], reps)
    return _pair("1,000-row parquet (start-up)", ours, base, 1.3, None)


READ_ALL = (
    "import pathlib, pyarrow.csv as pc\n"
    "for p in sorted(pathlib.Path({folder!r}).glob('*.csv')): pc.read_csv(p)"
)


def case_many(tmp: Path, files: int, rows: int, reps: int) -> list[Row]:
    """Row 5: many small runs in one call vs one process reading them all; and --jobs 1."""
    folder = tmp / "many"
    folder.mkdir()
    for i in range(files):
        write_csv(folder / f"run{i:04d}.csv", rows, seed=i)
    cores = os.cpu_count() or 1
    base = median([PY, "-c", READ_ALL.format(folder=str(folder))], reps)
    one = median([*LRDOCTOR, "check", str(folder), "--format", "json", "--jobs", "1"], reps)
    alln = median([*LRDOCTOR, "check", str(folder), "--format", "json"], reps)
    label = f"{files} x {rows:,}-row files"
    return [
        *_pair(f"{label} (--jobs {cores} default)", alln, base, 1.5, None),
        *_pair(f"{label}, --jobs 1", one, base, 1.5, None),
    ]


WATCH_SNIPPET = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from lrdoctor.follow import Follower
sys.path.insert(0, {bench!r})
import perf
path = Path({path!r})
perf.write_csv(path, {rows})
text = path.read_bytes()
body = text[text.index(b"\\n") + 1:]
chunk = b"".join(body.splitlines(keepends=True)[:{chunk}])
follower = Follower(path, lambda names: names)
follower.poll()
costs = []
for _ in range({polls}):
    with open(path, "ab") as fh:
        fh.write(chunk)
    t = time.process_time(); follower.poll(); costs.append(time.process_time() - t)
costs.sort()
print(costs[len(costs) // 2])
"""


def case_watch(tmp: Path, rows: int, reps: int) -> list[Row]:
    """Row 6: the CPU of one watch poll (1,000 rows appended) on a long log vs a short one.

    The median of 20 polls per repetition: a poll costs ~1 ms, and with 5 the median of one
    log moved by 1.7x between quiet runs while the instructions per poll stay within 10 % of
    each other at 10,000 and 200,000 rows (valgrind)."""
    chunk, polls = 1000, 20 * reps

    def poll_cost(n: int) -> float:
        code = WATCH_SNIPPET.format(
            root=str(ROOT),
            bench=str(ROOT / "benchmarks"),
            path=str(tmp / f"watch{n}.csv"),
            rows=n,
            chunk=chunk,
            polls=polls,
        )
        out = subprocess.run(
            [PY, "-c", code], cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True, check=True
        ).stdout
        return float(out.split()[-1])

    short, long = poll_cost(10_000), poll_cost(rows)
    ratio = long / short
    return [
        Row(
            f"watch poll (+{chunk:,} rows) at {rows:,} rows vs at 10,000",
            "CPU per poll",
            long * 1e3,
            short * 1e3,
            "ms",
            ratio,
            "<= 1.5x (independent of length)",
            ratio <= 1.5,
        )
    ]


def case_monitor(reps: int, steps: int) -> list[Row]:
    """Row 7: Monitor.update inside a small torch model's training loop (needs torch)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return [
            Row(
                "Monitor.update, torch MLP (torch not installed)",
                "skipped",
                0,
                0,
                "",
                0,
                "<= 1%",
                False,
            )
        ]
    code = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'benchmarks')!r}]; "
        "import monitor_overhead as m, json; "
        f"print(json.dumps(m.main(['--steps', '{steps}', '--reps', '{reps}', "
        "'--memory-steps', '1000'])))"
    )
    import json

    out = subprocess.run(
        [PY, "-c", code], cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True, check=True
    ).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return [
        Row(
            f"Monitor.update, default schedule ({steps:,} steps)",
            "µs per update (share of a step)",
            r["update_us"],
            r["step_us"],
            "µs",
            r["overhead"],
            "<= 1%",
            r["overhead"] <= 0.01,
        ),
        Row(
            f"Monitor(budget=0.01).update ({steps:,} steps)",
            "µs per update (share of a step)",
            r["budget_us"],
            r["step_us"],
            "µs",
            r["budget_overhead"],
            "<= 1%",
            r["budget_overhead"] <= 0.01,
        ),
    ]


TRAIN_SNIPPET = """
import time
from lrdoctor.trainer import TrainConfig, train
c = TrainConfig() if {steps} is None else TrainConfig(steps={steps})
t = time.perf_counter(); log = train(c); dt = time.perf_counter() - t
print(len(log["step"]), dt)
"""


def case_trainer(reps: int, steps: int | None) -> list[Row]:
    """Case 5: the reference trainer's speed on the default MLP, import time excluded.

    Measured as installed, and again with OpenBLAS held to one thread: its threads cost more
    than they give on the trainer's small matrices, badly so when the cores are busy.
    """
    rows = []
    for label, extra in (("", {}), (", OPENBLAS_NUM_THREADS=1", {"OPENBLAS_NUM_THREADS": "1"})):
        rates = []
        for _ in range(reps):
            out = subprocess.run(
                [PY, "-c", TRAIN_SNIPPET.format(steps=steps)],
                cwd=ROOT,
                env={**(CHILD_ENV or os.environ), **extra},
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            rates.append(int(out[0]) / float(out[1]))
        rate = statistics.median(rates)
        rows.append(
            Row(
                f"trainer, TrainConfig() defaults{label}",
                "steps/s",
                rate,
                2000.0,
                "steps/s",
                rate / 2000.0,
                ">= 2000 steps/s" if not extra else "report",
                rate >= 2000 or bool(extra),
            )
        )
    return rows


# -- report -------------------------------------------------------------------------------------


def environment() -> str:
    import numpy
    import pandas
    import pyarrow

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pandas {pandas.__version__}, "
        f"pyarrow {pyarrow.__version__}; {time.strftime('%Y-%m-%d')}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| case | measure | lrdoctor | baseline | ratio | target | result | CPU-time ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cpu = f"{r.cpu_ratio:.2f}x" if r.cpu_ratio is not None else ""
        # A share of a step (the Monitor) reads as a percentage, everything else as a ratio.
        ratio = f"{100 * r.ratio:.2f} %" if r.target.endswith("%") else f"{r.ratio:.2f}x"
        lines.append(
            f"| {r.case} | {r.what} | {r.ours:,.2f} {r.unit} | {r.base:,.2f} {r.unit} | "
            f"{ratio} | {r.target} | {'PASS' if r.ok else 'MISS'} | {cpu} |"
        )
    return "\n".join(lines)


CASES = ("parquet", "csv", "startup", "many", "watch", "monitor", "trainer")


def run(
    rows: int,
    files: int,
    file_rows: int,
    reps: int,
    trainer_steps: int | None,
    watch_rows: int,
    monitor_steps: int,
    only: tuple[str, ...] = CASES,
) -> list[Row]:
    global CHILD_ENV
    out: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lrdoctor-perf-") as tmp:
        tmp = Path(tmp)
        CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        # The rule files' parsed cache, as an installed user has it after the first check
        # (each case's discarded warm-up fills it): private, so that other lrdoctor processes
        # on the machine (a test suite) cannot evict its entries between repetitions.
        CHILD_ENV["LRDOCTOR_CACHE_DIR"] = str(tmp / "cache")
        print(table([]), flush=True)

        def add(rows_: list[Row]) -> None:  # each row as soon as it is measured
            out.extend(rows_)
            print(table(rows_).split("\n", 2)[2], flush=True)

        for kind in ("parquet", "csv"):
            if kind in only:
                add(case_large(tmp, rows, reps, kind))
                (tmp / f"large.{kind}").unlink()  # keep the disk footprint to one big file
        cases = {
            "startup": lambda: case_small(tmp, reps),
            "many": lambda: case_many(tmp, files, file_rows, reps),
            "watch": lambda: case_watch(tmp, watch_rows, reps),
            "monitor": lambda: case_monitor(reps, monitor_steps),
            "trainer": lambda: case_trainer(reps, trainer_steps),
        }
        for name, case in cases.items():
            if name in only:
                add(case())
    return out


BASELINES = f"""baselines (each a fresh process; FILE is the generated log):
  large parquet   {PY} -c "{READ_TABLE.format(path="FILE")}"
  large csv       {PY} -c "{READ_CSV.format(path="FILE")}"
  start-up        {PY} -c "import numpy, pyarrow.parquet"
  many files      {PY} -c "{READ_ALL.format(folder="FOLDER")}"
  watch           Follower.poll CPU (process_time) after appending 1,000 rows, long vs short log
  Monitor         benchmarks/monitor_overhead.py: the same torch loop without the Monitor
"""


def main(argv: list[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1M rows, 100 files, short loops")
    ap.add_argument("--rows", type=int, help="rows of the large logs (default 10M, quick 1M)")
    ap.add_argument("--files", type=int, help="files in the many-files case (500, quick 100)")
    ap.add_argument("--file-rows", type=int, default=2000, help="rows per file (2,000)")
    ap.add_argument("--reps", type=int, help="repetitions per measurement (5, quick 3)")
    ap.add_argument("--watch-rows", type=int, help="length of the long watched log (1M)")
    ap.add_argument("--monitor-steps", type=int, help="torch steps (20,000, quick 5,000)")
    ap.add_argument("--trainer-steps", type=int, help="override TrainConfig().steps (tests)")
    ap.add_argument("--serial", type=int, help=argparse.SUPPRESS)  # accepted, no longer used
    ap.add_argument("--only", help=f"comma-separated cases to run (default all: {','.join(CASES)})")
    ap.add_argument(
        "--write-doc",
        type=Path,
        metavar="MD",
        help="also write the table into MD: its 'perf' block with --quick, its 'perf-full' "
        "block at full sizes (<!-- measured: perf -->, <!-- measured: perf-full -->)",
    )
    a = ap.parse_args(argv)
    only = tuple(a.only.split(",")) if a.only else CASES
    unknown = sorted(set(only) - set(CASES))
    if unknown:
        ap.error(f"--only: unknown case(s) {', '.join(unknown)}; cases: {', '.join(CASES)}")
    load_start = os.getloadavg()[0]
    rows = a.rows or (1_000_000 if a.quick else 10_000_000)
    files = a.files or (100 if a.quick else 500)
    reps = a.reps or (3 if a.quick else 5)
    watch_rows = a.watch_rows or (200_000 if a.quick else 1_000_000)
    monitor_steps = a.monitor_steps or (5_000 if a.quick else 20_000)
    print(environment())
    print(
        f"sizes: {rows:,} rows, {files} x {a.file_rows:,}-row files, watch up to "
        f"{watch_rows:,} rows, {monitor_steps:,} torch steps, median of {reps}\n"
    )
    print(BASELINES, flush=True)
    result = run(rows, files, a.file_rows, reps, a.trainer_steps, watch_rows, monitor_steps, only)
    load_end = os.getloadavg()[0]
    print(f"\nload average at the end: {load_end:.1f}")
    if aborts_retried:
        print(f"runs measured again after pyarrow's abort at exit: {aborts_retried}")
    if a.write_doc is not None:
        command = " ".join(
            ["python benchmarks/perf.py", *(argv if argv is not None else sys.argv[1:])]
        )
        block = "perf" if a.quick else "perf-full"
        write_block(a.write_doc, result, command, load_start, load_end, block)
    return result


def write_block(
    doc: Path,
    rows: list[Row],
    command: str,
    load_start: float,
    load_end: float,
    block: str = "perf",
):
    """Put the table into block `block` of `doc` (benchmarks/measured.py: written by this
    script only, with the command, commit, date, machine and load)."""
    import pandas
    import pyarrow

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # loaded by path in the tests
    import measured

    note = (
        f"pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, {platform.machine()} "
        f"{platform.system()} {platform.release()}; **load average {load_start:.1f} at the "
        f"start, {load_end:.1f} at the end** (2 cores: above ~1 the wall times are inflated)"
    )
    body = f"{table(rows)}\n\n```text\n{BASELINES.rstrip()}\n```"
    measured.write(doc, block, body, command, markdown=True, note=note)


if __name__ == "__main__":
    main()
