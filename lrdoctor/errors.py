"""The project's exceptions; the CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class LrdoctorError(Exception):
    """Base of every error a user can cause (bad input, bad config, bad rule file)."""


class InputError(LrdoctorError):
    """A log that cannot be read or understood."""

    def __init__(self, source: object, problem: str, hint: str = "") -> None:
        self.source = str(source)
        self.problem = problem
        self.hint = hint
        text = f"{self.source}: {problem}"
        super().__init__(f"{text}; {hint}" if hint else text)


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
