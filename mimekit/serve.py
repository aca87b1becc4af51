"""``mimekit serve``: the embedded SMTP server as a standalone process, for a classroom or for other tools.

It runs the same :class:`~mimekit.server.EmbeddedServer` the notebooks use,
prints one line when it is ready and one line per captured message, and stops
cleanly on Ctrl-C (SIGINT) or SIGTERM::

    $ mimekit serve --port 2525 --tls --auth alumno:contrasena-de-prueba
    mimekit serve: listening on smtp+starttls://127.0.0.1:2525 (AUTH PLAIN LOGIN after STARTTLS)
    mimekit serve: clients must trust the lesson CA in /tmp/mimekit-ca-…/mimekit-local-ca.pem
    09:41:07  pedidos@tienda.example.com -> jose.nunez@example.com  "Tu pedido 1001 está confirmado"  10,249 bytes
    ^C
    mimekit serve: stopped after 1 message

``--maildir DIR`` keeps every captured message in a Maildir folder as well
(with its envelope in ``DIR/mimekit-envelopes/``), and loads the folder's
mail at start, so nothing is lost between two runs. ``--transcript`` prints
each SMTP session (client and server lines, AUTH secrets masked) when it ends::

    $ mimekit serve --transcript
    …
    --- session 1 from 127.0.0.1:54321 ---
    S: 220 mimekit.localhost mimekit embedded SMTP server
    C: ehlo laptop.example.com
    …
    -- connection closed --

Only loopback by default: any other ``--host`` needs ``--allow-remote`` and
prints a warning, since anyone who can reach the port can then hand it mail.
``--auth USER:PASSWORD`` puts the password where ``ps`` and the shell history
see it, which is fine for a throwaway lesson account only; ``--auth USER``
alone reads it from the environment variable ``MIMEKIT_SERVE_PASSWORD``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import TextIO

from .errors import InboxTimeout, MimekitError
from .faults import FaultPlan
from .server import CapturedMessage, EmbeddedServer

__all__ = ["DEFAULT_PORT", "serve"]

#: 2525: the usual unprivileged stand-in for port 25 (ports below 1024 need administrator rights).
DEFAULT_PORT = 2525


def serve(
    out: TextIO,
    err: TextIO,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    allow_remote: bool = False,
    tls: str | None = None,
    auth: str | None = None,
    max_size: int | None = None,
    faults: list[str] | None = None,
    maildir: str | None = None,
    transcript: bool = False,
    poll_seconds: float = 0.5,
) -> int:
    """Run the server until interrupted; return the process exit status (0 after a clean stop).

    *auth* is ``"USER:PASSWORD"``; *max_size* the largest message in bytes
    (advertised as SIZE, larger ones refused with 552); *faults* the
    ``--fault`` specs (see :class:`~mimekit.faults.FaultPlan`); *maildir* a
    folder to persist mail to and reload it from; *transcript* prints every
    session when it ends (and, at stop, the ones stop ended). Errors in the
    options or at start-up are printed to *err* with status 2 (bad options)
    or 1 (could not start).
    """
    try:
        plan = FaultPlan.parse(faults) if faults else None
        users = _parse_auth(auth) if auth else None
        # Checked here to name the command's flags; the server names its Python arguments.
        if users and tls is None:
            raise ValueError(
                "--auth needs --tls (STARTTLS) or --smtps (implicit TLS): a password must never cross the "
                "network in clear (RFC 4954 §4)."
            )
        if max_size is not None and max_size < 0:
            raise ValueError(f"--max-size is a number of bytes, 0 for no limit, not {max_size}.")
        if not allow_remote and host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(
                f"--host {host} is not a loopback address: other machines could send mail to this server. "
                "Add --allow-remote if that is what you want (for a classroom network)."
            )
        server = EmbeddedServer(
            host,
            port,
            allow_remote=allow_remote,
            tls=tls,
            auth=users,
            faults=plan,
            maildir=maildir,
            **({"data_size_limit": max_size} if max_size is not None else {}),
        )
    except (TypeError, ValueError) as exc:
        print(f"mimekit serve: error: {exc}", file=err)
        return 2
    if allow_remote and host not in ("127.0.0.1", "::1", "localhost"):
        print(f"mimekit serve: WARNING: listening on {host}: anyone who can reach this port can send it mail.", file=err)

    stop_requested = False
    ca_folder: Path | None = None
    loaded = 0
    printed: set[int] = set()  # session_id of the transcripts already printed

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        try:
            server.start()
        except MimekitError as exc:
            if getattr(exc, "errno", None) == errno.EADDRINUSE:
                print(
                    f"mimekit serve: error: port {port} on {host} is already in use (is another `mimekit serve` "
                    "running?). Stop that one, or choose another --port (--port 0 picks a free one).",
                    file=err,
                )
            else:
                print(f"mimekit serve: error: {exc}", file=err)
            return 1
        loaded = len(server.inbox)  # reloaded from --maildir: not printed one by one
        ca_folder = _print_ready(out, server, users)
        seen = loaded
        while not stop_requested:
            try:
                arrived = server.inbox.wait_for(seen + 1, timeout=poll_seconds)
            except InboxTimeout:
                arrived = None
            if arrived is not None:
                for captured in arrived[seen:]:
                    print(_describe(captured), file=out, flush=True)
                seen = len(arrived)
            if transcript:
                _print_ended_sessions(out, server, printed)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
        if ca_folder is not None:
            shutil.rmtree(ca_folder, ignore_errors=True)
    if transcript:
        _print_ended_sessions(out, server, printed)
    count = max(len(server.inbox) - loaded, 0)
    print(f"mimekit serve: stopped after {count} message{'s' if count != 1 else ''}", file=out, flush=True)
    return 0


PASSWORD_ENV = "MIMEKIT_SERVE_PASSWORD"
"""Where ``--auth USER`` (no ``:PASSWORD``) reads the account's password from."""


def _parse_auth(spec: str) -> dict[str, str]:
    """``USER:PASSWORD``, or ``USER`` alone with the password in ``$MIMEKIT_SERVE_PASSWORD``.

    A password on the command line is seen by every user of the machine
    (``ps``) and kept in the shell's history: fine for a throwaway lesson
    account, not for anything else. Raises ``ValueError`` naming both ways.
    """
    user, sep, password = spec.partition(":")
    if not sep:
        password = os.environ.get(PASSWORD_ENV, "")
        if user and not password:
            raise ValueError(
                f"--auth {user} takes its password from the environment variable {PASSWORD_ENV}, which is not set. "
                f"Set it first (e.g. `read -s {PASSWORD_ENV}; export {PASSWORD_ENV}`), "
                "or give a throwaway lesson account as --auth USER:PASSWORD."
            )
    if not user or not password:
        raise ValueError(
            "--auth takes USER:PASSWORD, e.g. --auth alumno:contrasena-de-prueba (a lesson account), "
            f"or USER alone with the password in the environment variable {PASSWORD_ENV}."
        )
    return {user: password}


def _print_ready(out: TextIO, server: EmbeddedServer, users: dict[str, str] | None) -> Path | None:
    """Print the ready lines; write the lesson CA for other clients and return its folder (removed on stop)."""
    extra, folder = "", None
    if users:
        extra = " (AUTH PLAIN LOGIN" + (" after STARTTLS)" if server.tls == "starttls" else ")")
    print(f"mimekit serve: listening on {server.url}{extra}", file=out, flush=True)
    if server.ca is not None:
        folder = Path(tempfile.mkdtemp(prefix="mimekit-ca-"))
        path = server.ca.write_ca_pem(folder)
        print(f"mimekit serve: clients must trust the lesson CA in {path}", file=out, flush=True)
    if server.maildir is not None:
        count = len(server.inbox)
        print(
            f"mimekit serve: keeping mail in the Maildir {server.maildir} "
            f"({count} message{'s' if count != 1 else ''} loaded)",
            file=out,
            flush=True,
        )
    print("mimekit serve: press Ctrl-C to stop", file=out, flush=True)
    return folder


def _print_ended_sessions(out: TextIO, server: EmbeddedServer, printed: set[int]) -> None:
    """Print the transcript of every session that has ended and was not printed yet."""
    for transcript in server.transcripts:
        if transcript.is_open or transcript.session_id in printed:
            continue
        printed.add(transcript.session_id)
        print(f"--- session {transcript.session_id} from {transcript.peer} ---", file=out)
        print(transcript.render(), file=out, flush=True)


def _describe(captured: CapturedMessage) -> str:
    when = captured.received_at.astimezone().strftime("%H:%M:%S")
    to = ", ".join(captured.rcpt_tos)
    return f'{when}  {captured.mail_from} -> {to}  "{captured.subject}"  {captured.size:,} bytes'

