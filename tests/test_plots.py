"""Pictures: binned curves keep spikes, the run figure marks findings, the HTML page is
self-contained, `plot` writes PNG/SVG, and a missing matplotlib is one line and exit 2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.curves import bin_series

needs_mpl = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib (the plot extra) is not installed",
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_binning_keeps_a_one_step_spike_and_the_nonfinite_steps():
    step = np.arange(100_000, dtype=float)
    value = np.full(len(step), 1.0)
    value[54_321] = 500.0
    value[77_000:77_010] = np.nan
    curve = bin_series(step, value, max_bins=500)
    assert curve.binned and len(curve) == 500
    assert curve.high.max() == 500.0  # the bin keeps its spike as its high
    assert np.nanmax(curve.mean) == pytest.approx(1 + 499 / 200)  # its mean: 200 steps
    spike_bin = int(np.argmax(curve.high))
    assert curve.step[spike_bin - 1] < 54_321 < curve.step[spike_bin + 1]
    assert curve.nonfinite.tolist() == list(range(77_000, 77_010))
    assert curve.low.min() == 1.0


def test_a_short_series_is_kept_point_for_point():
    curve = bin_series(np.arange(10.0), np.linspace(1, 2, 10))
    assert not curve.binned and curve.mean.tolist() == np.linspace(1, 2, 10).tolist()


def _report(*names):
    """The fixtures checked as `--format html` checks them (curves kept)."""
    import dataclasses

    from lrdoctor.session import open_session

    session = open_session()
    session = dataclasses.replace(
        session, options=dataclasses.replace(session.options, curves=True)
    )
    return session.check([FIXTURES / n for n in names])


@needs_mpl
def test_run_figure_marks_every_finding_and_the_suggested_lr():
    from lrdoctor.plots.run import run_figure

    (r,) = _report("warmup_too_high.parquet").runs
    assert {f.rule for f in r.findings} >= {"LR001", "SC001"}
    fig = run_figure(r)
    lane, loss, lr = fig.axes[0], fig.axes[1], fig.axes[2]
    labels = [t.get_text() for t in lane.texts]
    assert all(any(t.startswith(f" {f.rule} ") for t in labels) for f in r.findings)
    assert loss.get_yscale() == "log" and lr.get_yscale() == "log"
    assert [a.get_ylabel() for a in fig.axes[2:]] == [
        "LR (log)",
        "grad norm (log)",
        "update ratio (log)",
    ]
    low, high = lr.get_ylim()
    assert low < r.suggested_lr < high
    legend = [t.get_text() for t in lr.get_legend().get_texts()]
    assert "suggested LR 0.01" in legend and "this run: peak 0.5" in legend


@needs_mpl
def test_one_huge_loss_is_clipped_and_marked_not_flattening_the_curve():
    from lrdoctor.plots.run import robust_top

    high = np.linspace(1.0, 0.1, 1000)
    high[500] = 1e6
    top = robust_top(high, np.linspace(1.0, 0.1, 1000))  # the running median ignores it
    assert top is not None and top < 2.0
    assert robust_top(np.linspace(1.0, 0.1, 1000), np.linspace(1.0, 0.1, 1000)) is None


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.svgs, self.rules, self.text = set(), [], 0, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a":
            self.links.append(a.get("href"))
        if tag == "svg":
            self.svgs += 1
        if "data-rule" in a:
            self.rules.append(a["data-rule"])

    def handle_data(self, data):
        self.text.append(data)


@needs_mpl
def test_html_page_is_self_contained_with_a_linked_section_per_run(tmp_path):
    out = tmp_path / "report.html"
    names = ["warmup_too_high.parquet", "spirals_sgd_diverge_nan.parquet", "spike_recovers.parquet"]
    result = run("check", *(FIXTURES / n for n in names), "--format", "html", "--output", out)
    assert result.exit_code == 1, result.output
    page = out.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    parser = _Page()
    parser.feed(page)
    assert parser.svgs == 3
    assert parser.links == ["#run-0", "#run-1", "#run-2"]
    assert {"run-0", "run-1", "run-2"} <= parser.ids
    report = _report(*names)
    assert parser.rules == [f.rule for r in report.runs for f in r.findings]
    # the rule ids are text inside the figures too (svg text, not outlines)
    svg_text = page[page.index("<svg") :]
    assert all(
        f">{f.rule} " in svg_text or f" {f.rule} " in svg_text
        for r in report.runs
        for f in r.findings
    )


@needs_mpl
def test_plot_writes_png_and_svg(tmp_path):
    png, svg = tmp_path / "run.png", tmp_path / "run.svg"
    assert run("plot", FIXTURES / "spike_recovers.parquet", "-o", png).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("plot", FIXTURES / "spike_recovers.parquet", "-o", svg).exit_code == 0
    assert "<svg" in svg.read_text() and "SP001" in svg.read_text()


@needs_mpl
def test_plot_refuses_an_unknown_picture_format_and_a_missing_file(tmp_path):
    bad = run("plot", FIXTURES / "spike_recovers.parquet", "-o", tmp_path / "run.gif")
    assert bad.exit_code == 2 and bad.output.startswith("lrdoctor: error: --output ")
    assert len(bad.output.strip().splitlines()) == 1
    gone = run("plot", tmp_path / "nope.csv", "-o", tmp_path / "run.png")
    assert gone.exit_code == 2 and gone.output.startswith("lrdoctor: error: ")
    assert not (tmp_path / "run.png").exists()


@pytest.mark.parametrize("args", [("check", "--format", "html"), ("plot", "-o", "x.png")])
def test_without_matplotlib_one_line_names_the_extra(monkeypatch, tmp_path, args):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    command, *rest = args
    result = run(command, FIXTURES / "spike_recovers.parquet", *rest)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lrdoctor: error: ")
    assert lines[0].endswith("pip install 'lrdoctor[plot]'")


def test_plain_check_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from lrdoctor.cli import app\n"
        f"r = CliRunner().invoke(app, ['check', {str(FIXTURES / 'spike_recovers.parquet')!r}])\n"
        "print(r.exit_code, 'matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    )
    assert out.stdout.split() == ["0", "False"]


@needs_mpl
def test_lr_find_plot_marks_every_candidate_and_highlights_the_default(tmp_path):
    from lrdoctor.lrfind import analyse_run
    from lrdoctor.plots.lrfind import lrfind_figure
    from lrdoctor.session import open_session

    path = FIXTURES / "range_test_spirals_sgd.parquet"
    out = tmp_path / "lr.png"
    result = run("lr-find", path, "--plot", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    found = analyse_run(open_session().read(path)[0])
    ax = lrfind_figure(found).axes[0]
    assert ax.get_xscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    for name, value in found.candidates.items():
        if value is not None:
            (x,) = lines[f"{name} {fmt(value)}"].get_xdata()
            assert x == value
    default = lines[f"suggested {fmt(found.suggested_lr)} (landmarks)"]
    assert default.get_xdata()[0] == found.suggested_lr
    assert default.get_linewidth() > max(
        lines[k].get_linewidth() for k in lines if k != default.get_label()
    )
    reasons = fig_text(lrfind_figure(found))
    assert all(name in reasons for name in found.candidates)


def fmt(x):
    from lrdoctor.present import fmt_lr

    return fmt_lr(x)


def fig_text(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


@needs_mpl
def test_compare_plot_draws_the_u_curve_with_best_edge_and_suggestion(tmp_path):
    from lrdoctor.compare import CompareResult, RunSummary
    from lrdoctor.plots.sweep import compare_figure

    lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    runs = [
        RunSummary(f"r{k}", lr, final, final, 2.0, optimizer="sgd")
        for k, (lr, final) in enumerate(zip(lrs, [1.5, 0.9, 0.4, 0.7, float("inf")], strict=False))
    ]
    result = CompareResult(runs, "final_loss", 1e-2, 1e-1, 2e-2, 0.018)
    ax = compare_figure(result).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["sgd"].get_xdata()) == lrs[:4]  # the diverged run is not on the curve
    assert list(lines["sgd: diverged"].get_xdata()) == [1.0]
    assert lines["best 0.01"].get_xdata()[0] == 1e-2
    assert lines["largest stable 0.1"].get_xdata()[0] == 1e-1
    assert lines["suggested next 0.02"].get_xdata()[0] == 2e-2

    paths = []
    for lr, final in zip(lrs[:4], [1.5, 0.9, 0.4, 0.7], strict=True):
        p = tmp_path / f"run_lr={lr:g}.csv"
        steps = np.arange(200)
        losses = 2.0 - (2.0 - final) * (1 - np.exp(-steps / 40))
        p.write_text(
            "step,loss\n" + "".join(f"{s},{v}\n" for s, v in zip(steps, losses, strict=True))
        )
        paths.append(p)
    out = tmp_path / "u.svg"
    cli = run("compare", *paths, "--plot", out)
    assert cli.exit_code == 0, cli.output
    assert "best 0.01" in out.read_text()


def test_plot_options_without_matplotlib_say_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run(
        "lr-find", FIXTURES / "range_test_spirals_sgd.parquet", "--plot", tmp_path / "a.png"
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "lrdoctor: error: lr-find --plot needs matplotlib, which is not installed — "
        "pip install 'lrdoctor[plot]'"
    ]


@needs_mpl
def test_notebook_repr_shows_the_report_sections_with_all_panels():
    from lrdoctor.api import check

    report = check(str(FIXTURES / "warmup_too_high.parquet"), curves=True)
    html = report._repr_html_()
    assert html.startswith('<div class="lrdoctor">') and "<body" not in html
    assert html.count("<svg") == 1 and "grad norm" in html and "LR001" in html
    assert "body {" not in html  # the scoped style leaves the notebook's page alone


def test_notebook_repr_without_matplotlib_is_a_table(monkeypatch):
    from lrdoctor.api import check

    report = check(str(FIXTURES / "warmup_too_high.parquet"))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    html = report._repr_html_()
    assert html.startswith("<table>") and "LR001" in html and "fail" in html


@needs_mpl
def test_lr_find_plot_carries_every_note_and_the_budget():
    from lrdoctor.lrfind import analyse
    from lrdoctor.plots.lrfind import lrfind_figure

    x = np.linspace(-6, 1, 60)  # 60 steps over 7 decades: short and fast
    loss = 2.3 - 2.0 / (1 + np.exp(-(x + 3) / 0.3)) + 0.5 * np.exp((x + 0.5) / 0.25)
    found = analyse(10**x, loss, steps=5000)
    assert {"short_test", "fast_test", "budget"} <= set(found.note_codes)
    text = " ".join(fig_text(lrfind_figure(found)).split())
    for note in found.notes:
        assert " ".join(note.split()) in text
    assert "assumes 5000 steps of training" in text
