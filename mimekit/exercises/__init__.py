"""Exercises an instructor can hand out and grade: nbgrader's notebook format, without nbgrader.

The kit's exercises live in two folders beside the package::

    exercises/
      source/   the instructor's notebooks: solutions, hidden checks, points
      release/  the student copies, generated from source/ and never edited by hand

and one command drives them (``python -m mimekit exercises …``)::

    mimekit exercises release                       source/ → release/
    mimekit exercises check NOTEBOOK                one student's notebook: feedback and points
    mimekit exercises grade SUBMISSIONS --out FILE  a whole class, into a CSV

============  ==========================================================
cells         the nbgrader format: cell metadata (schema version 3) and the
              ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` regions
release       source → release: solutions stubbed, hidden checks removed, outputs cleared
check         run one notebook in a fresh kernel with the source's checks; a report per check
grade         every student's notebooks, each in its own process, into one CSV
============  ==========================================================

The names below are imported from those modules when first used, so that
``mimekit --help`` does not pay for loading Jupyter's libraries (nbformat,
nbclient), which the exercises need and the rest of the kit does not.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_CELL_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "CheckReport",
    "CheckResult",
    "ExerciseFormatError",
    "Gradebook",
    "check_notebook",
    "find_submissions",
    "grade_submissions",
    "release_exercises",
    "release_notebook",
    "stale_releases",
]

#: Seconds one cell may run before it is interrupted (``KeyboardInterrupt`` in the kernel); the run goes on.
DEFAULT_CELL_TIMEOUT = 30.0
#: Seconds a whole notebook may run, kernel start-up aside, before its kernel is stopped.
DEFAULT_TIMEOUT = 120.0

# name → the module (of this package) that defines it
_HOME = {
    "CheckReport": "check",
    "CheckResult": "check",
    "ExerciseFormatError": "cells",
    "Gradebook": "grade",
    "check_notebook": "check",
    "find_submissions": "grade",
    "grade_submissions": "grade",
    "release_exercises": "release",
    "release_notebook": "release",
    "stale_releases": "release",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
