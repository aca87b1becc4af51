"""Specification of mimekit.preview: e-mail HTML shown in a sandbox, cid: images inlined."""

from __future__ import annotations

import base64
import html
import re

import pytest

from message_parts import html_elements
from mimekit import (
    MimeStructureError,
    SMTPSession,
    add_inline_image,
    make_alternative,
    make_html_part,
    make_mixed,
    make_text_part,
    preview_html,
)
from mimekit.preview import preview_mail
from mimekit.shop import build_order_confirmation
from test_explorer import one

PLAIN = "Hola José"


def _srcdoc(preview) -> str:
    match = re.search(r'srcdoc="([^"]*)"', preview._repr_html_())
    assert match, "the preview is an iframe with a srcdoc"
    return html.unescape(match.group(1))


def test_preview_is_a_sandboxed_iframe_without_scripts_or_same_origin():
    frame = preview_html("<p>Hola</p>")._repr_html_()
    opening = frame.split(">", 1)[0]
    assert opening.startswith("<iframe ")
    assert 'sandbox=""' in opening
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame


def test_preview_blocks_remote_loads_with_a_content_security_policy():
    page = _srcdoc(preview_html('<img src="https://tracker.example.net/pixel.gif">'))
    assert "default-src 'none'" in page
    assert "img-src data:" in page


def test_script_in_the_html_stays_inside_the_escaped_srcdoc():
    frame = preview_html("<p>Hola</p><script>document.title='pwned'</script>")._repr_html_()
    assert "<script>" not in frame  # only inside srcdoc, escaped
    assert "&lt;script&gt;" in frame


def test_cid_images_become_data_urls_matched_exactly(png_bytes):
    other = png_bytes + b"\x00"
    msg = make_alternative(
        PLAIN, '<img src="cid:a@x.example"><img src="cid:a@x.example.net"><img src="cid:missing@x.example">'
    )
    add_inline_image(msg, png_bytes, cid="<a@x.example>", mime_type="image/png")
    add_inline_image(msg, other, cid="<a@x.example.net>", mime_type="image/png")
    preview = preview_html(msg)
    page = _srcdoc(preview)
    assert f"data:image/png;base64,{base64.b64encode(png_bytes).decode()}\"" in page
    assert f"data:image/png;base64,{base64.b64encode(other).decode()}\"" in page
    assert preview.resolved == ["<a@x.example>", "<a@x.example.net>"]
    assert preview.unresolved == ["<missing@x.example>"]
    assert "cid:missing@x.example" in page
    assert "1 missing" in repr(preview)


def test_preview_of_a_message_without_html_says_so():
    with pytest.raises(MimeStructureError, match="no text/html"):
        preview_html(make_text_part(PLAIN))


# --------------------------------------------------------------------------- remote images, chosen parts, captures

TRACKER = "https://tracker.example.net/pixel.gif"


def test_remote_images_are_listed_and_blocked_until_allowed():
    source = f'<p>Hola</p><img src="{TRACKER}"><div style="background:url(\'https://cdn.example.com/bg.png\')"></div>'
    blocked = preview_html(source)
    assert blocked.remote == [TRACKER, "https://cdn.example.com/bg.png"]
    assert "img-src data:;" in _srcdoc(blocked) and "https:" not in blocked.csp
    assert "2 remote image(s) blocked" in repr(blocked)
    allowed = preview_html(source, remote_images=True)
    assert "img-src data: https:;" in _srcdoc(allowed)
    assert "default-src 'none'" in _srcdoc(allowed)  # scripts, frames, fetches stay off
    assert 'sandbox=""' in allowed._repr_html_() and "allow-" not in allowed._repr_html_()
    assert "remote images allowed (https)" in repr(allowed)


def test_default_frame_is_unchanged_for_notebooks_that_stored_it():
    frame = preview_html("<p>Hola</p>", height=720)._repr_html_()
    assert frame == (
        '<iframe sandbox="" referrerpolicy="no-referrer" width="640" height="720" style="border:1px solid #ccc" '
        "srcdoc=\"&lt;meta http-equiv=&quot;Content-Security-Policy&quot; content=&quot;default-src &#x27;none&#x27;; "
        "img-src data:; style-src &#x27;unsafe-inline&#x27;; font-src data:&quot;&gt;"
        "&lt;p&gt;Hola&lt;/p&gt;\"></iframe>"
    )
    assert repr(preview_html("<p>Hola</p>")) == (
        "<HTMLPreview: 11 bytes of HTML in a sandboxed frame, scripts off, remote content blocked, "
        "0 cid: image(s) inlined>"
    )


def test_part_chooses_which_html_part_to_show():
    first = make_html_part("<p>primera</p>")
    second = make_html_part("<p>segunda</p>")
    msg = make_mixed(first, [])
    msg.attach(second)
    assert "segunda" in _srcdoc(preview_html(msg, part=second))
    assert "primera" in _srcdoc(preview_html(msg))
    with pytest.raises(MimeStructureError, match="not in its tree"):
        preview_html(msg, part=make_html_part("<p>otra</p>"))
    with pytest.raises(MimeStructureError, match="not text/html"):
        preview_html(msg, part=msg)


def test_a_captured_message_previews_like_the_message_sent(smtp_server, order, shop):
    msg = build_order_confirmation(order, shop)
    with SMTPSession(smtp_server.host, smtp_server.port) as session:
        session.send(msg)
    captured = smtp_server.inbox.wait_for(1)[0]
    preview = preview_html(captured)
    assert len(preview.resolved) == 1 and preview.unresolved == []
    assert "data:image/png;base64," in _srcdoc(preview)
    with pytest.raises(TypeError, match="load_message"):
        preview_html(b"<p>bytes</p>")


# --------------------------------------------------------------------------- preview_mail: desktop and phone


def _frames(page: str) -> list[dict]:
    return [attrs for tag, attrs in html_elements(page) if tag == "iframe"]


def test_mail_preview_shows_desktop_and_phone_frames_side_by_side(order, shop):
    mail = preview_mail(build_order_confirmation(order, shop))
    page = mail._repr_html_()
    frames = _frames(page)
    assert [f["width"] for f in frames] == ["600", "375"]
    assert all(f["sandbox"] == "" for f in frames) and "allow-" not in page
    assert "Desktop · 600 px" in page and "Phone · 375 px" in page
    assert ("Subject", "Tu pedido 1001 está confirmado") in mail.headers
    assert "<td>Tienda Ñandú &lt;pedidos@tienda.example.com&gt;</td>" in page


def test_mail_preview_widget_toggle_loads_remote_images_in_both_frames():
    msg = make_alternative("Hola", f'<p>Hola</p><img src="{TRACKER}">')
    mail = preview_mail(msg)
    widget = mail.widget
    toggle = one(widget, "mimekit-preview-remote-toggle")
    frames = one(widget, "mimekit-preview-frames")
    status = one(widget, "mimekit-preview-remote-status")
    assert toggle.value is False and "1 remote image blocked" in status.value
    assert all("img-src data:;" in f["srcdoc"] for f in _frames(frames.value))
    toggle.value = True
    assert mail.remote_images is True and "allowed" in status.value
    assert [f["srcdoc"].count("img-src data: https:;") for f in _frames(frames.value)] == [1, 1]
    mail.remote_images = False
    assert toggle.value is False and "img-src data:;" in _frames(frames.value)[0]["srcdoc"]


def test_mail_preview_of_plain_text_shows_the_text_escaped_in_the_frames(text_message):
    mail = preview_mail(text_message("Hola <b>José</b>\n", subject="<script>x</script>"))
    page = mail._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    srcdoc = _frames(page)[1]["srcdoc"]  # the parser already undid one level of escaping
    assert "<pre" in srcdoc and "Hola &lt;b&gt;José&lt;/b&gt;" in srcdoc
    assert str(mail).splitlines()[-1].startswith("[plain text body in sandboxed frames 600 px (desktop) and 375 px")


def test_mail_preview_bundle_outside_a_kernel_is_its_static_html_and_text(order, shop):
    mail = preview_mail(build_order_confirmation(order, shop))
    bundle = mail._repr_mimebundle_()
    assert bundle == {"text/plain": str(mail), "text/html": mail._repr_html_()}


def test_mail_preview_needs_a_body_and_a_message():
    from email.mime.application import MIMEApplication

    with pytest.raises(MimeStructureError, match="no text/html and no text/plain"):
        preview_mail(MIMEApplication(b"\x00\x01"))
    with pytest.raises(TypeError, match="not int"):
        preview_mail(7)
