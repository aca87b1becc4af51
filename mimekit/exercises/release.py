"""Source → release: the student copy of each exercise, generated from the instructor's notebook.

``exercises/source/NAME.ipynb`` (solutions and hidden checks inside) becomes
``exercises/release/NAME.ipynb``, what students get. The student copy is never
edited by hand: change the source and run ``mimekit exercises release``. A test
regenerates every copy in memory and fails when a file on disk differs.

What changes, cell by cell (nbgrader's ``generate_assignment`` does the same):

* answer cells: each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region
  becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the
  region's indentation, so a function keeps its signature and docstring; an
  answer cell without a region is replaced whole by those two lines;
* autograder tests: ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``
  regions are removed, markers included;
* every code cell: outputs and execution count cleared;
* cell ids, ``metadata.nbgrader`` and tags are kept, so the checker can match
  the student's cells to the source's by ``grade_id``; nbgrader's checksums
  are not written (nbgrader recomputes them if it ever needs them).

The output is deterministic: the same source always gives the same bytes
(nbformat's JSON layout, one-space indent, sorted keys, a final newline).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .cells import CODE_STUB, clear_solutions, is_autograder_test, is_solution, remove_hidden_tests, validate_exercise

__all__ = [
    "ReleaseChange",
    "default_exercises_dir",
    "read_source",
    "release_exercises",
    "release_notebook",
    "render_release",
    "stale_releases",
]

# Cell metadata that records one run on one machine, not the exercise.
_RUN_METADATA = ("execution", "collapsed", "scrolled")


def default_exercises_dir() -> Path:
    """Return the kit's own ``exercises/`` folder (beside the ``mimekit`` package in a checkout).

    It holds ``source/`` and ``release/``. An installed copy of mimekit has no
    such folder; pass your course's folders explicitly then.
    """
    return Path(__file__).resolve().parents[2] / "exercises"


def read_source(path: str | Path) -> NotebookNode:
    """Read and validate an exercise source notebook.

    Raises ``FileNotFoundError`` for a missing file, ``nbformat``'s
    ``NotJSONError`` for a file that is not a notebook, and
    :class:`~mimekit.exercises.cells.ExerciseFormatError` for a notebook that
    breaks the exercise format (see :func:`~mimekit.exercises.cells.validate_exercise`).
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    validate_exercise(nb, path.name)
    return nb


def release_notebook(source: NotebookNode) -> NotebookNode:
    """Return the student copy of the validated source notebook *source* (a new notebook; *source* is untouched)."""
    nb = copy.deepcopy(source)
    nb.metadata.pop("celltoolbar", None)
    for cell in nb.cells:
        if is_solution(cell):
            cleared = clear_solutions(cell.source)
            cell.source = cleared if cleared != cell.source else CODE_STUB
        elif is_autograder_test(cell):
            cell.source = remove_hidden_tests(cell.source)
        for key in _RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def _text(nb: NotebookNode) -> str:
    """The file contents :func:`nbformat.write` produces for *nb*."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def render_release(source_path: str | Path) -> str:
    """Return the text of the student copy of the source notebook at *source_path*, exactly as it is written.

    Raises what :func:`read_source` raises.
    """
    return _text(release_notebook(read_source(source_path)))


@dataclass(frozen=True)
class ReleaseChange:
    """A file of ``release/`` out of step with its source; ``kind``: ``"missing"``, ``"outdated"`` or ``"orphan"``."""

    path: Path
    kind: str

    def __str__(self) -> str:
        what = {
            "missing": "is missing",
            "outdated": "differs from what its source generates",
            "orphan": "has no source notebook",
        }[self.kind]
        return f"{self.path} {what}"


def _plan(source_dir: Path, release_dir: Path) -> Iterator[tuple[ReleaseChange, str | None]]:
    if not source_dir.is_dir():
        raise FileNotFoundError(
            f"No exercise source folder at {source_dir}: pass the folder that holds the *.ipynb sources"
        )
    sources = sorted(source_dir.glob("*.ipynb"))
    for path in sources:
        target = release_dir / path.name
        text = render_release(path)
        if not target.exists():
            yield ReleaseChange(target, "missing"), text
        elif target.read_text(encoding="utf-8") != text:
            yield ReleaseChange(target, "outdated"), text
    names = {path.name for path in sources}
    for target in sorted(release_dir.glob("*.ipynb")):
        if target.name not in names:
            yield ReleaseChange(target, "orphan"), None


def stale_releases(source_dir: str | Path, release_dir: str | Path) -> list[ReleaseChange]:
    """Compare ``release_dir`` with what ``source_dir`` generates, in memory; return what differs (empty when in sync).

    Nothing is written. Raises ``FileNotFoundError`` when *source_dir* is not
    a folder, and what :func:`read_source` raises for a broken source.
    """
    return [change for change, _ in _plan(Path(source_dir), Path(release_dir))]


def release_exercises(source_dir: str | Path, release_dir: str | Path) -> list[ReleaseChange]:
    """Write the student copy of every ``*.ipynb`` in *source_dir* to *release_dir*; return what changed.

    Files already up to date are not touched; a notebook in *release_dir*
    with no source is deleted (the folder is generated, never edited).
    *release_dir* is created if needed. Raises ``FileNotFoundError`` when
    *source_dir* is not a folder, what :func:`read_source` raises for a broken
    source (before anything is written), and ``OSError`` if a file cannot be
    written.
    """
    source_dir, release_dir = Path(source_dir), Path(release_dir)
    plan = list(_plan(source_dir, release_dir))  # every source read and validated first
    release_dir.mkdir(parents=True, exist_ok=True)
    for change, text in plan:
        if text is None:
            change.path.unlink()
        else:
            change.path.write_text(text, encoding="utf-8", newline="\n")
    return [change for change, _ in plan]
