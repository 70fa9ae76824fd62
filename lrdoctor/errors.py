"""The project's exceptions and the one shape of an error line: `<file>: <what> — <what to do>`.

The CLI prints each as `lrdoctor: error: <that line>` on stderr and exits 2; the Python API
raises them.
"""

from __future__ import annotations

from collections.abc import Iterable


def error_text(source: object, what: str, hint: str = "") -> str:
    """`<source>: <what> — <hint>`; the source or the hint may be empty."""
    text = f"{source}: {what}" if source not in (None, "") else what
    return f"{text} — {hint}" if hint else text


def did_you_mean(word: str, choices: Iterable[str], fallback: str = "") -> str:
    """'did you mean X?' for the closest of `choices` to a mistyped word (case-insensitive).

    `fallback` (e.g. 'use one of a, b, c') follows in brackets, or stands alone without a match.
    """
    import difflib

    by_key: dict[str, str] = {}
    for c in choices:
        by_key.setdefault(str(c).lower(), str(c))
    close = difflib.get_close_matches(str(word).lower(), list(by_key), n=1, cutoff=0.6)
    if not close:
        return fallback
    guess = "did you mean " + " or ".join(repr(by_key[c]) for c in close) + "?"
    return f"{guess} ({fallback})" if fallback else guess


class LrdoctorError(Exception):
    """Base of every error a user can cause (bad input, bad config, bad rule file).

    `LrdoctorError(what, hint)` reads `what — hint`; `what` should start with what it concerns
    (a file, an option) when there is one.
    """

    def __init__(self, problem: str = "", hint: str = "") -> None:
        self.source = ""
        self.problem = problem
        self.hint = hint
        super().__init__(error_text("", problem, hint))


class InputError(LrdoctorError):
    """A log that cannot be read or understood (the CLI's exit 2; the API raises it)."""

    def __init__(self, source: object, problem: str, hint: str = "") -> None:
        super().__init__(problem, hint)
        self.source = str(source)
        self.args = (error_text(self.source, problem, hint),)


class ConfigError(LrdoctorError):
    """A configuration file or command-line option with an unknown key or an invalid value."""


class CatalogueError(LrdoctorError):
    """A rule file that is malformed or names an unknown detector or parameter."""


class InternalError(LrdoctorError):
    """A bug in lrdoctor met while reading or judging one input: never a traceback, exit 2.

    `where` names the reader or rule that raised, so the one line is a usable bug report.
    """

    def __init__(self, source: object, where: str, exc: BaseException) -> None:
        self.source, self.where = str(source), where
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        super().__init__(f"{self.source}: internal error in {where} ({detail}) — please report")
