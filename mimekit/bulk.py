"""Bulk sending: many messages over one connection, surviving what servers do to long sessions.

A newsletter is hundreds of transactions on one connection (one TCP
handshake, one EHLO, one TLS handshake and login). Over so many, a server
will sooner or later greylist someone (451), close the channel (421, RFC 5321
§3.8), or simply hang up. :func:`send_bulk` carries on through all of it::

    conn 1:  MAIL … RCPT … DATA  250  message 1 accepted
             MAIL … RCPT … DATA  250  message 2 accepted
             MAIL FROM           421  the server closes the channel
    conn 2:  MAIL … RCPT … DATA  250  message 3 (the same bytes, the same Message-ID)
             …

The rules it keeps:

- **one connection**, reopened only when the server closed it (421, a drop);
- **retry what may work later** (4xx, no reply) with the
  :class:`~mimekit.retry.RetryPolicy`'s backoff, **never a 5xx**;
- **nothing twice, nothing lost**: a message is retried only for the recipients
  that did not take it, always with its own Message-ID; every message ends in
  exactly one place of the :class:`BulkReport` (sent, refused, failed, unsent or
  skipped), a partly delivered one in sent *and* refused;
- **resumable**: pass ``skip_message_ids=report.sent_ids`` to a rerun, or pass
  your own ``report=`` and read it after a crash: it is filled as sending goes.

One case has no safe answer: a connection lost after the final ``.`` of DATA
may or may not have left the message with the server. It is sent again (see
:meth:`~mimekit.sending.SMTPSession.send`): a possible duplicate, recognisable
by its Message-ID, rather than a possible loss.

>>> from email.message import EmailMessage
>>> from mimekit.server import EmbeddedServer
>>> def note(n):
...     msg = EmailMessage()
...     msg["From"], msg["To"], msg["Subject"] = "shop@example.com", "ana@example.org", f"Note {n}"
...     msg["Message-ID"] = f"<note-{n}@example.com>"
...     msg.set_content("Hello\\n")
...     return msg
>>> with EmbeddedServer(faults="close:2") as server:
...     report = send_bulk([note(n) for n in range(3)], server, retry=RetryPolicy(sleep=lambda s: None), progress=False)
>>> print(report)
3 sent, 0 refused, 1 retries, 1 reconnects, 0 failed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from tqdm.auto import tqdm

from .connection import SMTPTarget
from .envelope import envelope_from_headers
from .errors import SMTPDeliveryError
from .headers import add_date_and_message_id
from .retry import RetryPolicy
from .sending import SendResult, SMTPSession

__all__ = ["BulkReport", "send_bulk"]

_DEFAULT_RETRY = RetryPolicy()


@dataclass
class BulkReport:
    """What :func:`send_bulk` did, message by message (keyed by Message-ID).

    * ``sent``: a :class:`~mimekit.sending.SendResult` per message accepted
      for at least one recipient, in sending order;
    * ``refused``: Message-ID → {address: ``(code, text)``}: the server's final
      *no* for that address: a ``5xx`` at once (to ``RCPT TO``, or to the whole
      message after ``MAIL FROM`` / ``DATA``, then for each recipient), or a
      ``4xx`` still standing after the last retry;
    * ``failed``: Message-ID → why it was given up: no reply at all (the
      connection dropped or timed out) on every try;
    * ``unsent``: Message-IDs never tried, because the connection was lost and
      could not (or, without a retry policy, may not) be reopened;
    * ``skipped``: Message-IDs left out on purpose (``skip_message_ids``);
    * ``retried``: transactions made again, over all messages;
    * ``reconnects``: connections opened again after the server closed one.

    ``str(report)``: ``5 sent, 2 refused (550: 1, 552: 1), 3 retries, 1 reconnects, 0 failed``
    (the refused count is of addresses), then ``, N not sent`` / ``, N skipped`` when there are any.
    """

    sent: list[SendResult] = field(default_factory=list)
    refused: dict[str, dict[str, tuple[int | None, str | None]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unsent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    retried: int = 0
    reconnects: int = 0

    @property
    def sent_ids(self) -> list[str]:
        """The Message-IDs of the messages the server accepted (for anyone): pass them as ``skip_message_ids``."""
        return [r.message_id for r in self.sent if r.message_id is not None]

    @property
    def ok(self) -> bool:
        """True when every message was accepted for every recipient."""
        return not self.refused and not self.failed and not self.unsent

    def refused_by_code(self) -> dict[int | None, int]:
        """How many addresses were refused with each reply code, codes in ascending order (``None`` last)."""
        counts: dict[int | None, int] = {}
        for replies in self.refused.values():
            for code, _ in replies.values():
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or 0)))

    def __str__(self) -> str:
        counts = self.refused_by_code()
        detail = ", ".join(f"{code if code is not None else 'no reply'}: {n}" for code, n in counts.items())
        text = (
            f"{len(self.sent)} sent, {sum(counts.values())} refused"
            + (f" ({detail})" if detail else "")
            + f", {self.retried} retries, {self.reconnects} reconnects, {len(self.failed)} failed"
        )
        if self.unsent:
            text += f", {len(self.unsent)} not sent"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text


def send_bulk(
    messages: Iterable[Message],
    target_or_session: SMTPSession | SMTPTarget | Any,
    *,
    retry: RetryPolicy | None = _DEFAULT_RETRY,
    progress: bool = True,
    skip_message_ids: Iterable[str] = (),
    report: BulkReport | None = None,
    desc: str | None = None,
    total: int | None = None,
) -> BulkReport:
    """Send each of *messages* over one connection; return a :class:`BulkReport`.

    *messages*: any iterable of :class:`email.message.Message` (a generator
    is fine: each message is built when its turn comes). Each goes to the
    envelope of its headers (From; To, Cc, Bcc) with
    :meth:`SMTPSession.send(msg, retry=retry) <mimekit.sending.SMTPSession.send>`;
    one without a Message-ID gets one, kept across its retries.

    *target_or_session*: an :class:`~mimekit.sending.SMTPSession` (opened if
    closed, and left open for you to close), an
    :class:`~mimekit.connection.SMTPTarget`, or a running
    :class:`~mimekit.server.EmbeddedServer` (a session is opened on it and
    closed at the end; a TLS server's own CA is trusted).

    *retry*: with a :class:`~mimekit.retry.RetryPolicy` (the default), 4xx
    replies and lost connections are retried with its backoff, the
    connection reopened when the server closed it; 5xx never. ``None``: one
    try per message, and sending stops at the first lost connection, the
    rest listed in ``report.unsent``.

    *skip_message_ids*: Message-IDs not to send (``report.sent_ids`` of an
    earlier run); they are listed in ``report.skipped``. *report*: a
    :class:`BulkReport` to fill as sending goes, readable even if this raises
    (say, ``KeyboardInterrupt``), so a rerun can skip what was accepted.

    *progress*: a :mod:`tqdm` bar (a widget in Jupyter, a line in a terminal),
    labelled *desc*, out of *total* (default: ``len(messages)`` when it has one).

    Raises :class:`~mimekit.errors.SMTPDeliveryError` when the first
    connection cannot be opened (after retrying, with a policy); ``TypeError``
    for a *target_or_session* of another kind; header errors from
    :mod:`mimekit.headers` for a message with bad addresses (before it is sent).
    """
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise TypeError(f"retry must be a RetryPolicy or None, not {type(retry).__name__}")
    session, owned = _session_for(target_or_session)
    report = BulkReport() if report is None else report
    skip = set(skip_message_ids)
    if total is None and hasattr(messages, "__len__"):
        total = len(messages)  # type: ignore[arg-type]
    bar = tqdm(total=total, disable=not progress, desc=desc, unit="msg")
    try:
        _open(session, retry)
        baseline = session.connections
        pending = iter(messages)
        for msg in pending:
            message_id = msg["Message-ID"]
            if message_id is not None and message_id in skip:
                report.skipped.append(message_id)
                bar.update(1)
                continue
            if not session.is_open:
                try:
                    _open(session, retry)
                except SMTPDeliveryError:
                    _give_up(report, [msg, *pending])
                    break
            _send_one(session, msg, retry, report)
            report.reconnects = session.connections - baseline
            bar.update(1)
            if retry is None and not session.is_open:  # no reconnecting: say who was not tried
                _give_up(report, pending)
                break
    finally:
        bar.close()
        if owned:
            session.close()
    return report


def _send_one(session: SMTPSession, msg: Message, retry: RetryPolicy | None, report: BulkReport) -> None:
    """Send one message and file its outcome in *report*."""
    add_date_and_message_id(msg)
    message_id = msg["Message-ID"]
    try:
        result = session.send(msg, retry=retry)
    except SMTPDeliveryError as error:
        report.retried += getattr(error, "attempts", 1) - 1
        if error.code is None:
            report.failed[message_id] = str(error)
        else:  # the whole message refused: say so for each of its recipients (rare: the envelope again)
            text = error.text if error.text is not None else str(error)
            rcpt_tos = envelope_from_headers(msg).rcpt_tos
            report.refused[message_id] = {address: (error.code, text) for address in rcpt_tos}
        return
    report.retried += result.attempts - 1
    if result.accepted:
        report.sent.append(result)
    if result.refused:
        report.refused[message_id] = result.refused


def _give_up(report: BulkReport, messages: Iterable[Message]) -> None:
    """List *messages* as never tried (each given a Message-ID, so a rerun sends it with the same one)."""
    for msg in messages:
        add_date_and_message_id(msg)
        report.unsent.append(msg["Message-ID"])


def _open(session: SMTPSession, retry: RetryPolicy | None) -> None:
    """Open *session* if it is closed, trying again as *retry* allows."""
    attempt = 0
    while not session.is_open:
        attempt += 1
        try:
            session.open()
        except SMTPDeliveryError as error:
            if retry is None or attempt >= retry.attempts or not retry.is_transient(error.code):
                raise
            retry.wait(attempt - 1)


def _session_for(target: Any) -> tuple[SMTPSession, bool]:
    """The session to send over, and whether it is ours to close."""
    if isinstance(target, SMTPSession):
        return target, False
    if isinstance(target, SMTPTarget):
        return SMTPSession.from_target(target), True
    if hasattr(target, "inbox") and hasattr(target, "port"):  # an EmbeddedServer
        ca = getattr(target, "ca", None)
        context = ca.client_context() if ca is not None and getattr(target, "tls", None) else None
        return SMTPSession.from_target(SMTPTarget.for_server(target), ssl_context=context), True
    raise TypeError(
        f"send_bulk() sends over an SMTPSession, an SMTPTarget or an EmbeddedServer, not {type(target).__name__}"
    )
