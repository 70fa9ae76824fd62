"""The HTML report in a real browser (headless Chromium): it loads without console errors, each
run's figure has drawn pixels (curves and shaded findings), and the findings' labels are in the
DOM. Structural checks only (fonts differ between machines); skipped where Chromium is absent.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed"),
    pytest.mark.skipif(
        importlib.util.find_spec("matplotlib") is None,
        reason="matplotlib (the plot extra) is not installed",
    ),
]
RUNS = ["warmup_too_high.parquet", "spike_recovers.parquet"]
WIDTH, HEIGHT = 1200, 3600
# Where each figure lands on the page, measured by the browser itself: the test's copy of the
# page (never the report) gets this script, and --dump-dom returns what it wrote.
PROBE = """<script>
window.addEventListener('load', () => {
  const rects = [...document.querySelectorAll('section.run svg')].map(s => {
    const r = s.getBoundingClientRect();
    return [r.left, r.top + window.scrollY, r.width, r.height];
  });
  const pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify(rects); document.body.appendChild(pre);
});
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        f"--window-size={WIDTH},{HEIGHT}",
    ]
    try:
        return subprocess.run(
            [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"chromium could not run here: {exc}")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    out = tmp / "report.html"
    result = CliRunner().invoke(
        app, ["check", *(str(FIXTURES / n) for n in RUNS), "--format", "html", "--output", str(out)]
    )
    assert result.exit_code == 1, result.output  # warmup_too_high fails
    probe = tmp / "probe.html"
    probe.write_text(
        out.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    dom = _chromium(tmp, "--dump-dom", probe.as_uri())
    shot = tmp / "shot.png"
    loaded = _chromium(tmp, f"--screenshot={shot}", out.as_uri())
    if dom.returncode != 0 or not shot.exists():
        pytest.skip(f"chromium did not render: {(dom.stderr or loaded.stderr)[-300:]}")
    return {"dom": dom.stdout, "logs": loaded.stderr + dom.stderr, "shot": shot}


def test_the_page_loads_without_console_errors(page):
    errors = [
        line
        for line in page["logs"].splitlines()
        if "CONSOLE" in line and ("error" in line.lower() or "Uncaught" in line)
    ]
    assert errors == []
    # no request left the machine: the page names nothing to fetch
    assert "net::ERR" not in page["logs"]


def test_every_findings_label_is_in_the_dom(page):
    from lrdoctor.api import check

    report = check([str(FIXTURES / n) for n in RUNS])
    dom = page["dom"]
    for run in report.runs:
        for f in run.findings:
            assert f'data-rule="{f.rule}"' in dom
            assert re.search(rf"<text[^>]*>\s*{f.rule} {f.name}", dom), f.rule  # in the figure


def test_each_runs_figure_has_drawn_curves_and_shaded_findings(page):
    from matplotlib.image import imread

    match = re.search(r'<pre id="probe">(.*?)</pre>', page["dom"], re.S)
    assert match, "the probe script did not run"
    rects = json.loads(match.group(1))
    assert len(rects) == len(RUNS)
    pixels = imread(page["shot"])[..., :3]  # floats 0-1, rows x columns x RGB
    for left, top, width, height in rects:
        assert top + height <= pixels.shape[0], "the figure lies below the screenshot"
        box = pixels[int(top) : int(top + height), int(left) : int(left + width)]
        ink = (box.min(axis=2) < 0.9).mean()  # anything not near white
        assert ink > 0.02
        # the smoothed loss and the panels' curves: the figure's dark blue (#1f4e99)
        blue = (
            (abs(box[..., 0] - 0x1F / 255) < 0.12)
            & (abs(box[..., 1] - 0x4E / 255) < 0.12)
            & (abs(box[..., 2] - 0x99 / 255) < 0.12)
        )
        assert blue.sum() > 500
        # the findings' bars and shading: coloured (not grey) pixels
        saturated = (box.max(axis=2) - box.min(axis=2)) > 0.15
        assert (saturated & ~blue).sum() > 500
