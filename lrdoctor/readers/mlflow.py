"""MLflow tracking data, read without mlflow: the `mlruns/` file store and the SQLite backend."""

from __future__ import annotations

from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.records import RUN_PARAMS, table_from_series, yaml_pairs

SQLITE_MAGIC = b"SQLite format 3\x00"
# MLflow clamps ±inf to ±float max before storing; map them back.
_CLAMP = 1.7976931348623157e308


def _is_run(path: Path) -> bool:
    return (path / "metrics").is_dir() and (path / "meta.yaml").is_file()


def _is_experiment(path: Path) -> bool:
    return (path / "meta.yaml").is_file() and any(_is_run(p) for p in _dirs(path))


def _dirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _read_run(run_dir: Path, select: Select, source: str) -> Table:
    metrics = run_dir / "metrics"
    series, notes = {}, []
    for f in sorted(p for p in metrics.rglob("*") if p.is_file()):
        key = f.relative_to(metrics).as_posix()
        steps, values = [], []
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            try:
                values.append(float(parts[1]))
                steps.append(int(parts[2]) if len(parts) > 2 else 0)
            except ValueError:
                values = values[: len(steps)]
                continue
        series[key] = (steps, values)
    return table_from_series(source, series, select, notes, run_meta(run_dir))


def run_meta(run_dir: Path) -> dict[str, str]:
    """A run's id, name, status and optimizer (from its params) for the Table's meta."""
    meta = {"framework": "mlflow", "run_id": run_dir.name}
    info = yaml_pairs(run_dir / "meta.yaml")
    for key in ("run_name", "status"):
        if info.get(key):
            meta[key] = info[key]
    params = run_dir / "params"
    for name, target in RUN_PARAMS.items():
        if (params / name).is_file():
            meta.setdefault(target, (params / name).read_text(errors="replace").strip())
    return meta


class MlflowStoreReader:
    name = "mlflow"

    def claims_dir(self, path: Path) -> bool:
        return _is_run(path) or _is_experiment(path) or any(_is_experiment(p) for p in _dirs(path))

    def reads(self, path: Path, rel: str) -> bool:
        return "artifacts" not in rel.split("/")[:-1]  # metrics, params, tags and meta.yaml

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, select: Select) -> list[Table]:
        if _is_run(path):
            return [_read_run(path, select, str(path))]
        experiments = (
            [path] if _is_experiment(path) else [p for p in _dirs(path) if _is_experiment(p)]
        )
        runs = [r for e in experiments for r in _dirs(e) if _is_run(r)]
        tables = []
        for r in runs:
            name = yaml_pairs(r / "meta.yaml").get("run_name") or r.name
            tables.append(_read_run(r, select, f"{path}::{name}"))
        _unique_sources(tables)
        if not tables:
            raise InputError(path, "the MLflow store holds no runs")
        return tables


def _unique_sources(tables: list[Table]) -> None:
    seen: dict[str, int] = {}
    for t in tables:
        seen[t.source] = seen.get(t.source, 0) + 1
    for t in tables:
        if seen[t.source] > 1:
            t.source += f" ({t.meta['run_id'][:8]})"


class MlflowSqliteReader:
    name = "mlflow-sqlite"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(SQLITE_MAGIC) and {"metrics", "runs"} <= _tables(path)

    def read(self, path: Path, select: Select) -> list[Table]:
        import sqlite3

        import numpy as np

        try:
            con = sqlite3.connect(sqlite_uri(path), uri=True)
            _require_tables(con, path, ("runs", "metrics", "params"))
            runs = con.execute("SELECT run_uuid, name, status FROM runs").fetchall()
            rows = con.execute(
                "SELECT run_uuid, key, step, value, is_nan FROM metrics "
                "ORDER BY run_uuid, key, timestamp, step"
            ).fetchall()
            params = con.execute("SELECT run_uuid, key, value FROM params").fetchall()
        except sqlite3.Error as exc:
            raise InputError(path, f"not an MLflow database ({exc})") from exc
        finally:
            if "con" in locals():
                con.close()  # read-only, but release the file handle either way
        by_run: dict[str, dict[str, tuple[list, list]]] = {}
        for run_uuid, key, step, value, is_nan in rows:
            s = by_run.setdefault(run_uuid, {}).setdefault(key, ([], []))
            s[0].append(step)
            s[1].append(float("nan") if is_nan else value)
        tables = []
        for run_uuid, name, status in runs:
            if run_uuid not in by_run:
                continue
            series = {}
            for key, (steps, values) in by_run[run_uuid].items():
                v = np.asarray(values, np.float64)
                v[v >= _CLAMP] = np.inf
                v[v <= -_CLAMP] = -np.inf
                series[key] = (steps, v)
            meta = {
                "framework": "mlflow",
                "run_id": run_uuid,
                "run_name": name or run_uuid,
                "status": status or "",
            }
            for p_run, key, value in params:
                if p_run == run_uuid and key in RUN_PARAMS:
                    meta.setdefault(RUN_PARAMS[key], value)
            tables.append(
                table_from_series(f"{path}::{name or run_uuid}", series, select, meta=meta)
            )
        _unique_sources(tables)
        if not tables:
            raise InputError(path, "the MLflow database holds no logged metrics")
        return tables


def sqlite_uri(path: Path) -> str:
    """A read-only, immutable `file:` URI: a `?` or `#` in the name stays part of the name, and
    SQLite writes no journal, WAL or lock file next to the user's database."""
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()), safe='/')}?mode=ro&immutable=1"


def _require_tables(con, path: Path, names: tuple[str, ...]) -> None:
    """The MLflow tables must be tables: a view can compute rows without end."""
    query = "SELECT name, type FROM sqlite_master WHERE name IN (?, ?, ?)"
    found = dict(con.execute(query, names).fetchall())
    odd = [n for n in names if found.get(n) != "table"]
    if odd:
        raise InputError(path, f"not an MLflow database (no table {odd[0]!r})")


def _tables(path: Path) -> set[str]:
    """The database's table names. MLflow 3.x creates ~30 tables through its migrations, so
    `metrics` is not always in the first pages: ask SQLite (read-only) rather than scan bytes."""
    import sqlite3

    try:
        con = sqlite3.connect(sqlite_uri(path), uri=True)
        try:
            return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.Error:
        return set()
