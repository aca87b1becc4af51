"""Specification of mimekit.parts: text parts and their transfer encoding, binary parts and MIME types."""

from __future__ import annotations

from email.mime.application import MIMEApplication
from email.mime.audio import MIMEAudio
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage

import pytest

from mimekit import (
    AttachmentNotFoundError,
    MimeStructureError,
    as_smtp_bytes,
    choose_cte,
    explain_cte,
    guess_mime_type,
    make_binary_part,
    make_html_part,
    make_text_part,
)
from mimekit.parts import read_source

SPANISH = "Confirmación de tu pedido nº 1001.\nGracias por comprar en la Tienda Ñandú, José.\n"
GREEK = "Η παραγγελία σας επιβεβαιώθηκε.\nΕυχαριστούμε για την αγορά σας.\n"
CHINESE = "您的订单已确认。\n感谢您的购买。\n"
ASCII = "Your order 1001 is confirmed.\nThank you for shopping with us.\n"
LONG_ASCII_LINE = "x" * 2000 + "\n"


def body_of(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


def as_lf(text: str) -> str:
    """Line ends as Python writes them: the wire carries CRLF (RFC 5322 §2.3)."""
    return text.replace("\r\n", "\n")


# --------------------------------------------------------------------------- transfer encodings


@pytest.mark.parametrize(
    ("text", "cte"),
    [
        (ASCII, "7bit"),
        (SPANISH, "quoted-printable"),
        (GREEK, "base64"),
        (CHINESE, "base64"),
        (LONG_ASCII_LINE, "quoted-printable"),
    ],
    ids=["ascii", "spanish", "greek", "chinese", "2000-char-line"],
)
def test_text_part_gets_the_expected_transfer_encoding_and_decodes_to_the_input(text, cte, parse, assert_valid_wire):
    part = make_text_part(text)
    raw = assert_valid_wire(as_smtp_bytes(part))
    wire = parse(part)
    assert choose_cte(text) == cte
    assert wire["Content-Transfer-Encoding"] == cte
    assert wire.get_content_type() == "text/plain"
    assert wire.get_content_charset() == "utf-8"
    assert as_lf(wire.get_content()) == text
    if cte != "7bit":
        assert body_of(raw).isascii()
        assert max(len(line) for line in body_of(raw).split(b"\r\n")) <= 76  # RFC 2045 §6.7, §6.8


def test_quoted_printable_keeps_spanish_readable_in_the_raw_source():
    body = body_of(as_smtp_bytes(make_text_part(SPANISH)))
    assert b"Confirmaci=C3=B3n de tu pedido n=C2=BA 1001." in body
    assert b"Gracias por comprar en la Tienda" in body


@pytest.mark.parametrize("text", [GREEK, CHINESE], ids=["greek", "chinese"])
def test_base64_is_chosen_where_it_is_shorter_than_quoted_printable(text):
    qp = as_smtp_bytes(make_text_part(text, cte="quoted-printable"))
    b64 = as_smtp_bytes(make_text_part(text, cte="base64"))
    assert len(body_of(b64)) < len(body_of(qp))
    assert choose_cte(text) == "base64"


def test_quoted_printable_is_chosen_for_spanish_where_it_is_shorter_than_base64():
    text = SPANISH
    qp = as_smtp_bytes(make_text_part(text, cte="quoted-printable"))
    b64 = as_smtp_bytes(make_text_part(text, cte="base64"))
    assert len(body_of(qp)) <= len(body_of(b64))
    assert choose_cte(text) == "quoted-printable"


def test_ascii_with_a_line_of_79_octets_is_not_7bit():
    assert choose_cte("a" * 78) == "7bit"
    assert choose_cte("a" * 79) != "7bit"


@pytest.mark.parametrize("cte", ["7bit", "quoted-printable", "base64"])
def test_forced_transfer_encoding_is_used_and_decodes_to_the_input(cte, parse):
    wire = parse(make_text_part(ASCII, cte=cte))
    assert wire["Content-Transfer-Encoding"] == cte
    assert as_lf(wire.get_content()) == ASCII


@pytest.mark.parametrize("text", ["José Núñez", "x" * 999], ids=["non-ascii", "999-octet-line"])
def test_forcing_7bit_on_text_it_cannot_carry_raises_mime_structure_error(text):
    with pytest.raises(MimeStructureError) as info:
        make_text_part(text, cte="7bit")
    assert isinstance(info.value, ValueError)
    assert "cte=None" in str(info.value)


def test_unknown_transfer_encoding_is_refused():
    with pytest.raises(ValueError, match="'8bit'"):
        make_text_part(ASCII, cte="8bit")


def test_text_part_refuses_bytes_with_a_hint_to_decode():
    with pytest.raises(TypeError, match="decode"):
        make_text_part(b"Hola")


@pytest.mark.parametrize(("text", "cte"), [(ASCII, "7bit"), (SPANISH, "quoted-printable"), (GREEK, "base64")])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_text_travels_in_canonical_form_with_crlf_line_ends(text, cte, line_end, parse):
    # RFC 2046 §4.1.1: in a text body a line break is CRLF, inside base64 too (RFC 2045 §6.8).
    part = make_text_part(text.replace("\n", line_end), cte=cte)
    assert parse(part).get_payload(decode=True) == text.replace("\n", "\r\n").encode("utf-8")


def test_html_part_with_a_5000_character_line_stays_within_998_octets(parse, assert_valid_wire):
    html = "<p>" + "Ñandú " * 10 + "a" * 5000 + "</p>"
    part = make_html_part(html)
    assert_valid_wire(as_smtp_bytes(part))
    wire = parse(part)
    assert wire.get_content_type() == "text/html"
    assert wire["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert wire.get_content() == html


def test_explain_cte_names_the_choice_and_the_reason():
    assert explain_cte(ASCII).startswith("7bit:")
    spanish = explain_cte(SPANISH)
    assert spanish.startswith("quoted-printable:")
    assert f"{sum(not c.isascii() for c in SPANISH)} non-ASCII characters" in spanish
    assert explain_cte(GREEK).startswith("base64:")
    assert "a 2000-octet line" in explain_cte(LONG_ASCII_LINE)


# --------------------------------------------------------------------------- MIME types


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("factura.pdf", "application/pdf"),
        ("foto.png", "image/png"),
        ("FOTO.JPG", "image/jpeg"),
        ("canción.mp3", "audio/mpeg"),
        ("pedidos.csv", "text/csv"),
        ("datos.zz9", "application/octet-stream"),
        ("LEEME", "application/octet-stream"),
        ("copia.tar.gz", "application/octet-stream"),  # compressed: the type of the bytes is not tar
    ],
)
def test_mime_type_is_guessed_from_the_file_name(filename, expected):
    assert guess_mime_type(filename) == expected


def test_explicit_mime_type_overrides_the_guess_and_is_lower_cased():
    assert guess_mime_type("factura.pdf", "Application/X-Custom") == "application/x-custom"


@pytest.mark.parametrize("bad", ["pdf", "application/", "/pdf", "text/ plain"])
def test_malformed_explicit_mime_type_is_refused(bad):
    with pytest.raises(ValueError, match="type/subtype"):
        guess_mime_type("factura.pdf", bad)


# --------------------------------------------------------------------------- binary parts


@pytest.mark.parametrize(
    ("mime_type", "cls"),
    [
        ("image/png", MIMEImage),
        ("audio/mpeg", MIMEAudio),
        ("application/pdf", MIMEApplication),
        ("font/woff2", MIMEBase),
        ("text/csv", MIMEBase),
    ],
)
def test_binary_part_uses_the_email_mime_class_of_its_major_type_and_base64(mime_type, cls, parse):
    data = bytes(range(256)) * 3
    part = make_binary_part(data, mime_type, filename="datos.bin")
    assert type(part) is cls
    wire = parse(part)
    assert wire.get_content_type() == mime_type
    assert wire["Content-Transfer-Encoding"] == "base64"
    assert wire.get_payload(decode=True) == data


def test_non_ascii_file_name_is_encoded_per_rfc2231_and_read_back(parse):
    part = make_binary_part(b"%PDF-1.4", "application/pdf", filename="factura-Núñez.pdf")
    raw = as_smtp_bytes(part)
    assert b"filename*=utf-8''factura-N%C3%BA%C3%B1ez.pdf" in raw
    assert raw.isascii()
    wire = parse(part)
    assert wire.get_filename() == "factura-Núñez.pdf"
    assert wire.get_param("name", header="content-type") == "factura-Núñez.pdf"


def test_ascii_file_name_is_a_plain_quoted_parameter(parse):
    raw = as_smtp_bytes(make_binary_part(b"\x89PNG", "image/png", filename="foto.png"))
    assert b'Content-Disposition: attachment; filename="foto.png"' in raw


@pytest.mark.parametrize("disposition", ["attachment", "inline"])
def test_disposition_is_written_as_asked(disposition, parse):
    wire = parse(make_binary_part(b"\x89PNG", "image/png", filename="foto.png", disposition=disposition))
    assert wire.get_content_disposition() == disposition


def test_binary_part_without_file_name_has_a_bare_disposition(parse):
    wire = parse(make_binary_part(b"\x89PNG", "image/png"))
    assert wire.get_content_disposition() == "attachment"
    assert wire.get_filename() is None


def test_unknown_disposition_is_refused():
    with pytest.raises(ValueError, match="RFC 2183"):
        make_binary_part(b"x", "image/png", disposition="hidden")


@pytest.mark.parametrize("mime_type", ["multipart/mixed", "message/rfc822"])
def test_container_types_are_not_leaf_parts(mime_type):
    with pytest.raises(MimeStructureError, match="container"):
        make_binary_part(b"x", mime_type)


def test_binary_part_refuses_text():
    with pytest.raises(TypeError, match="raw bytes"):
        make_binary_part("not bytes", "application/pdf")


# --------------------------------------------------------------------------- sources


def test_read_source_takes_bytes_without_a_name():
    assert read_source(b"\x00\x01") == (b"\x00\x01", None)


def test_read_source_reads_a_path_and_returns_its_base_name(tmp_path):
    path = tmp_path / "informe año.txt"
    path.write_bytes(b"hola\n")
    assert read_source(path) == (b"hola\n", "informe año.txt")
    assert read_source(str(path)) == (b"hola\n", "informe año.txt")


def test_missing_file_raises_attachment_not_found_naming_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AttachmentNotFoundError) as info:
        read_source("no-such-file.pdf")
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "no-such-file.pdf") in str(info.value)
    assert "does not exist" in str(info.value)


def test_directory_is_not_an_attachment(tmp_path):
    with pytest.raises(AttachmentNotFoundError, match="is a directory"):
        read_source(tmp_path)


def test_binary_part_keeps_content_type_first_with_the_file_name_in_it():
    part = make_binary_part(b"%PDF-1.4", "application/pdf", filename="factura-Núñez.pdf")
    first_header = part.as_string().splitlines()[0]
    assert first_header == "Content-Type: application/pdf; name*=utf-8''factura-N%C3%BA%C3%B1ez.pdf"


# --------------------------------------------------------------------------- what the checks refuse early


def test_text_attachment_from_utf8_bytes_declares_its_charset():
    part = make_binary_part("héllo, José".encode("utf-8"), "text/plain", filename="nota.txt")
    assert part.get_content_charset() == "utf-8"
    assert part.get_payload(decode=True).decode(part.get_content_charset()) == "héllo, José"


def test_text_attachment_in_an_unknown_charset_gets_no_guessed_charset():
    part = make_binary_part("héllo".encode("latin-1"), "text/plain", filename="nota.txt")
    assert part.get_param("charset") is None


@pytest.mark.parametrize("mime_type", ["text/plain\r\nBcc: x@example.net", "text/ plain", "image/png; x=y"])
def test_mime_type_with_more_than_type_and_subtype_is_refused(mime_type):
    with pytest.raises(ValueError, match="MIME type"):
        guess_mime_type("a.txt", mime_type)


def test_text_part_subtype_must_be_a_bare_subtype():
    with pytest.raises(ValueError, match="subtype"):
        make_text_part("<p>hola</p>", "html; charset=latin1")


def test_text_with_nul_is_not_sent_as_7bit():
    assert choose_cte("abc\x00def") != "7bit"


def test_file_name_too_long_for_one_header_line_is_refused_when_the_part_is_made():
    with pytest.raises(MimeStructureError, match="Shorten"):
        make_binary_part(b"x", "text/plain", filename="ñ" * 200 + ".txt")
