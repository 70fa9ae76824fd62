"""JSON output: exactly `Report.to_dict()` (schema lrdoctor.report/1), deterministic."""

from __future__ import annotations

import json

from lrdoctor.findings import Report


def render(report: Report, ctx) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"
