"""The speed-ups in the shared statistics give the numbers the whole-series versions gave."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lrdoctor import numeric
from lrdoctor.detectors import stats
from lrdoctor.detectors.shape import loss_exploded
from lrdoctor.readers.base import table_from_arrow
from lrdoctor.run import Run, Series

series_st = st.integers(5, 3000).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, 2**32 - 1), st.integers(5, 200))
)


def _noisy(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.exp(-np.linspace(0, 3, n)) + 0.1 * rng.standard_normal(n)


@settings(max_examples=60, deadline=None)
@given(series_st, st.floats(0.0, 5.0))
def test_above_reference_equals_the_expanded_comparison(case, z):
    n, seed, size = case
    size = min(size, n)
    values = _noisy(n, seed)
    level, scale = stats.local_reference_bins(values, size)
    full_level, full_scale = stats.local_reference(values, size)
    expected = (values - full_level) > z * full_scale
    assert np.array_equal(stats.above_reference(values, size, level, z * scale), expected)


@settings(max_examples=60, deadline=None)
@given(series_st)
def test_binned_is_exact_below_the_sample_size(case):
    n, seed, bins = case
    s = Series(np.arange(n, dtype=float) * 3.0, _noisy(n, seed))
    curve = stats.binned(s, bins)
    size = stats.bin_size(n, bins)
    full = (n // size) * size
    blocks = [s.value[i : i + size] for i in range(0, full, size)]
    if full < n:
        blocks.append(s.value[full:])
    assert np.array_equal(curve.level, [np.percentile(b, 50) for b in blocks])
    steps = [s.step[i : i + size] for i in range(0, full, size)] + (
        [s.step[full:]] if full < n else []
    )
    assert np.array_equal(curve.step, [np.median(b) for b in steps])
    assert curve.per_bin == 0


def test_binned_samples_large_bins_and_says_so_in_its_standard_error():
    n = 40 * stats.SAMPLE
    values = _noisy(n, 1)
    curve = stats.binned(Series(np.arange(n, dtype=float), values), 4)
    exact = np.median(values.reshape(4, -1), axis=1)
    assert 0 < curve.per_bin <= stats.SAMPLE
    # within a small fraction of the noise (sigma 0.1) of the exact medians
    assert np.max(np.abs(curve.level - exact)) < 0.01
    assert stats.median_se(curve, n) == 1.2533 * curve.noise / np.sqrt(curve.per_bin)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0.01, 100.0), min_size=11, max_size=200),
    st.floats(1.5, 20.0),
    st.integers(1, 6),
)
def test_loss_exploded_matches_the_convolution_it_replaced(values, factor, min_steps):
    loss = np.asarray(values)
    run = Run("x", {"loss": Series(np.arange(len(loss), dtype=float), loss)})
    start = min(float(loss[0]), stats.head_level(loss))
    limit = max(factor * start, float(loss[0]))  # and above where training started
    # The initial fall from a first value above the limit is skipped (1/(1+t) is no explosion).
    loss = loss[int(np.argmin(loss > limit)) :]
    runs = np.convolve((loss > limit).astype(int), np.ones(min_steps, int), "valid")
    expected = float(loss.max()) / start if runs.size and runs.max() >= min_steps else None
    assert loss_exploded(run, factor, min_steps) == expected


def test_multi_chunk_columns_convert_in_one_array_with_nulls_kept():
    chunks = [pa.array([1.0, None, 3.0]), pa.array([4.0, 5.0]), pa.array([], pa.float64())]
    steps = pa.chunked_array([pa.array([0, 1, 2], pa.int64()), pa.array([3, 4], pa.int64())])
    table = pa.table({"step": steps, "loss": pa.chunked_array(chunks[:2] + chunks[2:])})
    held = [table]
    del table
    out = table_from_arrow("t", held)
    assert held == []  # handed over
    assert out.values["step"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert np.isnan(out.values["loss"][1]) and out.empty["loss"].tolist() == [
        False,
        True,
        False,
        False,
        False,
    ]
    assert out.values["loss"][[0, 2, 3, 4]].tolist() == [1.0, 3.0, 4.0, 5.0]


# Values a log can hold, including the ones whose arithmetic is delicate (signed zeros, NaNs of
# both signs, infinities, the extremes of float64).
SPECIAL = (0.0, -0.0, float("nan"), -float("nan"), float("inf"), -float("inf"), 1e308, 5e-324)
cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SPECIAL))


def _same(ours, numpys) -> bool:
    """Bit for bit: values, NaN positions, signs (of zeros and NaNs), shape and dtype."""
    a, b = np.asarray(ours), np.asarray(numpys)
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a, b, equal_nan=True)
        and np.array_equal(np.signbit(a), np.signbit(b))
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(cells, min_size=1, max_size=60), st.integers(1, 6))
def test_median_is_numpys_bit_for_bit(values, width):
    x = np.asarray(values, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(x, min(width, len(x)))
    with np.errstate(all="ignore"):
        assert _same(numeric.median(x), np.median(x))
        assert _same(numeric.median(windows, axis=1), np.median(windows, axis=1))
        assert _same(numeric.median(x[::2]), np.median(x[::2]))


@settings(max_examples=120, deadline=None)
@given(
    st.integers(numeric.SELECT_FROM, 3 * numeric.SELECT_FROM),
    st.integers(0, 2**32 - 1),
    st.lists(st.tuples(st.integers(0, 10**6), cells), max_size=6),
    st.sampled_from([None, 3, 1, 2]),
)
def test_long_medians_are_numpys_bit_for_bit(n, seed, specials, rows):
    """The selection path (past SELECT_FROM values) and the 3-point path, with a few special
    values (NaNs, signed zeros, infinities) planted in noise or in repeated values."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) if seed % 2 else rng.integers(-2, 3, n).astype(float)
    for at, value in specials:
        x[at % n] = value
    block = x[: n - n % rows].reshape(rows, -1) if rows else None
    with np.errstate(all="ignore"):
        assert _same(numeric.median(x), np.median(x))
        assert _same(numeric.median(x[1:]), np.median(x[1:]))
        windows = np.lib.stride_tricks.sliding_window_view(x, 3)
        assert _same(numeric.median(windows, axis=1), np.median(windows, axis=1))
        if block is not None:
            assert _same(numeric.median(block, axis=1), np.median(block, axis=1))


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 5), st.integers(1, 40), st.data())
def test_quartiles_are_numpys_percentiles_bit_for_bit(rows, cols, data):
    block = np.asarray(
        data.draw(st.lists(cells, min_size=rows * cols, max_size=rows * cols)), dtype=float
    ).reshape(rows, cols)
    with np.errstate(all="ignore"):
        expected = np.percentile(block, [25, 50, 75], axis=1)
        assert _same(numeric.quartiles(block), expected)
        assert _same(numeric.median(block, axis=1), np.median(block, axis=1))
        strided = block[:, ::3]
        assert _same(numeric.quartiles(strided), np.percentile(strided, [25, 50, 75], axis=1))


@settings(max_examples=120, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(16, 3000),
    st.integers(0, 2**32 - 1),
    st.lists(st.tuples(st.integers(0, 10**6), cells), max_size=6),
)
def test_large_quartiles_are_numpys_percentiles_bit_for_bit(rows, cols, seed, specials):
    """The nested path (from NESTED_FROM values), in noise or in repeated values, with a few
    special values (NaNs, signed zeros, infinities) planted; and on a strided view."""
    rows = max(rows, -(-numeric.NESTED_FROM // cols))
    rng = np.random.default_rng(seed)
    shape = (rows, cols)
    block = rng.standard_normal(shape) if seed % 2 else rng.integers(-2, 3, shape).astype(float)
    for at, value in specials:
        block.flat[at % block.size] = value
    with np.errstate(all="ignore"):
        expected = np.percentile(block, [25, 50, 75], axis=1)
        assert _same(numeric.quartiles(block), expected)
        strided = block[:, ::2]
        assert _same(numeric.quartiles(strided), np.percentile(strided, [25, 50, 75], axis=1))


@settings(max_examples=200, deadline=None)
@given(st.lists(cells, max_size=40), st.lists(st.booleans(), max_size=40), st.integers(0, 40))
def test_finite_values_and_where_true_are_the_masks_they_replace(values, flags, run_from):
    """The same values as boolean indexing, whether the mask is one run of Trues (a view) or
    not; a sum that overflows (finite values) still gives every value."""
    x = np.asarray(values, dtype=float)
    assert _same(numeric.finite_values(x), x[np.isfinite(x)])
    big = np.full(3, 1e308)
    assert _same(numeric.finite_values(big), big)
    mask = np.resize(np.asarray(flags, dtype=bool), len(x)) if flags else np.zeros(len(x), bool)
    assert _same(numeric.where_true(x, mask), x[mask])
    run = np.arange(len(x)) >= run_from
    assert _same(numeric.where_true(x, run), x[run])
    assert _same(numeric.where_true(x, ~run), x[~run])


@settings(max_examples=100, deadline=None)
@given(st.lists(cells, max_size=30))
def test_finite_rows_are_the_series_finite_rows(values):
    x = np.asarray(values, dtype=float)
    s = Series(np.arange(len(x), dtype=float), x)
    keep = np.isfinite(x)
    ours, theirs = s.finite(), Series(s.step[keep], x[keep])
    assert _same(ours.step, theirs.step) and _same(ours.value, theirs.value)
    assert numeric.all_finite(x) == bool(np.isfinite(x).all())


def test_median_and_quartiles_leave_other_inputs_to_numpy():
    ints = np.array([3, 1, 2, 8], dtype=np.int64)
    assert _same(numeric.median(ints), np.median(ints))
    f32 = np.array([1.5, 2.5], dtype=np.float32)
    assert _same(numeric.median(f32), np.median(f32))
    cube = np.arange(24, dtype=float).reshape(2, 3, 4)
    assert _same(numeric.median(cube, axis=1), np.median(cube, axis=1))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.sampled_from((0.0, 1.0, 2.0))), min_size=3, max_size=40
    )
)
def test_order_correlation_is_numpys_corrcoef_bit_for_bit(levels):
    """The rank trend's exact shortcut against np.corrcoef of order and ranks (ties included)."""
    from lrdoctor.detectors.direction import _order_correlation

    ranks = np.argsort(np.argsort(np.asarray(levels)))
    order = np.arange(len(ranks), dtype=float)
    expected = float(np.corrcoef(order, ranks.astype(float))[0, 1])
    assert _same(_order_correlation(ranks), expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(cells, min_size=1, max_size=300), st.integers(1, 6))
def test_mean_and_pair_means_are_numpys_bit_for_bit(values, cols):
    x = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"):
        assert _same(numeric.mean(x), np.mean(x))
        rows = len(x) // (2 * cols)
        if rows:
            block = x[: rows * 2 * cols].reshape(rows, 2 * cols)
            mid = cols
            expected = np.mean(block[:, mid - 1 : mid + 1], axis=1)
            assert _same(stats._middle_pair_mean(block, mid), expected)
