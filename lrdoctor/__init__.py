"""lrdoctor: a diagnostic linter for neural-network training runs."""

from lrdoctor.errors import ConfigError, InputError, LrdoctorError

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


# Imported on first use, so that `import lrdoctor` stays light and the command line can set up
# what its records are made with (lrdoctor/codecache.py) before the first one is defined.
_LAZY = {
    "Monitor": "lrdoctor.monitor",
    "check": "lrdoctor.api",
    "Finding": "lrdoctor.findings",
    "Report": "lrdoctor.findings",
    "RunReport": "lrdoctor.findings",
}


def __getattr__(name: str):
    """`lrdoctor.check`, `lrdoctor.Monitor`, the report types: imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lrdoctor' has no attribute {name!r}")
