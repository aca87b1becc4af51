"""Specification of ``mimekit exercises grade``: a class's submissions, each in its own process, into one CSV.

The class: Ana hands in correct notebooks, Bea the blank student copies (in
nbgrader's ``submitted/<student>/<assignment>/`` layout), Carlos a notebook
whose kernel dies half-way and nothing else, Dani a notebook with an endless
loop. Each costs only its own checks. The limits are short so that the test
stays fast; nothing here is timed.
"""

from __future__ import annotations

import csv
import shutil
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from mimekit.__main__ import main
from mimekit.exercises.cells import grade_id
from mimekit.exercises.check import FAILED, PASSED, CheckReport, CheckResult
from mimekit.exercises.grade import Gradebook, find_submissions, grade_submissions, run_in_process_group
from mimekit.exercises.release import default_exercises_dir

EXERCISES = default_exercises_dir()
FIRST, SECOND = "01_mimetext_and_headers.ipynb", "02_send_and_verify.ipynb"

HEADER = [
    "student",
    "01_mimetext_and_headers:check_headers",
    "01_mimetext_and_headers:check_body",
    "01_mimetext_and_headers:check_sender_of",
    "02_send_and_verify:check_sent",
    "02_send_and_verify:check_blind_recipients",
    "total",
    "notes",
]
CARLOS_NOTE = (
    "01_mimetext_and_headers: The Python kernel stopped while running code cell 6 (the one starting `import os`): "
    "something there ended it (os._exit(), a crash, or no memory left). The checks after it did not run.; "
    "02_send_and_verify: not submitted"
)
ROWS = [
    ["ana", "2", "2", "2", "3", "3", "12", ""],
    ["bea", "0", "0", "0", "0", "0", "0", ""],
    ["carlos", "2", "2", "0", "0", "0", "4", CARLOS_NOTE],
    ["dani", "2", "2", "2", "3", "0", "9", ""],
]


def changed(name: str, change) -> nbformat.NotebookNode:
    nb = nbformat.read(EXERCISES / "source" / name, as_version=4)
    change(nb)
    return nb


def crash_before_task_2(nb) -> None:
    task = next(i for i, cell in enumerate(nb.cells) if grade_id(cell) == "task_sender")
    nb.cells.insert(task, new_code_cell("import os\nos._exit(1)", id="carlos-1"))


def endless_answer(nb) -> None:
    next(cell for cell in nb.cells if grade_id(cell) == "blind_recipients").source = "while True: pass"


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("submitted")
    for student, folder in {"ana": "ana", "bea": "bea/ps1", "carlos": "carlos", "dani": "dani"}.items():
        (root / folder).mkdir(parents=True)
    for name in (FIRST, SECOND):
        shutil.copy(EXERCISES / "source" / name, root / "ana" / name)
        shutil.copy(EXERCISES / "release" / name, root / "bea" / "ps1" / name)
    nbformat.write(changed(FIRST, crash_before_task_2), root / "carlos" / FIRST)
    shutil.copy(EXERCISES / "source" / FIRST, root / "dani" / FIRST)
    nbformat.write(changed(SECOND, endless_answer), root / "dani" / SECOND)
    (root / "dani" / ".ipynb_checkpoints").mkdir()
    shutil.copy(EXERCISES / "release" / FIRST, root / "dani" / ".ipynb_checkpoints" / FIRST)  # skipped
    (root / "dani" / "notas.ipynb").write_text("{}", encoding="utf-8")  # not an exercise: ignored
    return root


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    # cell limit: far more than any honest cell needs, so only Dani's loop reaches it;
    # notebook limit: room for that loop and the rest of the notebook after it.
    argv = ["exercises", "grade", str(submissions), "--out", str(out), "--cell-timeout", "10", "--timeout", "40"]
    status = main([*argv, "--jobs", "2"])
    return status, out


def test_grading_a_class_gives_one_row_per_student_with_points_totals_and_notes(graded):
    status, out = graded
    assert status == 0
    with open(out, encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table == [HEADER, *ROWS]


def test_submissions_in_both_layouts_are_found_and_hidden_folders_skipped(submissions):
    found = find_submissions(submissions, [FIRST, SECOND])
    assert {
        student: sorted(p.relative_to(submissions).as_posix() for p in nbs.values()) for student, nbs in found.items()
    } == {
        "ana": [f"ana/{FIRST}", f"ana/{SECOND}"],
        "bea": [f"bea/ps1/{FIRST}", f"bea/ps1/{SECOND}"],
        "carlos": [f"carlos/{FIRST}"],
        "dani": [f"dani/{FIRST}", f"dani/{SECOND}"],
    }
    assert list(found) == ["ana", "bea", "carlos", "dani"]


def test_a_notebook_handed_in_twice_is_an_error_naming_both_copies(tmp_path):
    for folder in ("eva/ps1", "eva/ps2"):
        (tmp_path / folder).mkdir(parents=True)
        shutil.copy(EXERCISES / "release" / FIRST, tmp_path / folder / FIRST)
    with pytest.raises(ValueError, match=f"eva has two copies of {FIRST}: .*ps1.* and .*ps2"):
        find_submissions(tmp_path, [FIRST])


def test_grade_refuses_more_than_two_jobs_and_unknown_notebooks(tmp_path):
    with pytest.raises(ValueError, match="jobs must be 1 or 2"):
        grade_submissions(tmp_path, jobs=3)
    with pytest.raises(FileNotFoundError, match="No source notebook 99_x.ipynb"):
        grade_submissions(tmp_path, notebooks=["99_x.ipynb"])


def test_points_are_written_without_needless_decimals():
    book = Gradebook(columns=[("a.ipynb", "x", 1.5), ("a.ipynb", "y", 2.0)])
    book.reports = {
        "zoë": {
            "a.ipynb": CheckReport(
                Path("a.ipynb"), Path("a.ipynb"), [CheckResult("x", 1.5, PASSED), CheckResult("y", 2.0, FAILED)]
            )
        },
        "íñigo": {},
    }
    assert book.rows() == [["zoë", "1.5", "0", "1.5", ""], ["íñigo", "0", "0", "0", "a: not submitted"]]
    assert book.max_points == 3.5


# --------------------------------------------------------------------------- the process-group kill


def _gone(pid: int) -> bool:
    """True once *pid* has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_a_checker_that_overruns_is_killed_with_its_group_and_the_kernel_session(tmp_path):
    # Like the checker: one child in its own group's reach, and one "kernel" in a session of its own,
    # as Jupyter starts every kernel; both pids written down, then the checker hangs.
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    script = (
        "import subprocess, time\n"
        f"kernel = subprocess.Popen({sleeper!r}, start_new_session=True)\n"
        f"helper = subprocess.Popen({sleeper!r})\n"
        f"open({str(tmp_path / 'kernel.pid')!r}, 'w').write(str(kernel.pid))\n"
        f"open({str(tmp_path / 'helper.pid')!r}, 'w').write(str(helper.pid))\n"
        "time.sleep(600)\n"
    )
    status = run_in_process_group([sys.executable, "-c", script], timeout=10, kernel_pid_file=tmp_path / "kernel.pid")
    assert status is None, "killed, not finished"
    for name in ("kernel", "helper"):
        pid = int((tmp_path / f"{name}.pid").read_text())
        for _ in range(100):  # SIGKILL is at once; its reaper may take a moment
            if _gone(pid):
                break
            time.sleep(0.1)
        assert _gone(pid), f"the {name} process {pid} survived"


def test_a_process_that_finishes_in_time_gives_its_exit_status_and_its_errors(tmp_path):
    argv = [sys.executable, "-c", "import sys; sys.exit('no report: Núñez')"]
    assert run_in_process_group(argv, timeout=60, cwd=tmp_path, stderr_file=tmp_path / "err.txt") == 1
    assert (tmp_path / "err.txt").read_text(encoding="utf-8").strip() == "no report: Núñez"


def test_a_cancelled_run_is_killed_without_waiting_for_its_time_limit():
    cancel = threading.Event()
    cancel.set()  # as grade_submissions does after Ctrl-C
    assert (
        run_in_process_group([sys.executable, "-c", "import time; time.sleep(600)"], timeout=600, cancel=cancel) is None
    )
