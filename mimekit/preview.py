"""Show an e-mail's HTML safely in a notebook: a sandboxed frame, no scripts, no remote loads.

E-mail HTML is untrusted: it may carry scripts, forms, tracking pixels. Mail
clients never run its scripts and block remote images until the reader allows
them. :func:`preview_html` does the same in Jupyter:

* the HTML goes in an ``<iframe sandbox srcdoc="…">``: an empty ``sandbox``
  attribute gives no ``allow-scripts`` and no ``allow-same-origin``, so no script
  runs and the frame cannot reach the notebook;
* a Content-Security-Policy inside the frame allows images only from
  ``data:`` URLs, so nothing is fetched from the network (no tracking pixel);
* ``cid:`` references (RFC 2392) are replaced by ``data:`` URLs made from the
  matching inline parts of the message, as a mail client does, so the logo shows.
"""

from __future__ import annotations

import base64
import html as _html
import re
from urllib.parse import unquote
from email.message import Message

from .errors import MimeStructureError
from .multipart import CID_URL

__all__ = ["HTMLPreview", "preview_html"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


class HTMLPreview:
    """A sandboxed rendering of an e-mail's HTML; Jupyter displays it via ``_repr_html_``.

    ``html`` is the HTML after ``cid:`` URLs were replaced; ``resolved`` and
    ``unresolved`` list the Content-IDs found and missing. Outside Jupyter,
    ``repr()`` gives a one-line summary.
    """

    def __init__(self, html: str, *, resolved: list[str], unresolved: list[str], width: int, height: int) -> None:
        self.html = html
        self.resolved = resolved
        self.unresolved = unresolved
        self.width = width
        self.height = height

    def _repr_html_(self) -> str:
        page = f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">' + self.html
        return (
            f'<iframe sandbox="" referrerpolicy="no-referrer" width="{self.width}" height="{self.height}" '
            f'style="border:1px solid #ccc" srcdoc="{_html.escape(page, quote=True)}"></iframe>'
        )

    def __repr__(self) -> str:
        missing = f", {len(self.unresolved)} missing: {', '.join(self.unresolved)}" if self.unresolved else ""
        return (
            f"<HTMLPreview: {len(self.html.encode('utf-8')):,} bytes of HTML in a sandboxed frame, "
            f"scripts off, remote content blocked, {len(self.resolved)} cid: image(s) inlined{missing}>"
        )


def preview_html(msg: Message | str, *, width: int = 640, height: int = 480) -> HTMLPreview:
    """Return a sandboxed :class:`HTMLPreview` of *msg*'s text/html part (or of an HTML str).

    For a message, the first text/html part is shown and every ``cid:`` URL
    whose Content-ID is a part of the message becomes a ``data:`` URL. Sizes
    are in CSS pixels. Raises :class:`MimeStructureError` when the message has
    no text/html part.
    """
    if isinstance(msg, str):
        return HTMLPreview(msg, resolved=[], unresolved=[], width=width, height=height)
    html_part = next((p for p in msg.walk() if p.get_content_type() == "text/html"), None)
    if html_part is None:
        raise MimeStructureError(
            "This message has no text/html part to preview; it is plain text only. Print its text part instead."
        )
    charset = html_part.get_content_charset() or "utf-8"
    data = html_part.get_payload(decode=True) or b""
    try:
        html = data.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: show what UTF-8 makes of it
        html = data.decode("utf-8", errors="replace")
    by_cid = {
        str(p["Content-ID"]).strip().strip("<>"): p
        for p in msg.walk()
        if p["Content-ID"] is not None and not p.is_multipart()
    }
    resolved: list[str] = []
    unresolved: list[str] = []

    def inline(match: re.Match[str]) -> str:
        cid = unquote(match.group(1))
        part = by_cid.get(cid)
        if part is None:
            if f"<{cid}>" not in unresolved:
                unresolved.append(f"<{cid}>")
            return match.group(0)
        if f"<{cid}>" not in resolved:
            resolved.append(f"<{cid}>")
        data = base64.b64encode(part.get_payload(decode=True) or b"").decode("ascii")
        return f"data:{part.get_content_type()};base64,{data}"

    html = CID_URL.sub(inline, html)
    return HTMLPreview(html, resolved=resolved, unresolved=unresolved, width=width, height=height)
