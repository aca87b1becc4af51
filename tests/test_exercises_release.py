"""Specification of the exercise format and of ``mimekit exercises release`` (source → student copy).

The student copies in ``exercises/release/`` are generated, never edited: the
first test regenerates them in memory and compares them with the files on disk.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mimekit.__main__ import main
from mimekit.exercises.cells import (
    CODE_STUB,
    ExerciseFormatError,
    grade_id,
    is_autograder_test,
    is_solution,
    validate_exercise,
)
from mimekit.exercises.release import (
    default_exercises_dir,
    read_source,
    release_exercises,
    release_notebook,
    render_release,
    stale_releases,
)

EXERCISES = default_exercises_dir()
SOURCES = sorted((EXERCISES / "source").glob("*.ipynb"))
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def nbgrader(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def small_exercise() -> nbformat.NotebookNode:
    """Task, answer (a function whose body is the solution), check with a hidden part."""
    return new_notebook(
        cells=[
            new_markdown_cell("# Exercise", id="t-000", metadata=nbgrader("intro", locked=True)),
            new_code_cell(
                'def greet(name):\n    """Say hello."""\n'
                '    ### BEGIN SOLUTION\n    return f"Hola {name}"\n    ### END SOLUTION',
                id="t-001",
                metadata=nbgrader("greet", solution=True),
                execution_count=3,
                outputs=[nbformat.v4.new_output("stream", text="x\n")],
            ),
            new_code_cell(
                'assert greet("José") == "Hola José"\n'
                '### BEGIN HIDDEN TESTS\nassert greet("") == "Hola "\n### END HIDDEN TESTS',
                id="t-002",
                metadata=nbgrader("check_greet", grade=True, locked=True, points=1),
            ),
        ]
    )


# --------------------------------------------------------------------------- the kit's own exercises


def test_release_folder_is_in_sync_with_the_sources():
    stale = stale_releases(EXERCISES / "source", EXERCISES / "release")
    assert stale == [], "exercises/release/ is out of date: run `mimekit exercises release`\n" + "\n".join(
        map(str, stale)
    )


def test_there_are_exercises_and_each_is_a_valid_nbgrader_source():
    # The list, one exercise each, from MIMEText to retrying against greylisting.
    assert [path.stem for path in SOURCES] == [
        "01_mimetext_and_headers",
        "02_send_and_verify",
        "03_non_ascii_names_and_subjects",
        "04_multipart_alternative",
        "05_inline_logo_related",
        "06_attachments_non_ascii_filenames",
        "07_parse_and_rearrange",
        "08_envelope_vs_headers",
        "09_order_confirmation",
        "10_shipping_notification",
        "11_abandoned_cart",
        "12_newsletter_one_click",
        "13_account_notification_no_secret",
        "14_retry_greylisting",
    ]
    stars = [read_source(path).cells[0].source.splitlines()[0].count("★") for path in SOURCES]
    assert min(stars) == 1 and max(stars) == 3, f"from ★ to ★★★: {stars}"
    for path in SOURCES:
        nb = read_source(path)  # validates
        checks = [cell for cell in nb.cells if is_autograder_test(cell)]
        assert checks and all(cell.metadata.nbgrader.points > 0 for cell in checks), path.name
        assert all(cell.source.startswith("# Check: ") for cell in checks), "a check opens with what it checks"
        assert any("### BEGIN HIDDEN TESTS" in cell.source for cell in checks), f"{path.name} has no hidden check"
        assert all(cell.get("outputs", []) == [] for cell in nb.cells if cell.cell_type == "code"), (
            "sources store no outputs"
        )
        ids = [cell.id for cell in nb.cells]
        assert ids == [f"ex{path.name[:2]}-{n:03d}" for n in range(len(ids))], "stable cell ids exNN-000, exNN-001, …"


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_student_copy_keeps_ids_and_metadata_and_hides_every_answer(path: Path):
    source = read_source(path)
    release = nbformat.read(EXERCISES / "release" / path.name, as_version=4)
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
    assert [c.metadata.get("nbgrader") for c in release.cells] == [c.metadata.get("nbgrader") for c in source.cells]
    text = (EXERCISES / "release" / path.name).read_text(encoding="utf-8")
    for marker in MARKERS:
        assert marker not in text
    for cell in release.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if is_solution(cell):
            assert cell.source.splitlines()[-2:] == ["    # YOUR CODE HERE", "    raise NotImplementedError()"]
            assert cell.source.startswith("def "), "the signature and docstring stay visible"


# --------------------------------------------------------------------------- the transformation


def test_release_stubs_solutions_at_their_indentation_removes_hidden_tests_and_clears_outputs():
    source = small_exercise()
    release = release_notebook(source)
    answer, check = release.cells[1], release.cells[2]
    assert (
        answer.source == 'def greet(name):\n    """Say hello."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    )
    assert answer.outputs == [] and answer.execution_count is None
    assert check.source == 'assert greet("José") == "Hola José"'
    assert source.cells[1].execution_count == 3, "the source notebook is left as it was"


def test_an_answer_cell_without_a_solution_region_is_replaced_whole():
    nb = small_exercise()
    nb.cells[1].source = 'def greet(name):\n    return f"Hola {name}"'
    assert release_notebook(nb).cells[1].source == CODE_STUB


def test_release_is_deterministic_and_written_as_nbformat_writes_it(tmp_path):
    path = tmp_path / "03_greet.ipynb"
    nbformat.write(small_exercise(), path)
    first = render_release(path)
    assert render_release(path) == first
    assert first.endswith("}\n") and json.loads(first)["cells"][1]["id"] == "t-001"
    assert first == nbformat.writes(nbformat.reads(first, as_version=4)) + "\n"


def test_release_exercises_writes_missing_rewrites_outdated_deletes_orphans(tmp_path):
    source, release = tmp_path / "source", tmp_path / "release"
    shutil.copytree(EXERCISES / "source", source)
    written = release_exercises(source, release)
    assert [(c.path.name, c.kind) for c in written] == [(p.name, "missing") for p in SOURCES]
    assert release_exercises(source, release) == [], "a second run changes nothing"
    assert [p.read_bytes() for p in sorted(release.glob("*.ipynb"))] == [
        (EXERCISES / "release" / p.name).read_bytes() for p in SOURCES
    ]
    (release / "99_old.ipynb").write_text("{}", encoding="utf-8")
    edited = release / SOURCES[0].name
    edited.write_text(edited.read_text(encoding="utf-8").replace("YOUR CODE HERE", "my answer"), encoding="utf-8")
    assert {(c.path.name, c.kind) for c in stale_releases(source, release)} == {
        (SOURCES[0].name, "outdated"),
        ("99_old.ipynb", "orphan"),
    }
    release_exercises(source, release)
    assert not (release / "99_old.ipynb").exists()
    assert stale_releases(source, release) == []


def test_release_check_on_the_command_line_fails_when_stale_and_says_what_to_run(tmp_path, capsys):
    source, release = tmp_path / "source", tmp_path / "release"
    shutil.copytree(EXERCISES / "source", source)
    assert main(["exercises", "release", "--source", str(source), "--release", str(release), "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{release / SOURCES[0].name} is missing" in err
    assert "run `mimekit exercises release`" in err
    assert not release.exists(), "--check writes nothing"
    assert main(["exercises", "release", "--source", str(source), "--release", str(release)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {release / p.name}" for p in SOURCES]
    assert main(["exercises", "release", "--source", str(source), "--release", str(release), "--check"]) == 0


# --------------------------------------------------------------------------- the format's rules


def broken(change) -> nbformat.NotebookNode:
    nb = small_exercise()
    change(nb)
    return nb


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda nb: nb.cells[0].update(source="### BEGIN SOLUTION\nx\n### END SOLUTION"), "must be in an answer cell"),
        (lambda nb: nb.cells[1].update(source="### BEGIN SOLUTION\nx = 1"), "is never closed"),
        (lambda nb: nb.cells[1].update(source="### BEGIN SOLUTION\n" * 2 + "### END SOLUTION"), "inside another"),
        (lambda nb: nb.cells[2].update(source="### END HIDDEN TESTS"), "without a '### BEGIN HIDDEN TESTS'"),
        (lambda nb: nb.cells[2].metadata.nbgrader.pop("points"), "needs points"),
        (lambda nb: nb.cells[2].metadata.nbgrader.update(grade_id="check_greet!"), "letters, digits"),
        (lambda nb: nb.cells[2].metadata.nbgrader.update(grade_id="greet"), "already used by cell 2"),
        (lambda nb: nb.cells[2].metadata.nbgrader.update(schema_version=1), "schema_version is 1"),
        (lambda nb: nb.cells[2].metadata.update(nbgrader("check_greet", locked=True)), "must be in an autograder test"),
        (lambda nb: nb.cells[1].metadata.nbgrader.update(grade=True, points=1), "split it into an answer cell"),
        (lambda nb: nb.cells.pop(2), "has no autograder test"),
        (lambda nb: nb.cells[2].metadata.pop("nbgrader"), "no nbgrader metadata"),
    ],
    ids=[
        "solution-outside-answer", "unclosed", "nested", "end-without-begin", "no-points", "bad-grade-id",
        "duplicate-grade-id", "schema-version", "hidden-outside-test", "graded-answer", "no-check", "no-metadata",
    ],
)  # fmt: skip
def test_validation_names_the_cell_and_the_problem(change, message):
    with pytest.raises(ExerciseFormatError, match=message) as caught:
        validate_exercise(broken(change), "03_greet.ipynb")
    assert str(caught.value).startswith("03_greet.ipynb")
    assert isinstance(caught.value, ValueError)


def test_grade_ids_of_the_small_exercise_are_read_from_metadata():
    assert [grade_id(cell) for cell in small_exercise().cells] == ["intro", "greet", "check_greet"]
    assert grade_id(new_code_cell("x = 1")) is None
