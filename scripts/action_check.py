"""The check step of action.yml: `lrdoctor check PATHS --format github ARGS`, safely.

The action's inputs arrive in the environment (never pasted into a script, so they cannot
inject shell code) and are split here as a shell would split words, quotes included, but
nothing in them is expanded or run: `paths: "my logs/run.csv" other/` is two paths, and
`$(...)` is just text. Globs are left to lrdoctor, which expands them itself.
"""

from __future__ import annotations

import os
import shlex
import sys


def command(environ: dict[str, str]) -> list[str]:
    paths = shlex.split(environ.get("LRDOCTOR_PATHS", ""))
    if not paths:
        print(
            "lrdoctor: error: action input 'paths' is empty — name the logs to check",
            file=sys.stderr,
        )
        raise SystemExit(2)
    args = shlex.split(environ.get("LRDOCTOR_ARGS", ""))
    return [sys.executable, "-m", "lrdoctor", "check", *paths, "--format", "github", *args]


if __name__ == "__main__":
    argv = command(dict(os.environ))
    os.execv(argv[0], argv)
