"""The embedded SMTP server and its inbox: watch what a mail client really sends.

An :class:`EmbeddedServer` runs `aiosmtpd <https://aiosmtpd.aio-libs.org/>`_ in a
background thread of your own Python process (your notebook's kernel), listens
on the loopback interface and keeps every message it receives in an
:class:`Inbox`. Nothing leaves your machine: the server delivers nothing
onwards, it only captures.

What an SMTP session looks like (RFC 5321; ``->`` is the client, ``<-`` this server)::

    (client connects to 127.0.0.1:PORT)    <- 220 mimekit.localhost mimekit embedded SMTP server    §3.1, §4.2
    -> EHLO client.example.com                                                                    §4.1.1.1
                                           <- 250-mimekit.localhost
                                              250-SIZE 33554432        (data_size_limit, bytes)
                                              250-8BITMIME
                                              250-SMTPUTF8             (RFC 6531: UTF-8 addresses)
                                              250-PIPELINING           (RFC 2920: commands sent in groups)
                                              250 HELP
    -> MAIL FROM:<shop@example.com>        <- 250 OK                                              §4.1.1.2
    -> RCPT TO:<ana@example.org>           <- 250 OK                                              §4.1.1.3
    -> RCPT TO:<audit@example.net>         <- 250 OK   (a Bcc: recipient, in no header)
    -> DATA                                <- 354 End data with <CR><LF>.<CR><LF>                 §4.1.1.4
    -> From: Shop <shop@example.com>
       To: Ana <ana@example.org>
       Subject: Your order
                                              (the message: headers, a blank line, the body,
       Thanks for your order!                  every line ending in CRLF; a body line that
       .                                       starts with "." is sent as ".." (§4.5.2))
                                           <- 250 OK: message captured
    -> QUIT                                <- 221 Bye                                             §4.1.1.10

Envelope and headers are two different things (RFC 5321 §2.3.1, §3.3). The
*envelope* is ``MAIL FROM`` and ``RCPT TO``: where the server delivers, and
where bounces go. The *headers* (``From:``, ``To:``, ``Cc:``, RFC 5322 §3.6) are
part of the message text, and only shown to people. A ``Bcc:`` recipient is in
the envelope but in no header, which is exactly how it stays blind (RFC 5322
§3.6.3). Each :class:`CapturedMessage` keeps both: ``mail_from`` / ``rcpt_tos``
from the envelope, and ``raw`` / ``message`` for the content.

A whole round trip::

    >>> import smtplib
    >>> from email import policy
    >>> from email.message import EmailMessage
    >>> msg = EmailMessage()
    >>> msg["From"] = "Shop <shop@example.com>"
    >>> msg["To"] = "Ana <ana@example.org>"
    >>> msg["Subject"] = "Your order"
    >>> msg.set_content("Thanks for your order!")
    >>> wire = msg.as_bytes(policy=policy.SMTP)          # CRLF line ends, as SMTP wants
    >>> with EmbeddedServer() as server:
    ...     with smtplib.SMTP(server.host, server.port) as client:
    ...         refused = client.sendmail("shop@example.com",
    ...                                   ["ana@example.org", "audit@example.net"], wire)
    ...     captured = server.inbox.latest()
    >>> captured.mail_from, captured.rcpt_tos
    ('shop@example.com', ('ana@example.org', 'audit@example.net'))
    >>> captured.subject
    'Your order'
    >>> captured.raw == wire
    True

Every session is also kept as a :class:`Transcript` (``transcripts=True``, the
default): the lines the client sent (``C:``) and the replies this server sent
(``S:``) in the order they crossed the wire, with AUTH secrets masked and the
message after ``DATA`` summarised in one line::

    >>> with EmbeddedServer() as server:
    ...     with smtplib.SMTP(server.host, server.port, local_hostname="laptop.example.com") as client:
    ...         refused = client.sendmail("shop@example.com", ["ana@example.org"], wire)
    ...     transcript = server.transcripts[-1]
    >>> print(transcript)
    S: 220 mimekit.localhost mimekit embedded SMTP server
    C: ehlo laptop.example.com
    S: 250-mimekit.localhost
    S: 250-SIZE 33554432
    S: 250-8BITMIME
    S: 250-SMTPUTF8
    S: 250-PIPELINING
    S: 250 HELP
    C: mail FROM:<shop@example.com> size=200
    S: 250 OK
    C: rcpt TO:<ana@example.org>
    S: 250 OK
    C: data
    S: 354 End data with <CR><LF>.<CR><LF>
    C: <message: 200 bytes, 8 lines>
    S: 250 OK: message captured
    C: QUIT
    S: 221 Bye
    -- connection closed --
    >>> transcript.messages[0].subject
    'Your order'

(``smtplib`` writes most commands in lower case; RFC 5321 §2.4 makes command
verbs case-insensitive.) With ``maildir="path/to/folder"`` the server also
writes every captured message to a Maildir, and a restarted server (or a new
one on the same folder) loads them back into its inbox: see
:class:`EmbeddedServer`.

In a notebook, use :func:`start_server` in the setup cell: running the cell
again gives back the server that is already running (same port, same inbox)
instead of starting a second one.

Errors raised here (see :mod:`mimekit.errors`):

- :class:`~mimekit.errors.ServerStartError` (an ``OSError``): the port is busy,
  the host is not a loopback address (and ``allow_remote=True`` was not
  given), the host cannot be bound, the ``maildir`` folder cannot be created
  or read, or aiosmtpd did not come up in time.
- :class:`~mimekit.errors.InboxTimeout` (a ``TimeoutError``):
  :meth:`Inbox.wait_for` waited longer than its timeout.
- ``IndexError``: :meth:`Inbox.latest` on an empty inbox.
- ``TypeError`` / ``ValueError``: an argument of the wrong type or range.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import email.message
import email.policy
import errno
import functools
import hmac
import ipaddress
import json
import logging
import mailbox
import operator
import os
import socket
import ssl
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from email.parser import BytesParser
from typing import Any, overload

from aiosmtpd.controller import Controller, _server_to_client_ssl_ctx
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, TLSSetupException

from mimekit.errors import InboxTimeout, ServerStartError
from mimekit.faults import BadCredentials, FaultPlan, FaultyHandler, inject_faults
from mimekit.tls import LocalCA

__all__ = [
    "CapturedMessage",
    "CapturingHandler",
    "EmbeddedServer",
    "Inbox",
    "Transcript",
    "TranscriptLine",
    "running_servers",
    "start_server",
    "stop_server",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SERVER_HOSTNAME = "mimekit.localhost"
DEFAULT_DATA_SIZE_LIMIT = 33_554_432  # 32 MiB, aiosmtpd's own default
_GREETING_IDENT = "mimekit embedded SMTP server"  # the text after the name in "220 <name> <ident>"
_LISTEN_BACKLOG = 100
_STOP_TIMEOUT = 5.0  # seconds to close client connections before the loop is stopped

_PARSER = BytesParser(policy=email.policy.default)

DEFAULT_MAX_TRANSCRIPTS = 1000  # sessions kept per server; the oldest is dropped first
_MAX_TRANSCRIPT_LINES = 5000  # lines kept per session: a runaway client cannot fill the memory
_MAX_SHOWN_COMMAND = 1000  # characters of an over-long command line kept in its transcript line
_MASK = "********"  # what a transcript shows instead of an AUTH secret
_UNCOUNTED_DATA = 1 << 20  # bytes of a message kept as they arrived before they are counted (see _DataTally)
_ENVELOPE_FOLDER = "mimekit-envelopes"  # inside the Maildir: one JSON sidecar per message
_ENVELOPE_FORMAT = "mimekit-envelope/1"


# --------------------------------------------------------------------------- captured messages


@dataclasses.dataclass(frozen=True, repr=False)
class CapturedMessage:
    """One message as the embedded server received it: its envelope and its bytes.

    ``mail_from`` and ``rcpt_tos`` come from the SMTP envelope (``MAIL FROM`` and
    ``RCPT TO``, RFC 5321 §3.3), not from the ``From:`` / ``To:`` headers: a
    ``Bcc:`` recipient is in ``rcpt_tos`` but in no header. A null reverse-path
    (``MAIL FROM:<>``, used by bounces, RFC 5321 §4.5.5) is kept as ``"<>"``.

    ``raw`` is the content exactly as the client sent it after ``DATA``: CRLF line
    ends, the client's transfer encodings, and with SMTP's dot-stuffing undone
    (a line the client sent as ``..x`` is ``.x`` here, RFC 5321 §4.5.2); the
    ``.`` line that ended ``DATA`` is not part of it. ``message`` is ``raw``
    parsed with ``email.policy.default``, so headers come back decoded
    (RFC 2047 encoded words turned into text). It is parsed on first use and
    then kept: parsing costs a few milliseconds a message, which the server
    does not spend while mail is arriving.

    Two captures compare equal when their envelope, bytes, time and peer are
    equal (``message`` is derived from ``raw`` and not compared, nor is
    ``maildir_key``).

    ``maildir_key`` is the message's key in the server's Maildir (see
    ``EmbeddedServer(maildir=...)``), or ``None`` when it was not persisted.
    A message reloaded from a Maildir *without* its mimekit sidecar (one
    dropped into the folder by hand or by another program) has no known
    envelope: ``mail_from == ""``, ``rcpt_tos == ()``, ``peer == ""`` and
    ``received_at`` taken from the key's timestamp; :attr:`envelope_known` is
    then false and the repr says so. A message received over SMTP always has
    at least one ``RCPT TO``, so ``rcpt_tos == ()`` means "envelope unknown".
    """

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    received_at: datetime.datetime
    peer: str
    maildir_key: str | None = dataclasses.field(default=None, compare=False)

    @functools.cached_property
    def message(self) -> email.message.EmailMessage:
        """``raw`` parsed with ``email.policy.default`` (on first use, then kept)."""
        return _PARSER.parsebytes(self.raw)  # type: ignore[return-value]

    @property
    def envelope_known(self) -> bool:
        """Whether ``mail_from`` / ``rcpt_tos`` are the real SMTP envelope (false for mail reloaded without a sidecar)."""
        return bool(self.rcpt_tos)

    @property
    def subject(self) -> str:
        """The decoded ``Subject:`` header, or ``""`` when the message has none."""
        try:
            value = self.message["Subject"]
        except Exception:  # a header so broken the parser cannot even read it back
            return ""
        return "" if value is None else str(value)

    @property
    def size(self) -> int:
        """The length of ``raw`` in bytes (what ``SIZE`` counts, RFC 1870)."""
        return len(self.raw)

    def __repr__(self) -> str:
        if not self.envelope_known:
            return (
                f"<CapturedMessage (envelope unknown: loaded from a Maildir without its mimekit sidecar)"
                f" subject {self.subject!r}, {self.size} bytes>"
            )
        return (
            f"<CapturedMessage from {self.mail_from!r} to {list(self.rcpt_tos)!r}"
            f" subject {self.subject!r}, {self.size} bytes>"
        )


def _format_peer(peer: Any) -> str:
    """Turn asyncio's peername tuple into ``"127.0.0.1:54321"`` / ``"[::1]:54321"``."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)


# --------------------------------------------------------------------------- the inbox


class Inbox:
    """The messages an embedded server captured, in arrival order; safe to share between threads.

    The server's handler appends from the server's own thread while your code
    reads from another, so every read works on a snapshot taken under a lock:
    iterating never sees the list change under it.

    >>> inbox = Inbox()
    >>> len(inbox), inbox
    (0, <Inbox: 0 messages>)
    >>> inbox.filter(rcpt_to="ana@example.org")
    []
    """

    def __init__(self) -> None:
        self._messages: list[CapturedMessage] = []
        self._changed = threading.Condition(threading.Lock())
        self._version = 0  # bumped by every append and clear: what wait_for_change() waits on
        self._wakes = 0  # bumped when a server stops, to wake wait_for_change() without a change
        # The servers that feed this inbox, named in InboxTimeout's hint.
        self._servers: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()
        # The Maildirs that persist its messages, emptied by clear().
        self._maildirs: list[_MaildirStore] = []

    # -- the container protocol, always over a snapshot

    def __len__(self) -> int:
        with self._changed:
            return len(self._messages)

    def __iter__(self) -> Iterator[CapturedMessage]:
        return iter(self.messages())

    @overload
    def __getitem__(self, index: int) -> CapturedMessage: ...

    @overload
    def __getitem__(self, index: slice) -> list[CapturedMessage]: ...

    def __getitem__(self, index: int | slice) -> CapturedMessage | list[CapturedMessage]:
        """Return the message at ``index`` (``-1`` is the latest) or a list for a slice.

        Raises ``IndexError`` when there is no message at ``index``, and
        ``TypeError`` for an index that is neither an int nor a slice.
        """
        if isinstance(index, slice):
            with self._changed:
                return self._messages[index]
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"Inbox indices must be int or slice, not {type(index).__name__}") from None
        with self._changed:
            count = len(self._messages)
            if not -count <= index < count:
                raise IndexError(
                    f"Inbox index {index} out of range: the inbox holds {count} "
                    f"message{'s' if count != 1 else ''}"
                )
            return self._messages[index]

    def __repr__(self) -> str:
        count = len(self)
        return f"<Inbox: {count} message{'s' if count != 1 else ''}>"

    # -- reading

    def messages(self) -> list[CapturedMessage]:
        """Return a snapshot of all captured messages, oldest first (a new list each call)."""
        with self._changed:
            return list(self._messages)

    def filter(self, *, rcpt_to: str | None = None, subject: str | None = None) -> list[CapturedMessage]:
        """Return the messages that match every criterion given, oldest first.

        ``rcpt_to`` matches an *envelope* recipient (``RCPT TO``, so Bcc
        recipients count too), ignoring case: ``"Ana@Example.org"`` finds mail
        for ``ana@example.org``. ``subject`` matches when it is a substring of the
        decoded ``Subject:`` header, ignoring case. With no criterion, every
        message matches.
        """
        wanted_rcpt = None if rcpt_to is None else rcpt_to.casefold()
        wanted_subject = None if subject is None else subject.casefold()
        found = []
        for captured in self.messages():
            if wanted_rcpt is not None and wanted_rcpt not in (r.casefold() for r in captured.rcpt_tos):
                continue
            if wanted_subject is not None and wanted_subject not in captured.subject.casefold():
                continue
            found.append(captured)
        return found

    def latest(self) -> CapturedMessage:
        """Return the message that arrived last.

        Raises ``IndexError`` when the inbox is empty.
        """
        with self._changed:
            if self._messages:
                return self._messages[-1]
        raise IndexError(
            "The inbox is empty: no message has been captured yet (or clear() removed them). "
            "Send one to the server first, or call inbox.wait_for() to wait until one arrives."
        )

    def wait_for(self, count: int = 1, *, timeout: float = 5.0) -> list[CapturedMessage]:
        """Block until the inbox holds at least ``count`` messages; return the snapshot.

        ``count`` is the total in the inbox, not the number of new arrivals:
        call :meth:`clear` first to wait for fresh mail only. ``timeout`` is in
        seconds (an int or a float, ``0`` to just check).

        Raises :class:`~mimekit.errors.InboxTimeout` (a ``TimeoutError``) when
        fewer than ``count`` messages arrived within ``timeout``;
        ``TypeError`` / ``ValueError`` for a ``count`` or ``timeout`` that is not a
        non-negative number.

        >>> Inbox().wait_for(0)
        []
        """
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"count must be an int, not {type(count).__name__}")
        if count < 0:
            raise ValueError(f"count must be 0 or more, not {count}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
        if timeout < 0:
            raise ValueError(f"timeout must be 0 seconds or more, not {timeout}")
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self._messages) >= count, timeout=timeout)
            if arrived:
                return list(self._messages)
            have = len(self._messages)
        raise InboxTimeout(
            f"Waited {timeout:g} s for {count} message{'s' if count != 1 else ''}, "
            f"but {have} arrived. {self._hint()}"
        )

    def _hint(self) -> str:
        servers = [s for s in list(self._servers) if s.inbox is self]
        if not servers:
            return "Is an EmbeddedServer running with this inbox, and did the client send to its port?"
        described = ", ".join(
            f"{s.url} ({'running' if s.is_running else 'stopped'})" for s in servers
        )
        return (
            f"This inbox is fed by {described}: was the message sent to that host and port, "
            "is the server running, and did the client's sendmail() raise an error?"
        )

    # -- changing

    def clear(self, *, persisted: bool = True) -> int:
        """Remove every captured message; return how many were removed.

        When a server persists this inbox to a Maildir (``EmbeddedServer(maildir=...)``),
        ``persisted=True`` (the default) also deletes the files of the removed
        messages, and their envelope sidecars, from the Maildir, so the inbox
        and the folder keep holding the same mail and a restart does not bring
        them back. That includes messages that were loaded from the folder
        because someone dropped them there by hand. ``persisted=False``
        empties the inbox only: the files stay, and the next ``start()``
        (or a new server on the folder) loads them again.

        Raises ``OSError`` when a file cannot be deleted (the inbox is already
        empty by then). Transcripts are not touched: see
        :meth:`EmbeddedServer.clear_transcripts`.
        """
        with self._changed:
            removed = list(self._messages)
            self._messages.clear()
            stores = list(self._maildirs)
            self._version += 1
            self._changed.notify_all()
        if persisted:
            keys = [captured.maildir_key for captured in removed if captured.maildir_key]
            if keys:
                for store in stores:
                    store.discard(keys)
        return len(removed)

    @property
    def version(self) -> int:
        """A counter that grows by one with every message captured and every :meth:`clear`."""
        with self._changed:
            return self._version

    def wait_for_change(self, version: int, *, timeout: float) -> int:
        """Block until :attr:`version` differs from *version*, or *timeout* seconds pass; return it.

        For code that follows the inbox as it changes (the live inbox widget):
        read ``version``, show the messages, then wait here for the next
        change. A stopping server also wakes the waiters, with the version
        unchanged, so they can notice the stop at once. Raises ``ValueError``
        when *timeout* is negative.
        """
        if timeout < 0:
            raise ValueError(f"timeout must be 0 or more seconds, not {timeout!r}")
        with self._changed:
            wakes = self._wakes
            self._changed.wait_for(lambda: self._version != version or self._wakes != wakes, timeout=timeout)
            return self._version

    def _wake(self) -> None:
        """Wake every waiter without a change (the server stopped)."""
        with self._changed:
            self._wakes += 1
            self._changed.notify_all()

    def _append(self, captured: CapturedMessage) -> None:
        with self._changed:
            self._messages.append(captured)
            self._version += 1
            self._changed.notify_all()


# --------------------------------------------------------------------------- the aiosmtpd handler


class CapturingHandler:
    """An aiosmtpd handler that keeps every message in an :class:`Inbox`.

    Like aiosmtpd's own handlers it is a plain object with ``handle_<COMMAND>``
    coroutines (duck typing); aiosmtpd calls :meth:`handle_DATA` once the
    client has sent the ``.`` line that ends ``DATA``. All other commands keep
    aiosmtpd's default behaviour (every sender and recipient accepted).
    """

    def __init__(self, inbox: Inbox | None = None, *, maildir: str | os.PathLike[str] | None = None) -> None:
        self.inbox = Inbox() if inbox is None else inbox
        #: The Maildir every captured message is also written to (a path), or ``None``.
        self.maildir = None if maildir is None else os.fspath(maildir)
        self._maildir: _MaildirStore | None = None
        if maildir is not None:
            # One store (and one lock) per folder and inbox, however many handlers share them.
            same = [m for m in self.inbox._maildirs if m.abspath == os.path.abspath(self.maildir)]
            self._maildir = same[0] if same else _MaildirStore(maildir)
            if not same:
                self.inbox._maildirs.append(self._maildir)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """Answer EHLO as aiosmtpd does, and advertise ``PIPELINING`` too (RFC 2920 §3).

        aiosmtpd reads commands one line at a time from its buffer, so a client
        may send ``MAIL``, every ``RCPT`` and ``DATA`` in one write and read the
        replies afterwards, in order; it only leaves the keyword out of its
        reply. The list becomes, for example: ``250-mimekit.localhost``,
        ``250-SIZE 33554432``, ``250-8BITMIME``, ``250-SMTPUTF8``,
        ``250-PIPELINING``, ``250 HELP``.
        """
        session.host_name = hostname  # what aiosmtpd does itself when a handler has no EHLO hook
        if responses and not any(line[4:].upper() == "PIPELINING" for line in responses):
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Capture ``envelope`` into the inbox and return the SMTP reply ``250 OK: message captured``.

        ``envelope.original_content`` is the content as received (bytes, after
        dot-unstuffing); it is parsed with ``email.policy.default``. The reply
        is what the client's ``sendmail()`` sees (RFC 5321 §4.1.1.4, §4.2).

        With a ``maildir``, the bytes are first written to it (with an
        envelope sidecar); if that fails, the reply is ``451 4.3.0`` (a
        temporary failure: the client may try again later, RFC 5321 §4.2.1)
        and nothing is captured.
        """
        raw = bytes(envelope.original_content or b"")
        captured = CapturedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            received_at=datetime.datetime.now(datetime.timezone.utc),
            peer=_format_peer(session.peer),
        )
        if self._maildir is not None:
            try:
                key = self._maildir.save(captured)
            except OSError as exc:
                return f"451 4.3.0 Could not store the message in the Maildir {self.maildir}: {exc.strerror or exc}"
            captured = dataclasses.replace(captured, maildir_key=key)
        self.inbox._append(captured)
        transcript = getattr(server, "transcript", None)
        if isinstance(transcript, Transcript):
            transcript._add_message(captured)
        return "250 OK: message captured"


# --------------------------------------------------------------------------- session transcripts


@dataclasses.dataclass(frozen=True)
class TranscriptLine:
    """One line of a :class:`Transcript`: who sent it, and its text without the CRLF.

    ``direction`` is ``"C"`` (the client sent it), ``"S"`` (this server sent
    it) or ``"-"`` (a note from the recorder, such as
    ``-- TLS started (TLSv1.3) --``: nothing that crossed the wire). ``str()``
    gives ``"C: EHLO laptop.example.com"``, ``"S: 250 OK"``, or the note as it is.

    >>> str(TranscriptLine("S", "250 OK"))
    'S: 250 OK'
    >>> str(TranscriptLine("-", "-- connection closed --"))
    '-- connection closed --'
    """

    direction: str
    text: str

    def __str__(self) -> str:
        return self.text if self.direction == "-" else f"{self.direction}: {self.text}"


class Transcript:
    """Every line of one SMTP session (one client connection), in the order it crossed the wire.

    ``lines`` holds :class:`TranscriptLine` objects: what the client sent
    (``C``) as this server read it, and every reply line this server sent
    (``S``), with the RFC 5321 reply codes intact (``250-`` continues a
    multi-line reply, ``250 `` ends it, §4.2.1). Pipelined commands (RFC 2920)
    appear one by one, each followed by its reply, because that is the order
    in which the server handles them. Besides, the recorder adds notes:

    - ``-- TLS started (TLSv1.3) --`` after a successful STARTTLS (RFC 3207),
      or at the very start under implicit TLS (``, implicit TLS``);
    - ``-- connection closed --`` when the connection ends, whoever ends it.

    What is *not* recorded verbatim:

    - the message after ``DATA``: one line ``C: <message: 10,249 bytes, 183 lines>``
      stands for the content and the ``.`` line that ends it (the byte count
      is that of :attr:`CapturedMessage.raw`: after dot-unstuffing);
    - AUTH secrets (RFC 4954): ``AUTH PLAIN <base64>`` becomes
      ``AUTH PLAIN ********``, ``AUTH LOGIN <base64 user>`` becomes
      ``AUTH LOGIN ********``, and every line the client sends in answer to a
      ``334`` challenge becomes ``********`` (a lone ``*``, which cancels the
      exchange, is shown as it is). Base64 hides nothing: it is an encoding,
      not encryption, which is why a transcript masks it.

    Client bytes are decoded as UTF-8, invalid bytes shown as ``\\ufffd``.
    ``messages`` are the :class:`CapturedMessage` objects this session
    delivered, the very objects in the inbox (the link between a message and
    its session). ``session_id`` numbers a server's sessions from 1;
    ``started_at`` / ``ended_at`` are UTC datetimes (``ended_at`` is ``None``
    while the client is still connected). A transcript keeps at most 5,000
    lines; a note says when later ones were dropped.

    ``str(transcript)`` is :meth:`render`. Safe to read from any thread while
    the session goes on: ``lines`` and ``messages`` are snapshots.
    """

    def __init__(self, session_id: int, peer: str, started_at: datetime.datetime | None = None) -> None:
        self.session_id = session_id
        self.peer = peer
        self.started_at = started_at or datetime.datetime.now(datetime.timezone.utc)
        self.ended_at: datetime.datetime | None = None
        # What was recorded, in order: (direction, text), where a client's command line may still be
        # its raw bytes (ASCII, no AUTH: nothing to mask), decoded when the lines are first read.
        self._recorded: list[tuple[str, str | bytes]] = []
        self._lines: list[TranscriptLine] = []  # the first len(_lines) entries of _recorded, made into lines
        self._messages: list[CapturedMessage] = []
        self._lock = threading.Lock()
        self._dropped = 0
        self._closed = threading.Event()

    @property
    def lines(self) -> list[TranscriptLine]:
        """A snapshot of the lines so far (a new list each call)."""
        with self._lock:
            made = self._lines
            for direction, text in self._recorded[len(made):]:
                made.append(TranscriptLine(direction, text if isinstance(text, str) else _command_text(text)))
            return list(made)

    @property
    def messages(self) -> tuple[CapturedMessage, ...]:
        """The messages captured in this session, in order."""
        with self._lock:
            return tuple(self._messages)

    @property
    def is_open(self) -> bool:
        """Whether the client is still connected."""
        return self.ended_at is None

    def render(self) -> str:
        """Return the session as text, one ``C: …`` / ``S: …`` / note line per :class:`TranscriptLine`.

        >>> transcript = Transcript(1, "127.0.0.1:50000")
        >>> transcript._add("S", "220 mimekit.localhost ready")
        >>> transcript._add("C", "EHLO laptop.example.com")
        >>> print(transcript.render())
        S: 220 mimekit.localhost ready
        C: EHLO laptop.example.com
        """
        return "\n".join(str(line) for line in self.lines)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        with self._lock:
            count, messages = len(self._recorded), len(self._messages)
        state = "open" if self.is_open else "closed"
        return (
            f"<Transcript #{self.session_id} {self.peer} {state}, {count} line{'s' if count != 1 else ''}, "
            f"{messages} message{'s' if messages != 1 else ''}>"
        )

    # -- recording (from the server's event loop thread)

    def _add(self, direction: str, text: str | bytes) -> None:
        """Record a line: *text* as shown, or (client lines only) raw bytes that :func:`_command_text` shows as they are."""
        with self._lock:
            if len(self._recorded) < _MAX_TRANSCRIPT_LINES or direction == "-" and text == "-- connection closed --":
                self._recorded.append((direction, text))
                return
            self._dropped += 1
            if self._dropped == 1:
                self._recorded.append(
                    ("-", f"-- more than {_MAX_TRANSCRIPT_LINES:,} lines: later ones are not recorded --")
                )

    def _add_message(self, captured: CapturedMessage) -> None:
        with self._lock:
            self._messages.append(captured)

    def wait_closed(self, timeout: float = 5.0) -> Transcript:
        """Wait until the connection has ended and return this transcript, complete.

        The server notices that a client hung up a moment after the client's
        ``quit()`` returns (it reads the end of the stream in its own thread),
        so read a finished session through this. *timeout* is in seconds.
        Raises :class:`~mimekit.errors.InboxTimeout` when the client is still
        connected after *timeout* (did it call ``quit()`` or leave its ``with``
        block?).
        """
        if not self._closed.wait(timeout):
            raise InboxTimeout(
                f"SMTP session {self.session_id} from {self.peer} is still open after {timeout} s. "
                "Close the client first: smtp.quit(), or leave its `with` block."
            )
        return self

    def _close(self) -> None:
        if self.ended_at is None:
            self._add("-", "-- connection closed --")
            self.ended_at = datetime.datetime.now(datetime.timezone.utc)
            self._closed.set()


class _TranscriptLog:
    """The transcripts of one server: the newest ``max_transcripts``, thread-safe."""

    def __init__(self, max_transcripts: int) -> None:
        self._kept: collections.deque[Transcript] = collections.deque(maxlen=max_transcripts)
        self._lock = threading.Lock()
        self._count = 0
        self._hidden_peers: set[str] = set()

    def open(self, peer: str) -> Transcript:
        """A new transcript for a connection from ``peer``; kept unless it is the start-up self-test."""
        with self._lock:
            if peer in self._hidden_peers:
                # aiosmtpd's Controller connects once while starting, to check that the
                # server answers: that connection, known by its address, is no session.
                self._hidden_peers.discard(peer)
                return Transcript(0, peer)
            self._count += 1
            transcript = Transcript(self._count, peer)
            self._kept.append(transcript)
            return transcript

    def hide_peer(self, peer: str | None) -> None:
        """Leave out the next connection from ``peer`` (None forgets every such wish)."""
        with self._lock:
            if peer is None:
                self._hidden_peers.clear()
            else:
                self._hidden_peers.add(peer)

    def snapshot(self) -> list[Transcript]:
        with self._lock:
            return list(self._kept)

    def clear(self) -> int:
        with self._lock:
            removed = len(self._kept)
            self._kept.clear()
            return removed


def _command_text(line: bytes) -> str:
    """A command line recorded as raw bytes, as a transcript shows it: without its CRLF, decoded as UTF-8."""
    return line.rstrip(b"\r\n").decode("utf-8", "replace")


def _mask_auth(text: str) -> str:
    """``AUTH PLAIN <base64>`` -> ``AUTH PLAIN ********`` (the initial response of RFC 4954 §4)."""
    parts = text.split(None, 2)
    if len(parts) == 3 and parts[0].upper() == "AUTH":
        return f"{parts[0]} {parts[1]} {_MASK}"
    return text


class _TappedReader:
    """aiosmtpd's StreamReader, with every chunk it hands out also shown to ``heard``.

    aiosmtpd reads command lines with ``readuntil()``, AUTH answers with
    ``readline()`` and the rest of an over-long line with ``read()``; so
    tapping these three sees exactly what the server consumed, in the order
    it consumed it. The message after DATA is not read through this reader
    (see :class:`_DataTally`). Any other attribute, read or written (STARTTLS
    swaps ``_transport`` and clears ``_buffer``), is the real reader's.
    """

    __slots__ = ("_tapped_heard", "_tapped_reader")

    def __init__(self, reader: asyncio.StreamReader, heard: Callable[[bytes], None]) -> None:
        object.__setattr__(self, "_tapped_reader", reader)
        object.__setattr__(self, "_tapped_heard", heard)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        data = await self._tapped_reader.readuntil(separator)
        self._tapped_heard(data)
        return data

    async def readline(self) -> bytes:
        data = await self._tapped_reader.readline()
        self._tapped_heard(data)
        return data

    async def read(self, n: int = -1) -> bytes:
        data = await self._tapped_reader.read(n)
        self._tapped_heard(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tapped_reader, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._tapped_reader, name, value)


class _DataTally:
    """The size of the message a client sends after ``354``, seen a socket read at a time.

    A message is hundreds of lines, and aiosmtpd reads it a line at a time;
    tapping every one of those reads cost more than capturing the message.
    So the message is read from the plain StreamReader, and this tally sees
    the bytes as they *arrive* instead (``add()``, one call per socket read).
    What arrived but was not consumed yet is the reader's buffer, so
    ``bytes received - len(buffer)`` is what the server has read so far:
    when the tally is told the buffer's length (``consumed()``), it counts
    the bytes consumed since the last time and forgets them.

    It keeps up to 1 MiB uncounted: a message that arrives whole is not
    counted here at all, because aiosmtpd's own copy of it says the same
    (see :meth:`summary_of`); a larger one is counted as it goes, so the tally
    never holds much more than the reader's own buffer. Counted are
    ``octets`` consumed, ``lines`` ending in CRLF (a line is never split at
    a CR: aiosmtpd reads up to each CRLF) and ``stuffed`` lines starting
    with ``.`` (the dot that dot-stuffing added, RFC 5321 §4.5.2, undone in
    the captured message); :attr:`ended` tells whether the lone ``.`` line
    that ends DATA was read. Line by line, the figures would be the same.
    """

    __slots__ = ("_pending", "_pending_size", "_tail", "lines", "octets", "stuffed")

    def __init__(self, unread: bytes) -> None:
        self._pending = [unread] if unread else []  # arrived and not counted yet, in order
        self._pending_size = len(unread)
        # The last bytes counted (up to 5), after a CRLF: the message starts at the start of a line.
        self._tail = b"\r\n"
        self.octets = 0
        self.lines = 0
        self.stuffed = 0

    def add(self, data: bytes, unread: int) -> None:
        """*data* just arrived; *unread* is the length of the reader's buffer before it is added."""
        if self._pending_size > _UNCOUNTED_DATA:  # a large message: count what was read so far, and forget it
            self.consumed(unread)
        self._pending.append(data)
        self._pending_size += len(data)

    def consumed(self, unread: int) -> None:
        """Count every byte the server consumed, given the length of the reader's buffer."""
        size = self._pending_size - unread
        if size <= 0:
            return
        joined = b"".join(self._pending)
        counted, rest = joined[:size], joined[size:]
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        # A CRLF, or the CRLF "." of a stuffed line, may straddle two counts: count in the window
        # what is new (neither pattern can overlap itself, so the tail's own are subtracted).
        window = self._tail + counted
        self.lines += window.count(b"\r\n") - self._tail.count(b"\r\n")
        self.stuffed += window.count(b"\r\n.") - self._tail.count(b"\r\n.")
        self.octets += size
        self._tail = window[-5:]

    @property
    def ended(self) -> bool:
        """Whether the last line read is the lone ``.`` that ends DATA (a message line never is: it would be ``..``)."""
        return self._tail.endswith(b"\r\n.\r\n")

    @property
    def counted_any(self) -> bool:
        """Whether some of the message was counted already (only a message over 1 MiB is counted as it comes)."""
        return self.octets > 0

    @staticmethod
    def summary_of(content: bytes) -> str:
        """The transcript line for a whole message, from the bytes captured (dot-stuffing undone, no ``.`` line)."""
        lines = content.count(b"\r\n")
        return f"<message: {len(content):,} bytes, {lines:,} lines>"

    def summary(self) -> str | None:
        """The transcript line for the message read so far (call :meth:`consumed` first); ``None`` if none was read."""
        if self.ended:  # leave out the ".\r\n" that ended DATA: 3 octets, one line, one leading dot
            octets, lines = self.octets - 3 - (self.stuffed - 1), self.lines - 1
            return f"<message: {octets:,} bytes, {lines:,} lines>"
        if not self.octets:
            return None
        octets = self.octets - self.stuffed
        return f"<message cut off: {octets:,} bytes, {self.lines:,} lines received>"


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP protocol (one instance per connection), writing a :class:`Transcript` as it goes.

    Hooks and nothing else: ``push()`` (every reply line goes through it),
    the stream reader handed over in ``_cb_client_connected()`` (every
    command line the server consumes), ``data_received()`` (the message
    after ``354``, counted by a :class:`_DataTally` a socket read at a time
    rather than a line at a time), ``_call_handler_hook()`` (the message is
    complete: its summary line goes in before the handler runs), and
    ``connection_made()`` / ``connection_lost()`` for the TLS and end notes.
    What a client line means follows from the last reply: after ``354`` come
    message lines until the lone ``.``, after ``334`` one AUTH answer
    (masked), otherwise a command.
    """

    def __init__(self, handler: Any, *, transcript_log: _TranscriptLog, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._transcript_log = transcript_log
        self.transcript: Transcript | None = None
        self._reading = "command"  # or "data" (after 354) or "auth" (after 334)
        self._partial = bytearray()  # the start of a command line not read to its end yet
        self._partial_size = 0
        self._stream: asyncio.StreamReader | None = None  # the real reader, read directly during DATA
        self._tapped: _TappedReader | None = None  # the same reader, tapped: commands and AUTH answers
        self._tally: _DataTally | None = None  # while a message is being read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        starttls = self.transport is not None and self._original_transport is not None
        if self.transcript is None:
            self.transcript = self._transcript_log.open(_format_peer(transport.get_extra_info("peername")))
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            how = "" if starttls else ", implicit TLS"
            self.transcript._add("-", f"-- TLS started ({ssl_object.version()}{how}) --")

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            transcript = self.transcript
            if transcript is not None and transcript.is_open:
                if self._tally is not None:
                    self._end_data()
                transcript._close()

    def data_received(self, data: bytes) -> None:
        tally, stream = self._tally, self._stream
        if tally is not None and stream is not None:
            tally.add(data, len(stream._buffer))  # type: ignore[attr-defined]
        super().data_received(data)

    def _cb_client_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._stream, self._tapped = reader, _TappedReader(reader, self._heard)
        super()._cb_client_connected(self._tapped, writer)  # type: ignore[arg-type]

    # push() and _call_handler_hook() are coroutines in aiosmtpd, always awaited where they are
    # called. These two do their recording at once and hand back aiosmtpd's own coroutine to await:
    # the same order of events, without a coroutine of their own on every command and reply.

    def _call_handler_hook(self, command: str, *args: Any) -> Awaitable[Any]:
        if command == "DATA" and self._tally is not None:  # the "." line is read: the message is complete
            self._end_data(getattr(self.envelope, "original_content", None))
        return super()._call_handler_hook(command, *args)

    async def smtp_STARTTLS(self, arg: str) -> None:
        try:
            await super().smtp_STARTTLS(arg)
        except TLSSetupException as exc:
            if self.transcript is not None:
                cause = exc.__cause__
                self.transcript._add("-", f"-- TLS handshake failed: {cause or 'no reason given'} --")
            raise

    def push(self, status: str | bytes) -> Awaitable[None]:
        if self._tally is not None:  # a reply that ends DATA without the handler: 552, 500 (too long)
            self._end_data()
        text = status.decode("utf-8", "replace") if isinstance(status, (bytes, bytearray)) else str(status)
        transcript = self.transcript
        if transcript is not None:
            transport = self.transport
            if transport is None or transport.is_closing():
                transcript._add("-", f"-- not sent, the connection is closing: {text} --")
            elif "\r\n" not in text:  # nearly every reply: one line
                transcript._add("S", text)
            else:
                for line in text.split("\r\n"):
                    transcript._add("S", line)
        if text.startswith("354"):
            self._start_data()
        elif text.startswith("334"):
            self._reading = "auth"
        return super().push(status)

    def _start_data(self) -> None:
        """After ``354``: read the message from the real reader, counted by a tally instead of line by line."""
        stream = self._stream
        if stream is None:
            return
        self._reading = "data"
        self._tally = _DataTally(bytes(stream._buffer))  # type: ignore[attr-defined]
        self._reader = stream

    def _end_data(self, content: bytes | None = None) -> None:
        """The message was read to its ``.`` line, or cut off: record its summary, tap commands again.

        *content* is the whole message as aiosmtpd captured it, when it did.
        """
        tally, stream = self._tally, self._stream
        self._tally = None
        self._reading = "command"
        if self._tapped is not None:
            self._reader = self._tapped
        if tally is None or stream is None:
            return
        if isinstance(content, bytes) and not tally.counted_any:
            summary: str | None = tally.summary_of(content)
        else:
            tally.consumed(len(stream._buffer))  # type: ignore[attr-defined]
            summary = tally.summary()
        if summary is not None and self.transcript is not None:
            self.transcript._add("C", summary)

    def _heard(self, data: bytes) -> None:
        """Record ``data``, the next bytes of a command line (or AUTH answer) the server read from the client."""
        transcript = self.transcript
        if transcript is None or not data:
            return
        if (
            not self._partial_size
            and self._reading == "command"
            and len(data) <= _MAX_SHOWN_COMMAND
            and data.endswith(b"\n")
            and data.isascii()
            and b"AUTH" not in data.upper()
        ):
            # The usual line (MAIL, RCPT, DATA ...): read whole, short, nothing to mask. Kept as it
            # came, decoded only if the transcript is read (what _command_text does, the same text).
            transcript._add("C", data)
            return
        if len(self._partial) < _MAX_SHOWN_COMMAND * 4:
            self._partial += data[: _MAX_SHOWN_COMMAND * 4]
        self._partial_size += len(data)
        if not data.endswith(b"\n"):
            return
        line, size = bytes(self._partial), self._partial_size
        self._partial, self._partial_size = bytearray(), 0
        text = line.rstrip(b"\r\n").decode("utf-8", "replace")
        if self._reading == "auth":
            self._reading = "command"
            text = text if text.strip() == "*" else _MASK
        else:
            text = _mask_auth(text)
        if size > _MAX_SHOWN_COMMAND:
            text = f"{text[:_MAX_SHOWN_COMMAND]}… ({size:,} bytes in all, cut here)"
        transcript._add("C", text)


# --------------------------------------------------------------------------- Maildir persistence


class _MaildirStore:
    """A Maildir (``mailbox.Maildir``) holding the raw captured bytes, plus one envelope sidecar per message.

    The layout on disk::

        <maildir>/new/<key>                        the message, raw bytes exactly as received
        <maildir>/cur/, <maildir>/tmp/             the rest of the Maildir layout
        <maildir>/mimekit-envelopes/<key>.json     {"format": "mimekit-envelope/1",
                                                    "mail_from": "shop@example.com",
                                                    "rcpt_tos": ["ana@example.org"],
                                                    "received_at": "2024-05-01T09:41:07.123456+00:00",
                                                    "peer": "127.0.0.1:54321"}

    The sidecar folder has no leading dot: in a Maildir, a ``.name`` folder
    is a sub-mailbox (Maildir++), and mail readers would show it as one.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.abspath = os.path.abspath(self.path)
        self._envelopes = os.path.join(self.path, _ENVELOPE_FOLDER)
        self._lock = threading.Lock()
        self._mailbox: mailbox.Maildir | None = None

    def _open(self) -> mailbox.Maildir:
        if self._mailbox is None:
            for folder in ("tmp", "new", "cur", _ENVELOPE_FOLDER):
                os.makedirs(os.path.join(self.path, folder), mode=0o700, exist_ok=True)
            self._mailbox = mailbox.Maildir(self.path, factory=None, create=True)
        return self._mailbox

    def _sidecar(self, key: str) -> str:
        return os.path.join(self._envelopes, f"{key}.json")

    def save(self, captured: CapturedMessage) -> str:
        """Write ``captured`` (bytes, then its envelope sidecar); return its Maildir key."""
        with self._lock:
            key = self._open().add(captured.raw)
            envelope = {
                "format": _ENVELOPE_FORMAT,
                "mail_from": captured.mail_from,
                "rcpt_tos": list(captured.rcpt_tos),
                "received_at": captured.received_at.isoformat(),
                "peer": captured.peer,
            }
            path = self._sidecar(key)
            with open(path + ".tmp", "w", encoding="ascii") as file:
                json.dump(envelope, file, indent=1)
            os.replace(path + ".tmp", path)
            return key

    def load(self, skip: Iterable[str] = ()) -> list[CapturedMessage]:
        """Read every message whose key is not in ``skip``, oldest first."""
        skipped = set(skip)
        found = []
        with self._lock:
            folder = self._open()
            for key in folder.keys():  # noqa: SIM118 (iterating a Mailbox yields messages, not keys)
                if key in skipped:
                    continue
                try:
                    with folder.get_file(key) as file:  # the bytes as stored: get_bytes() would rewrite line ends
                        raw = file.read()
                except (KeyError, FileNotFoundError):  # removed by someone else meanwhile
                    continue
                found.append(self._captured(key, raw))
        found.sort(key=lambda captured: (captured.received_at, captured.maildir_key or ""))
        return found

    def _captured(self, key: str, raw: bytes) -> CapturedMessage:
        envelope = self._read_envelope(key)
        if envelope is None:  # a message some other program put here: no envelope known
            mail_from, rcpt_tos, peer = "", (), ""
            received_at = _time_from_key(key)
        else:
            mail_from, rcpt_tos, peer, received_at = envelope
        return CapturedMessage(
            mail_from=mail_from,
            rcpt_tos=rcpt_tos,
            raw=raw,
            received_at=received_at,
            peer=peer,
            maildir_key=key,
        )

    def _read_envelope(self, key: str) -> tuple[str, tuple[str, ...], str, datetime.datetime] | None:
        """The sidecar's envelope, or ``None`` when there is none or it cannot be read."""
        try:
            with open(self._sidecar(key), encoding="ascii") as file:
                data = json.load(file)
            if not isinstance(data["rcpt_tos"], list):
                return None
            rcpt_tos = tuple(str(r) for r in data["rcpt_tos"])
            received_at = datetime.datetime.fromisoformat(data["received_at"])
            if not rcpt_tos or data.get("format") != _ENVELOPE_FORMAT:
                return None
            return str(data["mail_from"]), rcpt_tos, str(data.get("peer", "")), received_at
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def discard(self, keys: Iterable[str]) -> None:
        """Delete the messages ``keys`` and their sidecars; keys not in the folder are ignored."""
        with self._lock:
            folder = self._open()
            for key in keys:
                folder.discard(key)
                try:
                    os.remove(self._sidecar(key))
                except FileNotFoundError:
                    pass


def _time_from_key(key: str) -> datetime.datetime:
    """When a message was delivered, from its Maildir key (``"<unix time>.<unique>.<host>"``)."""
    try:
        seconds = float(key.split(".", 1)[0])
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return datetime.datetime.fromtimestamp(0, datetime.timezone.utc)


# --------------------------------------------------------------------------- the server


class _BoundSocketController(Controller):
    """aiosmtpd's threaded Controller, serving on a socket that is already bound.

    ``Controller`` binds ``hostname:port`` itself inside its thread, which has
    two problems for us: port 0 ("any free port") binds fine, but the
    Controller keeps ``port = 0`` and its self-test connection
    (``_trigger_server``, which makes aiosmtpd build its SMTP object early so
    errors show up in ``start()``) then connects to port 0 and fails; and a
    bind error only surfaces after ``ready_timeout`` seconds. Binding in the
    caller's thread first, then handing the socket to
    ``loop.create_server(sock=...)``, fixes both without a race: the port is
    never released between choosing and listening.

    With a ``transcript_log``, each connection gets a :class:`_RecordingSMTP`
    (aiosmtpd's documented way to customise the protocol: override
    ``factory()``), which writes that session's :class:`Transcript`.
    """

    def __init__(
        self, handler: Any, sock: socket.socket, *, transcript_log: _TranscriptLog | None = None, **kwargs: Any
    ) -> None:
        address, port = sock.getsockname()[:2]
        # hostname/port are what _trigger_server connects to: the bound address.
        super().__init__(handler, hostname=address, port=port, **kwargs)
        self._sock = sock
        self._transcript_log = transcript_log

    def _trigger_server(self) -> None:
        """Connect once, as aiosmtpd does, but from a known address so that its transcript is left out.

        A client that happens to connect while the server starts then keeps
        its own transcript.
        """
        hostname = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.hostname, self.hostname)
        family = socket.AF_INET6 if ":" in hostname else socket.AF_INET
        with contextlib.ExitStack() as stack:
            sock = stack.enter_context(socket.socket(family, socket.SOCK_STREAM))
            sock.settimeout(1.0)
            sock.bind((hostname, 0))
            if self._transcript_log is not None:
                self._transcript_log.hide_peer(_format_peer(sock.getsockname()))
            sock.connect((hostname, self.port))
            if self.ssl_context:
                client_context = _server_to_client_ssl_ctx(self.ssl_context)
                sock = stack.enter_context(client_context.wrap_socket(sock))
            sock.recv(1024)

    def factory(self) -> SMTP:
        if self._transcript_log is None:
            return super().factory()
        return _RecordingSMTP(self.handler, transcript_log=self._transcript_log, **self.SMTP_kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    async def _close_connections(self) -> None:
        """Stop listening, end every client session, and let the transports close."""
        if self.server is not None:
            self.server.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()  # aiosmtpd closes the connection when its session task is cancelled
        if tasks:
            await asyncio.wait(tasks, timeout=_STOP_TIMEOUT)
        for _ in range(3):  # connection_lost() callbacks run on the next loop iterations
            await asyncio.sleep(0)

    def close_socket(self) -> None:
        self._sock.close()


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _quiet_aiosmtpd_logging() -> None:
    """Keep aiosmtpd's per-connection INFO lines out of notebooks.

    Only when nobody set a level on its logger: to watch every command, run
    ``logging.basicConfig()`` and ``logging.getLogger("mail.log").setLevel(logging.DEBUG)``.
    """
    logger = logging.getLogger("mail.log")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _DropLoginDataWarning) for f in logger.filters):
        logger.addFilter(_DropLoginDataWarning())


class _DropLoginDataWarning(logging.Filter):
    """Two aiosmtpd 1.4 log records that only add noise to a lesson.

    - the warning about its own deprecated ``Session.login_data``, on every successful AUTH;
    - the traceback of a TLS handshake the client refused (a certificate it does not
      trust): the session's transcript already ends with ``-- TLS handshake failed … --``,
      and the client gets its own ``SSLCertVerificationError``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Session.login_data is deprecated"):
            return False
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, ssl.SSLError) or isinstance(getattr(error, "__cause__", None), ssl.SSLError))


# One lock for every start and stop: it keeps the name registry consistent and
# makes "stop the old server of this name, start the new one" atomic.
_lifecycle_lock = threading.RLock()
_registry: dict[str, EmbeddedServer] = {}


class EmbeddedServer:
    """An SMTP server in a background thread that captures every message into an inbox.

    ``host`` is where it listens; by default ``127.0.0.1``, the loopback
    interface, so only programs on this machine can connect. A host that is not
    a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``) is refused
    unless ``allow_remote=True``: that *exposes the server to the network*, and
    anyone who can reach the port can hand it mail.

    ``port`` 0 (the default) asks the operating system for a free port; after
    :meth:`start`, ``port`` is the port really bound (a restart after
    :meth:`stop` picks a new one). An explicit port must be free.

    ``server_hostname`` is the name the server greets with (``220 <name> ...``)
    and answers ``EHLO`` with. ``data_size_limit`` is the largest message in
    bytes (advertised as ``SIZE``, RFC 1870; larger ones get ``552``; ``0``
    means no limit). ``inbox`` lets several servers, or a server and your code,
    share one :class:`Inbox`; by default each server gets its own.

    ``name`` ties the server to a slot of this process: starting a server whose
    name is held by another running server stops that older one first, so
    rerunning a notebook cell never leaves an orphan server listening.
    Servers with ``name=None`` are independent of each other.

    By default the server speaks plain SMTP without TLS or AUTH, keeps the
    message bytes undecoded (``decode_data=False``) and accepts UTF-8
    addresses (``SMTPUTF8``, RFC 6531). For the TLS and AUTH lessons:

    * ``tls="starttls"`` offers STARTTLS (RFC 3207) and refuses mail before it
      (530); ``tls="implicit"`` speaks TLS from the first byte (SMTPS, RFC 8314).
      The certificate comes from ``ca``, by default a fresh in-memory
      :class:`~mimekit.tls.LocalCA` for ``host``, ``localhost`` and
      ``server_hostname``; clients trust it with ``server.ca.client_context()``.
    * ``auth={"user": "password"}`` offers AUTH PLAIN and LOGIN (RFC 4954) and
      answers 235 or 535. Without TLS it is refused (``ValueError``) unless
      ``allow_auth_without_tls=True``, for a lesson that shows why passwords
      must not travel in clear.
    * ``faults`` is a :class:`~mimekit.faults.FaultPlan` or its spec string
      (``"greylist:2,reject:nobody@*"``): scripted, repeatable refusals.

    Watching and keeping:

    * ``transcripts=True`` (the default) records every session as a
      :class:`Transcript` (see :attr:`transcripts`); the newest
      ``max_transcripts`` (1000) are kept, older ones dropped. They survive
      ``stop()`` / ``start()``; :meth:`clear_transcripts` empties them
      (``inbox.clear()`` does not).
    * ``maildir="path/to/folder"`` also writes every captured message to that
      Maildir (created if missing; ``mailbox.Maildir`` from the standard
      library): the raw bytes exactly as received in ``new/<key>`` (on POSIX;
      on Windows the standard library rewrites line ends to ``os.linesep``),
      and the envelope, which is *not* part of the message, in a JSON sidecar
      ``mimekit-envelopes/<key>.json`` inside the folder (``format``:
      ``"mimekit-envelope/1"``, ``mail_from``, ``rcpt_tos``, ``received_at``
      in ISO 8601, ``peer``). :meth:`start` first loads every message of the
      folder that the inbox does not hold yet, oldest first, so a restarted
      server, or a new one on the same folder, shows the same inbox, byte for
      byte. A message without a sidecar (dropped in by hand) is loaded with an
      unknown envelope (``mail_from == ""``, ``rcpt_tos == ()``, see
      :class:`CapturedMessage`). ``inbox.clear()`` deletes the files of the
      messages it removes too; ``inbox.clear(persisted=False)`` keeps them.
      If a message cannot be written, the client gets ``451`` and nothing is
      captured.

    Use it as a context manager to stop it for sure::

        >>> with EmbeddedServer() as server:
        ...     server.is_running, server.host, server.port > 0
        (True, '127.0.0.1', True)
        >>> server.is_running
        False

    Raises ``TypeError`` / ``ValueError`` here for arguments of the wrong type or
    range (an unknown ``tls`` mode, AUTH without TLS, a bad fault spec);
    :meth:`start` raises :class:`~mimekit.errors.ServerStartError`.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        server_hostname: str = DEFAULT_SERVER_HOSTNAME,
        data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT,
        inbox: Inbox | None = None,
        name: str | None = None,
        allow_remote: bool = False,
        tls: str | None = None,
        ca: LocalCA | None = None,
        auth: Mapping[str, str] | None = None,
        allow_auth_without_tls: bool = False,
        faults: FaultPlan | str | None = None,
        transcripts: bool = True,
        max_transcripts: int = DEFAULT_MAX_TRANSCRIPTS,
        maildir: str | os.PathLike[str] | None = None,
    ) -> None:
        if tls not in (None, "starttls", "implicit"):
            raise ValueError(f"tls={tls!r}: use None (plain SMTP), 'starttls' (RFC 3207) or 'implicit' (RFC 8314).")
        if auth is not None:
            if not auth or not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in auth.items()):
                raise ValueError("auth must map each user name (str) to its password (str), e.g. {'alumno': '…'}.")
            if tls is None and not allow_auth_without_tls:
                raise ValueError(
                    "AUTH without TLS would send the password in clear (RFC 4954 §4, RFC 8314). Pass "
                    "tls='starttls' or tls='implicit'; only a lesson that shows why this is dangerous should "
                    "pass allow_auth_without_tls=True."
                )
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a non-empty str such as '127.0.0.1', not {host!r}")
        if not isinstance(port, int) or isinstance(port, bool):
            raise TypeError(f"port must be an int, not {type(port).__name__}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535 (0 picks a free port), not {port}")
        if not isinstance(server_hostname, str) or not server_hostname or any(c.isspace() for c in server_hostname):
            raise ValueError(
                f"server_hostname must be a host name without spaces, such as 'mimekit.localhost', "
                f"not {server_hostname!r}"
            )
        if not isinstance(data_size_limit, int) or isinstance(data_size_limit, bool):
            raise TypeError(f"data_size_limit must be an int (bytes), not {type(data_size_limit).__name__}")
        if data_size_limit < 0:
            raise ValueError(f"data_size_limit must be 0 (no limit) or more bytes, not {data_size_limit}")
        if inbox is not None and not isinstance(inbox, Inbox):
            raise TypeError(f"inbox must be an Inbox or None, not {type(inbox).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, not {type(name).__name__}")
        if not isinstance(max_transcripts, int) or isinstance(max_transcripts, bool):
            raise TypeError(f"max_transcripts must be an int (sessions), not {type(max_transcripts).__name__}")
        if max_transcripts < 1:
            raise ValueError(
                f"max_transcripts must be 1 or more, not {max_transcripts}; pass transcripts=False to record none"
            )
        if maildir is not None and not isinstance(maildir, (str, os.PathLike)):
            raise TypeError(f"maildir must be a folder path (str or pathlib.Path) or None, not {type(maildir).__name__}")
        if maildir is not None and not os.fspath(maildir):
            raise ValueError("maildir must name a folder, such as 'captured-mail', not an empty path")

        self.host = host
        self.port = port
        self.server_hostname = server_hostname
        self.data_size_limit = data_size_limit
        self.allow_remote = bool(allow_remote)
        self.name = name
        self.inbox = Inbox() if inbox is None else inbox
        self.inbox._servers.add(self)
        capturing = CapturingHandler(self.inbox, maildir=maildir)
        self.handler: Any = capturing
        #: The Maildir folder messages are persisted to (a str path), or ``None``.
        self.maildir: str | None = capturing.maildir
        self._maildir = capturing._maildir
        self._transcript_log = _TranscriptLog(max_transcripts) if transcripts else None
        self.tls = tls
        self.ca = ca if ca is not None or tls is None else LocalCA(hostnames=_tls_names(host, server_hostname))
        self.auth = dict(auth) if auth is not None else None
        self.allow_auth_without_tls = bool(allow_auth_without_tls)
        self._requested_port = port
        self._controller: _BoundSocketController | None = None
        if faults is not None:
            inject_faults(self, faults)

    # -- state

    @property
    def is_running(self) -> bool:
        """Whether the server is listening right now."""
        controller = self._controller
        thread = None if controller is None else controller._thread
        return thread is not None and thread.is_alive()

    @property
    def url(self) -> str:
        """``smtp://host:port``, ``smtp+starttls://…`` or ``smtps://…`` (IPv6 hosts in brackets); port 0 until started.

        The form :meth:`mimekit.connection.SMTPTarget.from_url` reads.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = {None: "smtp", "starttls": "smtp+starttls", "implicit": "smtps"}[self.tls]
        return f"{scheme}://{host}:{self.port}"

    def _settings(self) -> tuple[Any, ...]:
        """What start_server() compares to decide whether a rerun asks for the same server."""
        faults = str(self.handler.plan) if isinstance(self.handler, FaultyHandler) else ""
        auth = tuple(sorted(self.auth.items())) if self.auth else ()
        transcripts = None if self._transcript_log is None else self._transcript_log._kept.maxlen
        maildir = None if self.maildir is None else os.path.abspath(self.maildir)
        return (self.host, self._requested_port, self.server_hostname, self.data_size_limit, self.allow_remote,
                self.tls, auth, self.allow_auth_without_tls, faults, transcripts, maildir)

    def _security_options(self) -> dict[str, Any]:
        """aiosmtpd options for TLS and AUTH (RFC 3207 STARTTLS, RFC 8314 implicit TLS, RFC 4954 AUTH)."""
        options: dict[str, Any] = {}
        if self.tls == "starttls":
            assert self.ca is not None
            options.update(tls_context=self.ca.server_context(), require_starttls=True)
        elif self.tls == "implicit":
            assert self.ca is not None
            options.update(ssl_context=self.ca.server_context())
        if self.auth:
            # aiosmtpd counts only STARTTLS as TLS: under implicit TLS the whole connection is already
            # encrypted, so it must not demand STARTTLS before AUTH (aio-libs/aiosmtpd#281).
            options.update(authenticator=self._authenticate, auth_require_tls=self.tls == "starttls")
        elif any(isinstance(f, BadCredentials) for f in getattr(getattr(self.handler, "plan", None), "faults", ())):
            # "bad-auth" lessons need AUTH offered: every login then gets 535 from the fault.
            options.update(authenticator=lambda *args: AuthResult(success=False, handled=False),
                           auth_require_tls=self.tls == "starttls")
        return options

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        """Check a LOGIN / PLAIN user name and password against ``auth`` (RFC 4954 §4: 235 or 535)."""
        if not isinstance(auth_data, LoginPassword) or not self.auth:
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        expected = self.auth.get(user)
        ok = expected is not None and hmac.compare_digest(expected.encode("utf-8"), bytes(auth_data.password))
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    # -- transcripts

    @property
    def transcripts(self) -> list[Transcript]:
        """The recorded sessions, oldest first: a snapshot list (``[]`` with ``transcripts=False``).

        Sessions still in progress are included (their :attr:`Transcript.is_open`
        is true) and go on growing; the list itself does not change under you.
        The newest ``max_transcripts`` are kept.
        """
        log = self._transcript_log
        return [] if log is None else log.snapshot()

    def clear_transcripts(self) -> int:
        """Forget every recorded session; return how many were removed. The inbox is not touched."""
        log = self._transcript_log
        return 0 if log is None else log.clear()

    def find_transcript(self, captured: CapturedMessage) -> Transcript | None:
        """Return the session that delivered ``captured``, or ``None`` (reloaded mail, dropped or cleared sessions).

        The link is by identity: ``captured`` must be the object in the inbox.
        """
        for transcript in reversed(self.transcripts):
            if any(message is captured for message in transcript.messages):
                return transcript
        return None

    def __repr__(self) -> str:
        count = len(self.inbox)
        state = "running" if self.is_running else "stopped"
        return f"<EmbeddedServer {self.url} {state}, {count} message{'s' if count != 1 else ''}>"

    # -- starting and stopping

    def start(self) -> EmbeddedServer:
        """Start listening (in a background thread) and return ``self``.

        Starting a running server does nothing. If ``name`` is held by another
        running server, that one is stopped first. When this returns, the
        server has answered a test connection, so clients can connect at once.

        Raises :class:`~mimekit.errors.ServerStartError` (an ``OSError``, with
        ``errno`` set and the original ``OSError`` as ``__cause__`` when there is
        one) when:

        - ``host`` is not a loopback address and ``allow_remote`` is false;
        - ``host`` does not resolve, or is not an address of this machine;
        - the explicit ``port`` is already in use (``errno.EADDRINUSE``), or
          needs privileges (ports below 1024 on Unix);
        - the ``maildir`` folder cannot be created or read;
        - aiosmtpd did not answer within its ready timeout (5 s).

        With a ``maildir``, the messages of the folder that the inbox does not
        hold yet are loaded into it first, oldest first.
        """
        with _lifecycle_lock:
            if self.is_running:
                return self
            family, proto, sockaddr = self._resolve()  # refuses a non-loopback host before anything stops
            if self.name is not None:
                holder = _registry.get(self.name)
                if holder is not None and holder is not self:
                    holder.stop()  # frees its port too, should this server want the same one
            _quiet_aiosmtpd_logging()
            self._load_maildir()
            sock = self._bind(family, proto, sockaddr)
            try:
                controller = _BoundSocketController(
                    self.handler,
                    sock,
                    server_hostname=self.server_hostname,
                    ident=_GREETING_IDENT,
                    data_size_limit=self.data_size_limit,
                    decode_data=False,
                    enable_SMTPUTF8=True,
                    transcript_log=self._transcript_log,
                    **self._security_options(),
                )
            except BaseException:
                sock.close()
                raise
            log = self._transcript_log
            try:
                controller.start()
            except Exception as exc:
                _abandon(controller)
                error = ServerStartError(
                    f"The SMTP server on {self.host}:{self.port} did not start: {exc}. "
                    "If the machine is very busy, try again; set the environment variable "
                    "AIOSMTPD_CONTROLLER_TIMEOUT to wait longer than 5 seconds."
                )
                error.errno = getattr(exc, "errno", None)
                raise error from exc
            finally:
                if log is not None:
                    log.hide_peer(None)
            self._controller = controller
            if self.name is not None:
                _registry[self.name] = self
            return self

    def stop(self) -> None:
        """Stop listening, end open client sessions and free the port; stopping twice is fine.

        Captured messages stay in the inbox. After ``stop()``, :meth:`start`
        starts the server again (on a new free port if it was created with
        ``port=0``).
        """
        with _lifecycle_lock:
            controller, self._controller = self._controller, None
            if self.name is not None and _registry.get(self.name) is self:
                del _registry[self.name]
            if controller is None:
                return
            if controller.loop.is_running():
                future = asyncio.run_coroutine_threadsafe(controller._close_connections(), controller.loop)
                try:
                    future.result(timeout=_STOP_TIMEOUT + 1)
                except Exception:  # the loop stops below whatever happened here
                    pass
            controller.stop(no_assert=True)
            controller.close_socket()
        self.inbox._wake()  # whoever waits on the inbox (the live inbox view) sees the stop at once

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def _load_maildir(self) -> None:
        """Append the Maildir's messages that the inbox does not hold yet; ServerStartError if unreadable."""
        store = self._maildir
        if store is None:
            return
        held = {captured.maildir_key for captured in self.inbox.messages() if captured.maildir_key}
        try:
            loaded = store.load(skip=held)
        except OSError as exc:
            error = ServerStartError(
                f"Cannot start the SMTP server: the Maildir {self.maildir!r} cannot be created or read "
                f"({exc.strerror or exc}). Pass maildir= a folder you can write to, or None to keep mail in memory only."
            )
            error.errno = exc.errno
            raise error from exc
        for captured in loaded:
            self.inbox._append(captured)

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- binding

    def _resolve(self) -> tuple[socket.AddressFamily, int, Any]:
        """Resolve ``host`` to the address to bind; refuse it unless it is loopback or allowed."""
        try:
            infos = socket.getaddrinfo(self.host, self._requested_port, type=socket.SOCK_STREAM)
        except OSError as exc:
            error = ServerStartError(
                f"Cannot start the SMTP server: the host {self.host!r} does not resolve to an address "
                f"({exc}). Use '127.0.0.1' (the default) to listen on this machine only."
            )
            error.errno = exc.errno
            raise error from exc
        family, _, proto, _, sockaddr = infos[0]
        address = sockaddr[0]
        if not self.allow_remote and not _is_loopback(address):
            error = ServerStartError(
                f"Refusing to listen on {self.host!r} ({address}): it is not a loopback address, so "
                "other machines could connect and hand this server mail. Use '127.0.0.1' (the default), "
                "'::1' or 'localhost'; pass allow_remote=True only if you mean to expose it to the network."
            )
            error.errno = errno.EADDRNOTAVAIL
            raise error
        return family, proto, sockaddr

    def _bind(self, family: socket.AddressFamily, proto: int, sockaddr: Any) -> socket.socket:
        """Bind ``sockaddr`` and listen, so the port is ours from here on; return the socket."""
        address = sockaddr[0]
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
        try:
            if os.name == "posix" and sys.platform != "cygwin":
                # Like asyncio: rebinding a port with connections in TIME_WAIT (from the
                # last QUIT) must work, so a restart on an explicit port succeeds at once.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(_LISTEN_BACKLOG)
        except OSError as exc:
            sock.close()
            raise self._bind_error(exc, address) from exc
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    def _bind_error(self, exc: OSError, address: str) -> ServerStartError:
        port = self._requested_port
        if exc.errno == errno.EADDRINUSE:
            text = (
                f"Cannot start the SMTP server: port {port} on {self.host} is already in use "
                "(by another program, or another EmbeddedServer). Pass port=0 to get a free port, "
                "or stop the other server first (stop_server() or its .stop())."
            )
        elif exc.errno == errno.EACCES:
            text = (
                f"Cannot start the SMTP server: port {port} on {self.host} needs administrator rights "
                "(ports below 1024 are privileged). Pass port=0 to get a free port, or one above 1023."
            )
        elif exc.errno == errno.EADDRNOTAVAIL:
            text = (
                f"Cannot start the SMTP server: {self.host!r} ({address}) is not an address of this "
                "machine, so nothing can listen there. Use '127.0.0.1' (the default)."
            )
        else:
            text = f"Cannot start the SMTP server on {self.host}:{port}: {exc.strerror or exc}."
        error = ServerStartError(text)
        error.errno = exc.errno
        return error


def _abandon(controller: _BoundSocketController) -> None:
    """Clean up after a Controller whose start() failed: thread, event loop, socket."""
    try:
        if controller._thread is not None:
            controller.stop(no_assert=True)
    finally:
        if not controller.loop.is_closed() and not controller.loop.is_running():
            controller.loop.close()
        controller.close_socket()


# --------------------------------------------------------------------------- named servers for notebooks


def start_server(*, name: str = "default", **kwargs: Any) -> EmbeddedServer:
    """Start the embedded server called ``name``, or return it if it already runs; safe to rerun.

    ``kwargs`` are :class:`EmbeddedServer`'s (``host``, ``port``,
    ``server_hostname``, ``data_size_limit``, ``inbox``, ``allow_remote``,
    ``tls``, ``auth``, ``faults``, ``transcripts``, ``max_transcripts``, ``maildir``).
    Calling this again with the same arguments returns the running server (same
    port, captured messages kept); with different arguments, the old server is
    stopped and a new one started. Raises what :class:`EmbeddedServer` and
    :meth:`EmbeddedServer.start` raise.

    >>> server = start_server(name="doctest")
    >>> start_server(name="doctest") is server
    True
    >>> stop_server("doctest")
    >>> server.is_running
    False
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'default', not {name!r}")
    wanted = EmbeddedServer(name=name, **kwargs)
    with _lifecycle_lock:
        running = _registry.get(name)
        if (
            running is not None
            and running.is_running
            and running._settings() == wanted._settings()
            and (kwargs.get("inbox") is None or kwargs["inbox"] is running.inbox)
        ):
            return running
        return wanted.start()  # stops `running` first: it holds the same name


def stop_server(name: str = "default") -> None:
    """Stop the embedded server called ``name``; do nothing if there is none."""
    with _lifecycle_lock:
        server = _registry.get(name)
        if server is not None:
            server.stop()


def running_servers() -> dict[str, EmbeddedServer]:
    """Return the running named servers as ``{name: server}`` (a snapshot; unnamed servers are not listed)."""
    with _lifecycle_lock:
        return {name: server for name, server in _registry.items() if server.is_running}


def _tls_names(host: str, server_hostname: str) -> tuple[str, ...]:
    """The names the server certificate must hold: the listening host, localhost, the greeting name."""
    names: list[str] = []
    for name in (host, "localhost", "127.0.0.1", server_hostname):
        if name not in names:
            names.append(name)
    return tuple(names)
