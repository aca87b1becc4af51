"""Check one student notebook: run it in a fresh kernel with the instructor's checks, and explain each result.

What :func:`check_notebook` (and ``mimekit exercises check NOTEBOOK``) does:

1. read the student's notebook and the source notebook of the same file name;
2. build the notebook to run: the student's cells in the student's order, but
   every autograder test and every locked cell replaced by the *source's*
   version of the cell with the same ``grade_id`` (visible and hidden checks),
   so editing or deleting an ``assert`` changes nothing (nbgrader's autograder
   does the same);
3. run it top to bottom in a fresh ``python3`` kernel whose working folder is
   the notebook's folder, going on after errors, with a time limit per cell
   (the cell is interrupted, the run goes on) and per notebook (the kernel is
   stopped, later checks are not run);
4. report each autograder test, in the source's order, as passed, failed,
   not attempted yet, or not run, with its points and a short feedback text:
   the ``AssertionError`` message of a failed check (mimekit's checks explain
   what was expected and what came back), or an exception's type and last line
   with the cell and line where it happened; never a raw traceback. A check
   that fails because an answer still raises ``NotImplementedError`` (the
   ``# YOUR CODE HERE`` stub) is "not attempted yet".

A check earns all its points when its cell runs without an exception, none
otherwise (nbgrader's rule for autograder tests).

The answer cells a check belongs to are the answer cells after the previous
group of checks: in *task, answer, check, check, task, answer, check* the first
two checks belong to the first answer, the third to the second.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from . import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT
from .cells import grade_id, is_autograder_test, is_locked, is_solution, points
from .release import default_exercises_dir, read_source

__all__ = [
    "FAILED",
    "NOT_ATTEMPTED",
    "NOT_RUN",
    "PASSED",
    "CheckReport",
    "CheckResult",
    "check_limits",
    "check_notebook",
    "find_source",
    "format_points",
]

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted yet"
NOT_RUN = "not run"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
_NOT_IMPLEMENTED = "NotImplementedError"
_COMPILED_WHERE = re.compile(r"\s*\([^()]*, line \d+\)$")
# Run after a cell that raised: IPython keeps the exception's class in sys.last_type.
_IS_ASSERTION = (
    '__import__("builtins").print(__import__("builtins").issubclass('
    'getattr(__import__("sys"), "last_type", type(None)), AssertionError))'
)


@dataclass(frozen=True)
class CheckResult:
    """The result of one autograder test of one notebook.

    ``grade_id`` names the check cell; ``points`` is what it earned (all of
    ``max_points`` when it passed, 0 otherwise); ``status`` is one of
    :data:`PASSED`, :data:`FAILED`, :data:`NOT_ATTEMPTED` or :data:`NOT_RUN`;
    ``feedback`` is the text shown to the student (empty when passed).
    """

    grade_id: str
    max_points: float
    status: str
    feedback: str = ""

    @property
    def points(self) -> float:
        """Points earned: ``max_points`` when passed, else 0."""
        return self.max_points if self.status == PASSED else 0.0

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.status == PASSED


@dataclass
class CheckReport:
    """Every check of one notebook: per-check results in the source's order, the total and the maximum.

    ``notebook`` is the student's notebook, ``source`` the instructor's;
    ``problem`` says, when set, why some checks never ran (the notebook could
    not be read, the kernel died, the time ran out), in one sentence.
    """

    notebook: Path
    source: Path
    results: list[CheckResult] = field(default_factory=list)
    problem: str | None = None

    @property
    def points(self) -> float:
        """Total points earned."""
        return sum(result.points for result in self.results)

    @property
    def max_points(self) -> float:
        """Total points available."""
        return sum(result.max_points for result in self.results)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(result.passed for result in self.results)

    def render(self) -> str:
        """Return the report as the text ``mimekit exercises check`` prints: one block per check, then the score."""
        width = max((len(r.grade_id) for r in self.results), default=0)
        score_width = max(
            (len(f"{format_points(r.points)}/{format_points(r.max_points)}") for r in self.results), default=0
        )
        lines = [f"{self.notebook}: checked with the checks of {_shown(self.source)}", ""]
        for result in self.results:
            mark = {PASSED: "✔", NOT_ATTEMPTED: "…"}.get(result.status, "✘")
            score = f"{format_points(result.points)}/{format_points(result.max_points)}"
            lines.append(f"{mark} {result.grade_id:<{width}}  {score:>{score_width}}  {result.status}")
            lines.extend(f"    {line}" if line else "" for line in result.feedback.splitlines())
        if self.problem:
            lines += ["", self.problem]
        passed = sum(result.passed for result in self.results)
        score = f"{format_points(self.points)} of {format_points(self.max_points)} points"
        lines += ["", f"Score: {score} ({passed} of {len(self.results)} checks passed)"]
        return "\n".join(lines)

    def to_json(self) -> str:
        """Return the report as JSON (``results`` as a list of objects; paths as strings)."""
        data = asdict(self)
        data["notebook"], data["source"] = str(self.notebook), str(self.source)
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> CheckReport:
        """Rebuild a report from :meth:`to_json`'s output. Raises ``ValueError`` / ``KeyError`` for other text."""
        data = json.loads(text)
        return cls(
            notebook=Path(data["notebook"]),
            source=Path(data["source"]),
            results=[CheckResult(**item) for item in data["results"]],
            problem=data["problem"],
        )


def _shown(path: Path) -> Path:
    """*path* relative to the working folder when it is inside it (shorter to read), else as it is."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def check_limits(cell_timeout: float, timeout: float) -> None:
    """Raise ``ValueError`` unless both time limits are positive numbers of seconds."""
    for name, value in (("cell_timeout", cell_timeout), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


def format_points(value: float) -> str:
    """Write points the way people do: ``2`` rather than ``2.0``, ``1.5`` as it is."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def find_source(notebook: str | Path, source: str | Path | None = None) -> Path:
    """Return the source notebook that holds the checks for *notebook*.

    *source* may be a source notebook, or a folder searched for a notebook of
    the same file name as *notebook*; by default the kit's own
    ``exercises/source/``. Raises ``FileNotFoundError`` saying where it looked.
    """
    notebook = Path(notebook)
    where = Path(source) if source is not None else default_exercises_dir() / "source"
    candidate = where / notebook.name if where.is_dir() else where
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(
        f"No source notebook for {notebook.name}: looked for {candidate}. The checks live in the instructor's "
        "source notebook of the same name; pass --source with its folder (or the notebook itself)."
    )


# --------------------------------------------------------------------------- what runs


def _notebook_to_run(student: NotebookNode, source: NotebookNode) -> NotebookNode:
    """The student's cells, with every check and locked cell replaced by the source's cell of the same grade_id.

    A grade_id met a second time (a copied cell) loses its nbgrader metadata,
    so it counts for nothing and runs as the student wrote it.
    """
    originals = {grade_id(cell): cell for cell in source.cells if grade_id(cell)}
    nb = copy.deepcopy(student)
    seen: set[str] = set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        original = originals.get(gid)
        if gid in seen or original is None:
            cell.metadata.pop("nbgrader", None)
            continue
        seen.add(gid)
        if is_autograder_test(original) or is_locked(original):
            cell.cell_type, cell.source = original.cell_type, original.source
            if cell.cell_type == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
        cell.metadata = copy.deepcopy(original.metadata)
    return nb


# --------------------------------------------------------------------------- running it


@dataclass
class _Reply:
    """What the kernel answered for one cell (the ``execute_reply`` content)."""

    status: str
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    execution_count: int | None = None
    assertion: bool = False  # the exception is an AssertionError (or a subclass such as mimekit's CheckFailed)


@dataclass
class _Run:
    """The replies of one notebook run, and where and why it stopped early (if it did)."""

    replies: dict[int, _Reply] = field(default_factory=dict)
    stopped_at: int | None = None
    stop_reason: str | None = None  # "kernel died" | "out of time"


async def _execute(
    nb: NotebookNode,
    cwd: Path,
    *,
    cell_timeout: float,
    timeout: float,
    on_kernel_start: Callable[[int], None] | None,
) -> _Run:
    run = _Run()
    current = [0]
    out_of_time = asyncio.Event()

    probe = nbformat.v4.new_code_cell(_IS_ASSERTION)

    def record(cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        if cell is probe:
            return
        content = execute_reply.get("content", {})
        run.replies[cell_index] = _Reply(
            status=content.get("status", "error"),
            ename=content.get("ename", ""),
            evalue=content.get("evalue", ""),
            traceback=list(content.get("traceback", [])),
            execution_count=content.get("execution_count"),
        )

    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout_func=lambda cell: cell_timeout,  # the `timeout` option takes whole seconds only
        interrupt_on_timeout=True,  # an endless loop costs its own cell, then the run goes on
        allow_errors=True,  # a failed check must not stop the ones after it
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=record,
    )

    async def run_cells() -> None:
        # The kernel's own output streams (C-level prints, its start-up warnings) are not the student's
        # cell output, which travels over the kernel protocol: keep them out of the report.
        async with client.async_setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            if on_kernel_start is not None and client.km is not None and client.km.provisioner is not None:
                on_kernel_start(client.km.provisioner.pid)
            task = asyncio.current_task()
            assert task is not None

            def stop() -> None:
                out_of_time.set()
                task.cancel()

            deadline = asyncio.get_running_loop().call_later(timeout, stop)
            try:
                for index, cell in enumerate(nb.cells):
                    current[0] = index
                    await client.async_execute_cell(cell, index)
                    reply = run.replies.get(index)
                    if reply is not None and reply.status == "error" and reply.ename != "KeyboardInterrupt":
                        # The reply names the class only; ask the kernel whether it is an AssertionError.
                        await client.async_execute_cell(probe, index, store_history=False)
                        nb.cells[index] = cell  # nbclient stores the cell it ran at that index
                        said = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
                        reply.assertion = said.strip() == "True"
            finally:
                deadline.cancel()

    try:
        await run_cells()
    except DeadKernelError:
        # nbclient also turns a cancelled wait into DeadKernelError: the flag tells the two apart.
        run.stopped_at = current[0]
        run.stop_reason = "out of time" if out_of_time.is_set() else "kernel died"
    except asyncio.CancelledError:
        if not out_of_time.is_set():
            raise
        run.stopped_at, run.stop_reason = current[0], "out of time"
    return run


def _run_sync(coroutine: Any) -> Any:
    """Run *coroutine* to completion, also from code that already runs an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# --------------------------------------------------------------------------- explaining it


def _clean(text: str) -> str:
    return _ANSI.sub("", text)


class _Explainer:
    """Turns kernel replies into one-paragraph feedback, naming cells the way a student can find them."""

    def __init__(self, nb: NotebookNode, run: _Run, cell_timeout: float) -> None:
        self.nb = nb
        self.run = run
        self.cell_timeout = cell_timeout
        self.by_count = {r.execution_count: i for i, r in self.run.replies.items() if r.execution_count is not None}
        code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
        self.code_number = {index: number for number, index in enumerate(code, start=1)}

    def describe(self, index: int) -> str:
        cell = self.nb.cells[index]
        gid = grade_id(cell)
        if gid:
            return f"the cell `{gid}`"
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        if len(first) > 50:
            first = first[:47] + "..."
        return f"code cell {self.code_number.get(index, '?')} (the one starting `{first}`)"

    def location(self, reply: _Reply) -> str:
        """Where the error happened: the innermost frame that is a notebook cell, with its line ("" if unknown)."""
        frames = _CELL_FRAME.findall(_clean("\n".join(reply.traceback)))
        if not frames:
            return ""
        count, line_number = int(frames[-1][0]), int(frames[-1][1])
        index = self.by_count.get(count)
        if index is None:
            return ""
        lines = self.nb.cells[index].source.splitlines()
        line = lines[line_number - 1].strip() if 0 < line_number <= len(lines) else ""
        where = f"line {line_number} of {self.describe(index)}"
        return f"{where}: {line}" if line else where

    def error(self, reply: _Reply) -> str:
        """``Type: message``, the message cut to its last line, then ``at line N of …`` on a line of its own."""
        if reply.ename == "KeyboardInterrupt":
            return (
                f"a time-out: it ran longer than {format_points(self.cell_timeout)} s and was interrupted "
                "(an endless loop, or waiting for something that never comes?)"
            )
        message = reply.evalue.strip().splitlines()[-1] if reply.evalue.strip() else ""
        if reply.ename in ("SyntaxError", "IndentationError", "TabError"):
            message = _COMPILED_WHERE.sub("", message)  # "(2871.py, line 3)": a temporary file; the cell is named below
        text = f"{reply.ename}: {message}" if message else reply.ename
        where = self.location(reply)
        return f"{text}\n  at {where}" if where else text

    def not_attempted(self, answers: list[int], check: _Reply) -> bool:
        if check.ename == _NOT_IMPLEMENTED:
            return True
        return any(self.run.replies.get(i, _Reply("ok")).ename == _NOT_IMPLEMENTED for i in answers)

    def not_attempted_text(self, answers: list[int]) -> str:
        named = " and ".join(self.describe(i) for i in answers) or "the answer cell above this check"
        return (
            f"Write your answer in {named}: replace `# YOUR CODE HERE` with your code and delete the line "
            "`raise NotImplementedError()`, then check again."
        )

    def feedback(self, check_index: int, answers: list[int]) -> str:
        check = self.run.replies[check_index]
        if check.assertion and check.evalue.strip():
            text = check.evalue.strip()
        elif check.assertion:
            where = self.location(check)
            text = f"A check failed{' at ' + where if where else ''}."
        else:
            text = f"The check stopped with {self.error(check)}"
        for index in answers:
            reply = self.run.replies.get(index)
            if reply is not None and reply.status == "error":
                return (
                    f"Your answer in {self.describe(index)} stopped with {self.error(reply)}\n"
                    f"Fix that first. (Because of it: {text[0].lower() + text[1:]})"
                )
        return text

    def stopped(self, timeout: float) -> str:
        """Why the run ended early, in one sentence (the run did stop early)."""
        assert self.run.stopped_at is not None
        where = self.describe(self.run.stopped_at)
        if self.run.stop_reason == "out of time":
            return f"The notebook ran out of its {format_points(timeout)} s time limit in {where}."
        return (
            f"The Python kernel stopped while running {where}: something there ended it "
            "(os._exit(), a crash, or no memory left)."
        )


def _answers_of_each_check(nb: NotebookNode) -> dict[int, list[int]]:
    """Map each check cell's index to the answer cells it belongs to (see the module docstring)."""
    answers: list[int] = []
    last_was_check = False
    belongs: dict[int, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        if is_solution(cell):
            if last_was_check:
                answers, last_was_check = [], False
            answers.append(index)
        elif is_autograder_test(cell):
            belongs[index] = list(answers)
            last_was_check = True
    return belongs


def _results(
    nb: NotebookNode, source: NotebookNode, run: _Run, *, cell_timeout: float, timeout: float
) -> list[CheckResult]:
    explainer = _Explainer(nb, run, cell_timeout)
    positions = {grade_id(cell): i for i, cell in enumerate(nb.cells) if is_autograder_test(cell)}
    belongs = _answers_of_each_check(nb)
    results = []
    for cell in source.cells:
        if not is_autograder_test(cell):
            continue
        gid, worth = grade_id(cell), points(cell)
        assert gid is not None  # validated
        index = positions.get(gid)
        reply = None if index is None else run.replies.get(index)
        if index is None:
            results.append(
                CheckResult(
                    gid,
                    worth,
                    NOT_RUN,
                    (
                        f"This check cell is missing from your notebook (grade_id {gid}). "
                        "Copy it back from a fresh student copy of the exercise, in the same place."
                    ),
                )
            )
        elif reply is None:
            why = explainer.stopped(timeout) if run.stopped_at is not None else "The cell was skipped."
            results.append(CheckResult(gid, worth, NOT_RUN, f"This check never ran. {why}"))
        elif reply.status == "ok":
            results.append(CheckResult(gid, worth, PASSED))
        elif explainer.not_attempted(belongs.get(index, []), reply):
            results.append(CheckResult(gid, worth, NOT_ATTEMPTED, explainer.not_attempted_text(belongs.get(index, []))))
        else:
            results.append(CheckResult(gid, worth, FAILED, explainer.feedback(index, belongs.get(index, []))))
    return results


def _problem(nb: NotebookNode, run: _Run, timeout: float) -> str | None:
    if run.stopped_at is None:
        return None
    return _Explainer(nb, run, 0).stopped(timeout) + " The checks after it did not run."


def check_notebook(
    notebook: str | Path,
    *,
    source: str | Path | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    on_kernel_start: Callable[[int], None] | None = None,
) -> CheckReport:
    """Run the student notebook *notebook* with its exercise's checks; return the :class:`CheckReport`.

    *source* is the source notebook, or a folder holding one of the same file
    name (default: the kit's ``exercises/source/``; see :func:`find_source`).
    The notebook runs in a fresh ``python3`` kernel whose working folder is the
    notebook's folder. *cell_timeout* (seconds) limits each cell: a cell that
    runs longer is interrupted and the run goes on. *timeout* (seconds, kernel
    start-up not counted) limits the whole run: the kernel is then stopped and
    the checks not yet run are reported as not run. *on_kernel_start* is called
    with the kernel's process id once it runs (the batch grader uses it to
    stop a kernel that outlives its notebook).

    A student's mistakes never raise: a notebook that is not valid JSON, a
    check cell deleted, a kernel that dies are all in the report. Raises
    ``FileNotFoundError`` when the notebook or its source notebook does not
    exist, ``ValueError`` for a time limit that is not a positive number, and
    :class:`~mimekit.exercises.cells.ExerciseFormatError` for a broken source.
    """
    check_limits(cell_timeout, timeout)
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"No notebook at {notebook.absolute()}: check the path")
    source_path = find_source(notebook, source)
    source_nb = read_source(source_path)
    report = CheckReport(notebook=notebook, source=source_path)
    try:
        student = nbformat.read(notebook, as_version=4)
    except Exception as exc:  # not JSON, not a notebook, not UTF-8: the student's file, reported
        report.problem = (
            f"{notebook.name} could not be read as a notebook ({type(exc).__name__}: {_first_line(exc)}); "
            "was it saved from Jupyter?"
        )
        report.results = [
            CheckResult(
                grade_id(cell) or "", points(cell), NOT_RUN, "This check never ran: the notebook could not be read."
            )
            for cell in source_nb.cells
            if is_autograder_test(cell)
        ]
        return report
    nb = _notebook_to_run(student, source_nb)
    run = _run_sync(
        _execute(
            nb, notebook.resolve().parent, cell_timeout=cell_timeout, timeout=timeout, on_kernel_start=on_kernel_start
        )
    )
    report.results = _results(nb, source_nb, run, cell_timeout=cell_timeout, timeout=timeout)
    report.problem = _problem(nb, run, timeout)
    return report


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
