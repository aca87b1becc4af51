"""Grade a class: every student's notebooks checked, each in its own process, into one CSV.

``mimekit exercises grade SUBMISSIONS_DIR --out grades.csv`` reads one folder
per student. Two layouts are accepted, and may be mixed::

    SUBMISSIONS_DIR/                      SUBMISSIONS_DIR/   (nbgrader's submitted/)
      ana/                                  ana/
        01_mimetext_and_headers.ipynb         ps1/
        02_send_and_verify.ipynb                01_mimetext_and_headers.ipynb
      jose/                                 jose/
        01_mimetext_and_headers.ipynb         ps1/ …

The folder name is the student's id. A notebook is graded when its file name
is that of a source notebook (``exercises/source/NAME.ipynb``); other files are
ignored, and so are names starting with ``.`` (``.ipynb_checkpoints``). One
file name found twice for the same student (in two assignment folders) is an
error: which one to grade is the instructor's call.

Each notebook is checked by :func:`~mimekit.exercises.check.check_notebook` in
a process of its own (``python -m mimekit exercises check``), started in a new
process group, on a copy of the notebook's folder so that nothing the
student's code writes lands among the submissions. At most two run at a time.
The checker stops a cell after ``cell_timeout`` seconds and the whole notebook
after ``timeout``; should the checker itself not finish in time, its process
group is killed, and so is the notebook's kernel (which Jupyter starts in a
session of its own). A notebook that loops forever or kills its kernel costs
only its own checks.

The CSV has one row per student, sorted by student id, and one column per
check: the notebooks by file name, then their checks in notebook order::

    student,01_mimetext_and_headers:check_headers,…,02_send_and_verify:check_blind_recipients,total,notes
    ana,2,2,2,3,3,12,
    jose,0,0,0,0,0,0,02_send_and_verify: not submitted

``notes`` says why a notebook has no score of its own: not submitted, not
readable, its kernel died, it ran out of time.
"""

from __future__ import annotations

import concurrent.futures
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from . import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT
from .cells import grade_id, is_autograder_test, points
from .check import NOT_RUN, CheckReport, CheckResult, check_limits, format_points
from .release import default_exercises_dir, read_source

__all__ = [
    "KERNEL_START_ALLOWANCE",
    "MAX_JOBS",
    "Gradebook",
    "find_submissions",
    "grade_submissions",
    "run_in_process_group",
]

#: Notebooks checked at the same time (one process each); more would only fight over 2 cores.
MAX_JOBS = 2
#: Seconds a checker process gets beyond the notebook's time limit (Python and kernel start-up, shutdown).
KERNEL_START_ALLOWANCE = 60.0


def find_submissions(submissions_dir: str | Path, notebook_names: Iterable[str]) -> dict[str, dict[str, Path]]:
    """Find every student's notebooks: ``{student: {notebook file name: path}}``, students sorted.

    A student is a folder directly inside *submissions_dir*; their notebooks
    are the files named in *notebook_names* directly in that folder or one
    folder deeper (nbgrader's ``submitted/<student>/<assignment>/``). Folders
    and files whose names start with ``.`` are skipped. A student with none of
    the notebooks is still listed, with an empty mapping.

    Raises ``FileNotFoundError`` when *submissions_dir* is not a folder, and
    ``ValueError`` when one student has two files of the same name.
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise FileNotFoundError(
            f"No submissions folder at {root.absolute()}: give the folder that holds one folder per student"
        )
    wanted = set(notebook_names)
    found: dict[str, dict[str, Path]] = {}
    for student in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        notebooks: dict[str, Path] = {}
        folders = [student] + sorted(p for p in student.iterdir() if p.is_dir() and not p.name.startswith("."))
        for folder in folders:
            for path in sorted(folder.glob("*.ipynb")):
                if path.name not in wanted:
                    continue
                if path.name in notebooks:
                    raise ValueError(
                        f"{student.name} has two copies of {path.name}: {notebooks[path.name]} and {path}. "
                        "Keep the one to grade and move the other out of the submissions folder."
                    )
                notebooks[path.name] = path
        found[student.name] = notebooks
    return found


def run_in_process_group(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    kernel_pid_file: Path | None = None,
    stderr_file: Path | None = None,
    cancel: threading.Event | None = None,
) -> int | None:
    """Run *argv* in a new process group; return its exit status, or ``None`` when it had to be killed.

    It is killed after *timeout* seconds, or as soon as *cancel* is set. The
    whole group gets ``SIGKILL``: the process and everything it started that
    stayed in its group. If *kernel_pid_file* names a file holding a process id,
    that process's own group is killed too: Jupyter starts each kernel in a
    session of its own, out of reach of the first kill. Standard output is
    discarded; standard error goes to *stderr_file* if given. Any exception
    while waiting (Ctrl-C) kills the group as well, then propagates.
    """
    with open(stderr_file or os.devnull, "wb") as errors:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:  # short waits, so that a cancel is seen within a fraction of a second
                return process.wait(timeout=min(0.25, max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                    _kill(process, kernel_pid_file)
                    return None
    except BaseException:
        _kill(process, kernel_pid_file)
        raise


def _kill(process: subprocess.Popen[bytes], kernel_pid_file: Path | None) -> None:
    if os.name != "posix":
        process.kill()
        process.wait()
        return
    for pgid in (process.pid, _read_pid(kernel_pid_file)):
        if pgid is None:
            continue
        try:
            if os.getpgid(pgid) == pgid:  # still the leader of its own group: not a reused pid
                os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.wait()


def _read_pid(path: Path | None) -> int | None:
    try:
        return int(path.read_text().strip()) if path is not None else None
    except (OSError, ValueError):
        return None


def _not_run(notebook: Path, source: Path, reason: str) -> CheckReport:
    """A report in which no check ran, for *reason* (one sentence)."""
    nb = read_source(source)
    results = [
        CheckResult(grade_id(cell) or "", points(cell), NOT_RUN, f"This check never ran. {reason}")
        for cell in nb.cells
        if is_autograder_test(cell)
    ]
    return CheckReport(notebook=notebook, source=source, results=results, problem=reason)


def _check_in_own_process(
    notebook: Path, source: Path, *, cell_timeout: float, timeout: float, cancel: threading.Event
) -> CheckReport:
    """Check *notebook* in a fresh ``python -m mimekit exercises check`` process, on a copy of its folder."""
    limit = timeout + KERNEL_START_ALLOWANCE
    with tempfile.TemporaryDirectory(prefix="mimekit-grade-") as tmp:
        work = Path(tmp) / "notebook"
        shutil.copytree(notebook.parent, work, ignore=shutil.ignore_patterns(".*"), symlinks=True)
        report_file, pid_file, errors = (Path(tmp) / name for name in ("report.json", "kernel.pid", "stderr.txt"))
        argv = [
            sys.executable, "-m", "mimekit", "exercises", "check", str(work / notebook.name),
            "--source", str(source), "--cell-timeout", repr(cell_timeout), "--timeout", repr(timeout),
            "--json", str(report_file), "--kernel-pid-file", str(pid_file),
        ]  # fmt: skip
        status = run_in_process_group(
            argv, timeout=limit, cwd=tmp, kernel_pid_file=pid_file, stderr_file=errors, cancel=cancel
        )
        if status is None:
            why = "grading was interrupted" if cancel.is_set() else f"it took longer than {format_points(limit)} s"
            return _not_run(notebook, source, f"Checking it was stopped: {why}.")
        try:
            report = CheckReport.from_json(report_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            said = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            last = f": {said[-1]}" if said else ""
            return _not_run(notebook, source, f"The checker ended (exit status {status}) without a report{last}.")
    report.notebook = notebook
    return report


@dataclass
class Gradebook:
    """The reports of a whole class: ``reports[student][notebook file name]`` (a notebook not submitted is absent).

    ``columns`` lists the checks in CSV order: ``(notebook file name, grade_id,
    max points)``, notebooks by file name, checks in notebook order.
    """

    columns: list[tuple[str, str, float]]
    reports: dict[str, dict[str, CheckReport]] = field(default_factory=dict)

    @property
    def notebooks(self) -> list[str]:
        """The notebook file names graded, sorted."""
        return list(dict.fromkeys(name for name, _, _ in self.columns))

    @property
    def max_points(self) -> float:
        """The most a student can earn."""
        return sum(worth for _, _, worth in self.columns)

    def header(self) -> list[str]:
        """The CSV header: ``student``, one ``NOTEBOOK:grade_id`` per check, ``total``, ``notes``."""
        return ["student", *(f"{Path(name).stem}:{gid}" for name, gid, _ in self.columns), "total", "notes"]

    def rows(self) -> list[list[str]]:
        """One row per student, sorted by student id: points per check, the total, and the notes."""
        rows = []
        for student in sorted(self.reports):
            reports = self.reports[student]
            earned = {
                (name, result.grade_id): result.points for name, report in reports.items() for result in report.results
            }
            cells = [format_points(earned.get((name, gid), 0.0)) for name, gid, _ in self.columns]
            notes = []
            for name in self.notebooks:
                report = reports.get(name)
                if report is None:
                    notes.append(f"{Path(name).stem}: not submitted")
                elif report.problem:
                    notes.append(f"{Path(name).stem}: {report.problem}")
            rows.append([student, *cells, format_points(sum(earned.values())), "; ".join(notes)])
        return rows

    def write_csv(self, path: str | Path) -> None:
        """Write the header and :meth:`rows` to *path* as CSV (UTF-8, RFC 4180 line ends). Raises ``OSError``."""
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(self.header())
            writer.writerows(self.rows())


def grade_submissions(
    submissions_dir: str | Path,
    *,
    source: str | Path | None = None,
    notebooks: Sequence[str] | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = MAX_JOBS,
    progress: bool | None = None,
) -> Gradebook:
    """Check every student's notebooks in *submissions_dir*; return the :class:`Gradebook`.

    *source* is the folder of source notebooks (default: the kit's
    ``exercises/source/``). *notebooks* names the notebooks to grade (file
    names, ``"01_mimetext_and_headers.ipynb"``); by default every source
    notebook that at least one student submitted. *cell_timeout* and
    *timeout* (seconds) are :func:`~mimekit.exercises.check.check_notebook`'s
    limits per cell and per notebook. *jobs* notebooks are checked at a time,
    1 or 2. *progress* shows a progress bar (``None``: only on a terminal).

    Raises ``FileNotFoundError`` for a missing folder or a *notebooks* name
    with no source, ``ValueError`` for a time limit that is not a positive
    number, for *jobs* out of range, or for a layout
    :func:`find_submissions` refuses, and
    :class:`~mimekit.exercises.cells.ExerciseFormatError` for a broken source.
    """
    check_limits(cell_timeout, timeout)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise ValueError(f"jobs must be 1 or {MAX_JOBS} (notebooks checked at the same time), not {jobs!r}")
    source_dir = Path(source) if source is not None else default_exercises_dir() / "source"
    if not source_dir.is_dir():
        raise FileNotFoundError(f"No exercise source folder at {source_dir}: pass the folder of source notebooks")
    available = {path.name: path for path in sorted(source_dir.glob("*.ipynb"))}
    for name in notebooks or ():
        if name not in available:
            raise FileNotFoundError(
                f"No source notebook {name} in {source_dir} (it has: {', '.join(available) or 'none'})"
            )
    students = find_submissions(submissions_dir, notebooks or available)
    names = sorted(notebooks or {name for found in students.values() for name in found})
    sources = {name: available[name] for name in names}
    columns = [
        (name, grade_id(cell) or "", points(cell))
        for name in names
        for cell in read_source(sources[name]).cells
        if is_autograder_test(cell)
    ]
    book = Gradebook(columns=columns, reports={student: {} for student in students})
    work = [
        (student, name, path) for student, found in students.items() for name, path in found.items() if name in sources
    ]
    # Threads only wait: each notebook runs in a process of its own (run_in_process_group).
    cancel = threading.Event()
    bar = tqdm(total=len(work), desc="grading", unit="notebook", disable=None if progress is None else not progress)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {
            pool.submit(
                _check_in_own_process, path, sources[name], cell_timeout=cell_timeout, timeout=timeout, cancel=cancel
            ): (student, name)
            for student, name, path in work
        }
        for future in concurrent.futures.as_completed(futures):
            student, name = futures[future]
            book.reports[student][name] = future.result()
            bar.update()
    finally:
        cancel.set()  # after Ctrl-C or an error: stop the running checks, drop the queued ones
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return book
