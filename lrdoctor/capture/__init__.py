"""Helpers that make a training loop write an lrdoctor-ready log (framework-agnostic core)."""

from lrdoctor.capture.norms import step_stats
from lrdoctor.capture.rangetest import hf_range_test, lightning_range_test, lr_range_test
from lrdoctor.capture.writer import LogWriter

__all__ = ["LogWriter", "hf_range_test", "lightning_range_test", "lr_range_test", "step_stats"]
