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

In a notebook, use :func:`start_server` in the setup cell: running the cell
again gives back the server that is already running (same port, same inbox)
instead of starting a second one.

Errors raised here (see :mod:`mimekit.errors`):

- :class:`~mimekit.errors.ServerStartError` (an ``OSError``): the port is busy,
  the host is not a loopback address (and ``allow_remote=True`` was not
  given), the host cannot be bound, or aiosmtpd did not come up in time.
- :class:`~mimekit.errors.InboxTimeout` (a ``TimeoutError``):
  :meth:`Inbox.wait_for` waited longer than its timeout.
- ``IndexError``: :meth:`Inbox.latest` on an empty inbox.
- ``TypeError`` / ``ValueError``: an argument of the wrong type or range.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import email.message
import email.policy
import errno
import hmac
import ipaddress
import logging
import operator
import os
import socket
import sys
import threading
import weakref
from collections.abc import Iterator, Mapping
from email.parser import BytesParser
from typing import Any, overload

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mimekit.errors import InboxTimeout, ServerStartError
from mimekit.faults import BadCredentials, FaultPlan, FaultyHandler, inject_faults
from mimekit.tls import LocalCA

__all__ = [
    "CapturedMessage",
    "CapturingHandler",
    "EmbeddedServer",
    "Inbox",
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
    (RFC 2047 encoded words turned into text).

    Two captures compare equal when their envelope, bytes, time and peer are
    equal (``message`` is derived from ``raw`` and not compared).
    """

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: email.message.EmailMessage = dataclasses.field(compare=False)
    received_at: datetime.datetime
    peer: str

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
        # The servers that feed this inbox, named in InboxTimeout's hint.
        self._servers: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()

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

    def clear(self) -> int:
        """Remove every captured message; return how many were removed."""
        with self._changed:
            removed = len(self._messages)
            self._messages.clear()
            return removed

    def _append(self, captured: CapturedMessage) -> None:
        with self._changed:
            self._messages.append(captured)
            self._changed.notify_all()


# --------------------------------------------------------------------------- the aiosmtpd handler


class CapturingHandler:
    """An aiosmtpd handler that keeps every message in an :class:`Inbox`.

    Like aiosmtpd's own handlers it is a plain object with ``handle_<COMMAND>``
    coroutines (duck typing); aiosmtpd calls :meth:`handle_DATA` once the
    client has sent the ``.`` line that ends ``DATA``. All other commands keep
    aiosmtpd's default behaviour (every sender and recipient accepted).
    """

    def __init__(self, inbox: Inbox | None = None) -> None:
        self.inbox = Inbox() if inbox is None else inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Capture ``envelope`` into the inbox and return the SMTP reply ``250 OK: message captured``.

        ``envelope.original_content`` is the content as received (bytes, after
        dot-unstuffing); it is parsed with ``email.policy.default``. The reply
        is what the client's ``sendmail()`` sees (RFC 5321 §4.1.1.4, §4.2).
        """
        raw = bytes(envelope.original_content or b"")
        captured = CapturedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=_PARSER.parsebytes(raw),
            received_at=datetime.datetime.now(datetime.timezone.utc),
            peer=_format_peer(session.peer),
        )
        self.inbox._append(captured)
        return "250 OK: message captured"


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
    """

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        address, port = sock.getsockname()[:2]
        # hostname/port are what _trigger_server connects to: the bound address.
        super().__init__(handler, hostname=address, port=port, **kwargs)
        self._sock = sock

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
    """aiosmtpd 1.4 warns about its own deprecated ``Session.login_data`` on every successful AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


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
      (``"greylist:2,reject:nobody@*"``): scripted, repeatable refusals. Use it as a context manager to stop it for sure::

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

        self.host = host
        self.port = port
        self.server_hostname = server_hostname
        self.data_size_limit = data_size_limit
        self.allow_remote = bool(allow_remote)
        self.name = name
        self.inbox = Inbox() if inbox is None else inbox
        self.inbox._servers.add(self)
        self.handler: Any = CapturingHandler(self.inbox)
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
        return (self.host, self._requested_port, self.server_hostname, self.data_size_limit, self.allow_remote,
                self.tls, auth, self.allow_auth_without_tls, faults)

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
        - aiosmtpd did not answer within its ready timeout (5 s).
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
                    **self._security_options(),
                )
            except BaseException:
                sock.close()
                raise
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

    def __enter__(self) -> EmbeddedServer:
        return self.start()

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
    ``server_hostname``, ``data_size_limit``, ``inbox``, ``allow_remote``).
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
