"""Specification of mimekit.tree: parse a message back, draw its MIME tree and its shape, explain its kinds of node."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from mimekit import (
    add_attachment,
    add_inline_image,
    as_smtp_bytes,
    explain,
    load_message,
    make_alternative,
    make_mixed,
    render_tree,
    set_header,
)
from mimekit.tree import EXPLANATIONS, render_shape, tree_shape

PLAIN = "Hola José,\ntu pedido nº 1001 está confirmado.\n"
HTML = '<p>Hola José</p><img src="cid:logo@tienda.example.com">'


@pytest.fixture
def shop_mail(png_bytes):
    """multipart/mixed [alternative [plain, related [html, png]], pdf]."""
    alternative = make_alternative(PLAIN, HTML)
    add_inline_image(alternative, png_bytes, cid="logo@tienda.example.com", filename="logo.png")
    msg = make_mixed(alternative)
    add_attachment(msg, b"%PDF-1.4 factura", filename="factura-Núñez.pdf")
    set_header(msg, "From", "Tienda Ñandú <pedidos@tienda.example.com>")
    set_header(msg, "To", "José Núñez <jose.nunez@example.com>")
    set_header(msg, "Subject", "Tu pedido nº 1001")
    return msg


def without_sizes(tree: str) -> str:
    return re.sub(r" · [\d,]+ bytes", "", tree)


def test_tree_draws_one_line_per_part_with_its_annotations(shop_mail, png_bytes):
    wire = load_message(as_smtp_bytes(shop_mail))
    lines = render_tree(wire).splitlines()
    parts = list(wire.walk())
    assert len(lines) == len(parts)
    assert lines[0] == "multipart/mixed"
    assert lines[1] == "├── multipart/alternative"
    assert lines[2].startswith("│   ├── text/plain · charset=utf-8 · quoted-printable · ")
    assert lines[3] == "│   └── multipart/related · type=text/html"
    assert lines[4].startswith("│       ├── text/html · charset=utf-8 · ")
    assert lines[5] == (
        f'│       └── image/png · base64 · inline · filename="logo.png" · cid=<logo@tienda.example.com> · '
        f"{len(png_bytes):,} bytes"
    )
    assert lines[6] == '└── application/pdf · base64 · attachment · filename="factura-Núñez.pdf" · 16 bytes'


def test_sizes_are_decoded_sizes_in_bytes(shop_mail):
    wire = load_message(as_smtp_bytes(shop_mail))
    leaves = [p for p in wire.walk() if not p.is_multipart()]
    tree_lines = [line for line in render_tree(wire).splitlines() if line.endswith(" bytes")]
    sizes = [int(re.search(r"([\d,]+) bytes$", line).group(1).replace(",", "")) for line in tree_lines]
    assert sizes == [len(p.get_payload(decode=True)) for p in leaves]


def test_built_and_parsed_messages_draw_the_same_tree_apart_from_line_end_sizes(shop_mail):
    parsed = load_message(as_smtp_bytes(shop_mail))
    assert without_sizes(render_tree(shop_mail)) == without_sizes(render_tree(parsed))


def test_tree_of_an_email_message_built_with_the_modern_api():
    msg = EmailMessage()
    msg.set_content("Hola")
    msg.add_alternative("<p>Hola</p>", subtype="html")
    assert without_sizes(render_tree(msg)).splitlines() == [
        "multipart/alternative",
        "├── text/plain · charset=utf-8 · 7bit",
        "└── text/html · charset=utf-8 · 7bit",
    ]


def test_explain_types_adds_a_legend_with_each_kind_once(shop_mail):
    tree, legend = render_tree(shop_mail, explain_types=True).split("\n\n")
    kinds = [line.split(": ", 1)[0] for line in legend.splitlines()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
    ]
    assert f"image/png: {EXPLANATIONS['image']}" in legend
    assert tree == render_tree(shop_mail)


def test_defects_found_by_the_parser_are_shown_under_their_part():
    raw = (
        b"From: pedidos@tienda.example.com\r\nTo: jose.nunez@example.com\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"no boundary line follows\r\n"
    )
    lines = render_tree(load_message(raw)).splitlines()
    assert lines[0].startswith("multipart/mixed")
    assert any(line.strip().startswith("! StartBoundaryNotFoundDefect:") for line in lines[1:])


def test_bad_base64_is_reported_as_a_defect_not_an_exception():
    raw = b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBER$$$i0x\r\n"
    tree = render_tree(load_message(raw))
    assert "! InvalidBase64" in tree


@pytest.mark.parametrize(
    ("content_type", "key"),
    [
        ("multipart/related", "multipart/related"),
        ("Multipart/Related; type=text/html", "multipart/related"),
        ("image/x-icon", "image"),
        ("audio/ogg", "audio"),
        ("application/vnd.ms-excel", "application"),
        ("multipart/x-unknown", "multipart"),
    ],
)
def test_explain_falls_back_from_the_full_type_to_the_major_type(content_type, key):
    assert explain(content_type) == EXPLANATIONS[key]


def test_explain_says_when_a_type_is_unknown():
    assert explain("chemical/x-xyz") == (
        "chemical/x-xyz is not a type mimekit knows; a client will treat it as application/octet-stream."
    )


# --------------------------------------------------------------------------- load_message


def test_load_message_decodes_headers_from_bytes_and_from_a_file(shop_mail, tmp_path):
    raw = as_smtp_bytes(shop_mail)
    path = tmp_path / "pedido.eml"
    path.write_bytes(raw)
    for msg in (load_message(raw), load_message(path), load_message(str(path))):
        assert msg["From"].addresses[0].display_name == "Tienda Ñandú"
        assert msg["Subject"] == "Tu pedido nº 1001"
        assert [p.get_filename() for p in msg.iter_attachments()] == ["factura-Núñez.pdf"]


def test_load_message_of_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_message(tmp_path / "nada.eml")
    assert str(tmp_path / "nada.eml") in info.value.strerror


def test_load_message_of_a_directory_raises_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="folder"):
        load_message(tmp_path)


def test_load_message_of_a_path_through_a_file_names_the_path(tmp_path):
    (tmp_path / "pedido.eml").write_bytes(b"Subject: x\r\n\r\nx\r\n")
    with pytest.raises(NotADirectoryError) as info:
        load_message(tmp_path / "pedido.eml" / "otro.eml")
    assert str(tmp_path / "pedido.eml" / "otro.eml") in info.value.strerror


def test_load_message_refuses_message_text_given_as_str():
    with pytest.raises(TypeError, match="encode"):
        load_message("Subject: Hola\nFrom: ana@example.org\n\nHola\n")


def test_header_defects_are_shown_under_their_part():
    msg = load_message(
        b"From: =?utf-8?b?!!!?= <a@example.com>\r\nTo: <<<@@>>>\r\nDate: yesterday\r\nSubject: x\r\n\r\nbody\r\n"
    )
    tree = render_tree(msg)
    assert "! From: InvalidBase64CharactersDefect" in tree
    assert "! To: InvalidHeaderDefect" in tree
    assert "! Date: InvalidDateDefect" in tree


# --------------------------------------------------------------------------- tree shapes

SHOP_MAIL_SHAPE = (
    "multipart/mixed(multipart/alternative(text/plain, multipart/related(text/html, image/png)), application/pdf)"
)


def test_render_shape_and_tree_shape_read_the_same_tree(shop_mail):
    assert render_shape(shop_mail) == SHOP_MAIL_SHAPE
    assert tree_shape(shop_mail) == [
        (0, "multipart/mixed"),
        (1, "multipart/alternative"),
        (2, "text/plain"),
        (2, "multipart/related"),
        (3, "text/html"),
        (3, "image/png"),
        (1, "application/pdf"),
    ]


def test_render_shape_reads_bytes_and_captured_copies_as_the_wire_does(shop_mail, mail_session, mail_inbox):
    assert render_shape(as_smtp_bytes(shop_mail)) == SHOP_MAIL_SHAPE
    mail_session.send(shop_mail, rcpt_tos=["jose.nunez@example.com"])
    assert render_shape(mail_inbox.latest()) == SHOP_MAIL_SHAPE


def test_render_shape_of_a_forwarded_message_shows_the_message_inside():
    forward = load_message(
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nTe reenv\xc3\xado\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: Pedido\r\nContent-Type: text/html\r\n\r\n<p>1001</p>\r\n"
        b"--B--\r\n"
    )
    assert render_shape(forward) == "multipart/mixed(text/plain, message/rfc822(text/html))"


def test_render_shape_refuses_str_and_says_to_pass_bytes(shop_mail):
    with pytest.raises(TypeError, match=r"render_shape\(\) takes .*text\.encode\(\)"):
        render_shape(as_smtp_bytes(shop_mail).decode())
