"""Make the README's picture: `lrdoctor plot` of fixtures/warmup_too_high.parquet.

    python scripts/readme_pictures.py        # writes docs/img/warmup_too_high.png

The same command a user runs; the figure is whatever lrdoctor/plots/run.py draws today.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
PICTURES = {"warmup_too_high.png": ["plot", "fixtures/warmup_too_high.parquet"]}


def main() -> int:
    import os

    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # the figure's title names the run as given: fixtures/..., not a full path
    from lrdoctor.cli import app

    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    for name, args in PICTURES.items():
        result = CliRunner().invoke(app, [*args, "-o", str(out / name)])
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return 1
        print(f"wrote {(out / name).relative_to(ROOT)} ({(out / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
