"""Explore a message part by part: its MIME tree, and for each part its headers, content and source.

:func:`explore` takes any message (``email.mime`` or ``EmailMessage``, the raw
bytes of one, an ``.eml`` path, or a :class:`~mimekit.server.CapturedMessage`
from the embedded server) and returns a :class:`MessageExplorer`. In
JupyterLab it is an interactive tree: click a part and the panes beside it show

* what that kind of part is for, in plain words (:func:`mimekit.tree.explain`);
* its headers, decoded (RFC 2047 encoded words turned into text);
* its content, decoded (the transfer encoding undone): text as text, HTML
  rendered in a sandboxed frame (no scripts, no remote loads, see
  :mod:`mimekit.preview`), images as images, any other bytes as their size
  and the first 256 bytes in hex;
* its source as it travels: the header lines and the body in its transfer
  encoding (base64, quoted-printable …), which is what the parser read.

Parts are numbered in ``msg.walk()`` order: ``#0`` is the message itself,
then depth first, the order :func:`mimekit.tree.render_tree` draws them in.

Sizes are decoded sizes in bytes. A text part read back from the wire (a
capture, raw bytes, an ``.eml`` file) still has the CRLF line ends it
travelled with (RFC 5322 §2.1), so it is one byte per line longer than the
same part built in Python, whose lines end in LF; the panes say so where it
applies.

Where widgets do not run (a static notebook viewer, nbval, a terminal) the
same explorer shows as HTML (the tree as nested lists, each part folded in a
``<details>``) or as the text of :func:`~mimekit.tree.render_tree`.

CSS classes of the interactive explorer, for browser tests and custom styling
(``N`` is the part's number):

===============================  ===================================================
``mimekit-explorer``             the whole explorer (also on the static HTML)
``mimekit-explorer-title``       Subject, From and To of the message
``mimekit-tree``                 the tree of parts
``mimekit-part``                 the button of each part (number, MIME type, file name); click it to select the part
``mimekit-part-N``               the button of part N (``mimekit-part-0`` is the message)
``mimekit-part-selected``        the button of the selected part
``mimekit-part-toggle``          the button that folds or unfolds a multipart's children
``mimekit-part-children``        the box holding a multipart's children
``mimekit-part-details``         the panes of the selected part, below
``mimekit-part-summary``         its tree line: type, charset, encoding, file name, size
``mimekit-part-size-note``       why a size read back from the wire counts CRLF line ends
``mimekit-part-explanation``     what this kind of part is for
``mimekit-part-headers``         its headers, decoded, as a table
``mimekit-part-tabs``            the tabs "Content" and "Source (as sent)"
``mimekit-part-content``         its decoded content
``mimekit-part-source``          its source, transfer-encoded
``mimekit-download``             a link that downloads a part's decoded bytes (data: URL)
===============================  ===================================================
"""

from __future__ import annotations

import base64
import dataclasses
import email.generator
import html as _html
import io
import mimetypes
import re
import threading
from email.message import Message
from os import PathLike
from typing import Any

from .preview import (
    _decoded_header,
    _header_text,
    _read_message,
    _require_widgets,
    _widget_bundle,
    preview_html,
)
from .server import CapturedMessage
from .tree import _decoded_size, _decoded_text, _defects, _describe, _describe_defect, explain, render_tree

__all__ = ["CRLF_SIZE_NOTE", "CTE_NOTES", "HEX_HEAD_BYTES", "MessageExplorer", "PartNode", "explore", "hex_head"]

#: Bytes shown in hex for a binary part that is not an image.
HEX_HEAD_BYTES = 256
#: Characters of text or source shown in the interactive panes before "… N more characters".
_SHOWN_CHARS = 60_000
#: Characters of source shown per part in the static HTML (it is stored in the notebook).
_STATIC_SOURCE_CHARS = 3_000
#: Largest part offered as a download link (a data: URL holds the bytes, a third larger).
_MAX_DOWNLOAD_BYTES = 4 * 1024 * 1024

#: What each Content-Transfer-Encoding does to the body on the wire (RFC 2045 §6).
CTE_NOTES: dict[str, str] = {
    "7bit": "7bit: short lines of ASCII text, sent as they are (RFC 2045 §2.7).",
    "8bit": (
        "8bit: lines may hold any byte but NUL and lone CR or LF; only for servers that offer "
        "8BITMIME (RFC 2045 §2.8, RFC 6152)."
    ),
    "binary": "binary: any bytes and line lengths; needs BINARYMIME, rare in practice (RFC 3030).",
    "quoted-printable": (
        "quoted-printable: ASCII stays readable, every other byte becomes =XX (=C3=B1 for ñ), and a line "
        "ending in '=' is a soft break, joined when decoding (RFC 2045 §6.7)."
    ),
    "base64": "base64: every 3 bytes become 4 ASCII characters, in lines of 76 (RFC 2045 §6.8).",
}
_NO_CTE_NOTE = "No Content-Transfer-Encoding header: the body is 7bit, short lines of ASCII (RFC 2045 §6.1)."
#: Said beside the sizes of a part whose decoded text has CRLF line ends (read back from the wire).
CRLF_SIZE_NOTE = (
    "Sizes count the CRLF line ends the message travelled with (RFC 5322 §2.1): each line of text is one byte "
    "longer here than in the same message built in Python, whose lines end in LF."
)
#: Wrap long values (Message-ID, boundary, Content-ID) anywhere rather than run past the pane's edge.
_WRAP = "overflow-wrap:anywhere"
_MULTIPART_CTE_NOTE = (
    "A multipart has no encoding of its own: each part carries its own, and the container itself may only "
    "be 7bit, 8bit or binary (RFC 2045 §6.4). Between the parts come the boundary lines, --boundary, and "
    "--boundary-- after the last (RFC 2046 §5.1.1)."
)


@dataclasses.dataclass(frozen=True, eq=False)
class PartNode:
    """One part of a message, as the explorer shows it.

    ``index`` is its number in ``msg.walk()`` order (0 is the message itself),
    ``depth`` its depth in the tree (0 for the message), ``parent`` the index
    of the multipart or message/rfc822 that holds it (``None`` for the
    message), ``children`` the indexes of the parts it holds. ``part`` is the
    stdlib object itself, so you can go on with ``node.part.get_content()``.
    ``summary`` is its :func:`~mimekit.tree.render_tree` line.
    """

    index: int
    depth: int
    parent: int | None
    children: tuple[int, ...]
    part: Message
    summary: str

    @property
    def content_type(self) -> str:
        """The part's MIME type, lowercase, without parameters (``"text/html"``)."""
        return self.part.get_content_type()

    @property
    def explanation(self) -> str:
        """What this kind of part is for, in one sentence (:func:`mimekit.tree.explain`)."""
        return explain(self.content_type)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The part's header fields in order, each value decoded (RFC 2047) and unfolded."""
        return [(name, _decoded_header(self.part, name, value)) for name, value in self.part.raw_items()]

    @property
    def filename(self) -> str | None:
        """The file name from Content-Disposition or Content-Type, decoded (RFC 2231, RFC 2047), or ``None``."""
        try:
            name = self.part.get_filename()
        except Exception:  # a parameter too broken to decode
            return None
        return None if name is None else str(name)

    @property
    def size(self) -> int:
        """The decoded size in bytes (0 for a multipart), as :func:`~mimekit.tree.render_tree` reports it."""
        return 0 if self.part.get_content_maintype() == "multipart" else _decoded_size(self.part)

    @property
    def is_file(self) -> bool:
        """Whether a mail client offers the part as a file: ``attachment`` disposition, or a leaf with a file name."""
        if self.part.is_multipart():
            return False
        return self.part.get_content_disposition() == "attachment" or self.filename is not None

    @property
    def defects(self) -> list[str]:
        """What the parser found wrong with this part (``email.errors`` defects), one line each."""
        return [f"{where}{type(d).__name__}: {_describe_defect(d)}" for where, d in _defects(self.part)]

    @property
    def label(self) -> str:
        """A short line for lists of parts: number, MIME type, file name, decoded size.

        The tree's buttons show it without the size (see :attr:`button_text`);
        the size is in the summary beside them.
        """
        bits = [self.content_type]
        if self.filename:
            bits.append(f'"{self.filename}"')
        if not self.part.is_multipart():
            bits.append(f"{self.size:,} bytes")
        return f"#{self.index} " + " · ".join(bits)

    @property
    def button_text(self) -> str:
        """What the part's button in the tree says: number, MIME type, file name (the size is in the summary)."""
        name = f' · "{self.filename}"' if self.filename else ""
        return f"#{self.index} {self.content_type}{name}"

    @property
    def counts_crlf(self) -> bool:
        """Whether the decoded size counts CRLF line ends: a leaf whose decoded bytes hold CRLF (see the module)."""
        if self.part.is_multipart() or self.part.get_content_maintype() != "text":
            return False
        return b"\r\n" in (self.decoded() or b"")

    def decoded(self) -> bytes | None:
        """The body with its transfer encoding undone, in bytes; ``None`` for a multipart or message/rfc822."""
        if self.part.is_multipart():
            return None
        return self.part.get_payload(decode=True) or b""


class MessageExplorer:
    """A message's MIME tree with, for the selected part, its headers, content, source and explanation.

    ``message`` is the stdlib message explored, ``raw`` its exact bytes when
    known (a capture or raw bytes were given), ``parts`` one
    :class:`PartNode` per part in ``msg.walk()`` order, ``selected`` the
    number of the part shown (0, the message itself, at first). Select
    another with :meth:`select`, or by clicking it in JupyterLab.

    The ``*_html`` and ``source_*`` methods give what each pane shows for
    part *index* (default: the selected one); they raise ``IndexError`` for a
    part number the message does not have and ``TypeError`` for one that is
    not an int. With ``static=True`` they give what the static HTML stores in
    the notebook: no download links, and long texts cut shorter.

    Like ``msg.as_bytes()``, the explorer fixes the boundary of any multipart
    that has none yet (the generator's own choice, ``===============…==``),
    so the source it shows is the source that will be sent (RFC 2046 §5.1.1).
    """

    def __init__(self, message: Message, *, raw: bytes | None = None) -> None:
        self.message = message
        self.raw = raw
        _fix_boundaries(message)
        self.parts: tuple[PartNode, ...] = tuple(_nodes(message))
        self._selected = 0
        self._lock = threading.RLock()
        self._widget: Any = None
        self._buttons: dict[int, Any] = {}
        self._panes: dict[str, Any] = {}

    # -- the selected part

    @property
    def selected(self) -> int:
        """The number of the part shown in the panes (0 is the message itself)."""
        return self._selected

    @property
    def selected_part(self) -> PartNode:
        """The :class:`PartNode` of the part shown in the panes."""
        return self.parts[self._selected]

    def select(self, index: int) -> PartNode:
        """Show part number *index* (``msg.walk()`` order, ``-1`` for the last) in the panes; return its node.

        Raises ``IndexError`` when the message has no such part, ``TypeError``
        for an index that is not an int.
        """
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"select() takes a part number (an int), not {type(index).__name__}")
        count = len(self.parts)
        if not -count <= index < count:
            raise IndexError(
                f"This message has {count} part{'s' if count != 1 else ''}, numbered 0 to {count - 1} "
                f"in msg.walk() order; there is no part {index}."
            )
        with self._lock:
            self._selected = index % count
            if self._widget is not None:
                self._show_selected()
        return self.parts[self._selected]

    # -- what the panes show, as HTML (shared by the widget and the static view)

    def summary_html(self, index: int | None = None) -> str:
        """The part's tree line, the parser's defects and, where it applies, :data:`CRLF_SIZE_NOTE`, as HTML."""
        node = self._node(index)
        defects = "".join(f"<li>! {_html.escape(d)}</li>" for d in node.defects)
        sized = [node] + [self.parts[i] for i in node.children]  # the sizes this part's panes show
        note = ""
        if any(shown.counts_crlf for shown in sized):
            note = (
                '<p class="mimekit-part-size-note" style="font-size:90%;color:#555">'
                f"{_html.escape(CRLF_SIZE_NOTE)}</p>"
            )
        return (
            f'<p style="{_WRAP}"><b>#{node.index}</b> <code>{_html.escape(node.summary)}</code></p>'
            + (f'<ul style="color:#a00">{defects}</ul>' if defects else "")
            + note
        )

    def explanation_html(self, index: int | None = None) -> str:
        """What the part's kind is for, as HTML."""
        node = self._node(index)
        return f"<p><b>{_html.escape(node.content_type)}</b>: {_html.escape(node.explanation)}</p>"

    def headers_html(self, index: int | None = None) -> str:
        """The part's headers, decoded, as an HTML table; long values (a Message-ID) wrap anywhere."""
        node = self._node(index)
        if not node.headers:
            return (
                "<p>No headers: a part without Content-Type is text/plain in US-ASCII "
                "(RFC 2045 §5.2), and one without Content-Transfer-Encoding is 7bit.</p>"
            )
        rows = "".join(
            f'<tr><th style="text-align:left;vertical-align:top;padding-right:1em;white-space:nowrap">'
            f'{_html.escape(name)}</th><td style="{_WRAP}">{_html.escape(value)}</td></tr>'
            for name, value in node.headers
        )
        return f"<table>{rows}</table>"

    def content_html(self, index: int | None = None, *, static: bool = False) -> str:
        """The part's decoded content as HTML: text, a sandboxed HTML frame, an image, or a hex head."""
        node = self._node(index)
        part = node.part
        maintype = part.get_content_maintype()
        if maintype == "multipart":
            return self._multipart_html(node)
        if part.is_multipart():  # message/rfc822 and other encapsulations
            return self._message_html(node)
        data = node.decoded() or b""
        link = "" if static else _download_html(node)
        if node.content_type == "text/html":
            frame = preview_html(self.message, part=part, width=600, height=480)
            text = _decoded_text(part)
            note = ""
            if frame.remote:
                note = (
                    f"<p>{len(frame.remote)} remote image(s) blocked, as a mail client does; "
                    "<code>mimekit.preview_mail(msg, remote_images=True)</code> loads them.</p>"
                )
            return (
                frame._repr_html_()
                + note
                + "<details><summary>The HTML as text (decoded)</summary>"
                + _pre(text, limit=_STATIC_SOURCE_CHARS if static else _SHOWN_CHARS)
                + "</details>"
                + link
            )
        if maintype == "text":
            charset = part.get_content_charset() or "us-ascii"
            return (
                f"<p>{len(data):,} bytes read as {_html.escape(charset)}:</p>"
                + _pre(_decoded_text(part), limit=_STATIC_SOURCE_CHARS * 4 if static else _SHOWN_CHARS)
                + link
            )
        if maintype == "image":
            encoded = base64.b64encode(data).decode("ascii")
            alt = node.filename or node.content_type
            return (
                f"<p>{len(data):,} bytes of {_html.escape(node.content_type)}:</p>"
                f'<img alt="{_html.escape(alt, quote=True)}" style="max-width:100%;border:1px solid #ccc" '
                f'src="data:{_html.escape(node.content_type, quote=True)};base64,{encoded}">'
                + link
            )
        shown = min(len(data), HEX_HEAD_BYTES)
        return (
            f"<p>{len(data):,} bytes of {_html.escape(node.content_type)}; the first {shown} in hex "
            "(offset, 16 bytes, the same bytes as ASCII):</p>"
            + _pre(hex_head(data))
            + link
        )

    def source_text(self, index: int | None = None) -> str:
        """The part as it travels: header lines, a blank line, the body in its transfer encoding.

        For the message itself, when its bytes are known, those exact bytes;
        otherwise the part serialised by :mod:`email.generator`. Line ends are
        shown as LF (on the wire each is CRLF), bytes outside UTF-8 as �.
        """
        node = self._node(index)
        if node.index == 0 and self.raw is not None:
            data = self.raw
        else:
            buffer = io.BytesIO()
            try:
                policy = node.part.policy.clone(linesep="\n")
                email.generator.BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(node.part)
            except Exception as exc:  # a part the generator cannot write back (damaged parsed mail)
                return f"(this part cannot be serialised again: {type(exc).__name__}: {exc})"
            data = buffer.getvalue()
        return data.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def source_html(self, index: int | None = None, *, static: bool = False) -> str:
        """The part's transfer encoding explained, then its source, as HTML."""
        node = self._node(index)
        if node.part.get_content_maintype() == "multipart":
            note = _MULTIPART_CTE_NOTE
        else:
            cte = str(node.part.get("Content-Transfer-Encoding", "")).strip().lower()
            note = CTE_NOTES.get(cte, _NO_CTE_NOTE if not cte else f"{cte}: not an encoding RFC 2045 defines.")
        limit = _STATIC_SOURCE_CHARS if static else _SHOWN_CHARS
        return f"<p>{_html.escape(note)}</p>" + _pre(self.source_text(node.index), limit=limit)

    @property
    def files(self) -> list[PartNode]:
        """The parts a mail client offers as files: attachments, and inline parts with a file name."""
        return [node for node in self.parts if node.is_file]

    def download_html(self, index: int) -> str:
        """An HTML link (class ``mimekit-download``) that saves part *index*'s decoded bytes under its file name."""
        return _download_html(self._node(index))

    def _node(self, index: int | None) -> PartNode:
        if index is None:
            return self.parts[self._selected]
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"a part number is an int, not {type(index).__name__}")
        try:
            return self.parts[index]
        except IndexError:
            raise IndexError(
                f"This message has {len(self.parts)} parts, numbered 0 to {len(self.parts) - 1}; "
                f"there is no part {index}."
            ) from None

    def _multipart_html(self, node: PartNode) -> str:
        children = "".join(f"<li><code>{_html.escape(self.parts[i].label)}</code></li>" for i in node.children)
        boundary = node.part.get_boundary()
        said = f", separated by the line <code>--{_html.escape(boundary)}</code>" if boundary else ""
        preamble = ""
        if (node.part.preamble or "").strip():
            preamble = (
                "<p>Before the first boundary, a preamble that only clients without MIME show:</p>"
                + _pre(node.part.preamble or "")
            )
        count = len(node.children)
        parts = "part" if count == 1 else "parts"
        return (
            f'<p style="{_WRAP}">A container of {count} {parts}{said}; select one in the tree:</p>'
            f"<ol start=\"0\" style=\"list-style:none;padding-left:0\">{children}</ol>{preamble}"
        )

    def _message_html(self, node: PartNode) -> str:
        inner = node.part.get_payload()[0]
        rows = "".join(
            f'<tr><th style="text-align:left;padding-right:1em">{name}</th>'
            f'<td style="{_WRAP}">{_html.escape(_header_text(inner, name))}</td></tr>'
            for name in ("From", "To", "Subject", "Date")
            if name in inner
        )
        return (
            "<p>A whole message inside this one; its own parts follow in the tree. Its headers:</p>"
            f"<table>{rows}</table>"
        )

    # -- display

    @property
    def title(self) -> str:
        """Subject, From and To of the message, decoded, on one line."""
        subject = _header_text(self.message, "Subject") or "(no Subject)"
        sender = _header_text(self.message, "From") or "(no From)"
        to = _header_text(self.message, "To") or "(no To)"
        return f"{subject} — {sender} → {to}"

    def _repr_html_(self) -> str:
        def item(node: PartNode) -> str:
            inner = "".join(item(self.parts[i]) for i in node.children)
            return (
                f'<li class="mimekit-part mimekit-part-{node.index}"><details><summary><code>'
                f"{_html.escape(node.label)}</code> — {_html.escape(node.explanation)}</summary>"
                f'<div style="margin:0.5em 0 1em 1em">'
                + self.summary_html(node.index)
                + "<h5>Headers</h5>"
                + self.headers_html(node.index)
                + "<h5>Content</h5>"
                + self.content_html(node.index, static=True)
                + "<details><summary>Source (as sent)</summary>"
                + self.source_html(node.index, static=True)
                + "</details></div></details>"
                + (f"<ul>{inner}</ul>" if inner else "")
                + "</li>"
            )

        return (
            '<div class="mimekit-explorer">'
            f'<p class="mimekit-explorer-title"><b>{_html.escape(self.title)}</b></p>'
            f'<ul class="mimekit-tree">{item(self.parts[0])}</ul>'
            "</div>"
        )

    def __str__(self) -> str:
        lines = [self.title, "", render_tree(self.message, explain_types=True)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        subject = _header_text(self.message, "Subject")
        count = len(self.parts)
        return f"<MessageExplorer {subject!r}: {count} part{'s' if count != 1 else ''}, #{self._selected} selected>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else str(self))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _widget_bundle(self, text=str(self), html=self._repr_html_())

    @property
    def widget(self) -> Any:
        """The ipywidgets view (built on first use): the tree on the left, the selected part's panes on the right.

        Raises ``ModuleNotFoundError`` when ipywidgets is not installed.
        """
        with self._lock:
            if self._widget is None:
                self._widget = self._build_widget()
                self._show_selected()
            return self._widget

    def _build_widget(self) -> Any:
        widgets = _require_widgets()
        self._buttons = {}

        def row(node: PartNode) -> Any:
            button = widgets.Button(
                description=node.button_text,
                tooltip=node.summary,
                layout=widgets.Layout(width="auto", max_width="100%"),
            )
            button.style.font_family = "monospace"
            button.add_class("mimekit-part")
            button.add_class(f"mimekit-part-{node.index}")
            button.on_click(lambda _button, index=node.index: self.select(index))
            self._buttons[node.index] = button
            if not node.children:
                spacer = widgets.HTML("", layout=widgets.Layout(width="2.4em"))
                return widgets.VBox([widgets.HBox([spacer, button])])
            toggle = widgets.ToggleButton(
                value=True,
                description="▾",
                tooltip="Fold or unfold the parts inside",
                layout=widgets.Layout(width="2.4em"),
            )
            toggle.add_class("mimekit-part-toggle")
            children = widgets.VBox(
                [row(self.parts[i]) for i in node.children], layout=widgets.Layout(margin="0 0 0 1.6em")
            )
            children.add_class("mimekit-part-children")

            def folded(change: dict[str, Any], children: Any = children, toggle: Any = toggle) -> None:
                children.layout.display = None if change["new"] else "none"
                toggle.description = "▾" if change["new"] else "▸"

            toggle.observe(folded, names="value")
            return widgets.VBox([widgets.HBox([toggle, button]), children])

        # As wide as its buttons (at least 280 px), so the labels are not cut; half the width at most.
        tree = widgets.VBox(
            [row(self.parts[0])],
            layout=widgets.Layout(flex="0 0 auto", min_width="280px", max_width="50%", overflow="auto"),
        )
        tree.add_class("mimekit-tree")

        panes = {}
        for name in ("summary", "explanation", "headers", "content", "source"):
            pane = widgets.HTML("", layout=widgets.Layout(width="100%"))
            pane.add_class(f"mimekit-part-{name}")
            panes[name] = pane
        self._panes = panes
        tabs = widgets.Tab(children=[panes["content"], panes["source"]], titles=("Content", "Source (as sent)"))
        tabs.add_class("mimekit-part-tabs")
        details = widgets.VBox(
            [panes["summary"], panes["explanation"], panes["headers"], tabs],
            layout=widgets.Layout(flex="1 1 auto", min_width="0", padding="0 0 0 1em"),
        )
        details.add_class("mimekit-part-details")
        title = widgets.HTML(_in_pane(f"<b>{_html.escape(self.title)}</b>"))
        title.add_class("mimekit-explorer-title")
        root = widgets.VBox([title, widgets.HBox([tree, details])])
        root.add_class("mimekit-explorer")
        return root

    def _show_selected(self) -> None:
        index = self._selected
        for number, button in self._buttons.items():
            chosen = number == index
            button.button_style = "info" if chosen else ""
            if chosen:
                button.add_class("mimekit-part-selected")
            else:
                button.remove_class("mimekit-part-selected")
        self._panes["summary"].value = _in_pane(self.summary_html(index))
        self._panes["explanation"].value = _in_pane(self.explanation_html(index))
        self._panes["headers"].value = _in_pane(self.headers_html(index))
        self._panes["content"].value = _in_pane(self.content_html(index))
        self._panes["source"].value = _in_pane(self.source_html(index))

    def close(self) -> None:
        """Close the widget and every widget inside it (frees them in the kernel); the data stays usable."""
        with self._lock:
            if self._widget is not None:
                _close_tree(self._widget)
                self._widget = None
                self._buttons = {}
                self._panes = {}


def explore(source: Message | CapturedMessage | bytes | str | PathLike[str]) -> MessageExplorer:
    """Return a :class:`MessageExplorer` for *source*; display it to browse its MIME tree part by part.

    *source* is a message built with ``email.mime`` or an ``EmailMessage``, a
    :class:`~mimekit.server.CapturedMessage` from ``server.inbox`` (its exact
    bytes are then the source of part #0), the raw bytes of a message, or the
    path of an ``.eml`` file (read with :func:`~mimekit.tree.load_message`).

    >>> from mimekit import make_alternative
    >>> explorer = explore(make_alternative("Hola José", "<p>Hola <b>José</b></p>"))
    >>> [node.label for node in explorer.parts]
    ['#0 multipart/alternative', '#1 text/plain · 10 bytes', '#2 text/html · 24 bytes']
    >>> explorer.select(2).explanation[:30]
    'the rich version of the body; '

    Raises ``TypeError`` for any other type of *source* (a str that is
    message text rather than a path: pass it encoded), and what
    :func:`~mimekit.tree.load_message` raises for a path.
    """
    message, raw = _read_message(source)
    return MessageExplorer(message, raw=raw)


# --------------------------------------------------------------------------- helpers


def hex_head(data: bytes, length: int = HEX_HEAD_BYTES) -> str:
    """Return the first *length* bytes of *data* in the ``hexdump -C`` layout: offset, 16 bytes in hex, as ASCII.

    >>> print(hex_head(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(range(8))))
    00000000  89 50 4e 47 0d 0a 1a 0a  00 01 02 03 04 05 06 07  |.PNG............|
    """
    lines = []
    for offset in range(0, min(len(data), length), 16):
        chunk = data[offset : min(offset + 16, length)]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<48}  |{text}|")
    return "\n".join(lines)


def _nodes(message: Message) -> list[PartNode]:
    nodes: list[PartNode | None] = []

    def visit(part: Message, depth: int, parent: int | None) -> int:
        index = len(nodes)
        nodes.append(None)
        children = []
        if part.is_multipart():
            for child in part.get_payload():
                children.append(visit(child, depth + 1, index))
        try:
            summary = " · ".join(_describe(part))
        except Exception as exc:  # a part so damaged the tree line cannot be read
            summary = f"{part.get_content_type()} · (unreadable: {type(exc).__name__})"
        nodes[index] = PartNode(index, depth, parent, tuple(children), part, summary)
        return index

    visit(message, 0, None)
    return [node for node in nodes if node is not None]


def _fix_boundaries(message: Message) -> None:
    """Let the generator choose the boundaries still missing, as ``msg.as_bytes()`` does on first use."""
    if all(p.get_boundary() is not None for p in message.walk() if p.get_content_maintype() == "multipart"):
        return
    try:
        email.generator.BytesGenerator(io.BytesIO(), mangle_from_=False).flatten(message)
    except Exception:  # sources will say why when shown
        pass


def _in_pane(html: str) -> str:
    """*html* at the line height of body text: an ipywidgets HTML pane sets that of a widget row (28 px)."""
    return f'<div style="line-height:1.45">{html}</div>'


def _pre(text: str, *, limit: int = _SHOWN_CHARS) -> str:
    more = ""
    if len(text) > limit:
        more = f"\n… {len(text) - limit:,} more characters"
        text = text[:limit]
    return (
        '<pre style="white-space:pre-wrap;word-break:break-all;max-height:28em;overflow:auto;'
        'background:#f7f7f7;padding:0.5em">'
        f"{_html.escape(text + more)}</pre>"
    )


_UNSAFE_IN_NAME = re.compile(r"[\\/\x00-\x1f\x7f]")


def _download_name(node: PartNode) -> str:
    name = _UNSAFE_IN_NAME.sub("_", node.filename or "").strip(" .")
    if not name:
        extension = mimetypes.guess_extension(node.content_type) or ".bin"
        name = f"part-{node.index}{extension}"
    return name


def _download_html(node: PartNode) -> str:
    data = node.decoded()
    if data is None:
        return ""
    name = _download_name(node)
    if len(data) > _MAX_DOWNLOAD_BYTES:
        return (
            f"<p>{_html.escape(name)}: {len(data):,} bytes, too large for a download link here; "
            f"save it with <code>explorer.parts[{node.index}].decoded()</code>.</p>"
        )
    # application/octet-stream: the browser saves the bytes, it never renders them.
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<p><a class="mimekit-download" download="{_html.escape(name, quote=True)}" '
        f'href="data:application/octet-stream;base64,{encoded}">⬇ {_html.escape(name)}</a> '
        f"({len(data):,} bytes, {_html.escape(node.content_type)})</p>"
    )


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
