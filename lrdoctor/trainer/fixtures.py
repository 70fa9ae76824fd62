"""Generate the fixture corpus declared in fixtures/manifest.toml.

Usage: python -m lrdoctor.trainer.fixtures [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from lrdoctor.findings import CATEGORIES
from lrdoctor.trainer.logfile import write_log
from lrdoctor.trainer.loop import RunLog, TrainConfig, train
from lrdoctor.trainer.sweep import sweep_base

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"
MANIFEST = FIXTURES_DIR / "manifest.toml"
LABELS = (
    "healthy",
    "too_high",
    "too_low",
    "slightly_high",
    "slightly_low",
    "plateau",
    "spike",
    "numerical_nan",
    "diverge_nan",
    "overfit",
    "schedule",
    "range_test",
    "resumed",
    "short",
)


def load_manifest(path: str | Path = MANIFEST) -> dict:
    """Read the manifest and check every entry's keys and vocabulary."""
    with open(path, "rb") as f:
        manifest = tomllib.load(f)
    allowed = {
        "name",
        "file",
        "description",
        "label",
        "expect",
        "forbid",
        "cause",
        "fix",
        "from_sweep",
        "config",
        "rename",
        "drop",
        "keep",
    }
    names = set()
    for fx in manifest["fixture"]:
        if unknown := set(fx) - allowed:
            raise ValueError(f"{fx.get('name')}: unknown keys {sorted(unknown)}")
        bad = (
            {fx["label"]} - set(LABELS)
            | set(fx.get("expect", [])) - set(CATEGORIES)
            | set(fx.get("forbid", [])) - set(CATEGORIES) - {"*"}
        )
        if bad or fx["name"] in names:
            raise ValueError(f"{fx['name']}: bad labels/categories {sorted(bad)} or duplicate")
        names.add(fx["name"])
    return manifest


def fixture_config(fx: dict) -> TrainConfig:
    """The TrainConfig of a manifest entry (`from_sweep` starts from that sweep's base)."""
    table = dict(fx.get("config", {}))
    if fx.get("from_sweep"):
        base = sweep_base(table.pop("dataset"), table.pop("optimizer"))
        return replace(base, **table)
    return TrainConfig.from_dict(table)


def shape_log(log: RunLog, fx: dict) -> RunLog:
    """Apply the entry's column selection and logger-style renames."""
    names = list(log)
    if "keep" in fx:
        names = [n for n in names if n in fx["keep"]]
    names = [n for n in names if n not in fx.get("drop", ())]
    rename = fx.get("rename", {})
    return RunLog({rename.get(n, n): log[n] for n in names}, log.meta)


def build(fx: dict) -> RunLog:
    return shape_log(train(fixture_config(fx)), fx)


def generate(out_dir: str | Path | None = None, only=None, manifest_path=MANIFEST) -> list[Path]:
    """Regenerate the fixtures (all, or those named in `only`); return the written paths."""
    manifest = load_manifest(manifest_path)
    out_dir = Path(out_dir) if out_dir else Path(manifest_path).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    float32 = manifest.get("settings", {}).get("float32", False)
    written = []
    for fx in manifest["fixture"]:
        if only and fx["name"] not in only:
            continue
        path = out_dir / fx["file"]
        write_log(build(fx), path, float32=float32)
        written.append(path)
    missing = set(only or ()) - {fx["name"] for fx in manifest["fixture"]}
    if missing:
        raise ValueError(f"no such fixture: {', '.join(sorted(missing))}")
    return written


def config_differs_from_sweep(fx: dict) -> set[str]:
    """Fields (other than lr) where a from_sweep fixture departs from its sweep base."""
    cfg = fixture_config(fx)
    base = sweep_base(cfg.dataset, cfg.optimizer)
    return {
        f.name
        for f in fields(cfg)
        if f.name != "lr" and not np.array_equal(getattr(cfg, f.name), getattr(base, f.name))
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lrdoctor.trainer.fixtures",
        description=__doc__.splitlines()[0],
        epilog="example: python -m lrdoctor.trainer.fixtures --out /tmp/fx --only short_run",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--only", nargs="*", default=None, help="fixture names")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    args = parser.parse_args(argv)
    for path in generate(args.out, args.only, args.manifest):
        print(path)


if __name__ == "__main__":
    main()
