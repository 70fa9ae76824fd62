"""lrdoctor: a diagnostic linter for neural-network training runs."""

__version__ = "0.1.0"
