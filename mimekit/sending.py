"""Sending with smtplib: a session, the envelope, a result for every recipient, and retries.

One message goes through this exchange with the server (RFC 5321 §3)::

    S: 220 mimekit.localhost ESMTP             greeting
    C: EHLO laptop.example.com                 who the client is (§4.1.1.1)
    S: 250-mimekit.localhost / 250 SMTPUTF8    the server's extensions
    C: MAIL FROM:<pedidos@tienda.example.com>  envelope sender (§4.1.1.2)
    S: 250 OK
    C: RCPT TO:<jose.nunez@example.com>        one per recipient (§4.1.1.3)
    S: 250 OK                                   … or 550 for a refused one, 451 for "later"
    C: DATA                                    then the message bytes, ending "."
    S: 250 OK
    C: QUIT

:class:`SMTPSession` opens the connection and says EHLO once, then sends as
many messages as you like over it; :meth:`SMTPSession.send` computes the
envelope from the headers (Bcc included), serialises with
:func:`~mimekit.envelope.as_smtp_bytes` (Bcc removed), and returns a
:class:`SendResult` telling, recipient by recipient, who was accepted and who was
refused with which reply.

Given a :class:`~mimekit.retry.RetryPolicy`, ``send()`` tries again what may
work later: the recipients refused with ``4xx`` (451 greylisting, 452 too many
recipients) and a whole transaction that failed with ``4xx`` (421: the server
is closing) or without any reply (the connection dropped or timed out), on a
new connection when the old one is gone. Never a ``5xx``. The message keeps its
Message-ID on every try, so whoever receives two copies can tell they are one.

:func:`explain_smtp_error` turns any exception smtplib (or the socket, or TLS)
raises into a sentence that says what happened, why, and what to do.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from types import TracebackType
from typing import Any

from .envelope import Envelope, as_smtp_bytes, envelope_from_headers
from .errors import SMTPDeliveryError
from .headers import add_date_and_message_id, validate_address
from .retry import RetryPolicy

__all__ = ["RecipientResult", "SMTPSession", "SendResult", "explain_smtp_error", "send_message"]


@dataclass(frozen=True)
class RecipientResult:
    """What the server answered to one ``RCPT TO`` (RFC 5321 §4.2).

    ``accepted`` is true when the message was handed over for this address.
    ``code`` and ``text`` hold the refusal (e.g. ``550``, ``"5.1.1 No such
    user"``) and are ``None`` for an accepted address: smtplib does not keep
    the 250 replies. After retries they are the *last* refusal.
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
    """The outcome of sending one message: the envelope used, a result per recipient, and the tries it took.

    ``attempts`` counts the mail transactions (``MAIL FROM`` … ``DATA``)
    tried for this message: 1 without retries.
    """

    message_id: str | None
    envelope: Envelope
    recipients: tuple[RecipientResult, ...] = field(default_factory=tuple)
    attempts: int = 1

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
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        counts = f"{len(self.accepted)} accepted, {len(self.refused)} refused{tries}"
        lines = [f"{self.message_id or '(no Message-ID)'}: {counts}"]
        lines += [f"  {r}" for r in self.recipients]
        return "\n".join(lines)


# --------------------------------------------------------------------------- explaining errors


def explain_smtp_error(exc: BaseException, *, where: str | None = None, size: int | None = None) -> str:
    """Return what *exc* means for someone sending mail: what happened, why, and what to do.

    *exc* is an exception from :mod:`smtplib` (``SMTPRecipientsRefused``,
    ``SMTPSenderRefused``, ``SMTPDataError``, ``SMTPAuthenticationError``,
    ``SMTPServerDisconnected``, ``SMTPNotSupportedError``, ``SMTPConnectError``,
    ``SMTPHeloError`` …), from :mod:`ssl` (``SSLCertVerificationError``,
    ``SSLError``) or from the socket (``TimeoutError`` a.k.a.
    ``socket.timeout``, ``ConnectionRefusedError``, ``socket.gaierror``, any
    ``OSError``). The server's reply code and text are quoted when there is
    one, and the advice follows the code's class (RFC 5321 §4.2.1): ``4xx``
    may work later, ``5xx`` never will unchanged. *where* (``"host:port"``)
    and *size* (the message's bytes) make the sentence more precise.

    >>> print(explain_smtp_error(smtplib.SMTPDataError(554, b"5.6.0 Message rejected")))
    The server refused the message after DATA with 554 5.6.0 Message rejected: ...
    >>> print(explain_smtp_error(ConnectionRefusedError(111, "Connection refused"), where="127.0.0.1:2525"))
    Nothing listens at 127.0.0.1:2525 (connection refused). Is the server running, and is this its port? ...
    """
    at = f" at {where}" if where else ""
    server = f"The server{at}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {address: (code, _text(text)) for address, (code, text) in exc.recipients.items()}
        listed = "; ".join(f"{address}: {code} {text}" for address, (code, text) in replies.items()) or "none"
        return f"{server} refused every recipient, so nothing was sent ({listed}). " + _advice_for_recipients(
            [code for code, _ in replies.values()]
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, _text(exc.smtp_error)
        reply = f"{code} {text}"
        if code == 421:
            step = "the sender (MAIL FROM)" if isinstance(exc, smtplib.SMTPSenderRefused) else "a command"
            return (
                f"{server} answered {step} with {reply}: it is closing the connection (RFC 5321 §3.8), "
                "because it is shutting down or has had enough of this client for now; the message was not "
                "sent. This is temporary: reconnect and send it again, after a pause (retry=RetryPolicy() "
                "does both)."
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            if code == 552:
                return (
                    f"{server} refused the message as too large with {reply}"
                    + (f": it is {size:,} bytes" if size is not None else "")
                    + " (SIZE, RFC 1870). Make the attachments smaller, or link to the files instead; "
                    "sending the same bytes again cannot work."
                )
            if _is_transient(code):
                return (
                    f"{server} refused the sender {exc.sender} for now with {reply}; nothing was sent. It is "
                    "temporary (4xx, RFC 5321 §4.2.1): send again later (retry=RetryPolicy())."
                )
            return (
                f"{server} refused the sender {exc.sender} with {reply}; nothing was sent. The MAIL FROM "
                "address may not be allowed here (a relay sends only for its own domains or for users who "
                "logged in): check the From / MAIL FROM address, or log in (AUTH, RFC 4954). Do not resend "
                "unchanged: 5xx is permanent."
            )
        if isinstance(exc, smtplib.SMTPDataError):
            if code == 552:
                why = "the message is too large for it (RFC 1870; RFC 5321 §4.2.3)"
                fix = "Make the attachments smaller, or link to the files instead."
            elif _is_transient(code):
                why = "a temporary problem on its side (4xx, RFC 5321 §4.2.1)"
                fix = "Send the same message again later (retry=RetryPolicy())."
            else:
                why = "its content was rejected: spam filtering or a policy (5xx is permanent)"
                fix = "Look at what the text names (links, attachments, headers) before sending anything again."
            return (
                f"{server} refused the message after DATA with {reply}: {why}. "
                f"It was not delivered to anyone. {fix}"
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            if code == 534:
                fix = "the provider wants another way to log in first (a web login, or an app password)"
            elif code == 530:
                fix = "it requires a login, after STARTTLS, before it takes mail (RFC 4954 §6)"
            elif _is_transient(code):
                fix = "a temporary failure on its side: try again later"
            else:
                fix = (
                    "check the user name and the password (in the environment, never in the notebook); "
                    "many providers want an app password rather than the account's own (RFC 4954 §6)"
                )
            return f"{server} refused the login with {reply}: {fix}."
        if isinstance(exc, smtplib.SMTPConnectError):
            return (
                f"{server} greeted with {reply} instead of 220 (RFC 5321 §4.3.1): it does not take mail now. "
                + ("Try again later." if _is_transient(code) else "Check that this is an SMTP server's port.")
            )
        if isinstance(exc, smtplib.SMTPHeloError):
            return (
                f"{server} refused EHLO/HELO with {reply} (RFC 5321 §4.1.1.1): it does not accept the name "
                "this client gave. Pass local_hostname= with a proper host name."
            )
        return f"{server} answered {reply}. " + (
            "It is temporary (4xx): try again later."
            if _is_transient(code)
            else "It is permanent (5xx): change something before trying again."
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (
            f"{server} does not offer what this needs ({exc or 'an extension'}): it is not in its EHLO reply. "
            "Non-ASCII addresses need SMTPUTF8 (RFC 6531), TLS needs STARTTLS (RFC 3207), a login needs AUTH "
            "(RFC 4954). Use a server (or port) that offers it, or do without: ASCII addresses, another port."
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if _timed_out(exc):
            return _timeout_advice(where)
        return (
            f"{server} closed the connection ({str(exc) or 'no reason given'}). Servers hang up when they "
            "shut down, after an idle while, or after too many errors. Reconnect and send again; if it "
            "happened after the whole message was sent (the end of DATA), the server may have kept it, and "
            "resending risks a duplicate (RFC 5321 §4.1.1.4): the receiver can spot it by its Message-ID."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or str(exc)
        if exc.verify_code in (62, 64) or "mismatch" in detail.lower():
            return (
                f"The certificate{at} does not name the host dialled ({detail}): connect with a name the "
                "certificate lists. Never turn check_hostname off: a certificate for another name proves nothing."
            )
        return (
            f"The server's certificate{at} is not trusted ({detail}): your SSL context does not trust the CA "
            "that signed it. Pass ssl_context=LocalCA.client_context() for the embedded server, or a context "
            "trusting your classroom server's CA; never disable verification."
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"The TLS handshake{at} failed ({exc.reason or exc}). Does the server speak TLS on this port the way "
            "you asked? smtps:// expects TLS from the first byte (port 465); smtp+starttls:// starts in plain "
            "text (port 587)."
        )
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return _timeout_advice(where)
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"Nothing listens{at} (connection refused). Is the server running, and is this its port? For the "
            "embedded server use SMTPSession(port=server.port)."
        )
    if isinstance(exc, socket.gaierror):
        return f"The host name{at} does not resolve ({exc.strerror or exc}): check its spelling."
    if isinstance(exc, OSError):
        return (
            f"The connection{at} failed ({exc.strerror or exc}): the network or the server broke it. "
            "Reconnect and try again; nothing is known to have been delivered."
        )
    if isinstance(exc, smtplib.SMTPException):
        return f"smtplib gave up talking to the server{at}: {exc}."
    return f"{type(exc).__name__}{at}: {exc}"


def _advice_for_recipients(codes: list[int | None]) -> str:
    transient = [c for c in codes if _is_transient(c)]
    if transient and len(transient) == len(codes):
        return (
            "These refusals are temporary (4xx, RFC 5321 §4.2.1): a greylisting server (451 4.7.1, RFC 6647) "
            "wants the same message again after a while, 452 wants the rest in another transaction. Send it "
            "again later to those addresses (retry=RetryPolicy() does)."
        )
    if not transient:
        return (
            "These refusals are permanent (5xx): check each address's spelling and domain, and remove the "
            "ones that do not exist; do not send to them again unchanged."
        )
    return "Retry the 4xx ones later (temporary, RFC 5321 §4.2.1); fix or remove the 5xx ones (permanent)."


def _timeout_advice(where: str | None) -> str:
    at = f" from {where}" if where else ""
    return (
        f"No answer{at} within the timeout: the server is slow, busy, or not an SMTP server at all. Try "
        "again, or give a longer timeout= (RFC 5321 §4.5.3.2 lets a server take minutes after DATA); a "
        "server that waits for a TLS handshake first wants smtps:// (port 465). If it happened at the end "
        "of DATA, the server may still have kept the message."
    )


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc)


def _is_transient(code: int | None) -> bool:
    return RetryPolicy.is_transient(code)


# --------------------------------------------------------------------------- the session


class SMTPSession:
    """A context-managed SMTP connection for sending several messages.

    ``host`` and ``port`` name the server (default the embedded server's
    address, ``127.0.0.1``; pass its ``port``); ``timeout`` in seconds applies
    to connecting and to every reply; ``local_hostname`` is the name given in
    EHLO (default: this machine's FQDN); ``source_address`` a ``(host, port)``
    to bind the client socket to. All four pass straight to
    :class:`smtplib.SMTP`, reachable as :attr:`smtp`. For TLS and a login,
    make the session with :meth:`from_target`.

    On entry the connection is opened and EHLO sent; on exit QUIT is sent (or,
    if the server is already gone, the socket is closed). :attr:`connections`
    counts the connections opened so far (a reconnect adds one).

    Raises :class:`SMTPDeliveryError` when the server cannot be reached or
    does not greet with 220 (RFC 5321 §4.3.1); its message comes from
    :func:`explain_smtp_error`.

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
        self.connections = 0
        self._connect: Callable[[], smtplib.SMTP] | None = None
        self._scheme = "smtp"  # as SMTPTarget names it: smtp, smtp+starttls or smtps

    @classmethod
    def from_target(cls, target: Any, *, ssl_context: ssl.SSLContext | None = None) -> SMTPSession:
        """Return a (closed) session that connects with ``target.connect(ssl_context=...)``.

        *target* is a :class:`~mimekit.connection.SMTPTarget`: ``smtp://``,
        ``smtp+starttls://`` (STARTTLS, RFC 3207) or ``smtps://`` (RFC 8314),
        with AUTH when it names a user. Every (re)connection goes through it,
        so a reconnect after ``421`` does the TLS handshake and the login again.
        """
        connect = getattr(target, "connect", None)
        if not callable(connect):
            raise TypeError(f"from_target() takes an SMTPTarget, not {type(target).__name__}")
        session = cls(target.host, target.port, timeout=target.timeout, local_hostname=target.local_hostname)
        session._connect = lambda: connect(ssl_context=ssl_context)
        session._scheme = getattr(target, "scheme", "smtp")
        return session

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
        return f"<SMTPSession {self._scheme}://{self.where} {state}>"

    @property
    def where(self) -> str:
        """``host:port`` (``[host]:port`` for an IPv6 address), as error messages show it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def open(self) -> None:
        """Connect and send EHLO (RFC 5321 §4.1.1.1). Does nothing if already open.

        A session whose connection the server closed (after ``421`` or a drop)
        connects anew: that is how to reconnect.
        """
        if self.is_open:
            return
        if self.smtp is not None:  # the server hung up: forget the dead connection
            dead, self.smtp = self.smtp, None
            dead.close()
        if self._connect is not None:
            self.smtp = self._connect()  # SMTPTarget.connect raises SMTPDeliveryError itself
            self.connections += 1
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
                f"Cannot connect to the SMTP server at {self.where}: " + explain_smtp_error(exc, where=self.where),
                code=getattr(exc, "smtp_code", None),
                text=_text(exc.smtp_error) if hasattr(exc, "smtp_error") else None,
            ) from exc
        try:
            smtp.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise SMTPDeliveryError(
                f"The server at {self.where} hung up during EHLO: " + explain_smtp_error(exc, where=self.where),
            ) from exc
        self.smtp = smtp
        self.connections += 1

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
        retry: RetryPolicy | None = None,
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

        **Retries.** Without *retry* there is one attempt. With a
        :class:`~mimekit.retry.RetryPolicy`, up to ``retry.attempts``
        transactions are made, waiting ``retry.delays()`` between them:

        - recipients refused with ``4xx`` (451 greylisting, RFC 6647; 452 too
          many recipients, RFC 5321 §4.5.3.1.10) are tried again, alone: the
          ones accepted already are never sent to twice;
        - a whole transaction that failed with ``4xx`` (421 closing) or with
          no reply (the connection dropped or timed out) is tried again, on a
          new connection if the old one is gone (see :attr:`connections`);
        - a ``5xx`` is never retried (RFC 5321 §4.2.1: permanent).

        The bytes, and so the Message-ID, are the same on every try. One case
        has no safe answer: the connection lost *after* the final ``.`` of
        DATA. The server may have kept the message or not (RFC 5321
        §4.1.1.4; RFC 1047 on the duplicates this causes). This session
        chooses to **resend**: a duplicate is better than a lost message, and
        the receiver can spot one by its Message-ID. (aiosmtpd, like the
        embedded server, keeps nothing whose DATA it did not answer.)
        ``result.attempts`` says how many transactions it took; each
        :class:`RecipientResult` keeps its *last* code and text.

        Raises :class:`SMTPDeliveryError` (with ``code`` and ``text``, the
        message from :func:`explain_smtp_error`, the smtplib exception as
        ``__cause__``, and ``attempts``) when no recipient took the message:
        the sender is refused (``MAIL FROM``), the message is too large (552),
        it is refused after ``DATA``, the server closes (421) or disconnects,
        and retrying (if asked) did not help; also when the body has 8-bit
        bytes and the server lacks 8BITMIME. ``ValueError`` for an empty
        *rcpt_tos*; header errors from :mod:`mimekit.headers` for bad
        addresses or injected line breaks; ``RuntimeError`` when the session
        is not open (with *retry*, a closed session is opened).
        """
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy or None, not {type(retry).__name__}")
        if retry is None:
            self._require_open()
        add_date_and_message_id(msg)
        envelope = _envelope(msg, mail_from, rcpt_tos)
        data = as_smtp_bytes(msg)
        message_id = msg["Message-ID"]
        attempts = 1 if retry is None else retry.attempts
        results = {address: RecipientResult(address, False, None, "not tried") for address in envelope.rcpt_tos}
        pending = list(envelope.rcpt_tos)
        attempt = 0
        while True:
            attempt += 1
            try:
                if retry is not None and not self.is_open:
                    self.open()
                refused = self._transaction(envelope.mail_from, pending, data, message_id)
            except SMTPDeliveryError as error:
                error.attempts = attempt  # type: ignore[attr-defined]
                if attempt < attempts and _is_transient(error.code):
                    retry.wait(attempt - 1)  # type: ignore[union-attr]
                    continue
                if not any(r.accepted for r in results.values()):
                    raise
                # Some recipients took it on an earlier try: report the rest as refused, do not raise.
                reason = error.text if error.text is not None else str(error)
                for address in pending:
                    results[address] = RecipientResult(address, False, error.code, reason)
                break
            still = []
            for address in pending:
                if address not in refused:
                    results[address] = RecipientResult(address, True)
                    continue
                code, text = refused[address]
                results[address] = RecipientResult(address, False, code, text)
                if _is_transient(code):
                    still.append(address)
            pending = still
            if not pending or attempt >= attempts:
                break
            retry.wait(attempt - 1)  # type: ignore[union-attr]
        return SendResult(
            message_id=message_id,
            envelope=envelope,
            recipients=tuple(results[a] for a in envelope.rcpt_tos),
            attempts=attempt,
        )

    def _transaction(
        self, mail_from: str, rcpt_tos: list[str], data: bytes, message_id: str | None
    ) -> dict[str, tuple[int, str]]:
        """One mail transaction: MAIL FROM, a RCPT TO per address, DATA; return the refused addresses.

        What :meth:`smtplib.SMTP.sendmail` does, written out so that the step
        that failed is known. Raises :class:`SMTPDeliveryError` when the
        transaction failed as a whole.
        """
        smtp = self._require_open()
        options = []
        if not data.isascii():
            # 8-bit bytes in the body: only allowed when the server offers 8BITMIME and the
            # client says so on MAIL FROM (RFC 6152 §3).
            if not smtp.has_extn("8bitmime"):
                raise SMTPDeliveryError(
                    f"{message_id} has 8-bit bytes (a part with Content-Transfer-Encoding 8bit), and the "
                    f"server at {self.where} does not offer 8BITMIME (RFC 6152). Build text "
                    "parts with make_text_part(), which picks quoted-printable or base64, or set "
                    "cte='quoted-printable' when using EmailMessage.set_content()."
                )
            options.append("BODY=8BITMIME")
        if smtp.does_esmtp and smtp.has_extn("size"):
            options.insert(0, f"size={len(data)}")  # RFC 1870 §6, as sendmail() says it
        step = "MAIL FROM"
        try:
            code, reply = smtp.mail(mail_from, options)
            if code != 250:
                self._end_transaction(smtp, code)
                raise smtplib.SMTPSenderRefused(code, reply, mail_from)
            step = "RCPT TO"
            refused: dict[str, tuple[int, str]] = {}
            for address in rcpt_tos:
                code, reply = smtp.rcpt(address)
                if code == 421:  # the server is closing the channel mid-transaction (RFC 5321 §3.8)
                    smtp.close()
                    raise smtplib.SMTPResponseException(code, reply)
                if code not in (250, 251):
                    refused[address] = (code, _text(reply))
            if len(refused) == len(rcpt_tos):  # nobody to send to: nothing goes after DATA
                self._end_transaction(smtp, 0)
                return refused
            step = "DATA"
            code, reply = smtp.data(data)
            if code != 250:
                self._end_transaction(smtp, code)
                raise smtplib.SMTPDataError(code, reply)
            return refused
        except smtplib.SMTPServerDisconnected as exc:
            smtp.close()
            when = (
                "after the message was sent (DATA): the server may or may not have kept it, so sending it "
                "again risks a duplicate, which the receiver can spot by its Message-ID (RFC 5321 §4.1.1.4)"
                if step == "DATA"
                else f"at {step}, before the message was sent: sending it again is safe"
            )
            raise SMTPDeliveryError(
                f"The connection to {self.where} was lost while sending {message_id}, {when}. "
                + explain_smtp_error(exc, where=self.where),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise SMTPDeliveryError(
                explain_smtp_error(exc, where=self.where, size=len(data))
                + _size_limit(smtp, exc)
                + (f" ({message_id})" if message_id else ""),
                code=exc.smtp_code,
                text=_text(exc.smtp_error),
            ) from exc
        except smtplib.SMTPException as exc:  # e.g. SMTPNotSupportedError: no reply code, the connection stays
            raise SMTPDeliveryError(
                f"Cannot send {message_id} at {step}: " + explain_smtp_error(exc, where=self.where),
            ) from exc
        except OSError as exc:
            smtp.close()
            raise SMTPDeliveryError(
                f"The connection to {self.where} failed at {step} while sending {message_id}: "
                + explain_smtp_error(exc, where=self.where),
            ) from exc

    @staticmethod
    def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
        """After a refusal: hang up on 421 (the server is closing), else RSET (RFC 5321 §4.1.1.5)."""
        if code == 421:
            smtp.close()
            return
        try:
            smtp.rset()
        except smtplib.SMTPServerDisconnected:
            pass


def _size_limit(smtp: smtplib.SMTP, exc: smtplib.SMTPResponseException) -> str:
    limit = smtp.esmtp_features.get("size", "")
    if exc.smtp_code == 552 and isinstance(exc, smtplib.SMTPSenderRefused) and limit.isdigit():
        return f" The server takes at most {int(limit):,} bytes."
    return ""


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
