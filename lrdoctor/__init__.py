"""lrdoctor: a diagnostic linter for neural-network training runs."""

from lrdoctor.api import check
from lrdoctor.errors import ConfigError, InputError, LrdoctorError
from lrdoctor.findings import Finding, Report, RunReport

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "Finding",
    "InputError",
    "LrdoctorError",
    "Monitor",
    "Report",
    "RunReport",
    "__version__",
    "check",
]


def __getattr__(name: str):
    """`lrdoctor.Monitor` is imported on first use, so `import lrdoctor` stays light."""
    if name == "Monitor":
        from lrdoctor.monitor import Monitor

        return Monitor
    raise AttributeError(f"module 'lrdoctor' has no attribute {name!r}")
