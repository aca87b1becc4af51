"""Show an e-mail's HTML safely in a notebook: a sandboxed frame, no scripts, remote images off until asked.

E-mail HTML is untrusted: it may carry scripts, forms, tracking pixels. Mail
clients never run its scripts and block remote images until the reader allows
them. :func:`preview_html` does the same in Jupyter:

* the HTML goes in an ``<iframe sandbox srcdoc="…">``: an empty ``sandbox``
  attribute gives no ``allow-scripts`` and no ``allow-same-origin``, so no script
  runs and the frame cannot reach the notebook;
* a Content-Security-Policy inside the frame allows images only from
  ``data:`` URLs, so nothing is fetched from the network (no tracking pixel);
  ``remote_images=True`` also allows ``https:`` images, as a reader does who
  clicks "load remote images" in a mail client;
* ``cid:`` references (RFC 2392) are replaced by ``data:`` URLs made from the
  matching inline parts of the message, as a mail client does, so the logo shows.

:func:`preview_mail` shows the whole e-mail as a reader meets it: its From,
To and Subject, then the body at a desktop width (600 px) and a phone width
(375 px) side by side, remote images blocked until you switch them on. Where
ipywidgets runs (JupyterLab) the switch is a button; elsewhere the same
preview is static HTML, and plain text in a terminal.

CSS classes of the interactive preview, for browser tests and custom styling:

==================================  ===============================================
``mimekit-preview``                 the whole preview (also on the static HTML)
``mimekit-preview-headers``         the From / To / Cc / Subject / Date table
``mimekit-preview-remote-toggle``   the button that loads or blocks remote images
``mimekit-preview-remote-status``   how many remote images were found, and their state
``mimekit-preview-frames``          the desktop and phone frames
``mimekit-preview-desktop``         the desktop frame's figure
``mimekit-preview-phone``           the phone frame's figure
==================================  ===============================================
"""

from __future__ import annotations

import base64
import email.header
import email.policy
import html as _html
import re
from email.message import Message
from os import PathLike
from typing import Any
from urllib.parse import unquote

from .errors import MimeStructureError
from .multipart import CID_URL
from .server import CapturedMessage
from .tree import _decoded_text, load_message

__all__ = ["HTMLPreview", "MailPreview", "preview_html", "preview_mail"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
_CSP_REMOTE = "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; font-src data:"

#: Remote resources a mail client blocks by default: ``src=``, ``background=`` and CSS ``url(…)`` over http(s).
_REMOTE_URL = re.compile(
    r"""(?:\b(?:src|background)\s*=\s*["']?|\burl\(\s*["']?)(https?://[^"'\s)>]+)""", re.IGNORECASE
)

_WIDGETS_HINT = (
    "ipywidgets is not installed, so this view cannot be interactive; install the kit's lab extra "
    "(pip install 'mimekit[lab]', or `make lab`) or display the object for its static HTML instead."
)


class HTMLPreview:
    """A sandboxed rendering of an e-mail's HTML; Jupyter displays it via ``_repr_html_``.

    ``html`` is the HTML after ``cid:`` URLs were replaced; ``resolved`` and
    ``unresolved`` list the Content-IDs found and missing; ``remote`` lists the
    remote (http/https) image URLs in the HTML, each once, and
    ``remote_images`` says whether the frame may load the https ones. Sizes are
    in CSS pixels. Outside Jupyter, ``repr()`` gives a one-line summary.
    """

    def __init__(
        self,
        html: str,
        *,
        resolved: list[str],
        unresolved: list[str],
        width: int,
        height: int,
        remote_images: bool = False,
    ) -> None:
        self.html = html
        self.resolved = resolved
        self.unresolved = unresolved
        self.width = width
        self.height = height
        self.remote_images = remote_images
        self.remote = list(dict.fromkeys(_html.unescape(url) for url in _REMOTE_URL.findall(html)))

    @property
    def csp(self) -> str:
        """The Content-Security-Policy inside the frame: ``img-src data:``, plus ``https:`` when allowed."""
        return _CSP_REMOTE if self.remote_images else _CSP

    def _repr_html_(self) -> str:
        page = f'<meta http-equiv="Content-Security-Policy" content="{self.csp}">' + self.html
        return (
            f'<iframe sandbox="" referrerpolicy="no-referrer" width="{self.width}" height="{self.height}" '
            f'style="border:1px solid #ccc" srcdoc="{_html.escape(page, quote=True)}"></iframe>'
        )

    def __repr__(self) -> str:
        missing = f", {len(self.unresolved)} missing: {', '.join(self.unresolved)}" if self.unresolved else ""
        remote = "remote images allowed (https)" if self.remote_images else "remote content blocked"
        found = ""
        if self.remote:
            state = "may load" if self.remote_images else "blocked"
            found = f", {len(self.remote)} remote image(s) {state}"
        return (
            f"<HTMLPreview: {len(self.html.encode('utf-8')):,} bytes of HTML in a sandboxed frame, "
            f"scripts off, {remote}, {len(self.resolved)} cid: image(s) inlined{missing}{found}>"
        )


def preview_html(
    msg: Message | CapturedMessage | str,
    *,
    width: int = 640,
    height: int = 480,
    remote_images: bool = False,
    part: Message | None = None,
) -> HTMLPreview:
    """Return a sandboxed :class:`HTMLPreview` of *msg*'s text/html part (or of an HTML str).

    *msg* is a message (``email.mime`` or ``EmailMessage``), a
    :class:`~mimekit.server.CapturedMessage`, or a str of HTML shown as it is.
    For a message, the first text/html part is shown, or *part* when given (a
    text/html part of *msg*, e.g. one found with ``msg.walk()``), and every
    ``cid:`` URL whose Content-ID is a part of the message becomes a ``data:``
    URL (RFC 2392). Sizes are in CSS pixels. ``remote_images=True`` lets the
    frame load ``https:`` images (what "load remote images" does in a mail
    client; the sender then learns that, and when, you read the mail).

    Raises :class:`MimeStructureError` when the message has no text/html part,
    or *part* is not a text/html part of *msg*; ``TypeError`` for any other
    kind of *msg*.
    """
    if isinstance(msg, str):
        return HTMLPreview(
            msg, resolved=[], unresolved=[], width=width, height=height, remote_images=remote_images
        )
    if isinstance(msg, CapturedMessage):
        msg = msg.message
    if not isinstance(msg, Message):
        raise TypeError(
            f"preview_html() takes a message, a CapturedMessage or a str of HTML, not {type(msg).__name__}; "
            "parse bytes first with mimekit.load_message(data)."
        )
    if part is None:
        html_part = next((p for p in msg.walk() if p.get_content_type() == "text/html"), None)
        if html_part is None:
            raise MimeStructureError(
                "This message has no text/html part to preview; it is plain text only. Print its text part instead."
            )
    else:
        if not any(p is part for p in msg.walk()):
            raise MimeStructureError(
                "part= must be one of the message's own parts (take it from msg.walk()); this one is not in its tree."
            )
        if part.get_content_type() != "text/html":
            raise MimeStructureError(
                f"part= is {part.get_content_type()}, not text/html; only HTML is shown in the frame."
            )
        html_part = part
    html = _decoded_text(html_part)
    by_cid = {
        str(p["Content-ID"]).strip().strip("<>"): p
        for p in msg.walk()
        if p["Content-ID"] is not None and not p.is_multipart()
    }
    resolved: list[str] = []
    unresolved: list[str] = []

    def inline(match: re.Match[str]) -> str:
        cid = unquote(match.group(1))
        found = by_cid.get(cid)
        if found is None:
            if f"<{cid}>" not in unresolved:
                unresolved.append(f"<{cid}>")
            return match.group(0)
        if f"<{cid}>" not in resolved:
            resolved.append(f"<{cid}>")
        data = base64.b64encode(found.get_payload(decode=True) or b"").decode("ascii")
        return f"data:{found.get_content_type()};base64,{data}"

    html = CID_URL.sub(inline, html)
    return HTMLPreview(
        html, resolved=resolved, unresolved=unresolved, width=width, height=height, remote_images=remote_images
    )


# --------------------------------------------------------------------------- the e-mail as a reader sees it


class MailPreview:
    """An e-mail as a mail client shows it: headers, then the body at a desktop and a phone width.

    Both frames are :class:`HTMLPreview` sandboxes (no scripts, no same
    origin). ``remote_images`` is false until you allow remote images; set it
    (or click the button in JupyterLab) and both frames reload with ``https:``
    images allowed. ``remote`` lists the remote image URLs of the body.

    Displayed in JupyterLab it is an ipywidgets view with the remote-images
    button; in a static notebook viewer the same frames as HTML; ``print()``
    or a terminal gives the headers and a summary as text.
    """

    _SHOWN_HEADERS = ("From", "To", "Cc", "Subject", "Date")

    def __init__(
        self, message: Message, *, desktop_width: int, phone_width: int, height: int, remote_images: bool
    ) -> None:
        self.message = message
        self.desktop_width = desktop_width
        self.phone_width = phone_width
        self.height = height
        self._remote_images = bool(remote_images)
        self._html_part = next((p for p in message.walk() if p.get_content_type() == "text/html"), None)
        self._widget: Any = None
        self._frames_pane: Any = None
        self._status_pane: Any = None
        self._toggle: Any = None
        self.remote = self.frame(desktop_width).remote

    # -- what is shown

    @property
    def remote_images(self) -> bool:
        """Whether the frames may load ``https:`` images; setting it redraws the widget, if shown."""
        return self._remote_images

    @remote_images.setter
    def remote_images(self, allowed: bool) -> None:
        self._remote_images = bool(allowed)
        if self._widget is not None:
            self._frames_pane.value = self._frames_html()
            self._status_pane.value = _html.escape(self._remote_status())
            if self._toggle.value != self._remote_images:
                self._toggle.value = self._remote_images

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The From, To, Cc, Subject and Date the message has, decoded (RFC 2047), in that order."""
        return [(name, _header_text(self.message, name)) for name in self._SHOWN_HEADERS if name in self.message]

    def frame(self, width: int) -> HTMLPreview:
        """Return the body as one :class:`HTMLPreview` *width* CSS pixels wide (plain text when there is no HTML)."""
        if self._html_part is not None:
            return preview_html(
                self.message, part=self._html_part, width=width, height=self.height, remote_images=self._remote_images
            )
        plain = next((p for p in self.message.walk() if p.get_content_type() == "text/plain"), None)
        text = _decoded_text(plain) if plain is not None else ""
        page = (
            '<pre style="white-space:pre-wrap;font-family:ui-monospace,monospace;margin:8px">'
            f"{_html.escape(text.replace(chr(13) + chr(10), chr(10)))}</pre>"
        )
        return HTMLPreview(page, resolved=[], unresolved=[], width=width, height=self.height)

    def _remote_status(self) -> str:
        if not self.remote:
            return "No remote images: everything this e-mail shows travels inside it."
        count = f"{len(self.remote)} remote image{'s' if len(self.remote) != 1 else ''}"
        if self._remote_images:
            return f"{count} allowed: the frames fetch https: images, and the sender's server sees each fetch."
        return f"{count} blocked, as a mail client does until you allow them (a remote image can track reading)."

    def _headers_html(self) -> str:
        rows = "".join(
            f'<tr><th style="text-align:left;padding-right:1em">{_html.escape(name)}</th>'
            f"<td>{_html.escape(value)}</td></tr>"
            for name, value in self.headers
        )
        return f'<table class="mimekit-preview-headers">{rows}</table>'

    def _frames_html(self) -> str:
        figures = []
        for kind, width in (("desktop", self.desktop_width), ("phone", self.phone_width)):
            figures.append(
                f'<figure class="mimekit-preview-{kind}" style="margin:0;flex:none">'
                f"<figcaption>{kind.capitalize()} · {width} px</figcaption>"
                f"{self.frame(width)._repr_html_()}</figure>"
            )
        return (
            '<div style="display:flex;gap:16px;align-items:flex-start;overflow-x:auto">' + "".join(figures) + "</div>"
        )

    # -- display

    def _repr_html_(self) -> str:
        return (
            '<div class="mimekit-preview">'
            + self._headers_html()
            + f'<p class="mimekit-preview-remote-status">{_html.escape(self._remote_status())}</p>'
            + self._frames_html()
            + "</div>"
        )

    def __str__(self) -> str:
        lines = [f"{name}: {value}" for name, value in self.headers]
        body = "HTML" if self._html_part is not None else "plain text"
        lines.append(
            f"[{body} body in sandboxed frames {self.desktop_width} px (desktop) and {self.phone_width} px (phone); "
            f"scripts off; {self._remote_status()[0].lower()}{self._remote_status()[1:]}]"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        subject = _header_text(self.message, "Subject")
        state = "allowed" if self._remote_images else "blocked"
        return (
            f"<MailPreview {subject!r}: {self.desktop_width} px and {self.phone_width} px frames, "
            f"{len(self.remote)} remote image(s) {state}>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else str(self))

    @property
    def widget(self) -> Any:
        """The ipywidgets view (built on first use): headers, the remote-images button, both frames.

        Raises ``ModuleNotFoundError`` when ipywidgets is not installed.
        """
        if self._widget is None:
            widgets = _require_widgets()
            headers = widgets.HTML(self._headers_html())
            headers.add_class("mimekit-preview-headers")
            self._toggle = widgets.ToggleButton(
                value=self._remote_images,
                description="Load remote images",
                tooltip="Allow https: images in both frames (the sender's server sees each fetch)",
                icon="image",
                layout=widgets.Layout(width="auto"),
            )
            self._toggle.add_class("mimekit-preview-remote-toggle")
            self._status_pane = widgets.HTML(_html.escape(self._remote_status()))
            self._status_pane.add_class("mimekit-preview-remote-status")
            self._frames_pane = widgets.HTML(self._frames_html())
            self._frames_pane.add_class("mimekit-preview-frames")

            def toggled(change: dict[str, Any]) -> None:
                self.remote_images = change["new"]

            self._toggle.observe(toggled, names="value")
            self._widget = widgets.VBox([headers, widgets.HBox([self._toggle, self._status_pane]), self._frames_pane])
            self._widget.add_class("mimekit-preview")
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _widget_bundle(self, text=str(self), html=self._repr_html_())


def preview_mail(
    source: Message | CapturedMessage | bytes | str | PathLike[str],
    *,
    desktop_width: int = 600,
    phone_width: int = 375,
    height: int = 620,
    remote_images: bool = False,
) -> MailPreview:
    """Return a :class:`MailPreview`: the e-mail's headers, then its body at a desktop and a phone width.

    *source* is a message (``email.mime`` or ``EmailMessage``), a
    :class:`~mimekit.server.CapturedMessage`, the raw bytes of one, or the
    path of an ``.eml`` file. The body is the first text/html part, with
    ``cid:`` images inlined (RFC 2392), or else the first text/plain part.
    Widths and *height* are in CSS pixels (600 is the classic e-mail width,
    375 a common phone). Remote images are blocked until ``remote_images=True``
    or the "Load remote images" button; nothing else remote ever loads and no
    script runs (see :func:`preview_html`).

    >>> from mimekit import make_alternative
    >>> mail = preview_mail(make_alternative("Hola", '<p>Hola</p><img src="https://tracker.example.net/p.gif">'))
    >>> mail
    <MailPreview '': 600 px and 375 px frames, 1 remote image(s) blocked>
    >>> mail.remote
    ['https://tracker.example.net/p.gif']

    Raises :class:`MimeStructureError` when the message has neither a text/html
    nor a text/plain part; ``TypeError`` for a source of another type, and what
    :func:`~mimekit.tree.load_message` raises for a path.
    """
    message, _raw = _read_message(source)
    if not any(p.get_content_type() in ("text/html", "text/plain") for p in message.walk()):
        raise MimeStructureError(
            "This message has no text/html and no text/plain part, so a mail client would show no body; "
            "use mimekit.explore(msg) to look at its parts."
        )
    return MailPreview(
        message,
        desktop_width=desktop_width,
        phone_width=phone_width,
        height=height,
        remote_images=remote_images,
    )


# --------------------------------------------------------------------------- shared by the notebook views


def _read_message(source: Any) -> tuple[Message, bytes | None]:
    """The message *source* stands for, and its exact bytes when known (a capture or raw bytes)."""
    if isinstance(source, CapturedMessage):
        return source.message, source.raw
    if isinstance(source, Message):
        return source, None
    if isinstance(source, (bytes, bytearray)):
        return load_message(bytes(source)), bytes(source)
    if isinstance(source, (str, PathLike)):
        return load_message(source), None
    raise TypeError(
        f"Expected a message (email.message.Message / EmailMessage), a CapturedMessage from a server's inbox, "
        f"its raw bytes or an .eml path, not {type(source).__name__}."
    )


def _header_text(part: Message, name: str) -> str:
    """Every *name* header of *part*, decoded from RFC 2047 encoded words, joined by ", "."""
    return ", ".join(
        _decoded_header(part, field, value) for field, value in part.raw_items() if field.lower() == name.lower()
    )


def _decoded_header(part: Message, name: str, value: Any) -> str:
    """One header value as a reader sees it: encoded words decoded (RFC 2047), folding undone."""
    try:
        if isinstance(part.policy, email.policy.Compat32):
            value = email.header.make_header(email.header.decode_header(str(value)))
        else:
            value = part.policy.header_fetch_parse(name, value)
    except Exception:  # a header too broken to decode: show it as it is
        pass
    return " ".join(str(value).split())


def _widgets() -> Any:
    """The ipywidgets module, or None where it is not installed."""
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def _in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (where a widget has a front end to show it)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def _require_widgets() -> Any:
    widgets = _widgets()
    if widgets is None:
        raise ModuleNotFoundError(_WIDGETS_HINT, name="ipywidgets")
    return widgets


def _widget_bundle(view: Any, *, text: str, html: str) -> dict[str, Any]:
    """The display bundle of a notebook view: its widget (in a Jupyter kernel), static HTML, plain text.

    nbval compares text/plain and text/html and skips the widget's
    ``application/vnd.jupyter.widget-view+json`` (its model id is random), so
    the first two must be deterministic; JupyterLab renders the widget,
    static viewers the HTML. Outside a kernel (a terminal IPython) no widget
    is built, so no live updater starts where nothing could show it.
    """
    bundle: dict[str, Any] = {"text/plain": text, "text/html": html}
    if _widgets() is not None and _in_kernel():
        widget_data = view.widget._repr_mimebundle_() or {}
        for mimetype, data in widget_data.items():
            if mimetype != "text/plain":
                bundle[mimetype] = data
    return bundle
