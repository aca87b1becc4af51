"""The cells of an exercise notebook, in nbgrader's format (cell metadata schema version 3).

An instructor's *source* notebook marks its cells the way nbgrader does, so a
course already on nbgrader can use the notebooks as they are. Each marked cell
carries ``metadata.nbgrader``::

    {"grade": true, "grade_id": "check_headers", "locked": true, "points": 2,
     "schema_version": 3, "solution": false, "task": false}

The combinations used, and what the kit does with each:

======================  =====  ========  ======  ======================================
cell                    grade  solution  locked  in the student copy / when checking
======================  =====  ========  ======  ======================================
answer (code)           false  true      false   solution regions → ``# YOUR CODE HERE``
autograder test (code)  true   false     true    hidden regions removed; the source's
                                                 version runs when checking
read-only (any)         false  false     true    kept; the source's version runs
======================  =====  ========  ======  ======================================

``grade_id`` names the cell (letters, digits, ``_`` and ``-``) and must be unique
in its notebook; ``points`` (a number, 0 or more) is present exactly when
``grade`` is true. Cells with no ``nbgrader`` key are ordinary cells.

Inside a cell, two kinds of region are marked by lines of their own:

* ``### BEGIN SOLUTION`` … ``### END SOLUTION``: the instructor's answer,
  replaced in the student copy by ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` at the indentation of the ``BEGIN`` line;
  an answer cell without such a region is replaced whole;
* ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``: checks the student copy
  leaves out, run only by the checker.

>>> print(clear_solutions('''def greet(name):
...     \"\"\"Return a greeting for *name*.\"\"\"
...     ### BEGIN SOLUTION
...     return f"Hola {name}"
...     ### END SOLUTION'''))
def greet(name):
    \"\"\"Return a greeting for *name*.\"\"\"
    # YOUR CODE HERE
    raise NotImplementedError()
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import MimekitError

__all__ = [
    "BEGIN_HIDDEN_TESTS",
    "BEGIN_SOLUTION",
    "CODE_STUB",
    "END_HIDDEN_TESTS",
    "END_SOLUTION",
    "SCHEMA_VERSION",
    "ExerciseFormatError",
    "clear_solutions",
    "grade_id",
    "is_autograder_test",
    "is_locked",
    "is_solution",
    "nbgrader_metadata",
    "points",
    "remove_hidden_tests",
    "validate_exercise",
]

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "### END HIDDEN TESTS"

#: What replaces a solution in a code cell of the student copy (nbgrader's ``ClearSolutions.code_stub``).
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

#: The version of nbgrader's cell metadata schema these notebooks follow.
SCHEMA_VERSION = 3

_GRADE_ID = re.compile(r"[A-Za-z0-9_-]+")
_KEYS = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}


class ExerciseFormatError(MimekitError, ValueError):
    """An exercise notebook breaks the nbgrader format: a marker out of place, metadata missing or wrong.

    The message names the notebook, the cell and the fix.
    """


def nbgrader_metadata(cell: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the cell's ``metadata.nbgrader`` mapping, or ``None`` for an ordinary cell."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, Mapping) else None


def grade_id(cell: Mapping[str, Any]) -> str | None:
    """Return the cell's nbgrader ``grade_id``, or ``None`` when it has none."""
    meta = nbgrader_metadata(cell)
    value = None if meta is None else meta.get("grade_id")
    return value if isinstance(value, str) and value else None


def is_solution(cell: Mapping[str, Any]) -> bool:
    """True for an answer cell (``solution: true``): the student writes in it."""
    meta = nbgrader_metadata(cell)
    return bool(meta and meta.get("solution"))


def is_autograder_test(cell: Mapping[str, Any]) -> bool:
    """True for an autograder test: a code cell with ``grade: true`` and ``solution: false``."""
    meta = nbgrader_metadata(cell)
    return bool(meta and meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code")


def is_locked(cell: Mapping[str, Any]) -> bool:
    """True for a cell the student may not change (``locked: true``)."""
    meta = nbgrader_metadata(cell)
    return bool(meta and meta.get("locked"))


def points(cell: Mapping[str, Any]) -> float:
    """Return the points a graded cell is worth (0 for a cell that is not graded)."""
    meta = nbgrader_metadata(cell)
    if not meta or not meta.get("grade"):
        return 0.0
    return float(meta.get("points", 0))


def _replace_regions(source: str, begin: str, end: str, replacement: list[str] | None, what: str) -> tuple[str, bool]:
    """Replace every *begin*…*end* region of *source* by *replacement* (indented like *begin*), or drop it."""
    lines = source.split("\n")
    kept: list[str] = []
    inside = found = False
    for number, line in enumerate(lines, start=1):
        if line.strip() == begin:
            if inside:
                raise ExerciseFormatError(
                    f"line {number}: {begin!r} inside another {what} region; close it with {end!r} first"
                )
            inside = found = True
            indent = line[: len(line) - len(line.lstrip())]
            kept.extend(indent + stub for stub in replacement or [])
        elif line.strip() == end:
            if not inside:
                raise ExerciseFormatError(f"line {number}: {end!r} without a {begin!r} before it")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ExerciseFormatError(f"a {what} region opened with {begin!r} is never closed: add a line {end!r}")
    return "\n".join(kept), found


def clear_solutions(source: str) -> str:
    """Return *source* with each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region replaced by :data:`CODE_STUB`.

    The stub (``# YOUR CODE HERE`` then ``raise NotImplementedError()``) is
    indented like the ``BEGIN`` line, so it fits a function body. A source
    without regions comes back unchanged. Raises :class:`ExerciseFormatError`
    for a region that is nested, never closed, or closed without being opened.
    """
    return _replace_regions(source, BEGIN_SOLUTION, END_SOLUTION, CODE_STUB.split("\n"), "solution")[0]


def remove_hidden_tests(source: str) -> str:
    """Return *source* without its ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` regions (markers included).

    >>> print(remove_hidden_tests('''assert 1 + 1 == 2
    ... ### BEGIN HIDDEN TESTS
    ... assert 2 + 2 == 4
    ... ### END HIDDEN TESTS'''))
    assert 1 + 1 == 2

    Raises :class:`ExerciseFormatError` for a region that is nested, never
    closed, or closed without being opened.
    """
    return _replace_regions(source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, None, "hidden tests")[0]


def _has_region(source: str, begin: str) -> bool:
    return any(line.strip() == begin for line in source.split("\n"))


def validate_exercise(nb: Mapping[str, Any], name: str | Path = "notebook") -> None:
    """Check that the notebook *nb* is a well-formed exercise source; return ``None`` if it is.

    The rules are nbgrader's (cell metadata schema version 3) plus what the
    kit needs to grade: every marked cell has ``schema_version`` 3, the flags
    ``grade``, ``locked``, ``solution`` and ``task`` as booleans, and a
    ``grade_id`` of letters, digits, ``_`` and ``-``, unique in the notebook;
    ``points`` (a number ≥ 0) exactly on graded cells; solution regions only in
    answer cells, hidden test regions only in autograder tests, every region
    closed; and at least one autograder test.

    Raises :class:`ExerciseFormatError` naming *name*, the cell (its position
    and ``grade_id``) and what to change.
    """
    seen: dict[str, int] = {}
    tests = 0
    for position, cell in enumerate(nb.get("cells", []), start=1):
        where = f"{name}, cell {position}"
        source = cell.get("source", "")
        meta = nbgrader_metadata(cell)
        try:
            clear_solutions(source)
            remove_hidden_tests(source)
        except ExerciseFormatError as exc:
            raise ExerciseFormatError(f"{where}: {exc}") from None
        if meta is None:
            if _has_region(source, BEGIN_SOLUTION) or _has_region(source, BEGIN_HIDDEN_TESTS):
                raise ExerciseFormatError(
                    f"{where} has a solution or hidden tests region but no nbgrader metadata: mark it as an "
                    "answer cell (solution: true) or an autograder test (grade: true) in metadata.nbgrader"
                )
            continue
        where += f" ({meta.get('grade_id') or 'no grade_id'})"
        unknown = set(meta) - _KEYS
        if unknown:
            raise ExerciseFormatError(
                f"{where}: unknown keys {sorted(unknown)} in metadata.nbgrader (schema version 3)"
            )
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ExerciseFormatError(
                f"{where}: metadata.nbgrader.schema_version is {meta.get('schema_version')!r}; "
                f"these notebooks use {SCHEMA_VERSION}"
            )
        for flag in ("grade", "locked", "solution", "task"):
            if not isinstance(meta.get(flag), bool):
                raise ExerciseFormatError(
                    f"{where}: metadata.nbgrader.{flag} must be true or false, not {meta.get(flag)!r}"
                )
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not _GRADE_ID.fullmatch(gid):
            raise ExerciseFormatError(
                f"{where}: grade_id {gid!r} must be letters, digits, '_' and '-' only, and not empty"
            )
        if gid in seen:
            raise ExerciseFormatError(
                f"{where}: grade_id {gid!r} is already used by cell {seen[gid]}; grade ids are unique"
            )
        seen[gid] = position
        if meta["grade"]:
            value = meta.get("points")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ExerciseFormatError(f"{where}: a graded cell needs points, a number 0 or more (got {value!r})")
        elif "points" in meta:
            raise ExerciseFormatError(f"{where}: points belong only on graded cells (grade: true)")
        if meta["task"]:
            raise ExerciseFormatError(f"{where}: task cells are graded by hand; the kit grades only autograder tests")
        if meta["grade"] and meta["solution"]:
            raise ExerciseFormatError(
                f"{where}: grade and solution together make a manually graded answer; split it into an answer cell "
                "(solution: true) and an autograder test (grade: true) after it"
            )
        if _has_region(source, BEGIN_SOLUTION) and not meta["solution"]:
            raise ExerciseFormatError(f"{where}: a solution region must be in an answer cell (solution: true)")
        if _has_region(source, BEGIN_HIDDEN_TESTS) and not is_autograder_test(cell):
            raise ExerciseFormatError(
                f"{where}: hidden tests must be in an autograder test (a code cell with grade: true)"
            )
        if (meta["grade"] or meta["solution"]) and cell.get("cell_type") != "code":
            raise ExerciseFormatError(
                f"{where}: only code cells can be answer cells or autograder tests here; "
                "a written answer is graded by hand, which the kit does not do"
            )
        if is_autograder_test(cell):
            tests += 1
    if tests == 0:
        raise ExerciseFormatError(f"{name} has no autograder test (a code cell with grade: true and points)")
