"""Specification of mimekit.multipart: alternative, related + Content-ID, mixed + attachments, forwarding."""

from __future__ import annotations

import re

import pytest

from message_parts import tree_shape as shape
from mimekit import (
    AttachmentNotFoundError,
    MimeStructureError,
    add_attachment,
    add_inline_image,
    as_smtp_bytes,
    cid_url,
    find_cid_references,
    make_alternative,
    make_content_id,
    make_forward,
    make_html_part,
    make_mixed,
    make_related,
    make_text_part,
    set_header,
)

PLAIN = "Hola José,\ntu pedido nº 1001 está confirmado.\n"
HTML = '<p>Hola José,</p><p>tu pedido nº 1001 está confirmado.</p><img src="cid:logo@tienda.example.com">'



def addressed(msg):
    set_header(msg, "From", "Tienda Ñandú <pedidos@tienda.example.com>")
    set_header(msg, "To", "José Núñez <jose.nunez@example.com>")
    set_header(msg, "Subject", "Tu pedido nº 1001")
    return msg


# --------------------------------------------------------------------------- multipart/alternative


def test_alternative_puts_plain_text_first_and_html_last_on_the_wire(parse):
    wire = parse(make_alternative(PLAIN, HTML))
    assert wire.get_content_type() == "multipart/alternative"
    plain, html = wire.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert plain.get_content().replace("\r\n", "\n") == PLAIN
    assert html.get_content() == HTML
    assert wire.get_body().get_content_type() == "text/html"  # what a client shows: the last it can


def test_alternative_refuses_html_as_the_first_form():
    with pytest.raises(MimeStructureError, match="text/plain"):
        make_alternative(make_html_part(HTML), PLAIN)


def test_alternative_accepts_a_ready_related_part_as_the_html_form(parse, png_bytes):
    related = make_related(HTML)
    add_inline_image(related, png_bytes, cid="logo@tienda.example.com")
    assert shape(parse(make_alternative(PLAIN, related))) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
    ]


@pytest.mark.parametrize(
    ("plain", "html"),
    [
        ("Línea muy larga: " + "ñ" * 2000 + "\n", "<p>corto</p>"),
        (PLAIN, "<p>" + "a" * 5000 + "</p>"),
        ("x" * 2000 + "\n", "<table><tr><td>" + "Ñandú " * 900 + "</td></tr></table>"),
    ],
    ids=["2000-char-text-line", "5000-char-html-line", "both-long"],
)
def test_long_lines_are_encoded_so_no_line_passes_998_octets(plain, html, parse, assert_valid_wire):
    msg = make_alternative(plain, html)
    assert_valid_wire(as_smtp_bytes(msg))
    text_part, html_part = parse(msg).get_payload()
    for part, source in ((text_part, plain), (html_part, html)):
        if max(len(line.encode()) for line in source.splitlines()) > 998:
            assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert text_part.get_content().replace("\r\n", "\n") == plain
    assert html_part.get_content().replace("\r\n", "\n") == html


# --------------------------------------------------------------------------- multipart/related and Content-ID


def test_related_names_its_root_type_and_keeps_the_html_first(parse, png_bytes):
    related = make_related(HTML)
    add_inline_image(related, png_bytes, cid="logo@tienda.example.com")
    wire = parse(related)
    assert wire.get_content_type() == "multipart/related"
    assert wire.get_param("type") == "text/html"  # RFC 2387 §3.1
    assert [p.get_content_type() for p in wire.get_payload()] == ["text/html", "image/png"]


def test_related_root_must_be_html():
    with pytest.raises(MimeStructureError, match="text/html"):
        make_related(make_text_part(PLAIN))


def test_inline_image_returns_the_cid_url_that_resolves_to_its_content_id(parse, png_bytes, assert_cids_resolve):
    related = make_related("<p>Logo:</p>")
    url = add_inline_image(related, png_bytes, filename="logo.png", domain="tienda.example.com")
    assert re.fullmatch(r"cid:logo\.[0-9a-f]+@tienda\.example\.com", url)
    related.get_payload()[0].set_payload(f'<p>Logo: <img src="{url}"></p>', "utf-8")
    wire = parse(related)
    assert_cids_resolve(wire)
    image = wire.get_payload()[1]
    assert image["Content-ID"] == "<" + url.removeprefix("cid:") + ">"
    assert image.get_content_disposition() == "inline"
    assert image.get_filename() == "logo.png"
    assert image.get_payload(decode=True) == png_bytes


@pytest.mark.parametrize("cid", ["logo@tienda.example.com", "<logo@tienda.example.com>", "  <logo@tienda.example.com> "])
def test_given_content_id_gets_angle_brackets_once(cid, parse, png_bytes):
    related = make_related(HTML)
    assert add_inline_image(related, png_bytes, cid=cid) == "cid:logo@tienda.example.com"
    assert parse(related).get_payload()[1]["Content-ID"] == "<logo@tienda.example.com>"


def test_inline_image_wraps_a_bare_html_alternative_into_related_in_place(parse, png_bytes, assert_cids_resolve):
    alternative = make_alternative(PLAIN, HTML)
    original_html = alternative.get_payload()[1]
    add_inline_image(alternative, png_bytes, cid="logo@tienda.example.com", filename="logo.png")
    related = alternative.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    assert related.get_payload()[0] is original_html
    wire = parse(alternative)
    assert shape(wire) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
    ]
    image = wire.get_payload()[1].get_payload()[1]
    assert image["Content-Disposition"].startswith("inline")
    assert_cids_resolve(wire)


def test_a_second_inline_image_joins_the_same_related_part(parse, png_bytes):
    alternative = make_alternative(PLAIN, HTML)
    add_inline_image(alternative, png_bytes, cid="logo@tienda.example.com")
    add_inline_image(alternative, png_bytes, filename="sello.png")
    assert [t for _, t in shape(parse(alternative))] == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "image/png",
    ]


def test_inline_image_from_a_path_takes_name_and_type_from_the_file(tmp_path, parse, png_bytes):
    path = tmp_path / "foto del pedido.jpg"
    path.write_bytes(png_bytes)
    related = make_related(HTML)
    add_inline_image(related, path)
    image = parse(related).get_payload()[1]
    assert image.get_content_type() == "image/jpeg"
    assert image.get_filename() == "foto del pedido.jpg"
    assert image.get_payload(decode=True) == png_bytes


def test_inline_image_requires_an_html_part(png_bytes):
    with pytest.raises(MimeStructureError) as info:
        add_inline_image(make_mixed(PLAIN), png_bytes)
    assert isinstance(info.value, ValueError)
    assert "add the HTML alternative first" in str(info.value)
    assert "RFC 2387" in str(info.value)


def test_inline_image_refuses_a_second_part_with_the_same_content_id(png_bytes):
    related = make_related(HTML)
    add_inline_image(related, png_bytes, cid="logo@tienda.example.com")
    with pytest.raises(MimeStructureError, match="<logo@tienda.example.com>"):
        add_inline_image(related, png_bytes, cid="<logo@tienda.example.com>")
    assert len(related.get_payload()) == 2


def test_inline_image_refuses_what_is_not_an_image():
    with pytest.raises(MimeStructureError, match="application/pdf"):
        add_inline_image(make_related(HTML), b"%PDF-1.4", filename="factura.pdf")


def test_inline_image_cannot_choose_between_two_html_parts(png_bytes):
    msg = make_mixed(make_alternative(PLAIN, HTML))
    msg.attach(make_html_part("<p>otra</p>"))
    with pytest.raises(MimeStructureError, match="2 text/html"):
        add_inline_image(msg, png_bytes)


def test_inline_image_from_a_missing_path_raises_attachment_not_found(tmp_path):
    with pytest.raises(AttachmentNotFoundError):
        add_inline_image(make_related(HTML), tmp_path / "no-logo.png")


def test_content_ids_are_unique_unless_asked_not_to_be():
    first, second = make_content_id("logo", "tienda.example.com"), make_content_id("logo", "tienda.example.com")
    assert first != second
    assert re.fullmatch(r"<logo\.[0-9a-f]{12}@tienda\.example\.com>", first)
    assert make_content_id("logo", "tienda.example.com", unique=False) == "<logo@tienda.example.com>"


@pytest.mark.parametrize(("name", "domain"), [("logo tienda", "example.com"), ("logo", "tienda example.com"), ("lo<go", "example.com")])
def test_content_id_refuses_names_outside_msg_id_syntax(name, domain):
    with pytest.raises(ValueError, match="RFC 5322"):
        make_content_id(name, domain)


def test_cid_url_and_find_cid_references_are_inverse():
    html = "<img src=\"cid:a@example.com\"><img src='cid:b@example.org'><td style=\"background:url(cid:a@example.com)\">"
    assert find_cid_references(html) == ["<a@example.com>", "<b@example.org>"]
    assert [cid_url(cid) for cid in find_cid_references(html)] == ["cid:a@example.com", "cid:b@example.org"]


# --------------------------------------------------------------------------- multipart/mixed and attachments


def test_attachment_from_a_path_keeps_body_first_and_guesses_the_type(tmp_path, parse):
    path = tmp_path / "factura-Núñez.pdf"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    msg = make_mixed(PLAIN)
    part = add_attachment(msg, path)
    assert part is msg.get_payload()[1]
    body, attachment = parse(msg).get_payload()
    assert body.get_content_type() == "text/plain"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "factura-Núñez.pdf"
    assert b"filename*=utf-8''factura-N%C3%BA%C3%B1ez.pdf" in as_smtp_bytes(msg)
    assert attachment.get_payload(decode=True) == path.read_bytes()


@pytest.mark.parametrize(
    ("data", "filename", "mime_type", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n", "foto.png", None, "image/png"),
        (b"ID3\x04", "canción.mp3", None, "audio/mpeg"),
        (b"PK\x03\x04", "pedidos.zip", None, "application/zip"),
        (b"\x00\x01\x02", "datos.zz9", None, "application/octet-stream"),
        (b"\x00\x01\x02", None, None, "application/octet-stream"),
        (b"a;b\r\n1;2\r\n", "datos.zz9", "text/csv", "text/csv"),
    ],
    ids=["image", "audio", "application", "unknown-extension", "no-name", "explicit-type"],
)
def test_attachment_from_bytes_gets_the_guessed_or_given_type(data, filename, mime_type, expected, parse):
    msg = make_mixed(PLAIN)
    add_attachment(msg, data, filename=filename, mime_type=mime_type)
    attachment = parse(msg).get_payload()[1]
    assert attachment.get_content_type() == expected
    assert attachment.get_filename() == filename
    assert attachment.get_payload(decode=True) == data


def test_make_mixed_attaches_each_source_in_order(tmp_path, parse):
    (tmp_path / "a.txt").write_bytes(b"uno\n")
    (tmp_path / "b.png").write_bytes(b"\x89PNG")
    wire = parse(make_mixed(PLAIN, [tmp_path / "a.txt", tmp_path / "b.png"]))
    assert [(p.get_content_type(), p.get_filename()) for p in wire.get_payload()] == [
        ("text/plain", None),
        ("text/plain", "a.txt"),
        ("image/png", "b.png"),
    ]


@pytest.mark.parametrize(
    "build", [lambda: make_alternative(PLAIN, HTML), lambda: make_related(HTML), lambda: make_text_part(PLAIN)]
)
def test_attachment_on_a_message_that_is_not_mixed_is_refused_with_a_hint(build):
    msg = build()
    with pytest.raises(MimeStructureError) as info:
        add_attachment(msg, b"%PDF-1.4", filename="factura.pdf")
    assert isinstance(info.value, ValueError)
    assert "make_mixed(body)" in str(info.value)
    assert msg.get_content_type() in str(info.value)


def test_attachment_from_a_missing_path_is_refused_and_nothing_is_attached(tmp_path):
    msg = make_mixed(PLAIN)
    with pytest.raises(AttachmentNotFoundError) as info:
        add_attachment(msg, tmp_path / "no-such-file.pdf")
    assert isinstance(info.value, FileNotFoundError)
    assert len(msg.get_payload()) == 1


def test_whole_shop_tree_round_trips_with_cids_resolved(png_bytes, parse, assert_valid_wire, assert_cids_resolve):
    alternative = make_alternative(PLAIN, HTML)
    add_inline_image(alternative, png_bytes, cid="logo@tienda.example.com", filename="logo.png")
    msg = addressed(make_mixed(alternative))
    add_attachment(msg, b"%PDF-1.4", filename="factura-1001.pdf")
    assert_valid_wire(as_smtp_bytes(msg))
    wire = parse(msg)
    assert shape(wire) == [
        (0, "multipart/mixed"),
        (1, "multipart/alternative"),
        (2, "text/plain"),
        (2, "multipart/related"),
        (3, "text/html"),
        (3, "image/png"),
        (1, "application/pdf"),
    ]
    assert_cids_resolve(wire)
    assert [p.get_filename() for p in wire.iter_attachments()] == ["factura-1001.pdf"]
    assert wire.get_body(("html",)).get_content() == HTML
    assert wire.get_body(("plain",)).get_content().replace("\r\n", "\n") == PLAIN


# --------------------------------------------------------------------------- forwarding


def original_message():
    msg = addressed(make_mixed("Adjunto la factura, José.\n"))
    set_header(msg, "Subject", "Factura del pedido nº 1001 — Ñandú")
    add_attachment(msg, b"%PDF-1.4", filename="factura.pdf")
    return msg


@pytest.mark.parametrize("as_bytes", [False, True], ids=["message", "raw-bytes"])
def test_forward_carries_the_original_whole_as_message_rfc822(as_bytes, parse):
    original = original_message()
    forward = addressed(make_forward(as_smtp_bytes(original) if as_bytes else original, note="Te reenvío la factura."))
    wire = parse(forward)
    assert [p.get_content_type() for p in wire.get_payload()] == ["text/plain", "message/rfc822"]
    note, enclosed = wire.get_payload()
    assert note.get_content().replace("\r\n", "\n") == "Te reenvío la factura."
    inner = enclosed.get_content()
    assert inner["Subject"] == "Factura del pedido nº 1001 — Ñandú"
    assert inner["From"].addresses[0].display_name == "Tienda Ñandú"
    assert [p.get_filename() for p in inner.iter_attachments()] == ["factura.pdf"]


def test_forward_without_a_note_holds_only_the_original(parse):
    wire = parse(addressed(make_forward(original_message())))
    assert [p.get_content_type() for p in wire.get_payload()] == ["message/rfc822"]
    assert wire.get_payload()[0].get_content_disposition() == "inline"


def test_inline_image_from_bare_bytes_recognises_the_image_type(parse):
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 16
    related = make_related(HTML)
    add_inline_image(related, jpeg, cid="<foto@tienda.example.com>")
    assert parse(related).get_payload()[1].get_content_type() == "image/jpeg"


def test_inline_image_from_unrecognisable_bytes_asks_for_the_type():
    with pytest.raises(MimeStructureError, match="mime_type="):
        add_inline_image(make_related(HTML), b"not an image at all")


def test_inline_image_on_a_lone_html_part_says_to_wrap_it_first(png_bytes):
    with pytest.raises(MimeStructureError, match="make_related"):
        add_inline_image(make_html_part(HTML), png_bytes)


# --------------------------------------------------------------------------- forwarding keeps the original as written


def _modern_original():
    from email.message import EmailMessage

    original = EmailMessage()
    original["From"] = "José Núñez <jose.nunez@example.com>"
    original["To"] = "ayuda@tienda.example.com"
    original["Bcc"] = "jefa@tienda.example.com"
    original["Subject"] = "Mi pedido no ha llegado"
    original.set_content("Hola, ¿dónde está mi pedido?\n")  # 8bit under policy.default
    return original


def test_forwarding_an_email_message_keeps_its_non_ascii_from_intact(parse):
    forwarded = parse(make_forward(_modern_original(), note="Reenvío la queja."))
    inner = forwarded.get_payload()[1].get_payload()[0]
    sender = inner["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("José Núñez", "jose.nunez@example.com")
    assert inner["From"].defects == ()
    assert inner.get_content().replace("\r\n", "\n") == "Hola, ¿dónde está mi pedido?\n"


def test_forwarding_drops_the_originals_bcc():
    wire = as_smtp_bytes(make_forward(_modern_original()))
    assert b"jefa@tienda.example.com" not in wire
    assert b"bcc:" not in wire.lower()


def test_forwarded_part_has_no_boundary_and_declares_8bit_content():
    forward = make_forward(_modern_original())
    as_smtp_bytes(forward)
    part = forward.get_payload()[0]
    assert part.get_content_type() == "message/rfc822"
    assert part.get_param("boundary") is None
    assert part["Content-Transfer-Encoding"] == "8bit"


# --------------------------------------------------------------------------- Content-ID syntax and cid: URLs


@pytest.mark.parametrize("cid", ["logo2", "my logo@x y", "<ñ@example.com>"])
def test_content_id_must_be_left_at_right(cid, png_bytes):
    from mimekit import HeaderError

    with pytest.raises(HeaderError, match="Content-ID"):
        add_inline_image(make_related(HTML), png_bytes, cid=cid)


def test_cid_url_percent_encodes_and_find_cid_references_decodes():
    url = cid_url("<100%#1@tienda.example.com>")
    assert url == "cid:100%25%231@tienda.example.com"
    assert find_cid_references(f'<img src="{url}">') == ["<100%#1@tienda.example.com>"]
