"""Sending with smtplib: a session, the envelope, and a result for every recipient.

One message goes through this exchange with the server (RFC 5321 §3)::

    S: 220 mimekit.localhost ESMTP             greeting
    C: EHLO laptop.example.com                 who the client is (§4.1.1.1)
    S: 250-mimekit.localhost / 250 SMTPUTF8    the server's extensions
    C: MAIL FROM:<pedidos@tienda.example.com>  envelope sender (§4.1.1.2)
    S: 250 OK
    C: RCPT TO:<jose.nunez@example.com>        one per recipient (§4.1.1.3)
    S: 250 OK                                   … or 550 for a refused one
    C: DATA                                    then the message bytes, ending "."
    S: 250 OK
    C: QUIT

:class:`SMTPSession` opens the connection and says EHLO once, then sends as
many messages as you like over it; :meth:`SMTPSession.send` computes the
envelope from the headers (Bcc included), serialises with
:func:`~mimekit.envelope.as_smtp_bytes` (Bcc removed), and returns a
:class:`SendResult` telling, recipient by recipient, who was accepted and who was
refused with which reply.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from types import TracebackType

from .envelope import Envelope, as_smtp_bytes, envelope_from_headers
from .errors import SMTPDeliveryError
from .headers import add_date_and_message_id, validate_address

__all__ = ["RecipientResult", "SMTPSession", "SendResult", "send_message"]


@dataclass(frozen=True)
class RecipientResult:
    """What the server answered to one ``RCPT TO`` (RFC 5321 §4.2).

    ``accepted`` is true when the message was handed over for this address.
    ``code`` and ``text`` hold the refusal (e.g. ``550``, ``"5.1.1 No such
    user"``) and are ``None`` for an accepted address: smtplib does not keep
    the 250 replies.
    """

    address: str
    accepted: bool
    code: int | None = None
    text: str | None = None

    def __str__(self) -> str:
        if self.accepted:
            return f"{self.address}: accepted"
        return f"{self.address}: refused {self.code} {self.text}"


@dataclass(frozen=True)
class SendResult:
    """The outcome of sending one message: the envelope used and a result per recipient."""

    message_id: str | None
    envelope: Envelope
    recipients: tuple[RecipientResult, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> list[str]:
        """Addresses the server took the message for."""
        return [r.address for r in self.recipients if r.accepted]

    @property
    def refused(self) -> dict[str, tuple[int | None, str | None]]:
        """Refused addresses, each with the server's ``(code, text)``."""
        return {r.address: (r.code, r.text) for r in self.recipients if not r.accepted}

    @property
    def ok(self) -> bool:
        """True when every recipient was accepted."""
        return all(r.accepted for r in self.recipients)

    def __str__(self) -> str:
        lines = [f"{self.message_id or '(no Message-ID)'}: {len(self.accepted)} accepted, {len(self.refused)} refused"]
        lines += [f"  {r}" for r in self.recipients]
        return "\n".join(lines)


class SMTPSession:
    """A context-managed SMTP connection for sending several messages.

    ``host`` and ``port`` name the server (default the embedded server's
    address, ``127.0.0.1``; pass its ``port``); ``timeout`` in seconds applies
    to connecting and to every reply; ``local_hostname`` is the name given in
    EHLO (default: this machine's FQDN); ``source_address`` a ``(host, port)``
    to bind the client socket to. All four pass straight to
    :class:`smtplib.SMTP`, reachable as :attr:`smtp`.

    On entry the connection is opened and EHLO sent; on exit QUIT is sent (or,
    if the server is already gone, the socket is closed).

    Raises :class:`SMTPDeliveryError` when the server cannot be reached or
    does not greet with 220 (RFC 5321 §4.3.1).

    >>> from mimekit.server import EmbeddedServer
    >>> with EmbeddedServer() as server, SMTPSession(port=server.port) as session:
    ...     session.extensions["smtputf8"]
    ''
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 25,
        *,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.source_address = source_address
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SMTPSession:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.smtp is not None else "closed"
        return f"<SMTPSession smtp://{self.host}:{self.port} {state}>"

    def open(self) -> None:
        """Connect and send EHLO (RFC 5321 §4.1.1.1). Does nothing if already open."""
        if self.smtp is not None:
            return
        try:
            smtp = smtplib.SMTP(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                source_address=self.source_address,
            )
        except (OSError, smtplib.SMTPException) as exc:
            raise SMTPDeliveryError(
                f"Cannot connect to the SMTP server at {self.host}:{self.port}: {exc}. Is the server "
                "running, and is this its port? For the embedded server use SMTPSession(port=server.port).",
                code=getattr(exc, "smtp_code", None),
            ) from exc
        try:
            smtp.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise SMTPDeliveryError(
                f"The server at {self.host}:{self.port} hung up during EHLO: {exc}.",
            ) from exc
        self.smtp = smtp

    def close(self) -> None:
        """Send QUIT and close; a server that already hung up is not an error."""
        if self.smtp is None:
            return
        smtp, self.smtp = self.smtp, None
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    @property
    def is_open(self) -> bool:
        """True while connected. After a ``421`` reply (the server is closing the
        channel, RFC 5321 §3.8) smtplib closes the socket itself, and this turns False."""
        return self.smtp is not None and self.smtp.sock is not None

    @property
    def extensions(self) -> dict[str, str]:
        """The ESMTP extensions the server listed after EHLO, e.g. ``{"size": "33554432", "8bitmime": ""}``."""
        return dict(self._require_open().esmtp_features)

    def _require_open(self) -> smtplib.SMTP:
        if self.smtp is None:
            raise RuntimeError("The SMTP session is not open: use it in a with-block or call open() first.")
        return self.smtp

    def send(
        self,
        msg: Message,
        *,
        mail_from: str | None = None,
        rcpt_tos: Iterable[str] | str | None = None,
    ) -> SendResult:
        """Send *msg* and return a :class:`SendResult` with a line per recipient.

        The envelope comes from the headers (:func:`envelope_from_headers`:
        From, To, Cc, Bcc) unless *mail_from* (one address) / *rcpt_tos* (an
        address or an iterable of them, not empty) are given. A body with
        8-bit bytes is announced with ``BODY=8BITMIME`` (RFC 6152). Date and
        Message-ID are added to *msg* if missing (RFC 5322 §3.6). The bytes
        sent are :func:`as_smtp_bytes` of *msg*: Bcc is delivered to but never
        transmitted.

        A refused recipient does not stop the others: it is reported with the
        server's code and text (e.g. ``550 5.1.1``). If *every* recipient is
        refused, nothing is sent and every one is reported refused.

        Raises :class:`SMTPDeliveryError` (with ``code`` and ``text``) when the
        sender is refused (``MAIL FROM``), the message is too large (552), the
        message is refused after ``DATA``, the body has 8-bit bytes and the
        server lacks 8BITMIME, or the server disconnects; ``ValueError`` for an
        empty *rcpt_tos*; header errors from
        :mod:`mimekit.headers` for bad addresses or injected line breaks.
        """
        smtp = self._require_open()
        add_date_and_message_id(msg)
        envelope = _envelope(msg, mail_from, rcpt_tos)
        data = as_smtp_bytes(msg)
        message_id = msg["Message-ID"]
        mail_options = []
        if not data.isascii():
            # 8-bit bytes in the body: only allowed when the server offers 8BITMIME and the
            # client says so on MAIL FROM (RFC 6152 §3).
            if not smtp.has_extn("8bitmime"):
                raise SMTPDeliveryError(
                    f"{message_id} has 8-bit bytes (a part with Content-Transfer-Encoding 8bit), and the "
                    f"server at {self.host}:{self.port} does not offer 8BITMIME (RFC 6152). Build text "
                    "parts with make_text_part(), which picks quoted-printable or base64, or set "
                    "cte='quoted-printable' when using EmailMessage.set_content()."
                )
            mail_options.append("BODY=8BITMIME")
        try:
            refused = smtp.sendmail(envelope.mail_from, list(envelope.rcpt_tos), data, mail_options)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code == 552:  # RFC 1870 §6.1: SIZE given on MAIL FROM is over the limit
                limit = smtp.esmtp_features.get("size", "")
                raise SMTPDeliveryError(
                    f"The server refused the message as too large with {exc.smtp_code} "
                    f"{_text(exc.smtp_error)}: it is {len(data):,} bytes"
                    + (f" and the server takes at most {int(limit):,} (SIZE, RFC 1870)" if limit.isdigit() else "")
                    + ". Make the attachments smaller, or link to the files instead.",
                    code=exc.smtp_code,
                    text=_text(exc.smtp_error),
                ) from exc
            raise SMTPDeliveryError(
                f"The server refused the sender {envelope.mail_from} with {exc.smtp_code} "
                f"{_text(exc.smtp_error)}; nothing was sent. Check the From / MAIL FROM address.",
                code=exc.smtp_code,
                text=_text(exc.smtp_error),
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise SMTPDeliveryError(
                f"The server refused the message after DATA with {exc.smtp_code} {_text(exc.smtp_error)}; "
                "it was not delivered to anyone.",
                code=exc.smtp_code,
                text=_text(exc.smtp_error),
            ) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.smtp = None
            raise SMTPDeliveryError(
                f"The connection to {self.host}:{self.port} was lost while sending {message_id}: {exc}. "
                "The server may or may not have kept the message; reconnect and check before resending.",
            ) from exc
        results = []
        for address in envelope.rcpt_tos:
            if address in refused:
                code, text = refused[address]
                results.append(RecipientResult(address, False, code, _text(text)))
            else:
                results.append(RecipientResult(address, True))
        return SendResult(message_id=message_id, envelope=envelope, recipients=tuple(results))


def _envelope(msg: Message, mail_from: str | None, rcpt_tos: Iterable[str] | str | None) -> Envelope:
    """The envelope for *msg*: from the headers, each half replaced by what the caller gave."""
    if isinstance(rcpt_tos, str):
        rcpt_tos = [rcpt_tos]
    if rcpt_tos is not None:
        rcpt_tos = tuple(validate_address(a, header="RCPT TO") for a in rcpt_tos)
        if not rcpt_tos:
            raise ValueError("rcpt_tos is empty: give at least one recipient address, or None to use To/Cc/Bcc.")
    if mail_from is not None:
        mail_from = validate_address(mail_from, header="MAIL FROM")
    if mail_from is None or rcpt_tos is None:
        from_headers = envelope_from_headers(msg)
        mail_from = mail_from or from_headers.mail_from
        rcpt_tos = rcpt_tos or from_headers.rcpt_tos
    return Envelope(mail_from=mail_from, rcpt_tos=tuple(rcpt_tos))


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def send_message(
    msg: Message,
    host: str = "127.0.0.1",
    port: int = 25,
    *,
    timeout: float = 30.0,
    local_hostname: str | None = None,
    source_address: tuple[str, int] | None = None,
) -> SendResult:
    """Open an :class:`SMTPSession`, send *msg*, close; return the :class:`SendResult`.

    For one message. To send several, keep one session open (one TCP
    connection and one EHLO instead of one per message).
    """
    with SMTPSession(
        host, port, timeout=timeout, local_hostname=local_hostname, source_address=source_address
    ) as session:
        return session.send(msg)
