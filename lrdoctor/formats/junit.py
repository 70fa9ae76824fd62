"""JUnit XML: a test suite per run, a test case per rule (failed, passed or skipped)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lrdoctor.escape import xml
from lrdoctor.findings import SEVERITY_RANK, Report, RunReport


def _suite(run: RunReport, fail_on: str) -> ET.Element:
    source = xml(run.source)
    suite = ET.Element("testsuite", name=source)
    counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    if run.error is not None:
        case = ET.SubElement(suite, "testcase", classname=source, name="read input")
        ET.SubElement(case, "error", type="input", message=xml(run.error))
        counts.update(tests=1, errors=1)
    for outcome in run.outcomes:
        case = ET.SubElement(
            suite, "testcase", classname=source, name=xml(f"{outcome.rule} {outcome.name}")
        )
        counts["tests"] += 1
        if outcome.status == "skipped":
            ET.SubElement(case, "skipped", message=xml(outcome.reason))
            counts["skipped"] += 1
            continue
        found = [f for f in run.findings if f.rule == outcome.rule]
        if not found:
            continue
        text = xml("\n".join(f"[{f.severity}] {f.message} → {f.recommendation}" for f in found))
        worst = max(found, key=lambda f: f.rank)
        if worst.rank >= SEVERITY_RANK[fail_on]:
            failure = ET.SubElement(
                case, "failure", type=worst.severity, message=xml(worst.message)
            )
            failure.text = text
            counts["failures"] += 1
        else:
            ET.SubElement(case, "system-out").text = text
    for key, value in counts.items():
        suite.set(key, str(value))
    return suite


def render(report: Report, ctx) -> str:
    root = ET.Element("testsuites", name="lrdoctor")
    for run in report.runs:
        root.append(_suite(run, ctx.fail_on))
    for key in ("tests", "failures", "skipped", "errors"):
        root.set(key, str(sum(int(s.get(key)) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
