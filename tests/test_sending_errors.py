"""Specification of mimekit.sending.explain_smtp_error: every failure says what happened, why, and what to do.

Most exceptions are the real ones, raised by smtplib, ssl or the socket against
real servers on loopback; a few replies no local server gives (535, 534) are
built the way smtplib builds them.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

import pytest

from mimekit import EmbeddedServer, SMTPDeliveryError, SMTPSession
from mimekit.sending import explain_smtp_error

WIRE = b"From: shop@example.com\r\nTo: ana@example.org\r\nSubject: Hi\r\n\r\nHello\r\n"


def note() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "shop@example.com"
    msg["To"] = "ana@example.org"
    msg["Subject"] = "Hi"
    msg["Message-ID"] = "<hi-1@example.com>"
    msg.set_content("Hello\n")
    return msg


def raised_by(faults: str, send=lambda smtp: smtp.sendmail("shop@example.com", ["ana@example.org"], WIRE)):
    """The exception smtplib raises when sending to a server with *faults*."""
    with EmbeddedServer(faults=faults) as server, smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
        try:
            send(smtp)
        except Exception as exc:  # noqa: BLE001 - the exception is what is under test
            return exc
    raise AssertionError(f"nothing was raised with {faults!r}")


# --------------------------------------------------------------------------- real exceptions from real servers


@pytest.mark.parametrize(
    ("faults", "kind", "words"),
    [
        ("reject:ana@*", smtplib.SMTPRecipientsRefused, ["550", "5.1.1", "ana@example.org", "permanent", "spelling"]),
        ("greylist:1", smtplib.SMTPRecipientsRefused, ["451", "temporary", "RFC 6647", "again later"]),
        ("close:0", smtplib.SMTPSenderRefused, ["421", "closing the connection", "reconnect", "RFC 5321 §3.8"]),
        ("max-size:10", smtplib.SMTPDataError, ["552", "after DATA", "too large", "attachments smaller"]),
        (
            "drop-data:0",
            smtplib.SMTPServerDisconnected,
            ["closed the connection", "Reconnect", "duplicate", "Message-ID"],
        ),
    ],
    ids=["550-rcpt", "451-greylist", "421-closing", "552-too-big", "dropped"],
)
def test_each_smtplib_failure_is_explained_with_its_code_and_a_fix(faults, kind, words):
    exc = raised_by(faults)
    assert isinstance(exc, kind)
    text = explain_smtp_error(exc, where="127.0.0.1:2525")
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


def test_a_timeout_says_no_answer_and_how_long_to_wait():
    exc = raised_by(
        "slow:DATA=1",
        send=lambda smtp: (smtp.sock.settimeout(0.2), smtp.sendmail("shop@example.com", ["ana@example.org"], WIRE)),
    )
    assert isinstance(exc, smtplib.SMTPServerDisconnected)
    text = explain_smtp_error(exc)
    assert "No answer within the timeout" in text and "timeout=" in text
    assert "No answer" in explain_smtp_error(socket.timeout("timed out"))  # noqa: UP041 - the name students meet
    assert "No answer" in explain_smtp_error(TimeoutError("timed out"))


def test_smtputf8_not_offered_is_explained(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as smtp:
        smtp.ehlo()
        smtp.esmtp_features.pop("smtputf8", None)  # as a server without RFC 6531 would answer EHLO
        with pytest.raises(smtplib.SMTPNotSupportedError) as caught:
            smtp.sendmail("shop@example.com", ["ana@example.org"], WIRE, mail_options=["SMTPUTF8"])
    text = explain_smtp_error(caught.value)
    assert "SMTPUTF8" in text and "RFC 6531" in text and "does not offer" in text


def test_connection_refused_says_nothing_listens_and_what_to_check(closed_port):
    with pytest.raises(ConnectionRefusedError) as caught:
        smtplib.SMTP("127.0.0.1", closed_port, timeout=5)
    text = explain_smtp_error(caught.value, where=f"127.0.0.1:{closed_port}")
    assert f"Nothing listens at 127.0.0.1:{closed_port}" in text and "Is the server running" in text


def test_an_untrusted_certificate_says_which_ca_to_trust_and_never_to_disable_verification():
    with EmbeddedServer(tls="starttls") as server, smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            smtp.starttls(context=ssl.create_default_context())
    text = explain_smtp_error(caught.value, where=f"{server.host}:{server.port}")
    assert "not trusted" in text and "LocalCA.client_context()" in text and "never disable verification" in text


# --------------------------------------------------------------------------- replies no local server gives


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"),
            ["535", "5.7.8", "password", "app password"],
        ),
        (
            smtplib.SMTPAuthenticationError(534, b"5.7.9 Application-specific password required"),
            ["534", "app password"],
        ),
        (
            smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "blocked@example.com"),
            ["553", "blocked@example.com", "MAIL FROM", "permanent"],
        ),
        (
            smtplib.SMTPSenderRefused(552, b"5.3.4 Message size exceeds fixed limit", "shop@example.com"),
            ["552", "too large", "7,000 bytes", "attachments smaller"],
        ),
        (
            smtplib.SMTPDataError(554, b"5.6.0 Message rejected as spam"),
            ["554", "after DATA", "rejected", "before sending anything again"],
        ),
        (smtplib.SMTPDataError(451, b"4.3.0 Try again later"), ["451", "temporary", "again later"]),
        (smtplib.SMTPConnectError(554, b"No SMTP service here"), ["554", "220", "RFC 5321 §4.3.1"]),
        (smtplib.SMTPHeloError(501, b"Invalid domain name"), ["501", "EHLO", "local_hostname"]),
        (socket.gaierror(-2, "Name or service not known"), ["does not resolve", "spelling"]),
    ],
    ids=["535", "534", "553-sender", "552-size", "554-data", "451-data", "connect", "helo", "dns"],
)
def test_replies_are_explained_with_their_code_and_a_fix(exc, words):
    text = explain_smtp_error(exc, size=7000)
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


# --------------------------------------------------------------------------- SMTPSession's errors use it


def test_session_errors_carry_the_explanation_code_text_and_cause():
    with EmbeddedServer(faults="close:0") as server, SMTPSession(port=server.port, timeout=5) as session:
        with pytest.raises(SMTPDeliveryError) as caught:
            session.send(note())
    error = caught.value
    assert (error.code, error.text) == (421, "4.3.2 Service shutting down")
    assert "reconnect" in str(error) and "<hi-1@example.com>" in str(error)
    assert isinstance(error.__cause__, smtplib.SMTPSenderRefused)


def test_a_drop_during_data_says_the_server_may_have_kept_the_message():
    with EmbeddedServer(faults="drop-data:0") as server, SMTPSession(port=server.port, timeout=5) as session:
        with pytest.raises(SMTPDeliveryError) as caught:
            session.send(note())
    message = str(caught.value)
    assert "after the message was sent (DATA)" in message and "may or may not have kept it" in message
    assert "<hi-1@example.com>" in message and caught.value.code is None


def test_a_drop_before_data_says_resending_is_safe():
    with EmbeddedServer() as server, SMTPSession(port=server.port, timeout=5) as session:
        session.smtp.sock.shutdown(socket.SHUT_RDWR)  # the connection is gone before MAIL FROM
        with pytest.raises(
            SMTPDeliveryError, match="at MAIL FROM, before the message was sent: sending it again is safe"
        ):
            session.send(note())
