"""How `--jobs` hands inputs to its workers: in order, in batches that shrink towards the end;
the reports are those of checking each input here, one after the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrdoctor.engine import BATCH_BYTES, _batches, check_path, check_paths
from lrdoctor.session import open_session

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize(("n", "jobs"), [(1, 2), (7, 2), (100, 2), (500, 2), (90, 3)])
def test_batches_cover_every_input_in_order_and_shrink(tmp_path: Path, n: int, jobs: int) -> None:
    paths = []
    for i in range(n):
        paths.append(tmp_path / f"{i}.csv")
        paths[-1].write_bytes(b"x" * 150_000)
    batches = _batches(paths, list(range(n)), jobs)
    assert [i for b in batches for i in b] == list(range(n))
    sizes = [len(b) for b in batches]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] == 1
    assert all(len(b) * 150_000 <= BATCH_BYTES for b in batches if len(b) > 1)
    # Each batch is at most a quarter of a worker's share of what was left to hand out.
    left = n
    for size in sizes:
        assert size <= max(1, -(-left // (4 * jobs)))
        left -= size


def test_a_big_input_goes_alone(tmp_path: Path) -> None:
    sizes = [10, BATCH_BYTES + 1, *[10] * 10]
    paths = []
    for i, size in enumerate(sizes):
        paths.append(tmp_path / f"{i}.csv")
        with open(paths[-1], "wb") as fh:
            fh.truncate(size)
    batches = _batches(paths, list(range(len(sizes))), 1)
    assert batches[:3] == [[0], [1], [2, 3, 4]]


def test_workers_report_what_one_process_reports(tmp_path: Path) -> None:
    inputs = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".csv", ".gz", ".parquet"))
    (tmp_path / "broken.csv").write_text("")
    inputs = [*inputs[:20], tmp_path / "broken.csv"]
    planned = open_session().planned
    alone = [r.to_dict() for p in inputs for r in check_path(p, planned, open_session().options)]
    pooled = check_paths(inputs, planned, open_session().options, jobs=2)
    assert [r.to_dict() for r in pooled.runs] == alone
    assert pooled.runs[-1].error is not None


def test_a_pool_that_breaks_while_inputs_are_handed_out_loses_none(monkeypatch) -> None:
    """A worker that dies before the last batch is submitted breaks the pool under `submit`
    itself (under load the full suite saw it): the batches not yet sent are checked again."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    inputs = sorted(p for p in FIXTURES.iterdir() if p.suffix == ".csv")[:12]
    planned = open_session().planned
    alone = [r.to_dict() for p in inputs for r in check_path(p, planned, open_session().options)]
    real, calls = ProcessPoolExecutor.submit, []

    def submit(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise BrokenProcessPool("a worker died")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    pooled = check_paths(inputs, planned, open_session().options, jobs=2)
    assert len(calls) > 2  # the unsent batches went out again
    assert [r.to_dict() for r in pooled.runs] == alone
