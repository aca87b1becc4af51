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
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import MimekitError
from .tree import load_message, render_tree

__all__ = ["main"]


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
    args = parser.parse_args(argv)

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
    serve.add_argument("--auth", metavar="USER:PASS", help="accept AUTH PLAIN/LOGIN for this lesson account (TLS only)")
    serve.add_argument("--max-size", metavar="BYTES", type=int, help="largest message accepted (SIZE, 552 beyond)")
    serve.add_argument("--fault", action="append", metavar="SPEC", help="a scripted fault; repeat for several")
    serve.add_argument(
        "--maildir", metavar="DIR", help="also keep every message in this Maildir folder, and load its mail at start"
    )
    serve.add_argument(
        "--transcript", action="store_true", help="print each SMTP session (AUTH secrets masked) when it ends"
    )


if __name__ == "__main__":
    sys.exit(main())
