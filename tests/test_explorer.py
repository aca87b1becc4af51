"""Specification of mimekit.explorer: a message's MIME tree to click through, part by part, with static fallbacks."""

from __future__ import annotations

import base64
import html
import quopri
import re

import pytest

from message_parts import html_elements, tree_shape
from mimekit import (
    SMTPSession,
    add_attachment,
    add_inline_image,
    as_smtp_bytes,
    explain,
    make_alternative,
    make_forward,
    make_mixed,
    render_tree,
    set_header,
)
from mimekit.explorer import CRLF_SIZE_NOTE, MessageExplorer, explore, hex_head

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256))


def with_class(widget, css_class: str) -> list:
    """Every widget under *widget* (itself included) that carries *css_class*, in display order."""
    found = [widget] if css_class in getattr(widget, "_dom_classes", ()) else []
    for child in getattr(widget, "children", ()):
        found.extend(with_class(child, css_class))
    return found


def displayed(view):
    """*view* after its widget was built, as displaying it in JupyterLab does."""
    assert view.widget is not None
    return view


def one(widget, css_class: str):
    found = with_class(widget, css_class)
    assert len(found) == 1, f"{len(found)} widgets carry {css_class}"
    return found[0]


@pytest.fixture
def invoice_mail(confirmation):
    """The confirmation with a PDF invoice attached: mixed [alternative [...], application/pdf]."""
    msg = make_mixed(confirmation)
    add_attachment(msg, PDF, filename="factura-Núñez.pdf")
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        msg[name] = confirmation[name]
    return msg


def part_index(explorer: MessageExplorer, content_type: str) -> int:
    return next(node.index for node in explorer.parts if node.content_type == content_type)


# --------------------------------------------------------------------------- the tree


def test_tree_nodes_are_the_message_parts_in_walk_order(invoice_mail):
    explorer = explore(invoice_mail)
    parts = list(invoice_mail.walk())
    assert [node.part for node in explorer.parts] == parts
    assert all(node.part is part for node, part in zip(explorer.parts, parts))
    assert [(node.depth, node.content_type) for node in explorer.parts] == tree_shape(invoice_mail)
    assert [node.summary for node in explorer.parts] == [
        line.lstrip("│├└─ ") for line in render_tree(invoice_mail).splitlines()
    ]
    root = explorer.parts[0]
    assert root.parent is None and [explorer.parts[i].content_type for i in root.children] == [
        "multipart/alternative",
        "application/pdf",
    ]


def test_widget_has_one_button_per_part_numbered_in_walk_order(invoice_mail):
    explorer = explore(invoice_mail)
    buttons = with_class(explorer.widget, "mimekit-part")
    assert [b.description for b in buttons] == [
        "#0 multipart/mixed",
        "#1 multipart/alternative",
        "#2 text/plain",
        "#3 multipart/related",
        "#4 text/html",
        '#5 image/png · "logo.png"',
        '#6 application/pdf · "factura-Núñez.pdf"',
    ]  # short enough for the tree; the size is in the summary pane and the tooltip
    for index, button in enumerate(buttons):
        assert f"mimekit-part-{index}" in button._dom_classes
        assert button.tooltip == explorer.parts[index].summary
    assert one(explorer.widget, "mimekit-explorer") is explorer.widget
    assert html.unescape(one(explorer.widget, "mimekit-explorer-title").value) == (
        '<div style="line-height:1.45"><b>Tu pedido 1001 está confirmado — '
        "Tienda Ñandú <pedidos@tienda.example.com> → José Núñez <jose.nunez@example.com></b></div>"
    )


def test_toggle_folds_and_unfolds_a_multipart(invoice_mail):
    explorer = explore(invoice_mail)
    toggles = with_class(explorer.widget, "mimekit-part-toggle")
    boxes = with_class(explorer.widget, "mimekit-part-children")
    assert len(toggles) == len(boxes) == 3  # mixed, alternative, related
    toggles[1].value = False
    assert boxes[1].layout.display == "none"
    assert toggles[1].description == "▸"
    assert boxes[0].layout.display is None  # the others stay open
    toggles[1].value = True
    assert boxes[1].layout.display is None


# --------------------------------------------------------------------------- the panes


def test_clicking_a_part_shows_its_headers_explanation_and_decoded_text(confirmation):
    explorer = explore(confirmation)
    widget = explorer.widget
    plain = part_index(explorer, "text/plain")
    one(widget, f"mimekit-part-{plain}").click()
    assert explorer.selected == plain
    assert "mimekit-part-selected" in one(widget, f"mimekit-part-{plain}")._dom_classes
    assert "mimekit-part-selected" not in one(widget, "mimekit-part-0")._dom_classes
    headers = html.unescape(one(widget, "mimekit-part-headers").value)
    assert "<th" in headers and "Content-Transfer-Encoding" in headers and "quoted-printable" in headers
    assert html.unescape(one(widget, "mimekit-part-explanation").value).endswith(f"{explain('text/plain')}</p></div>")
    content = html.unescape(one(widget, "mimekit-part-content").value)
    text = confirmation.get_payload()[0].get_payload(decode=True).decode("utf-8")
    assert "José" in text and text.strip().splitlines()[0] in content
    assert "Jos=C3=A9" not in content  # decoded, not the wire form


def test_summary_pane_gives_the_size_the_button_leaves_out(invoice_mail):
    explorer = displayed(explore(invoice_mail))
    pdf = explorer.select(part_index(explorer, "application/pdf"))
    summary = html.unescape(one(explorer.widget, "mimekit-part-summary").value)
    assert f"{len(PDF):,} bytes" in summary and f"{len(PDF):,} bytes" not in pdf.button_text
    assert pdf.label == f'#6 application/pdf · "factura-Núñez.pdf" · {len(PDF):,} bytes'


def test_tree_is_as_wide_as_its_labels_and_long_header_values_wrap(confirmation):
    explorer = explore(confirmation)
    tree = one(explorer.widget, "mimekit-tree")
    assert tree.layout.min_width == "280px" and tree.layout.flex == "0 0 auto"
    assert all(b.layout.width == "auto" for b in with_class(explorer.widget, "mimekit-part"))
    cells = [attrs for tag, attrs in html_elements(explorer.headers_html(0)) if tag == "td"]
    assert len(cells) == len(explorer.parts[0].headers)
    assert all("overflow-wrap:anywhere" in attrs["style"] for attrs in cells)  # a Message-ID breaks, not overflows


def test_selecting_another_part_replaces_every_pane(confirmation):
    explorer = explore(confirmation)
    panes = {name: one(explorer.widget, f"mimekit-part-{name}") for name in ("summary", "headers", "content", "source")}
    before = {name: pane.value for name, pane in panes.items()}
    node = explorer.select(-1)
    assert node.content_type == "image/png" and explorer.selected == len(explorer.parts) - 1
    assert all(panes[name].value != before[name] for name in panes)
    assert "image/png" in panes["summary"].value


def test_html_part_is_shown_in_a_sandboxed_frame_with_its_cid_logo_inlined(confirmation):
    explorer = displayed(explore(confirmation))
    explorer.select(part_index(explorer, "text/html"))
    content = one(explorer.widget, "mimekit-part-content").value
    frames = [attrs for tag, attrs in html_elements(content) if tag == "iframe"]
    assert len(frames) == 1
    assert frames[0]["sandbox"] == ""
    assert "allow-scripts" not in content and "allow-same-origin" not in content
    logo = next(p for p in confirmation.walk() if p.get_content_type() == "image/png")
    srcdoc = frames[0]["srcdoc"]
    assert "img-src data:;" in srcdoc
    assert f"data:image/png;base64,{base64.b64encode(logo.get_payload(decode=True)).decode()}" in srcdoc
    assert "cid:" not in srcdoc


def test_image_part_is_shown_as_an_img_with_a_data_url(confirmation):
    explorer = explore(confirmation)
    logo = explorer.select(part_index(explorer, "image/png"))
    images = [attrs for tag, attrs in html_elements(explorer.content_html()) if tag == "img"]
    expected = base64.b64encode(logo.part.get_payload(decode=True)).decode()
    assert images == [{"alt": "logo.png", "style": images[0]["style"], "src": f"data:image/png;base64,{expected}"}]


def test_binary_part_shows_its_size_and_a_hex_head(invoice_mail):
    explorer = displayed(explore(invoice_mail))
    explorer.select(part_index(explorer, "application/pdf"))
    content = html.unescape(one(explorer.widget, "mimekit-part-content").value)
    assert f"{len(PDF):,} bytes of application/pdf; the first 256 in hex" in content
    assert "00000000  25 50 44 46 2d 31 2e 34  0a 25 e2 e3 cf d3 0a 31  |%PDF-1.4.%.....1|" in content
    assert hex_head(PDF) in content and len(hex_head(PDF).splitlines()) == 16


def test_source_pane_shows_the_transfer_encoded_body(confirmation):
    explorer = displayed(explore(confirmation))
    logo = explorer.select(part_index(explorer, "image/png"))
    source = html.unescape(one(explorer.widget, "mimekit-part-source").value)
    assert "base64: every 3 bytes become 4 ASCII characters" in source
    assert "Content-Transfer-Encoding: base64" in source
    assert base64.b64encode(logo.decoded()).decode()[:60] in source
    plain = explorer.select(part_index(explorer, "text/plain"))
    source = html.unescape(one(explorer.widget, "mimekit-part-source").value)
    assert "quoted-printable:" in source
    wire_body = plain.part.get_payload()  # the quoted-printable text as it travels
    assert "=C3=" in wire_body and wire_body.replace("\r\n", "\n").splitlines()[0] in source
    assert quopri.decodestring(wire_body.encode()) == plain.decoded()


def test_source_of_a_captured_message_is_its_exact_bytes(smtp_server, confirmation):
    with SMTPSession(smtp_server.host, smtp_server.port) as session:
        session.send(confirmation)
    captured = smtp_server.inbox.wait_for(1)[0]
    explorer = explore(captured)
    assert explorer.raw == captured.raw
    assert explorer.source_text(0) == captured.raw.decode("utf-8").replace("\r\n", "\n")
    assert [n.content_type for n in explorer.parts] == [n.content_type for n in explore(confirmation).parts]


def test_sizes_of_a_captured_text_part_count_crlf_and_the_summary_says_so(smtp_server, confirmation):
    built = explore(confirmation)
    with SMTPSession(smtp_server.host, smtp_server.port) as session:
        session.send(confirmation)
    captured = explore(smtp_server.inbox.wait_for(1)[0])
    plain = part_index(built, "text/plain")
    text = built.parts[plain].decoded()
    assert b"\r\n" not in text
    assert captured.parts[plain].size == built.parts[plain].size + text.count(b"\n")  # one CR per line
    for index in (0, plain, part_index(built, "text/html")):  # the text parts, and the list of #0's children
        assert CRLF_SIZE_NOTE in html.unescape(captured.summary_html(index))
        assert "mimekit-part-size-note" not in built.summary_html(index)
    logo = part_index(built, "image/png")
    assert captured.parts[logo].size == built.parts[logo].size  # base64 bytes: no line ends to count
    assert "mimekit-part-size-note" not in captured.summary_html(logo)


def test_forwarded_message_shows_the_inner_headers_and_its_parts_as_children(confirmation):
    forward = make_forward(confirmation, "Mira este pedido.")
    explorer = explore(forward)
    inner = explorer.parts[part_index(explorer, "message/rfc822")]
    assert [explorer.parts[i].content_type for i in inner.children] == ["multipart/alternative"]
    content = html.unescape(explorer.content_html(inner.index))
    assert "A whole message inside this one" in content and "Tu pedido 1001 está confirmado" in content


def test_multipart_content_lists_its_children_and_boundary(confirmation):
    explorer = explore(confirmation)
    content = html.unescape(explorer.content_html(0))
    boundary = confirmation.get_boundary()
    assert boundary is not None and f"--{boundary}" in content
    assert "A container of 2 parts" in content
    assert "#1 text/plain" in content and "#2 multipart/related" in content


def test_exploring_fixes_missing_boundaries_like_as_bytes_so_the_source_is_what_is_sent(confirmation):
    assert confirmation.get_boundary() is None
    explorer = explore(confirmation)
    boundary = confirmation.get_boundary()
    assert boundary is not None and f"--{boundary}" in explorer.source_text(0)
    assert f"--{boundary}".encode() in as_smtp_bytes(confirmation)


def test_files_are_attachments_and_named_inline_parts_with_download_links(invoice_mail):
    explorer = explore(invoice_mail)
    assert [node.filename for node in explorer.files] == ["logo.png", "factura-Núñez.pdf"]
    pdf = explorer.files[-1]
    links = [attrs for tag, attrs in html_elements(explorer.download_html(pdf.index)) if tag == "a"]
    assert links[0]["download"] == "factura-Núñez.pdf"
    assert links[0]["class"] == "mimekit-download"
    prefix = "data:application/octet-stream;base64,"
    assert links[0]["href"].startswith(prefix)
    assert base64.b64decode(links[0]["href"][len(prefix):]) == PDF


def test_select_names_the_valid_range_when_out_of_it(confirmation):
    explorer = explore(confirmation)
    with pytest.raises(IndexError, match="numbered 0 to 4"):
        explorer.select(5)
    with pytest.raises(TypeError, match="an int"):
        explorer.select("1")


# --------------------------------------------------------------------------- sources it accepts


def test_explore_reads_bytes_paths_and_captures_alike(tmp_path, confirmation):
    raw = as_smtp_bytes(confirmation)
    path = tmp_path / "order.eml"
    path.write_bytes(raw)
    from_bytes, from_path = explore(raw), explore(path)
    assert from_bytes.raw == raw and from_path.raw is None
    assert [n.summary for n in from_bytes.parts] == [n.summary for n in from_path.parts]
    with pytest.raises(TypeError, match="not int"):
        explore(42)


# --------------------------------------------------------------------------- static fallbacks


def test_static_html_is_the_tree_as_nested_lists_with_every_part_folded(invoice_mail):
    explorer = explore(invoice_mail)
    page = explorer._repr_html_()
    items = [attrs for tag, attrs in html_elements(page) if tag == "li" and "class" in attrs]
    assert [attrs["class"] for attrs in items] == [f"mimekit-part mimekit-part-{i}" for i in range(len(explorer.parts))]
    assert page.count("<details>") == 2 * len(explorer.parts) + 1  # part, its source; the HTML text
    frames = [attrs for tag, attrs in html_elements(page) if tag == "iframe"]
    assert len(frames) == 1 and frames[0]["sandbox"] == ""
    assert "mimekit-download" not in page  # no file bytes stored in the notebook twice
    assert page == explore(invoice_mail)._repr_html_()  # the same every time


def test_static_reprs_escape_a_hostile_subject(text_message):
    msg = text_message(subject="<script>alert('hola')</script> & más")
    explorer = explore(msg)
    page = explorer._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;hola&#x27;)&lt;/script&gt; &amp; más" in page
    assert str(explorer).splitlines()[0].startswith("<script>alert('hola')</script> & más — ")


def test_display_bundle_outside_a_kernel_is_deterministic_text_and_html(confirmation):
    """In a kernel the widget view joins them: see test_inbox_view's real-kernel test."""
    explorer = explore(confirmation)
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert explorer._widget is None  # no widget built where nothing could show it
    assert bundle["text/plain"] == str(explorer)
    assert render_tree(confirmation, explain_types=True) in bundle["text/plain"]
    assert bundle["text/html"] == explore(confirmation)._repr_html_()
    assert explorer.widget.model_id not in bundle["text/html"]
    assert re.fullmatch(r"<MessageExplorer 'Tu pedido 1001 está confirmado': 5 parts, #0 selected>", repr(explorer))


def test_headers_are_decoded_from_encoded_words(confirmation):
    explorer = explore(confirmation)
    raw_from = str(confirmation["From"])
    assert raw_from.startswith("=?utf-8?")
    assert ("From", "Tienda Ñandú <pedidos@tienda.example.com>") in explorer.parts[0].headers
    set_header(confirmation, "Cc", ["Zoë <zoe.anderson@example.org>"])
    assert ("Cc", "Zoë <zoe.anderson@example.org>") in explore(confirmation).parts[0].headers


def test_part_with_no_headers_says_what_the_defaults_are():
    explorer = explore(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhola\r\n--b--\r\n")
    assert explorer.parts[1].headers == []
    assert "text/plain in US-ASCII" in explorer.headers_html(1)


def test_inline_image_built_by_hand_keeps_its_content_type_in_the_data_url(png_bytes):
    msg = make_alternative("Hola", '<img src="cid:logo@x.example">')
    add_inline_image(msg, png_bytes, cid="<logo@x.example>", mime_type="image/png", filename="logo.png")
    explorer = explore(msg)
    index = part_index(explorer, "image/png")
    assert f'src="data:image/png;base64,{base64.b64encode(png_bytes).decode()}"' in explorer.content_html(index)


def test_without_ipywidgets_the_explorer_stays_static_and_says_how_to_get_widgets(monkeypatch, confirmation):
    import mimekit.preview

    monkeypatch.setattr(mimekit.preview, "_widgets", lambda: None)  # as if the lab extra were not installed
    explorer = explore(confirmation)
    assert explorer._repr_mimebundle_() == {"text/plain": str(explorer), "text/html": explorer._repr_html_()}
    with pytest.raises(ModuleNotFoundError, match=r"mimekit\[lab\]"):
        _ = explorer.widget
