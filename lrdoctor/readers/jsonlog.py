"""JSON logs: JSON Lines from custom loggers, JSON arrays of records, Keras `history.history`."""

from __future__ import annotations

import json
from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.records import run_key, split_runs, table_from_records

# Larger JSON documents (not lines) are refused rather than parsed into memory whole.
MAX_JSON_BYTES = 512 * 1024 * 1024


def _int(text: str) -> int | float:
    """A JSON integer. Python refuses to parse one of over 4,300 digits (a ValueError, not a
    JSON error); that far past float range, it is read as the float it would become: ±inf."""
    return int(text) if len(text) <= 4000 else float(text)


_DECODER = json.JSONDecoder(parse_int=_int)


def loads(text: str) -> object:
    """`json.loads` for text from a log: integers of any length read (see `_int`)."""
    return _DECODER.decode(text)


def flatten(record: dict, prefix: str = "") -> dict:
    """`{"train": {"loss": 1}}` -> `{"train/loss": 1}` (loggers that nest their metrics)."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}/"))
        else:
            out[name] = value
    return out


def load_json(path: Path) -> object:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise InputError(path, "the JSON document is over 512 MiB", "write JSON Lines instead")
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return loads(fh.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not valid JSON ({exc})") from exc


def records_to_tables(
    source: str,
    records: list[dict],
    select: Select,
    notes: list[str],
    meta: dict[str, str] | None = None,
) -> list[Table]:
    """Records to tables, one per run when a `run`/`run_id`/`name` key tells the runs apart."""
    records = [flatten(r) for r in records]
    key = run_key({k for r in records[:1000] for k in r})
    labels = [None if r.get(key) is None else str(r.get(key)) for r in records] if key else []
    wanted = (lambda names: {n for n in select(names) if n != key}) if key else select
    table = table_from_records(source, records, wanted, notes, meta)
    return split_runs(table, labels, key) if key else [table]


class JsonLinesReader:
    name = "jsonl"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
        if not text.startswith("{"):  # the stripped text's first line starts with its start
            return False
        lines = text.splitlines()
        try:
            first = loads(lines[0])
        except json.JSONDecodeError:
            return False
        if not isinstance(first, dict) or all(isinstance(v, list) for v in first.values()):
            return False  # a one-line {metric: [values]} history is a JSON document
        return len(lines) == 1 or lines[1].lstrip()[:1] in "{"

    def read(self, path: Path, select: Select) -> list[Table]:
        records: list[dict] = []
        bad, last_bad = 0, False
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rec = loads(line)
                    last_bad = not isinstance(rec, dict)
                except json.JSONDecodeError:
                    last_bad = True
                if last_bad:
                    bad += 1
                else:
                    records.append(rec)
        notes = []
        if bad:
            live = " (the last one: a job still writing?)" if last_bad and bad == 1 else ""
            notes.append(
                f"{bad} line{'s' if bad != 1 else ''} could not be parsed and were skipped{live}"
            )
        if not records:
            raise InputError(path, "holds no JSON records")
        return records_to_tables(str(path), records, select, notes)


class JsonReader:
    name = "json"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
        return text.startswith(("[", "{"))

    def read(self, path: Path, select: Select) -> list[Table]:
        doc = load_json(path)
        if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
            return records_to_tables(str(path), doc, select, [])
        if isinstance(doc, dict) and doc and all(isinstance(v, list) for v in doc.values()):
            return [history_table(str(path), doc, select)]
        from lrdoctor.readers import supported_formats

        raise InputError(
            path,
            "is JSON but neither a list of records nor a {metric: [values]} history",
            f"supported: {supported_formats()}",
        )


def history_table(source: str, history: dict[str, list], select: Select) -> Table:
    """Keras `history.history`: the list index is the epoch, which becomes the step."""
    n = max(len(v) for v in history.values())
    records = [
        {"epoch": i, **{k: v[i] for k, v in history.items() if i < len(v)}} for i in range(n)
    ]
    table = table_from_records(
        source,
        records,
        lambda names: {*select(names), "step"},
        rename={"epoch": "step"},
        meta={"framework": "keras", "loss_rows": "epoch_mean"},
    )
    table.notes.append("a Keras history: the epoch index was used as the step")
    return table
