"""Specification of mimekit.sending: a real smtplib session against a real aiosmtpd server on loopback."""

from __future__ import annotations

import email.utils

import pytest

from mimekit import (
    HeaderInjectionError,
    RecipientResult,
    SendResult,
    SMTPDeliveryError,
    SMTPSession,
    as_smtp_bytes,
    add_attachment,
    make_mixed,
    make_text_part,
    send_message,
    set_header,
)
from mimekit.shop import build_order_confirmation

JOSE = "jose.nunez@example.com"
ARCHIVE = "archivo@tienda.example.com"


def test_bcc_is_delivered_but_never_transmitted(smtp_server, text_message):
    msg = text_message(cc="Ana <ana@example.org>", bcc=ARCHIVE)
    send_message(msg, port=smtp_server.port, timeout=5)
    captured = smtp_server.inbox.wait_for(1)[0]
    assert captured.mail_from == "pedidos@tienda.example.com"
    assert captured.rcpt_tos == (JOSE, "ana@example.org", ARCHIVE)
    assert ARCHIVE.encode() not in captured.raw
    assert b"bcc:" not in captured.raw.lower()
    assert captured.message["Bcc"] is None
    assert msg["Bcc"] == ARCHIVE  # the caller's message is untouched


def test_captured_bytes_are_exactly_as_smtp_bytes(smtp_server, text_message):
    msg = text_message(bcc=ARCHIVE)
    send_message(msg, port=smtp_server.port, timeout=5)
    assert smtp_server.inbox.wait_for(1)[0].raw == as_smtp_bytes(msg)


def test_multipart_message_arrives_byte_for_byte(smtp_server, order, shop, assert_valid_wire):
    msg = build_order_confirmation(order, shop)
    send_message(msg, port=smtp_server.port, timeout=5)
    captured = smtp_server.inbox.wait_for(1)[0]
    assert captured.raw == as_smtp_bytes(msg)
    assert_valid_wire(captured.raw)


def test_from_and_dot_lines_arrive_unchanged(smtp_server, text_message):
    body = "Hola José,\nFrom here on, your parcel is with the courier.\n.\n.oculta\n..dos\nFrom here on… adiós.\n"
    msg = text_message(body)
    send_message(msg, port=smtp_server.port, timeout=5)
    captured = smtp_server.inbox.wait_for(1)[0]
    assert b">From" not in captured.raw
    assert captured.message.get_content().replace("\r\n", "\n") == body


def test_ascii_dot_lines_survive_dot_stuffing_on_the_wire(smtp_server, text_message):
    body = "First line\n.\n.hidden\n..two dots\nFrom here on\n"
    msg = text_message(body)
    assert msg["Content-Transfer-Encoding"] == "7bit"
    send_message(msg, port=smtp_server.port, timeout=5)
    raw = smtp_server.inbox.wait_for(1)[0].raw
    assert b"\r\n\r\nFirst line\r\n.\r\n.hidden\r\n..two dots\r\nFrom here on\r\n" in raw


def test_send_result_has_one_accepted_line_per_envelope_recipient(smtp_server, text_message):
    msg = text_message(to=["José Núñez <jose.nunez@example.com>", "ana@example.org"], bcc=ARCHIVE)
    result = send_message(msg, port=smtp_server.port, timeout=5)
    assert isinstance(result, SendResult)
    assert result.ok
    assert result.accepted == [JOSE, "ana@example.org", ARCHIVE]
    assert result.refused == {}
    assert result.recipients == tuple(RecipientResult(a, True) for a in (JOSE, "ana@example.org", ARCHIVE))
    assert result.envelope.mail_from == "pedidos@tienda.example.com"
    assert result.message_id == msg["Message-ID"]
    assert str(result).splitlines()[0] == f"{msg['Message-ID']}: 3 accepted, 0 refused"


def test_send_adds_date_and_message_id_that_arrive(smtp_server, text_message):
    msg = text_message()
    assert msg["Date"] is None and msg["Message-ID"] is None
    send_message(msg, port=smtp_server.port, timeout=5)
    captured = smtp_server.inbox.wait_for(1)[0].message
    assert captured["Message-ID"] == msg["Message-ID"]
    assert captured["Message-ID"].endswith("@tienda.example.com>")
    assert email.utils.parsedate_to_datetime(str(captured["Date"])).tzinfo is not None


def test_explicit_envelope_overrides_the_headers(smtp_server, text_message):
    msg = text_message(bcc=ARCHIVE)
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        result = session.send(msg, mail_from="rebotes@mailer.example.net", rcpt_tos=["ana@example.org"])
    captured = smtp_server.inbox.wait_for(1)[0]
    assert (captured.mail_from, captured.rcpt_tos) == ("rebotes@mailer.example.net", ("ana@example.org",))
    assert result.accepted == ["ana@example.org"]
    assert JOSE.encode() in captured.raw  # the To header is content, not routing


def test_one_session_sends_several_messages_over_one_connection(smtp_server, text_message):
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        assert "open" in repr(session)
        assert "smtputf8" in session.extensions
        first = session.send(text_message(subject="Uno"))
        second = session.send(text_message(subject="Dos"))
    assert "closed" in repr(session)
    captured = smtp_server.inbox.wait_for(2)
    assert [c.subject for c in captured] == ["Uno", "Dos"]
    assert captured[0].peer == captured[1].peer  # same client socket
    assert first.message_id != second.message_id


def test_send_on_a_session_that_is_not_open_says_how_to_open_it(text_message):
    with pytest.raises(RuntimeError, match="with-block"):
        SMTPSession(port=1).send(text_message())


def test_injected_header_is_refused_before_anything_is_sent(smtp_server, text_message):
    msg = text_message()
    msg["X-Campaign"] = "otoño\r\nBcc: spy@example.net"
    with pytest.raises(HeaderInjectionError, match="X-Campaign"):
        send_message(msg, port=smtp_server.port, timeout=5)
    assert len(smtp_server.inbox) == 0


# --------------------------------------------------------------------------- refusals


def test_refused_recipients_are_reported_with_code_and_text_and_the_rest_delivered(refusing_server, text_message):
    msg = text_message(to=["José Núñez <jose.nunez@example.com>", "nobody@example.org"], bcc="nobody@example.net")
    result = send_message(msg, port=refusing_server.port, timeout=5)
    assert not result.ok
    assert result.accepted == [JOSE]
    assert result.refused == {
        "nobody@example.org": (550, "5.1.1 No such user"),
        "nobody@example.net": (550, "5.1.1 No such user"),
    }
    assert [r.accepted for r in result.recipients] == [True, False, False]
    assert str(result.recipients[1]) == "nobody@example.org: refused 550 5.1.1 No such user"
    captured = refusing_server.inbox.wait_for(1)
    assert len(captured) == 1
    assert captured[0].rcpt_tos == (JOSE,)


def test_all_recipients_refused_sends_nothing_and_reports_each(refusing_server, text_message):
    msg = text_message(to=["nobody@example.com", "Nadie <nobody@example.org>"])
    with SMTPSession(port=refusing_server.port, timeout=5) as session:
        result = session.send(msg)
        assert result.ok is False
        assert result.accepted == []
        assert result.refused == {
            "nobody@example.com": (550, "5.1.1 No such user"),
            "nobody@example.org": (550, "5.1.1 No such user"),
        }
        assert len(refusing_server.inbox) == 0
        session.send(text_message(subject="Después"))  # the session is still usable
    assert [c.subject for c in refusing_server.inbox.wait_for(1)] == ["Después"]


def test_refused_sender_raises_delivery_error_with_code_and_text(refusing_server, text_message):
    msg = text_message(sender="blocked@example.com")
    with pytest.raises(SMTPDeliveryError) as info:
        send_message(msg, port=refusing_server.port, timeout=5)
    assert (info.value.code, info.value.text) == (553, "5.7.1 Sender not allowed")
    assert "blocked@example.com" in str(info.value)
    assert len(refusing_server.inbox) == 0


def test_message_refused_after_data_raises_delivery_error_with_code_and_text(refusing_server, text_message):
    msg = text_message()
    msg["X-Spam"] = "yes"
    with pytest.raises(SMTPDeliveryError) as info:
        send_message(msg, port=refusing_server.port, timeout=5)
    assert (info.value.code, info.value.text) == (554, "5.6.0 Message rejected")
    assert "after DATA" in str(info.value)
    assert len(refusing_server.inbox) == 0


def test_connecting_to_a_closed_port_raises_delivery_error_naming_host_and_port(closed_port, text_message):
    with pytest.raises(SMTPDeliveryError) as info:
        send_message(text_message(), port=closed_port, timeout=5)
    error = info.value
    assert f"127.0.0.1:{closed_port}" in str(error)
    assert "Is the server running" in str(error)
    assert isinstance(error.__cause__, ConnectionRefusedError)
    assert error.code is None


def test_server_stopped_before_sending_is_a_delivery_error(smtp_server, text_message):
    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(SMTPDeliveryError, match=f":{port}"):
        send_message(text_message(), port=port, timeout=5)


# --------------------------------------------------------------------------- envelope overrides, size, 8-bit bodies


def test_empty_rcpt_tos_is_an_error_not_a_silent_success(smtp_server, text_message):
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        with pytest.raises(ValueError, match="rcpt_tos is empty"):
            session.send(text_message(), rcpt_tos=[])
    assert len(smtp_server.inbox) == 0


def test_rcpt_tos_as_one_str_is_one_recipient(smtp_server, text_message):
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        result = session.send(text_message(), rcpt_tos="ana@example.org")
    assert result.accepted == ["ana@example.org"]


def test_explicit_envelope_works_for_a_message_without_to_or_from(smtp_server):
    msg = make_text_part("Aviso interno\n")
    set_header(msg, "Subject", "Sin destinatarios en la cabecera")
    msg["Message-ID"] = "<aviso-1@tienda.example.com>"
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        result = session.send(msg, mail_from="avisos@tienda.example.com", rcpt_tos=["ana@example.org"])
    captured = smtp_server.inbox.wait_for(1)[0]
    assert (captured.mail_from, captured.rcpt_tos) == ("avisos@tienda.example.com", ("ana@example.org",))
    assert result.ok


def test_message_over_the_size_limit_is_reported_as_too_large():
    from mimekit import EmbeddedServer

    with EmbeddedServer(data_size_limit=2_000) as server:
        msg = make_mixed("Adjunto la factura.\n")
        add_attachment(msg, b"\x00" * 5_000, filename="factura.pdf")
        set_header(msg, "From", "pedidos@tienda.example.com")
        set_header(msg, "To", JOSE)
        with pytest.raises(SMTPDeliveryError, match="too large") as info:
            send_message(msg, port=server.port, timeout=5)
    assert info.value.code == 552
    assert "2,000" in str(info.value)
    assert "sender" not in str(info.value)


class _RecordMailOptions:
    """Wraps the server's handler and keeps the options each MAIL FROM carried."""

    def __init__(self, inner):
        self.inner = inner
        self.mail_options: list[list[str]] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_options.append(list(mail_options))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return await self.inner.handle_DATA(server, session, envelope)


def test_8bit_body_is_announced_with_body_8bitmime_and_arrives_intact():
    from email.message import EmailMessage

    from mimekit import EmbeddedServer

    msg = EmailMessage()
    msg["From"] = "pedidos@tienda.example.com"
    msg["To"] = JOSE
    msg["Subject"] = "Ocho bits"
    msg.set_content("Añadimos tu pedido al envío de mañana.\n")  # policy.default: 8bit
    assert msg["Content-Transfer-Encoding"] == "8bit"
    server = EmbeddedServer()
    recorder = server.handler = _RecordMailOptions(server.handler)
    with server:
        send_message(msg, port=server.port, timeout=5)
        captured = server.inbox.wait_for(1)[0]
    assert "BODY=8BITMIME" in recorder.mail_options[0]
    assert captured.raw == as_smtp_bytes(msg)
    assert captured.message.get_content().replace("\r\n", "\n") == "Añadimos tu pedido al envío de mañana.\n"


def test_7bit_body_is_sent_without_body_parameter(text_message):
    from mimekit import EmbeddedServer

    server = EmbeddedServer()
    recorder = server.handler = _RecordMailOptions(server.handler)
    with server:
        send_message(text_message(), port=server.port, timeout=5)
    assert not any(o.startswith("BODY=") for o in recorder.mail_options[0])
