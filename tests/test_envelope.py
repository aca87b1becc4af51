"""Specification of mimekit.envelope: MAIL FROM / RCPT TO from the headers, and the exact bytes sent after DATA."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from mimekit import (
    Envelope,
    HeaderError,
    InvalidAddressError,
    MimeStructureError,
    add_attachment,
    as_smtp_bytes,
    envelope_from_headers,
    make_alternative,
    make_mixed,
    make_text_part,
    set_header,
)

FROM_LINE = "From here on, the order ships from Madrid."
FROM_LINE_ACCENTED = "From here on… envíos desde Madrid."


# --------------------------------------------------------------------------- the envelope


def test_mail_from_is_the_from_address_without_its_display_name(text_message):
    envelope = envelope_from_headers(text_message())
    assert envelope.mail_from == "pedidos@tienda.example.com"


def test_mail_from_is_the_sender_address_when_there_is_one(text_message):
    msg = text_message()
    set_header(msg, "Sender", "Envíos <rebotes@mailer.example.net>")
    assert envelope_from_headers(msg).mail_from == "rebotes@mailer.example.net"


def test_recipients_are_to_then_cc_then_bcc_deduplicated_ignoring_case_in_first_seen_order(text_message):
    msg = text_message(
        to=["Ana <Ana@Example.org>", "José Núñez <jose.nunez@example.com>"],
        cc=["ana@example.org", "Elena <elena@example.net>"],
        bcc=["JOSE.NUNEZ@example.com", "archivo@tienda.example.com", "elena@EXAMPLE.net"],
    )
    assert envelope_from_headers(msg) == Envelope(
        mail_from="pedidos@tienda.example.com",
        rcpt_tos=("Ana@Example.org", "jose.nunez@example.com", "elena@example.net", "archivo@tienda.example.com"),
    )


def test_bcc_alone_is_enough_for_a_recipient(text_message):
    msg = text_message()
    del msg["To"]
    set_header(msg, "Bcc", "archivo@tienda.example.com")
    assert envelope_from_headers(msg).rcpt_tos == ("archivo@tienda.example.com",)


def test_no_recipient_raises_header_error_naming_to(text_message):
    msg = text_message()
    del msg["To"]
    with pytest.raises(HeaderError) as info:
        envelope_from_headers(msg)
    assert info.value.header == "To"
    assert isinstance(info.value, ValueError)
    assert "To, Cc or Bcc" in str(info.value)


def test_no_from_raises_header_error_naming_from(text_message):
    msg = text_message()
    del msg["From"]
    with pytest.raises(HeaderError) as info:
        envelope_from_headers(msg)
    assert info.value.header == "From"


def test_invalid_address_assigned_directly_is_refused_naming_the_header():
    msg = make_text_part("Hola")
    msg["From"] = "pedidos@tienda.example.com"
    msg["Cc"] = "jose.nunez@localhost"
    with pytest.raises(InvalidAddressError) as info:
        envelope_from_headers(msg)
    assert info.value.header == "Cc"


def test_envelope_of_a_modern_email_message():
    msg = EmailMessage()
    msg["From"] = "Tienda Ñandú <pedidos@tienda.example.com>"
    msg["To"] = "José Núñez <jose.nunez@example.com>, ana@example.org"
    msg["Bcc"] = "archivo@tienda.example.com"
    msg.set_content("Hola")
    assert envelope_from_headers(msg).rcpt_tos == ("jose.nunez@example.com", "ana@example.org", "archivo@tienda.example.com")


# --------------------------------------------------------------------------- the bytes after DATA


def legacy_with_bcc(body: str):
    msg = make_text_part(body)
    set_header(msg, "From", "pedidos@tienda.example.com")
    set_header(msg, "To", "José Núñez <jose.nunez@example.com>")
    set_header(msg, "Bcc", ["archivo@tienda.example.com", "Auditoría <auditoria@example.net>"])
    return msg


def modern_with_bcc(body: str):
    msg = EmailMessage()
    msg["From"] = "pedidos@tienda.example.com"
    msg["To"] = "José Núñez <jose.nunez@example.com>"
    msg["Bcc"] = "archivo@tienda.example.com, Auditoría <auditoria@example.net>"
    msg.set_content(body)
    return msg


FLAVOURS = pytest.mark.parametrize("build", [legacy_with_bcc, modern_with_bcc], ids=["email.mime", "EmailMessage"])


@FLAVOURS
def test_bytes_use_crlf_only(build, assert_valid_wire):
    raw = as_smtp_bytes(build("Línea uno\nLínea dos\r\nLínea tres\n"))
    assert b"\r\n" in raw
    assert_valid_wire(raw)


@FLAVOURS
def test_bcc_is_left_out_of_the_bytes_but_stays_on_the_message(build):
    msg = build("Hola")
    raw = as_smtp_bytes(msg)
    assert b"bcc:" not in raw.lower()
    assert b"archivo@tienda.example.com" not in raw
    assert b"auditoria@example.net" not in raw
    assert "archivo@tienda.example.com" in str(msg["Bcc"])
    assert "archivo@tienda.example.com" in envelope_from_headers(msg).rcpt_tos


def test_resent_bcc_is_left_out_of_the_bytes_too():
    msg = legacy_with_bcc("Hola")
    msg["Resent-Bcc"] = "otro@example.org"
    assert b"otro@example.org" not in as_smtp_bytes(msg)
    assert msg["Resent-Bcc"] == "otro@example.org"


@FLAVOURS
@pytest.mark.parametrize("line", [FROM_LINE, FROM_LINE_ACCENTED], ids=["ascii", "accented"])
def test_a_body_line_starting_with_from_is_not_mangled(build, line, parse):
    msg = build(f"Hola José,\n{line}\nGracias.\n")
    raw = as_smtp_bytes(msg)
    assert b">From" not in raw
    assert f"\n{line}\n" in parse(msg).get_content().replace("\r\n", "\n")
    if line.isascii():
        assert f"\r\n{line}\r\n".encode() in raw


@FLAVOURS
def test_body_lines_starting_with_a_dot_are_kept_as_they_are(build, parse):
    # Dot-stuffing (RFC 5321 §4.5.2) is the SMTP client's job during DATA, not the serialiser's.
    body = "Hola\n.\n.línea con punto\n..dos puntos\n"
    msg = build(body)
    assert parse(msg).get_content().replace("\r\n", "\n") == body
    if msg["Content-Transfer-Encoding"] == "7bit":
        assert b"\r\n.\r\n" in as_smtp_bytes(msg)


def test_serialising_twice_gives_the_same_bytes(png_bytes):
    msg = make_mixed(make_alternative("Hola", "<p>Hola</p>"))
    set_header(msg, "From", "pedidos@tienda.example.com")
    set_header(msg, "To", "jose.nunez@example.com")
    add_attachment(msg, png_bytes, filename="logo.png")
    assert as_smtp_bytes(msg) == as_smtp_bytes(msg)


def test_the_first_serialisation_fixes_every_multipart_boundary_on_the_message_itself(png_bytes):
    msg = make_mixed(make_alternative("Hola", "<p>Hola</p>"))  # a multipart inside a multipart
    set_header(msg, "From", "pedidos@tienda.example.com")
    set_header(msg, "To", "jose.nunez@example.com")
    add_attachment(msg, png_bytes, filename="logo.png")
    multiparts = [part for part in msg.walk() if part.get_content_maintype() == "multipart"]
    assert [part.get_boundary() for part in multiparts] == [None, None]
    raw = as_smtp_bytes(msg)
    boundaries = [part.get_boundary() for part in multiparts]
    assert all(boundaries) and len(set(boundaries)) == 2
    for boundary in boundaries:
        assert f"\r\n--{boundary}--\r\n".encode() in raw
    assert as_smtp_bytes(msg) == raw


def test_a_modern_message_with_nested_multiparts_serialises_to_the_same_bytes_twice(png_bytes):
    msg = EmailMessage()
    msg["From"] = "pedidos@tienda.example.com"
    msg["To"] = "jose.nunez@example.com"
    msg.set_content("Hola")
    msg.add_alternative("<p>Hola</p>", subtype="html")
    msg.get_payload()[1].add_related(png_bytes, "image", "png", cid="<logo@tienda.example.com>")
    msg.add_attachment(png_bytes, "image", "png", filename="logo.png")  # mixed > alternative > related
    raw = as_smtp_bytes(msg)
    assert as_smtp_bytes(msg) == raw
    assert all(part.get_boundary() for part in msg.walk() if part.get_content_maintype() == "multipart")


def test_header_block_ends_with_an_empty_line_before_the_body():
    raw = as_smtp_bytes(legacy_with_bcc("Hola"))
    headers, body = raw.split(b"\r\n\r\n", 1)
    assert headers.startswith(b"Content-Type: text/plain")
    assert body == b"Hola"


def test_a_line_longer_than_998_octets_is_refused_before_sending():
    msg = make_text_part("placeholder")
    set_header(msg, "From", "pedidos@tienda.example.com")
    set_header(msg, "To", "jose.nunez@example.com")
    del msg["Content-Transfer-Encoding"]
    msg["Content-Transfer-Encoding"] = "8bit"
    msg.set_payload("x" * 1500 + "\n")  # as if someone set 8bit by hand: nothing re-encodes it
    with pytest.raises(MimeStructureError) as info:
        as_smtp_bytes(msg)
    assert "1500 octets" in str(info.value)
    assert "998" in str(info.value)


def test_parsed_bytes_serialise_back_to_the_same_bytes():
    raw = as_smtp_bytes(legacy_with_bcc("Hola José,\nFrom here on.\n.punto\n"))
    assert as_smtp_bytes(email.message_from_bytes(raw)) == raw
    assert as_smtp_bytes(email.message_from_bytes(raw, policy=email.policy.default)) == raw


# --------------------------------------------------------------------------- address headers that would not survive the wire


def test_one_string_non_ascii_from_is_refused_before_it_loses_its_address():
    msg = make_text_part("Hola")
    msg["From"] = "José Núñez <jose.nunez@example.com>"  # the trap: encoded whole, address lost
    msg["To"] = "ana@example.org"
    with pytest.raises(HeaderError, match="set_header") as info:
        as_smtp_bytes(msg)
    assert info.value.header == "From"


def test_header_object_in_an_address_header_is_refused():
    from email.header import Header

    msg = make_text_part("Hola")
    msg["To"] = Header("José Núñez <jose.nunez@example.com>", "utf-8")
    with pytest.raises(HeaderError, match="Header object"):
        as_smtp_bytes(msg)


def test_address_header_without_an_address_is_refused():
    msg = make_text_part("Hola")
    msg["To"] = "Jose Nunez"
    with pytest.raises(HeaderError, match="local-part@domain"):
        as_smtp_bytes(msg)


def test_empty_group_is_a_valid_address_header():
    msg = make_text_part("Hola")
    msg["From"] = "pedidos@tienda.example.com"
    msg["To"] = "undisclosed-recipients:;"
    assert b"To: undisclosed-recipients:;\r\n" in as_smtp_bytes(msg)


# --------------------------------------------------------------------------- transfer encodings that would corrupt data


def test_raw_binary_declared_7bit_is_refused():
    from email.mime.base import MIMEBase

    msg = make_mixed("Adjunto.\n")
    raw = MIMEBase("application", "octet-stream")
    raw.set_payload(bytes(range(256)))  # forgot encoders.encode_base64(raw)
    msg.attach(raw)
    with pytest.raises(MimeStructureError, match="encode_base64"):
        as_smtp_bytes(msg)


def test_nul_in_an_8bit_part_is_refused():
    part = make_text_part("hola\n")
    part.set_payload("ho\x00la\n")
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = "8bit"
    with pytest.raises(MimeStructureError, match="NUL"):
        as_smtp_bytes(part)


def test_bcc_inside_a_hand_made_forward_is_refused():
    from email.mime.message import MIMEMessage

    inner = make_text_part("Hola\n")
    inner["From"] = "ana@example.org"
    inner["Bcc"] = "jefa@tienda.example.com"
    msg = make_mixed("Te reenvío esto.\n")
    msg.attach(MIMEMessage(inner))
    with pytest.raises(MimeStructureError, match="Bcc"):
        as_smtp_bytes(msg)
