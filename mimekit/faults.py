"""Scripted SMTP faults: make the embedded server fail the same way every time.

Error handling is learnt by meeting errors, and a lesson needs the *same*
error on every run: the 451 of a greylisting server, the 421 of one shutting
down, the connection that drops after the message was sent but before the
server answered. Mailpit and MailHog can misbehave too, but at random; here a
:class:`FaultPlan` says exactly which command fails, how, and when, so a
notebook's stored output and a test's assertion hold on every run.

A plan wraps the server's handler in a :class:`FaultyHandler`, before the
server starts::

    server = EmbeddedServer()
    handler = inject_faults(server, "reject:nobody@*,greylist:2")   # or FaultPlan(...)
    server.start()
    ...
    handler.plan = FaultPlan()      # next lesson: no faults, memory cleared

The faults, what the server answers (RFC 5321 §4.2 reply codes; the ``x.y.z``
after them are RFC 3463 enhanced status codes) and what smtplib raises::

    fault                 spec             the server answers                     smtplib raises             kind
    --------------------  ---------------  -------------------------------------  -------------------------  ---------
    RejectRecipients      reject:nobody@*  550 5.1.1 to a matching RCPT TO        SMTPRecipientsRefused (*)  permanent
    Greylist              greylist:2       451 4.7.1 to RCPT TO, tries 1..N;      SMTPRecipientsRefused (*)  transient
                                           250 from try N+1 on
    ServiceClosing        close:0          421 4.3.2 to MAIL FROM, then hangs up  SMTPSenderRefused (421)    transient
    TooManyRecipients     max-rcpt:5       452 4.5.3 to each RCPT TO beyond 5     SMTPRecipientsRefused (*)  transient
    MessageTooBig         max-size:10000   552 5.3.4 after DATA                   SMTPDataError              permanent
    BadCredentials        bad-auth         535 5.7.8 to AUTH                      SMTPAuthenticationError    permanent
    DisconnectDuringData  drop-data:0      no reply after DATA: hangs up          SMTPServerDisconnected     unknown
    SlowReplies           slow:DATA=2.5    the usual reply, 2.5 s late            SMTPServerDisconnected     transient
                                                                                  if the client's socket
                                                                                  timeout is shorter

    (*) only when every recipient is refused; otherwise sendmail() delivers to
        the others and returns the refused ones as {address: (code, text)}.

Through :class:`~mimekit.sending.SMTPSession`: refused recipients (550, 451,
452) come back in the :class:`~mimekit.sending.SendResult`, one line each with
code and text, and nothing is raised; 421, 552, a dropped connection and a
timeout raise :class:`~mimekit.errors.SMTPDeliveryError` with ``code`` set
(``None`` when the server said nothing), and after 421 or a drop
``session.is_open`` is false.

*Transient* (4xx, RFC 5321 §4.2.1) means "the same command may work later":
queue the message and retry. *Permanent* (5xx) means "do not send this again
unchanged". A connection lost after the final ``.`` of DATA is neither: the
server may have kept the message (RFC 5321 §4.1.1.4, and RFC 1047 on the
duplicates this causes), so a careful client checks before resending.

Everything is deterministic: recipients match by pattern, greylisting counts
attempts per (client IP, MAIL FROM, RCPT TO), and ``close`` / ``drop-data``
count the messages accepted *on the connection*, so every new connection
replays the same script. Nothing here draws a random number or reads the clock
(``slow`` only waits).

A whole lesson in a few lines::

    >>> import smtplib
    >>> from mimekit.server import EmbeddedServer
    >>> server = EmbeddedServer()
    >>> handler = inject_faults(server, "reject:nobody@*,greylist:1")
    >>> with server, smtplib.SMTP(server.host, server.port) as client:
    ...     for attempt in (1, 2):
    ...         try:
    ...             refused = client.sendmail("shop@example.com", ["ana@example.org", "nobody@example.org"],
    ...                                       b"Subject: Your order\\r\\n\\r\\nThanks!\\r\\n")
    ...         except smtplib.SMTPRecipientsRefused as exc:
    ...             refused = exc.recipients
    ...         print(attempt, refused)
    1 {'ana@example.org': (451, b'4.7.1 Greylisted, try again later'),
       'nobody@example.org': (550, b'5.1.1 No such user here')}
    2 {'nobody@example.org': (550, b'5.1.1 No such user here')}
    >>> [m.rcpt_tos for m in server.inbox]
    [('ana@example.org',)]

Errors raised here: ``ValueError`` for a bad spec or a fault argument out of
range (the message lists the accepted forms), ``TypeError`` for an argument of
the wrong type, ``RuntimeError`` from :func:`inject_faults` on a running server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import math
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from aiosmtpd.smtp import MISSING

__all__ = [
    "BadCredentials",
    "DisconnectDuringData",
    "Fault",
    "FaultPlan",
    "FaultyHandler",
    "Greylist",
    "MessageTooBig",
    "RejectRecipients",
    "SLOW_COMMANDS",
    "ServiceClosing",
    "SlowReplies",
    "TooManyRecipients",
    "inject_faults",
]

#: The commands whose reply :class:`SlowReplies` can delay: those for which
#: aiosmtpd awaits a handler hook (``handle_<COMMAND>``) before replying. The
#: 220 greeting and the 354 after DATA are sent without asking the handler;
#: HELO and QUIT have hooks but are left to aiosmtpd (smtplib says EHLO).
SLOW_COMMANDS = ("AUTH", "DATA", "EHLO", "MAIL", "NOOP", "RCPT", "RSET")


# --------------------------------------------------------------------------- checks shared by the faults


def _check_int(owner: str, name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be {minimum} or more, not {value}")


def _check_reply(owner: str, code: object, text: object, *, low: int = 400, high: int = 599) -> None:
    """A reply the server can send: a code in [low, high] and one line of text."""
    _check_int(owner, "code", code, 0)
    if not low <= code <= high:  # type: ignore[operator]
        raise ValueError(f"{owner}: code must be between {low} and {high} (an SMTP error reply), not {code}")
    if not isinstance(text, str):
        raise TypeError(f"{owner}: text must be a str, not {type(text).__name__}")
    if "\r" in text or "\n" in text:
        raise ValueError(
            f"{owner}: text must be one line, but {text!r} holds a line break; it would end the reply "
            "early and the rest would reach the client as another reply (RFC 5321 §4.2)."
        )


# --------------------------------------------------------------------------- the faults


class Fault:
    """Base class of the faults: frozen dataclasses whose ``str()`` is their command-line spec.

    ``keyword`` is the word the spec starts with (``"greylist"`` for ``greylist:2``).
    """

    keyword: ClassVar[str]


@dataclasses.dataclass(frozen=True)
class RejectRecipients(Fault):
    """Refuse every recipient whose address matches ``pattern``, with 550.

    The exchange (RFC 5321 §4.1.1.3, §4.2.3)::

        C: RCPT TO:<nobody@example.org>     S: 550 5.1.1 No such user here
        C: RCPT TO:<ana@example.org>        S: 250 OK

    ``pattern`` is a shell-style pattern (:mod:`fnmatch`: ``*`` any text,
    ``?`` one character, ``[abc]`` one of them), matched against the whole
    address in lower case: ``"nobody@*"``, ``"*@example.net"``,
    ``"test-?@example.com"``. It may not hold a comma (commas separate specs).

    ``code`` 5xx is permanent (this address will never work); a 4xx code
    (e.g. ``450`` mailbox busy) makes it transient. smtplib reports the
    address in ``sendmail()``'s returned dict, or raises
    ``SMTPRecipientsRefused`` when every recipient was refused.
    Spec: ``reject:PATTERN``.
    """

    pattern: str
    code: int = 550
    text: str = "5.1.1 No such user here"

    keyword: ClassVar[str] = "reject"

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str):
            raise TypeError(f"RejectRecipients: pattern must be a str, not {type(self.pattern).__name__}")
        if not self.pattern or "," in self.pattern or any(c.isspace() for c in self.pattern):
            raise ValueError(
                f"RejectRecipients: pattern must be a non-empty address pattern without commas or spaces, "
                f"such as 'nobody@*' or '*@example.net', not {self.pattern!r}"
            )
        _check_reply("RejectRecipients", self.code, self.text)

    def matches(self, address: str) -> bool:
        """Return whether ``address`` (as given in RCPT TO) matches ``pattern``, ignoring case."""
        return fnmatch.fnmatchcase(address.lower(), self.pattern.lower())

    def __str__(self) -> str:
        return f"reject:{self.pattern}"


@dataclasses.dataclass(frozen=True)
class Greylist(Fault):
    """Answer 451 to the first ``attempts`` tries of each (client IP, sender, recipient), then accept.

    Greylisting (RFC 6647 §2): a server that has never seen a triplet of
    client IP address, ``MAIL FROM`` and ``RCPT TO`` refuses it *temporarily*.
    A real mail server queues the message and retries; many spam tools never
    do. The exchange, with ``attempts=1``::

        first try:   C: RCPT TO:<ana@example.org>   S: 451 4.7.1 Greylisted, try again later
        second try:  C: RCPT TO:<ana@example.org>   S: 250 OK

    Each ``RCPT TO`` of the triplet counts as one attempt, on any connection;
    once through, the triplet stays accepted. The memory is kept in the
    :class:`FaultyHandler` and cleared by its ``reset()`` or a new plan.
    Addresses are compared in lower case. ``code`` must be 4xx: greylisting
    is transient by definition. Spec: ``greylist:N`` (``greylist`` alone is 1).
    """

    attempts: int = 1
    code: int = 451
    text: str = "4.7.1 Greylisted, try again later"

    keyword: ClassVar[str] = "greylist"

    def __post_init__(self) -> None:
        _check_int("Greylist", "attempts", self.attempts, 1)
        _check_reply("Greylist", self.code, self.text, high=499)

    def __str__(self) -> str:
        return f"greylist:{self.attempts}"


@dataclasses.dataclass(frozen=True)
class ServiceClosing(Fault):
    """Answer 421 to ``MAIL FROM`` once ``after_messages`` messages were accepted on the connection, then hang up.

    421 means "service not available, closing transmission channel" (RFC 5321
    §3.8, §4.2.3): the server may send it in answer to any command and then
    closes the connection. With ``after_messages=1``::

        C: MAIL FROM:<shop@example.com>  S: 250 OK      (first message, accepted as usual)
        ...
        C: MAIL FROM:<shop@example.com>  S: 421 4.3.2 Service shutting down
                                         (the server closes the connection)

    smtplib closes its socket on a 421 and raises ``SMTPSenderRefused`` (code
    421); it is transient: reconnect later and send again. Counted per
    connection, so a new connection starts from zero. Spec: ``close:N``
    (``close`` alone is 0: the first ``MAIL FROM`` of every connection).
    """

    after_messages: int = 0
    code: int = 421
    text: str = "4.3.2 Service shutting down"

    keyword: ClassVar[str] = "close"

    def __post_init__(self) -> None:
        _check_int("ServiceClosing", "after_messages", self.after_messages, 0)
        _check_reply("ServiceClosing", self.code, self.text)

    def __str__(self) -> str:
        return f"close:{self.after_messages}"


@dataclasses.dataclass(frozen=True)
class TooManyRecipients(Fault):
    """Answer 452 to every ``RCPT TO`` beyond ``limit`` accepted recipients in one transaction.

    RFC 5321 §4.5.3.1.10: a server may limit the recipients of one message
    (it must take at least 100) and answers the extra ones with 452; the
    client sends the message again, in a new transaction, to the rest. With
    ``limit=2``::

        C: RCPT TO:<a@example.org>   S: 250 OK
        C: RCPT TO:<b@example.org>   S: 250 OK
        C: RCPT TO:<c@example.org>   S: 452 4.5.3 Too many recipients

    The message is still delivered to the accepted ones; smtplib returns the
    others from ``sendmail()``. Recipients refused for another reason do not
    count. A new ``MAIL FROM`` (or RSET) starts a new count. Spec: ``max-rcpt:N``.
    """

    limit: int
    code: int = 452
    text: str = "4.5.3 Too many recipients"

    keyword: ClassVar[str] = "max-rcpt"

    def __post_init__(self) -> None:
        _check_int("TooManyRecipients", "limit", self.limit, 0)
        _check_reply("TooManyRecipients", self.code, self.text)

    def __str__(self) -> str:
        return f"max-rcpt:{self.limit}"


@dataclasses.dataclass(frozen=True)
class MessageTooBig(Fault):
    """Refuse, with 552 after the final ``.``, a message of more than ``limit`` bytes.

    The size is that of the content received after ``DATA`` (dot-stuffing
    undone, the ending ``.`` line excluded), in bytes::

        C: DATA                S: 354 End data with <CR><LF>.<CR><LF>
        C: (12 000 bytes) .    S: 552 5.3.4 Message too big for system

    552 is permanent (RFC 5321 §4.2.3; the SIZE extension, RFC 1870):
    sending the same bytes again cannot work. smtplib raises
    ``SMTPDataError``; nothing reaches the inbox. The server still advertises
    its own ``SIZE`` after EHLO, so clients do not know this limit in
    advance, as with a server whose mailbox is nearly full. Spec: ``max-size:N``.
    """

    limit: int
    code: int = 552
    text: str = "5.3.4 Message too big for system"

    keyword: ClassVar[str] = "max-size"

    def __post_init__(self) -> None:
        _check_int("MessageTooBig", "limit", self.limit, 0)
        _check_reply("MessageTooBig", self.code, self.text)

    def __str__(self) -> str:
        return f"max-size:{self.limit}"


@dataclasses.dataclass(frozen=True)
class BadCredentials(Fault):
    """Refuse every ``AUTH`` with 535, whatever the user name and password.

    RFC 4954 §6 (SMTP AUTH)::

        C: AUTH PLAIN AGFuYQBzZWNyZXQ=   S: 535 5.7.8 Authentication credentials invalid

    smtplib's ``login()`` raises ``SMTPAuthenticationError`` (code 535). It is
    permanent: the same password will fail again. The server must offer AUTH
    at all for a client to try: aiosmtpd offers it only over TLS unless it is
    created with ``auth_require_tls=False`` (see :class:`FaultyHandler`).
    Spec: ``bad-auth``.
    """

    code: int = 535
    text: str = "5.7.8 Authentication credentials invalid"

    keyword: ClassVar[str] = "bad-auth"

    def __post_init__(self) -> None:
        _check_reply("BadCredentials", self.code, self.text)

    def __str__(self) -> str:
        return "bad-auth"


@dataclasses.dataclass(frozen=True)
class DisconnectDuringData(Fault):
    """Hang up, without a reply, at the end of ``DATA`` once ``after_messages`` messages were accepted.

    The client has sent the whole message and the final ``.``, and waits for
    the reply that tells it the server took responsibility (RFC 5321
    §4.1.1.4); instead the connection closes::

        C: DATA                  S: 354 End data with <CR><LF>.<CR><LF>
        C: (the message) .       (the server closes the connection, no reply)

    smtplib raises ``SMTPServerDisconnected``. This is the awkward case:
    the client cannot tell whether the message was kept (here it never is;
    a real server may have stored it, and a blind resend then delivers it
    twice, RFC 1047). Counted per connection, so ``after_messages=1`` lets
    the first message of each connection through. Spec: ``drop-data:N``
    (``drop-data`` alone is 0: the first message of every connection).
    """

    after_messages: int = 0

    keyword: ClassVar[str] = "drop-data"

    def __post_init__(self) -> None:
        _check_int("DisconnectDuringData", "after_messages", self.after_messages, 0)

    def __str__(self) -> str:
        return f"drop-data:{self.after_messages}"


@dataclasses.dataclass(frozen=True)
class SlowReplies(Fault):
    """Send the reply to each of ``commands`` ``seconds`` late.

    The server waits (without blocking other connections) before answering::

        C: DATA ... .     (2.5 s of silence)     S: 250 OK: message captured

    ``commands`` is a tuple of command names among ``SLOW_COMMANDS`` (a
    single name is accepted too); for ``DATA`` the delayed reply is the one
    after the final ``.``. A client whose timeout is shorter than the delay
    gives up: smtplib raises ``SMTPServerDisconnected`` ("timed out"), and
    the server, seeing the client leave, drops the message. RFC 5321
    §4.5.3.2.6 asks clients to wait 10 minutes for the reply to the final
    ``.``: a short client timeout is the client's mistake. Several
    ``SlowReplies`` for one command add up. Spec: ``slow:SECONDS`` (DATA),
    ``slow:RCPT=0.5`` or ``slow:MAIL+RCPT=0.5``.
    """

    seconds: float
    commands: tuple[str, ...] = ("DATA",)

    keyword: ClassVar[str] = "slow"

    def __post_init__(self) -> None:
        seconds = self.seconds
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise TypeError(f"SlowReplies: seconds must be a number, not {type(seconds).__name__}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"SlowReplies: seconds must be 0 or more (a delay in seconds), not {seconds}")
        commands = self.commands
        if isinstance(commands, str):
            commands = (commands,)
        if not isinstance(commands, (tuple, list)) or not all(isinstance(c, str) for c in commands):
            raise TypeError(
                f"SlowReplies: commands must be a tuple of command names such as ('DATA',), not {commands!r}"
            )
        commands = tuple(dict.fromkeys(c.upper() for c in commands))
        unknown = [c for c in commands if c not in SLOW_COMMANDS]
        if not commands or unknown:
            raise ValueError(
                f"SlowReplies: commands must be some of {', '.join(SLOW_COMMANDS)} (the replies a handler "
                f"answers), not {unknown or 'none'}"
            )
        object.__setattr__(self, "seconds", float(seconds))
        object.__setattr__(self, "commands", commands)

    def __str__(self) -> str:
        seconds = repr(self.seconds).removesuffix(".0")
        return f"slow:{'+'.join(self.commands)}={seconds}"


# --------------------------------------------------------------------------- the plan


_SPEC_FORMS = """\
  reject:PATTERN         550 to RCPT TO addresses matching PATTERN (fnmatch, lower case: nobody@*, *@example.net)
  greylist[:N]           451 to the first N tries of each (client IP, sender, recipient), then accept (default N=1)
  close[:N]              421 to MAIL FROM once N messages were accepted on the connection, then hang up (default N=0)
  max-rcpt:N             452 to every RCPT TO beyond N recipients in one transaction
  max-size:N             552 after DATA for a message over N bytes
  bad-auth               535 to every AUTH
  drop-data[:N]          hang up without a reply at the end of DATA once N messages were accepted (default N=0)
  slow:[CMD[+CMD]=]SEC   reply SEC seconds late to CMD (default DATA; also EHLO, MAIL, RCPT, RSET, NOOP, AUTH)"""


class FaultPlan:
    """An ordered collection of faults: what the server does wrong, and when.

    ``FaultPlan()`` has no faults (the server behaves normally). When several
    faults apply to one command, the first in the plan decides the reply
    (delays from :class:`SlowReplies` always add up)::

        >>> plan = FaultPlan(RejectRecipients("nobody@*"), Greylist(2))
        >>> str(plan)
        'reject:nobody@*,greylist:2'
        >>> FaultPlan.parse("reject:nobody@*, greylist:2") == plan
        True
        >>> len(plan), bool(FaultPlan())
        (2, False)

    Plans are immutable and compare equal when their faults are equal, in order.
    Raises ``TypeError`` for an argument that is not a :class:`Fault`.
    """

    #: The spec forms :meth:`parse` accepts, one per line, for a command line's ``--help``.
    SPEC_FORMS: ClassVar[str] = _SPEC_FORMS

    def __init__(self, *faults: Fault) -> None:
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(
                    f"FaultPlan takes faults such as Greylist(2) or RejectRecipients('nobody@*'), "
                    f"not {fault!r}; to read a spec string use FaultPlan.parse()"
                )
        self._faults = tuple(faults)

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults, in order."""
        return self._faults

    @classmethod
    def parse(cls, spec: str | Iterable[str]) -> FaultPlan:
        """Read a plan from its command-line spec: ``"reject:nobody@*,greylist:2,slow:DATA=2.5"``.

        ``spec`` is one string of specs separated by commas, or an iterable
        of such strings (a command line's repeated ``--fault`` options); blanks
        around each spec are ignored and an empty spec is an empty plan. The
        forms, also in :attr:`SPEC_FORMS` for a ``--help`` text::

          reject:PATTERN         550 to RCPT TO addresses matching PATTERN (nobody@*, *@example.net)
          greylist[:N]           451 to the first N tries of each triplet, then accept (default N=1)
          close[:N]              421 to MAIL FROM once N messages were accepted on the connection (default N=0)
          max-rcpt:N             452 to every RCPT TO beyond N recipients in one transaction
          max-size:N             552 after DATA for a message over N bytes
          bad-auth               535 to every AUTH
          drop-data[:N]          hang up at the end of DATA once N messages were accepted (default N=0)
          slow:[CMD[+CMD]=]SEC   reply SEC seconds late to CMD (default DATA)

        Codes and texts keep their defaults here; set other ones in code.
        ``str(plan)`` gives the spec back, with every number written out
        (``greylist`` reads as ``greylist:1``).

        Raises ``ValueError`` naming the bad item and listing the forms above;
        ``TypeError`` when ``spec`` is neither a str nor an iterable of str.

        >>> FaultPlan.parse(["greylist", "slow:RCPT=0.2"])
        FaultPlan(Greylist(attempts=1, ...), SlowReplies(seconds=0.2, commands=('RCPT',)))
        """
        if isinstance(spec, str):
            items = spec.split(",")
        else:
            try:
                parts = list(spec)
            except TypeError:
                raise TypeError(f"spec must be a str such as 'greylist:2', not {type(spec).__name__}") from None
            if not all(isinstance(part, str) for part in parts):
                raise TypeError(f"spec must be str items such as 'greylist:2', not {parts!r}")
            items = [item for part in parts for item in part.split(",")]
        return cls(*(_parse_one(item.strip()) for item in items if item.strip()))

    def __iter__(self) -> Iterator[Fault]:
        return iter(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FaultPlan):
            return NotImplemented
        return self._faults == other._faults

    def __hash__(self) -> int:
        return hash(self._faults)

    def __str__(self) -> str:
        return ",".join(str(fault) for fault in self._faults)

    def __repr__(self) -> str:
        return f"FaultPlan({', '.join(repr(fault) for fault in self._faults)})"


def _parse_one(item: str) -> Fault:
    """One spec such as ``greylist:2`` as its fault; ValueError listing the forms otherwise."""
    keyword, colon, arg = item.partition(":")
    keyword = keyword.strip().lower()
    arg = arg.strip()

    def count(default: int | None) -> int:
        if not colon and default is not None:
            return default
        if not (arg.isascii() and arg.isdigit()):
            raise ValueError(f"{keyword} needs a whole number after the colon, e.g. '{keyword}:2'")
        return int(arg)

    def no_arg() -> None:
        if colon:
            raise ValueError(f"{keyword} takes nothing after it")

    try:
        if keyword == "reject":
            if not arg:
                raise ValueError("reject needs an address pattern, e.g. 'reject:nobody@*'")
            return RejectRecipients(arg)
        if keyword == "greylist":
            return Greylist(count(1))
        if keyword == "close":
            return ServiceClosing(count(0))
        if keyword == "max-rcpt":
            return TooManyRecipients(count(None))
        if keyword == "max-size":
            return MessageTooBig(count(None))
        if keyword == "bad-auth":
            no_arg()
            return BadCredentials()
        if keyword == "drop-data":
            return DisconnectDuringData(count(0))
        if keyword == "slow":
            commands, equals, seconds = arg.rpartition("=")
            try:
                delay = float(seconds)
            except ValueError:
                raise ValueError("slow needs seconds, e.g. 'slow:2.5' or 'slow:RCPT=0.5'") from None
            return SlowReplies(delay, tuple(commands.split("+")) if equals else ("DATA",))
        raise ValueError("unknown fault")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Cannot read the fault spec {item!r}: {exc}. Accepted forms (separate several with commas):\n{_SPEC_FORMS}"
        ) from None


def _as_plan(plan: FaultPlan | Fault | str) -> FaultPlan:
    if isinstance(plan, FaultPlan):
        return plan
    if isinstance(plan, Fault):
        return FaultPlan(plan)
    if isinstance(plan, str):
        return FaultPlan.parse(plan)
    raise TypeError(
        f"plan must be a FaultPlan, a single fault or a spec string such as 'greylist:2', not {type(plan).__name__}"
    )


# --------------------------------------------------------------------------- the handler


@dataclasses.dataclass
class _Connection:
    """What the handler remembers about one open connection (one aiosmtpd Session)."""

    accepted: int = 0  # messages accepted after DATA on this connection


def _close_connection(server: Any) -> None:
    transport = getattr(server, "transport", None)
    if transport is not None:
        transport.close()


class FaultyHandler:
    """An aiosmtpd handler that applies a :class:`FaultPlan`, then lets ``inner`` handle the rest.

    ``FaultyHandler(inner, plan)`` wraps another handler, usually the
    server's :class:`~mimekit.server.CapturingHandler`: a command the plan
    does not fault goes on to ``inner``'s hook (``handle_MAIL``,
    ``handle_RCPT``, ``handle_DATA`` ...), or, where ``inner`` has none, gets
    aiosmtpd's default answer (``MAIL`` / ``RCPT``: the address is added to
    the envelope and the reply is ``250 OK``). ``inner``'s other
    ``handle_*`` hooks and ``auth_*`` mechanisms are offered to aiosmtpd as
    if they were this handler's. A message refused by a fault never reaches
    ``inner``, so it is not captured.

    ``plan`` is a :class:`FaultPlan`, a single fault, or a spec string.
    Assigning a new ``plan`` also calls :meth:`reset`, so each lesson starts
    fresh; ``handler.plan = FaultPlan()`` removes every fault. Both are safe
    while the server runs: they take effect at the next command.

    aiosmtpd reads a handler's hooks when a client connects, so give the
    server this handler before it starts (:func:`inject_faults` does). For
    :class:`BadCredentials` the server must also offer AUTH, which aiosmtpd
    does over plain SMTP only when created with ``auth_require_tls=False``,
    and an ``authenticator`` decides when no fault applies, e.g.
    ``Controller(handler, ..., auth_require_tls=False, authenticator=accept)``
    where ``accept(server, session, envelope, mechanism, auth_data)`` returns
    ``aiosmtpd.smtp.AuthResult(success=True)``.

    Raises ``TypeError`` / ``ValueError`` for a bad ``plan``.
    """

    def __init__(self, inner: Any, plan: FaultPlan | Fault | str | None = None) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._greylist: dict[tuple[int, str, str, str], int] = {}
        self._connections: weakref.WeakKeyDictionary[Any, _Connection] = weakref.WeakKeyDictionary()
        self._plan = FaultPlan() if plan is None else _as_plan(plan)

    @property
    def plan(self) -> FaultPlan:
        """The faults applied from the next command on; setting it also calls :meth:`reset`."""
        return self._plan

    @plan.setter
    def plan(self, plan: FaultPlan | Fault | str) -> None:
        plan = _as_plan(plan)
        with self._lock:
            self._plan = plan
            self._forget()

    def reset(self) -> None:
        """Forget every greylisted triplet and every connection's message count; keep the plan."""
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._greylist.clear()
        self._connections.clear()

    def __repr__(self) -> str:
        return f"<FaultyHandler plan={str(self._plan)!r} around {self.inner!r}>"

    # -- offering inner's other hooks as ours (aiosmtpd finds hooks with dir(handler))

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("inner")
        if inner is not None and name.startswith(("handle_", "auth_")):
            return getattr(inner, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        hooks = {name for name in dir(self.inner) if name.startswith(("handle_", "auth_"))}
        return sorted(set(super().__dir__()) | hooks)

    # -- helpers for the hooks (they run in the server's event loop thread)

    async def _pause(self, plan: FaultPlan, command: str) -> None:
        delay = sum(f.seconds for f in plan if isinstance(f, SlowReplies) and command in f.commands)
        if delay:
            await asyncio.sleep(delay)  # other connections go on meanwhile

    def _connection(self, session: Any) -> _Connection:
        with self._lock:
            return self._connections.setdefault(session, _Connection())

    def _greylisted(self, index: int, fault: Greylist, session: Any, envelope: Any, address: str) -> bool:
        peer = session.peer
        ip = str(peer[0] if isinstance(peer, (tuple, list)) else peer)
        key = (index, ip, (envelope.mail_from or "").lower(), address.lower())
        with self._lock:
            attempt = self._greylist[key] = self._greylist.get(key, 0) + 1
        return attempt <= fault.attempts

    async def _delegate(self, name: str, *args: Any) -> Any:
        hook = getattr(self.inner, name, None)
        return MISSING if hook is None else await hook(*args)

    # -- the hooks

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """Delay the EHLO reply if planned; otherwise what aiosmtpd does (RFC 5321 §4.1.1.1)."""
        await self._pause(self._plan, "EHLO")
        hook = getattr(self.inner, "handle_EHLO", None)
        if hook is not None:
            return await hook(server, session, envelope, hostname, responses)
        session.host_name = hostname  # aiosmtpd leaves this to a handler that has an EHLO hook
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]) -> Any:
        """Apply :class:`ServiceClosing`; otherwise accept the sender (RFC 5321 §4.1.1.2)."""
        plan = self._plan
        await self._pause(plan, "MAIL")
        for fault in plan:
            if isinstance(fault, ServiceClosing) and self._connection(session).accepted >= fault.after_messages:
                # Hang up just after this reply is written (RFC 5321 §3.8).
                asyncio.get_running_loop().call_soon(_close_connection, server)
                return f"{fault.code} {fault.text}"
        status = await self._delegate("handle_MAIL", server, session, envelope, address, mail_options)
        if status is MISSING:
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            status = "250 OK"
        return status

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> Any:
        """Apply :class:`RejectRecipients`, :class:`Greylist`, :class:`TooManyRecipients`; else accept (§4.1.1.3)."""
        plan = self._plan
        await self._pause(plan, "RCPT")
        for index, fault in enumerate(plan):
            if (
                (isinstance(fault, RejectRecipients) and fault.matches(address))
                or (isinstance(fault, Greylist) and self._greylisted(index, fault, session, envelope, address))
                or (isinstance(fault, TooManyRecipients) and len(envelope.rcpt_tos) >= fault.limit)
            ):
                return f"{fault.code} {fault.text}"
        status = await self._delegate("handle_RCPT", server, session, envelope, address, rcpt_options)
        if status is MISSING:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            status = "250 OK"
        return status

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> Any:
        """Apply :class:`DisconnectDuringData` and :class:`MessageTooBig`; otherwise hand the message to ``inner``."""
        plan = self._plan
        await self._pause(plan, "DATA")
        connection = self._connection(session)
        for fault in plan:
            if isinstance(fault, DisconnectDuringData) and connection.accepted >= fault.after_messages:
                # Close now: the reply aiosmtpd then tries to write is discarded, and the
                # connection's end cancels its session task (no reply reaches the client).
                _close_connection(server)
                return "421 4.4.2 Connection dropped (never sent)"
            if isinstance(fault, MessageTooBig) and len(envelope.original_content or b"") > fault.limit:
                return f"{fault.code} {fault.text}"
        status = await self._delegate("handle_DATA", server, session, envelope)
        if status is MISSING or str(status).startswith("2"):
            with self._lock:
                connection.accepted += 1
        return status

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> Any:
        """Delay the RSET reply if planned (§4.1.1.5)."""
        await self._pause(self._plan, "RSET")
        return await self._delegate("handle_RSET", server, session, envelope)

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> Any:
        """Delay the NOOP reply if planned (§4.1.1.9)."""
        await self._pause(self._plan, "NOOP")
        return await self._delegate("handle_NOOP", server, session, envelope, arg)

    async def handle_AUTH(self, server: Any, session: Any, envelope: Any, args: list[str]) -> Any:
        """Apply :class:`BadCredentials` (RFC 4954 §6); otherwise let aiosmtpd's AUTH mechanism run."""
        plan = self._plan
        await self._pause(plan, "AUTH")
        for fault in plan:
            if isinstance(fault, BadCredentials):
                return f"{fault.code} {fault.text}"
        return await self._delegate("handle_AUTH", server, session, envelope, args)


def inject_faults(server: Any, plan: FaultPlan | Fault | str) -> FaultyHandler:
    """Make a not-yet-started :class:`~mimekit.server.EmbeddedServer` follow ``plan``; return its handler.

    Wraps ``server.handler`` in a :class:`FaultyHandler` (or, if it is one
    already, gives it the new plan). The server keeps that handler across
    ``stop()`` / ``start()``; change the faults later through the returned
    handler's ``plan``. ``plan`` is a :class:`FaultPlan`, one fault, or a
    spec string such as ``"greylist:2"``.

    Raises ``RuntimeError`` when the server is running (aiosmtpd has already
    taken its handler), ``TypeError`` / ``ValueError`` for a bad ``plan``.

    >>> from mimekit.server import EmbeddedServer
    >>> server = EmbeddedServer()
    >>> inject_faults(server, "max-rcpt:5").plan
    FaultPlan(TooManyRecipients(limit=5, code=452, text='4.5.3 Too many recipients'))
    """
    if getattr(server, "is_running", False):
        raise RuntimeError(
            f"Cannot inject faults into {getattr(server, 'url', server)}: it is running, and aiosmtpd has "
            "already taken its handler: stop it first, or create it with the faults (inject_faults() "
            "before start()). To change the faults of a running server, set the plan of the handler "
            "inject_faults() returned: handler.plan = ..."
        )
    plan = _as_plan(plan)
    handler = server.handler
    if isinstance(handler, FaultyHandler):
        handler.plan = plan
        return handler
    server.handler = FaultyHandler(handler, plan)
    return server.handler
