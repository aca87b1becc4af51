"""Specification of ``mimekit exercises check``: a student's notebook run with the instructor's checks.

Every source notebook passes all its checks; every student copy, as released,
fails each check as "not attempted yet"; and the mistakes students make (a wrong
answer, a broken cell, an edited or deleted check, an endless loop, a dead
kernel) come back as short feedback, never as a traceback or an error of the
checker. Each test runs real notebooks in real kernels, with short time limits.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from mimekit.__main__ import main
from mimekit.exercises.cells import grade_id
from mimekit.exercises.check import (
    FAILED,
    NOT_ATTEMPTED,
    NOT_RUN,
    PASSED,
    CheckReport,
    CheckResult,
    check_notebook,
    find_source,
)
from mimekit.exercises.release import default_exercises_dir

EXERCISES = default_exercises_dir()
SOURCES = sorted((EXERCISES / "source").glob("*.ipynb"))
FIRST = EXERCISES / "source" / "01_mimetext_and_headers.ipynb"
# Far above what an honest cell needs (well under a second), low enough to keep a stuck test short.
LIMITS = {"cell_timeout": 10, "timeout": 60}


def cell_of(nb, gid: str):
    return next(cell for cell in nb.cells if grade_id(cell) == gid)


def student_copy(tmp_path: Path, base: Path, change) -> Path:
    """*base* changed by *change(nb)*, saved under its own name in a folder of its own (as a student would)."""
    nb = nbformat.read(base, as_version=4)
    change(nb)
    folder = tmp_path / "alumno"
    folder.mkdir(exist_ok=True)
    path = folder / base.name
    nbformat.write(nb, path)
    return path


def points_in(path: Path) -> float:
    """The points a notebook's check cells are worth, read from their nbgrader metadata."""
    nb = nbformat.read(path, as_version=4)
    return sum(cell.metadata["nbgrader"]["points"] for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade"))


def statuses(report: CheckReport) -> dict[str, str]:
    return {result.grade_id: result.status for result in report.results}


# --------------------------------------------------------------------------- the kit's own exercises


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_source_notebook_passes_all_its_checks(path: Path):
    report = check_notebook(path, source=path, **LIMITS)
    assert report.results and report.passed, report.render()
    assert report.points == report.max_points == points_in(path)
    assert report.problem is None


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_released_notebook_runs_and_reports_each_check_not_attempted(path: Path):
    report = check_notebook(EXERCISES / "release" / path.name, source=EXERCISES / "source", **LIMITS)
    assert report.results, report.render()
    assert set(statuses(report).values()) == {NOT_ATTEMPTED}, report.render()
    assert report.points == 0 and report.max_points == points_in(path) and not report.passed
    for result in report.results:
        assert "Write your answer in the cell `" in result.feedback
        assert "raise NotImplementedError()" in result.feedback
        assert "Traceback" not in result.feedback


# --------------------------------------------------------------------------- mistakes, and what the student reads


def wrong_and_broken(nb) -> None:
    """The one-string From trap, a check replaced by `pass`, and an answer that raises TypeError."""
    build = cell_of(nb, "build_confirmation")
    build.source = build.source.replace(
        'email.utils.formataddr(("José Núñez", "jose.nunez@example.com"))', '"José Núñez <jose.nunez@example.com>"'
    )
    cell_of(nb, "check_headers").source = "pass  # the student 'fixed' the check"
    answer = cell_of(nb, "sender_of")
    answer.source = answer.source.replace("sender = msg", "sender = len(msg) + 'x'\n    sender = msg")


@pytest.fixture(scope="module")
def wrong_and_broken_report(tmp_path_factory):
    path = student_copy(tmp_path_factory.mktemp("wrong"), FIRST, wrong_and_broken)
    return check_notebook(path, source=FIRST, **LIMITS)


def test_an_edited_check_still_runs_as_the_instructor_wrote_it(wrong_and_broken_report):
    assert statuses(wrong_and_broken_report) == {
        "check_headers": FAILED,
        "check_body": FAILED,
        "check_sender_of": FAILED,
    }


def test_a_failed_assertion_gives_its_teaching_message(wrong_and_broken_report):
    headers = wrong_and_broken_report.results[0]
    assert headers.feedback.splitlines()[0] == "The From header does not hold a readable address."
    assert "Expected: From: José Núñez <jose.nunez@example.com>" in headers.feedback
    assert headers.points == 0 and headers.max_points == 2


def test_another_exception_gives_its_type_last_line_and_where_it_happened(wrong_and_broken_report):
    body, sender = wrong_and_broken_report.results[1], wrong_and_broken_report.results[2]
    first, where = body.feedback.splitlines()
    assert first.startswith("The check stopped with HeaderError: The From header 'José Núñez <jose.nunez@example.com>'")
    assert where == "  at line 4 of the cell `check_body`: back = load_message(as_smtp_bytes(msg))"
    assert sender.feedback.splitlines()[:2] == [
        "The check stopped with TypeError: unsupported operand type(s) for +: 'int' and 'str'",
        "  at line 5 of the cell `sender_of`: sender = len(msg) + 'x'",
    ]
    for result in wrong_and_broken_report.results:
        assert "Traceback" not in result.feedback and "\x1b[" not in result.feedback


def deleted_check_and_crash(nb) -> None:
    nb.cells.remove(cell_of(nb, "check_body"))
    task = nb.cells.index(cell_of(nb, "task_sender"))
    nb.cells.insert(task, new_code_cell("import os\nos._exit(1)  # the kernel ends here", id="mine-001"))


def test_a_deleted_check_and_a_dead_kernel_cost_only_the_checks_they_touch(tmp_path):
    path = student_copy(tmp_path, FIRST, deleted_check_and_crash)
    report = check_notebook(path, source=FIRST, **LIMITS)
    assert statuses(report) == {"check_headers": PASSED, "check_body": NOT_RUN, "check_sender_of": NOT_RUN}
    assert report.points == 2 and report.max_points == 6
    assert report.results[1].feedback.startswith("This check cell is missing from your notebook (grade_id check_body).")
    assert report.problem == (
        "The Python kernel stopped while running code cell 5 (the one starting `import os`): something there ended it "
        "(os._exit(), a crash, or no memory left). The checks after it did not run."
    )
    assert report.results[2].feedback == "This check never ran. " + report.problem.removesuffix(
        " The checks after it did not run."
    )


def test_an_endless_loop_is_interrupted_after_the_cell_time_limit_and_the_run_goes_on(tmp_path):
    path = student_copy(
        tmp_path, FIRST, lambda nb: cell_of(nb, "build_confirmation").update(source="while True:\n    pass")
    )
    report = check_notebook(path, source=FIRST, **LIMITS)  # every other cell needs far less than cell_timeout
    assert statuses(report) == {"check_headers": FAILED, "check_body": FAILED, "check_sender_of": PASSED}
    assert report.results[0].feedback.splitlines()[0] == (
        "Your answer in the cell `build_confirmation` stopped with a time-out: it ran longer than 10 s and was "
        "interrupted (an endless loop, or waiting for something that never comes?)"
    )


def test_a_loop_that_ignores_interrupts_is_stopped_by_the_notebook_time_limit(tmp_path):
    stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    path = student_copy(tmp_path, FIRST, lambda nb: nb.cells.insert(0, new_code_cell(stubborn, id="mine-001")))
    report = check_notebook(path, source=FIRST, cell_timeout=60, timeout=5)
    assert set(statuses(report).values()) == {NOT_RUN}
    assert report.problem == (
        "The notebook ran out of its 5 s time limit in code cell 1 (the one starting `import signal`). "
        "The checks after it did not run."
    )


def test_a_file_that_is_not_a_notebook_is_reported_not_raised(tmp_path):
    path = tmp_path / FIRST.name
    path.write_text("{ this is not JSON", encoding="utf-8")
    report = check_notebook(path, source=FIRST, **LIMITS)
    assert set(statuses(report).values()) == {NOT_RUN}
    assert report.problem.startswith(f"{FIRST.name} could not be read as a notebook (")


# --------------------------------------------------------------------------- finding the checks, bad arguments


def test_the_source_is_found_by_file_name_in_a_folder_or_given_directly(tmp_path):
    assert find_source(tmp_path / FIRST.name, EXERCISES / "source") == FIRST
    assert find_source(tmp_path / "renamed.ipynb", FIRST) == FIRST
    assert find_source(tmp_path / FIRST.name) == FIRST  # the kit's own exercises/source by default
    with pytest.raises(FileNotFoundError, match="No source notebook for mine.ipynb: looked for .*mine.ipynb"):
        find_source(tmp_path / "mine.ipynb", EXERCISES / "source")


@pytest.mark.parametrize("limits", [{"timeout": 0}, {"cell_timeout": -1}, {"timeout": True}])
def test_time_limits_must_be_positive_numbers_of_seconds(limits):
    with pytest.raises(ValueError, match="must be a positive number of seconds"):
        check_notebook(FIRST, source=FIRST, **limits)


def test_report_adds_up_points_and_survives_json():
    report = CheckReport(
        notebook=Path("alumno/01.ipynb"),
        source=FIRST,
        results=[CheckResult("a", 2, PASSED), CheckResult("b", 1.5, FAILED, "Núñez ≠ Nunez")],
        problem="a sentence",
    )
    assert (report.points, report.max_points, report.passed) == (2, 3.5, False)
    assert CheckReport.from_json(report.to_json()) == report
    assert json.loads(report.to_json())["results"][1] == {
        "grade_id": "b",
        "max_points": 1.5,
        "status": "failed",
        "feedback": "Núñez ≠ Nunez",
    }
    assert report.render().splitlines()[-1] == "Score: 2 of 3.5 points (1 of 2 checks passed)"


# --------------------------------------------------------------------------- the command line


def test_check_command_prints_every_check_and_exits_0_when_all_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(EXERCISES.parent)
    out_json = tmp_path / "report.json"
    status = main(["exercises", "check", str(FIRST), "--source", "exercises/source", "--json", str(out_json)])
    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{FIRST}: checked with the checks of exercises/source/01_mimetext_and_headers.ipynb",
        "",
        "✔ check_headers    2/2  passed",
        "✔ check_body       2/2  passed",
        "✔ check_sender_of  2/2  passed",
        "",
        "Score: 6 of 6 points (3 of 3 checks passed)",
    ]
    assert CheckReport.from_json(out_json.read_text(encoding="utf-8")).points == 6


def test_check_command_on_a_blank_copy_says_not_attempted_and_exits_1(capsys, monkeypatch):
    monkeypatch.chdir(EXERCISES.parent)
    status = main(["exercises", "check", "exercises/release/01_mimetext_and_headers.ipynb"])
    assert status == 1
    todo = (
        "    Write your answer in the cell `{}`: replace `# YOUR CODE HERE` with your code and delete the line "
        "`raise NotImplementedError()`, then check again."
    )
    assert capsys.readouterr().out.splitlines() == [
        (
            "exercises/release/01_mimetext_and_headers.ipynb: checked with the checks of "
            "exercises/source/01_mimetext_and_headers.ipynb"
        ),
        "",
        "… check_headers    0/2  not attempted yet",
        todo.format("build_confirmation"),
        "… check_body       0/2  not attempted yet",
        todo.format("build_confirmation"),
        "… check_sender_of  0/2  not attempted yet",
        todo.format("sender_of"),
        "",
        "Score: 0 of 6 points (0 of 3 checks passed)",
    ]


def test_check_command_without_a_source_says_where_it_looked(tmp_path, capsys):
    path = tmp_path / "mine.ipynb"
    path.write_text("{}", encoding="utf-8")
    assert main(["exercises", "check", str(path)]) == 1
    assert capsys.readouterr().err.startswith("mimekit exercises check: error: No source notebook for mine.ipynb")
