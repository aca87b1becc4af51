"""Specification of mimekit.preview: e-mail HTML shown in a sandbox, cid: images inlined."""

from __future__ import annotations

import base64
import html
import re

import pytest

from mimekit import MimeStructureError, add_inline_image, make_alternative, make_text_part, preview_html

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
