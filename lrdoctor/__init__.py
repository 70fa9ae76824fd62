"""lrdoctor: a diagnostic linter for neural-network training runs."""

from lrdoctor.api import check
from lrdoctor.findings import Finding, Report, RunReport

__version__ = "0.1.0"
__all__ = ["Finding", "Report", "RunReport", "__version__", "check"]
