"""Hypothesis profiles: `fast` by default (whole suite stays quick), `long` on demand.

`long` (HYPOTHESIS_PROFILE=long, outside CI) runs 2,000 examples per property test (tests that
scale their count from the profile's default run more or fewer: tests/reliability alone runs
over 10,000 cases) with a deadline of 30 s per example, so an input that makes lrdoctor hang is
a failing example, not a run that never ends. `python benchmarks/reliability_long.py
--write-docs` runs it over tests/reliability and writes its figures into docs/reliability.md.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long",
    max_examples=2_000,
    deadline=timedelta(seconds=30),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
