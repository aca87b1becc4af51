"""The ``mimekit`` command line (also ``python -m mimekit``).

``mimekit demo [--save DIR]``
    start the embedded server, send every shop e-mail to it, print what was
    captured; exit status 0 when nothing was lost, 1 otherwise.
``mimekit inspect FILE.eml``
    print the annotated MIME tree of a message file; exit status 1 if the
    file cannot be read or holds no message (no header lines).
``mimekit serve [--host H] [--port P] [--tls | --smtps] [--auth USER:PASS] [--max-size BYTES] [--fault SPEC]…
[--maildir DIR] [--transcript]``
    run the capturing SMTP server as a process, one line per message, until
    Ctrl-C or SIGTERM (see :mod:`mimekit.serve`); ``--maildir`` keeps the mail
    in a Maildir across runs, ``--transcript`` prints each session as it ends.
``mimekit exercises release [--source DIR] [--release DIR] [--check]``
    write the student copy of every exercise source notebook (see
    :mod:`mimekit.exercises.release`); with ``--check``, write nothing and exit
    with status 1 if ``release/`` is out of date.
``mimekit exercises check NOTEBOOK [--source PATH] [--cell-timeout S] [--timeout S] [--json FILE]``
    run a student's notebook with the exercise's checks, hidden ones included,
    and print each check's result and feedback; exit status 0 when all pass,
    1 otherwise (see :mod:`mimekit.exercises.check`).
``mimekit exercises grade SUBMISSIONS_DIR --out grades.csv [--source DIR] [--notebook NAME]… [--jobs N]``
    check every student's notebooks, each in its own process, and write one
    CSV row per student (see :mod:`mimekit.exercises.grade`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import MimekitError
from .tree import load_message, render_tree

__all__ = ["main"]


def _count(n: int, noun: str) -> str:
    """``1 student``, ``2 students``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with *argv* (default ``sys.argv[1:]``); return the exit status."""
    parser = argparse.ArgumentParser(
        prog="mimekit",
        description="mimekit: see how an e-mail is built and sent.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="send every shop e-mail to an embedded SMTP server and show the captured copies"
    )
    demo.add_argument("--save", metavar="DIR", type=Path, help="write each captured message to DIR/NN-<type>.eml")
    inspect = commands.add_parser("inspect", help="print the annotated MIME tree of an .eml file")
    inspect.add_argument("file", metavar="FILE.eml", type=Path)
    _add_serve_parser(commands)
    _add_exercises_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "exercises":
        return _run_exercises(args)

    if args.command == "serve":
        from .serve import serve

        return serve(
            sys.stdout,
            sys.stderr,
            host=args.host,
            port=args.port,
            allow_remote=args.allow_remote,
            tls="starttls" if args.tls else "implicit" if args.smtps else None,
            auth=args.auth,
            max_size=args.max_size,
            faults=args.fault,
            maildir=args.maildir,
            transcript=args.transcript,
        )

    if args.command == "demo":
        from .demo import run_demo

        try:
            lost = run_demo(sys.stdout, save_dir=args.save)
        except (MimekitError, OSError) as exc:
            print(f"mimekit demo: error: {exc}", file=sys.stderr)
            return 1
        return 0 if lost == 0 else 1

    try:
        msg = load_message(args.file)
    except OSError as exc:
        print(f"mimekit inspect: error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if not msg.keys():
        print(
            f"mimekit inspect: error: {args.file} has no header lines, so it is empty or not an e-mail "
            "message. A message starts with headers such as From: and Subject:, then a blank line, "
            "then the body (RFC 5322 §2.1).",
            file=sys.stderr,
        )
        return 1
    print(f"{args.file}")
    for header in ("From", "To", "Cc", "Subject", "Date", "Message-ID"):
        try:
            value = msg[header]
        except Exception as exc:  # a header so broken the parser gives up on it
            value = f"(unreadable: {exc})"
        if value is not None:
            print(f"  {header + ':':<11} {value}")
    print()
    print(render_tree(msg, explain_types=True))
    return 0


def _add_serve_parser(commands: argparse._SubParsersAction) -> None:
    from .faults import FaultPlan
    from .serve import DEFAULT_PORT

    serve = commands.add_parser(
        "serve",
        help="run the capturing SMTP server as a standalone process",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="fault specs (--fault, repeatable or comma-separated):\n" + FaultPlan.SPEC_FORMS,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    serve.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback (prints a warning)")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--tls", action="store_true", help="offer STARTTLS (RFC 3207) with a throwaway lesson CA")
    mode.add_argument("--smtps", action="store_true", help="implicit TLS from the first byte (RFC 8314)")
    serve.add_argument(
        "--auth",
        metavar="USER:PASS",
        help="accept AUTH PLAIN/LOGIN for this lesson account (TLS only); USER alone reads the password from "
        "$MIMEKIT_SERVE_PASSWORD, which keeps it out of `ps` and the shell history",
    )
    serve.add_argument("--max-size", metavar="BYTES", type=int, help="largest message accepted (SIZE, 552 beyond)")
    serve.add_argument("--fault", action="append", metavar="SPEC", help="a scripted fault; repeat for several")
    serve.add_argument(
        "--maildir", metavar="DIR", help="also keep every message in this Maildir folder, and load its mail at start"
    )
    serve.add_argument(
        "--transcript", action="store_true", help="print each SMTP session (AUTH secrets masked) when it ends"
    )


def _add_exercises_parser(commands: argparse._SubParsersAction) -> None:
    exercises = commands.add_parser(
        "exercises",
        help="release, check and grade the exercise notebooks (nbgrader format)",
        description="Exercise notebooks: the instructor's source (solutions, hidden checks) in exercises/source/, "
        "the student copies generated in exercises/release/.",
    )
    actions = exercises.add_subparsers(dest="action", required=True, metavar="ACTION")
    release = actions.add_parser("release", help="generate the student copies from the source notebooks")
    source_help = "source notebooks (default: exercises/source, beside the mimekit package)"
    release.add_argument("--source", metavar="DIR", type=Path, help=source_help)
    release.add_argument("--release", metavar="DIR", type=Path, help="student copies (default: exercises/release)")
    release.add_argument("--check", action="store_true", help="write nothing; exit 1 if the copies are out of date")

    def limits(sub: argparse.ArgumentParser) -> None:
        from .exercises import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT

        sub.add_argument(
            "--cell-timeout", metavar="SECONDS", type=float, default=DEFAULT_CELL_TIMEOUT,
            help=f"interrupt a cell after this long and go on (default {DEFAULT_CELL_TIMEOUT:g})",
        )  # fmt: skip
        sub.add_argument(
            "--timeout", metavar="SECONDS", type=float, default=DEFAULT_TIMEOUT,
            help=f"stop a notebook after this long, kernel start-up aside (default {DEFAULT_TIMEOUT:g})",
        )  # fmt: skip

    check = actions.add_parser("check", help="run a student's notebook with its checks and print the feedback")
    check.add_argument("notebook", metavar="NOTEBOOK", type=Path)
    check.add_argument(
        "--source", metavar="PATH", type=Path,
        help="the source notebook, or its folder (default: the kit's exercises/source; matched by file name)",
    )  # fmt: skip
    limits(check)
    check.add_argument("--json", metavar="FILE", type=Path, help="also write the report as JSON to FILE")
    check.add_argument("--kernel-pid-file", type=Path, help=argparse.SUPPRESS)  # used by `grade`

    grade = actions.add_parser(
        "grade",
        help="check every student's notebooks and write a CSV of points",
        description="SUBMISSIONS_DIR holds one folder per student (its name is the student id), with the notebooks "
        "in it or one folder deeper (nbgrader's submitted/<student>/<assignment>/).",
    )
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR", type=Path)
    grade.add_argument("--out", metavar="FILE.csv", type=Path, required=True, help="where to write the CSV")
    grade.add_argument("--source", metavar="DIR", type=Path, help=source_help)
    grade.add_argument(
        "--notebook", metavar="NAME", action="append",
        help="grade this notebook (file name; repeatable); default: every one somebody submitted",
    )  # fmt: skip
    limits(grade)
    grade.add_argument("--jobs", metavar="N", type=int, default=2, help="notebooks checked at once, 1 or 2 (default 2)")


def _run_exercises(args: argparse.Namespace) -> int:
    name = f"mimekit exercises {args.action}"
    try:
        from .exercises import check, grade, release
    except ModuleNotFoundError as exc:
        print(
            f"{name}: error: the exercises need nbformat, nbclient and ipykernel, and {exc.name} is not installed: "
            "pip install nbformat nbclient ipykernel (or make setup, which installs them)",
            file=sys.stderr,
        )
        return 1
    try:
        if args.action == "release":
            folder = release.default_exercises_dir()
            source, target = args.source or folder / "source", args.release or folder / "release"
            if args.check:
                stale = release.stale_releases(source, target)
                for change in stale:
                    print(f"{name}: {change}", file=sys.stderr)
                if stale:
                    print(f"{name}: run `mimekit exercises release` to regenerate {target}", file=sys.stderr)
                    return 1
                print(f"{target}: up to date with {source}")
                return 0
            changes = release.release_exercises(source, target)
            for change in changes:
                print("deleted" if change.kind == "orphan" else "wrote", change.path)
            if not changes:
                print(f"{target}: already up to date with {source}")
            return 0
        if args.action == "check":
            pid_file = args.kernel_pid_file
            report = check.check_notebook(
                args.notebook,
                source=args.source,
                cell_timeout=args.cell_timeout,
                timeout=args.timeout,
                on_kernel_start=None if pid_file is None else lambda pid: pid_file.write_text(str(pid)),
            )
            if args.json is not None:
                args.json.write_text(report.to_json(), encoding="utf-8")
            print(report.render())
            return 0 if report.passed else 1
        book = grade.grade_submissions(
            args.submissions,
            source=args.source,
            notebooks=args.notebook,
            cell_timeout=args.cell_timeout,
            timeout=args.timeout,
            jobs=args.jobs,
        )
        book.write_csv(args.out)
        print(
            f"graded {_count(len(book.reports), 'student')} on {_count(len(book.notebooks), 'notebook')} "
            f"({len(book.columns)} checks, {check.format_points(book.max_points)} points at most): {args.out}"
        )
        return 0
    except (MimekitError, OSError, ValueError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
