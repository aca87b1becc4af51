"""Read a message back: parse it, draw its MIME tree and its shape, explain each kind of node.

:func:`render_tree` draws any message — built with ``email.mime``, an
``EmailMessage``, or parsed from bytes or an ``.eml`` file — one line per part::

    multipart/alternative
    ├── text/plain · charset=utf-8 · quoted-printable · 512 bytes
    └── multipart/related · type=text/html
        ├── text/html · charset=utf-8 · quoted-printable · 2,040 bytes
        └── image/png · base64 · inline · filename="logo.png" · cid=<logo@tienda.example.com> · 1,234 bytes

Sizes are *decoded* sizes in bytes (what the part holds once its transfer
encoding is undone), not its size on the wire. Text built in Python has LF
line ends and text received over SMTP has CRLF, so a captured copy reports one
more byte per line than the message you built. Problems the parser noticed
(``email.errors`` defects: a missing boundary, bad base64, an address or a
date header it could not read …) appear under the part, marked ``!``; the
parser is lenient and records them rather than failing.

**Tree shapes** are the bare skeleton of a tree, for comparing trees in
exercises and tests: the MIME types, a multipart's parts in parentheses after
it, separated by commas; spaces are ignored and a subtype may be ``*``::

    multipart/mixed(multipart/alternative(text/plain, text/html), application/pdf)
    multipart/alternative(text/plain, multipart/related(text/html, image/*, image/*))

:func:`render_shape` writes a message's shape in this notation (the notation
:func:`mimekit.checks.check_tree_shape` takes), and :func:`tree_shape` gives
it as ``(depth, content type)`` pairs.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from collections.abc import Iterator
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from os import PathLike
from pathlib import Path

from .server import CapturedMessage

__all__ = ["EXPLANATIONS", "MessageSource", "explain", "load_message", "render_shape", "render_tree", "tree_shape"]

#: A message as the readers of whole trees take it: a message object, its raw bytes, or a captured copy.
MessageSource = Message | bytes | bytearray | CapturedMessage

#: A plain-language note on each kind of node, keyed by MIME type or major type.
EXPLANATIONS: dict[str, str] = {
    "multipart/mixed": (
        "independent parts shown one after another: the body first, then attachments (RFC 2046 §5.1.3)."
    ),
    "multipart/alternative": (
        "the same content in several forms, simplest first; the client shows the last one it "
        "can display, usually HTML, and falls back to plain text (RFC 2046 §5.1.4)."
    ),
    "multipart/related": (
        "one document made of several parts: the first (the root, here HTML) refers to the others, "
        "such as inline images, by Content-ID with cid: URLs (RFC 2387, RFC 2392)."
    ),
    "multipart/digest": "a collection of messages; each part is message/rfc822 by default (RFC 2046 §5.1.5).",
    "multipart/signed": "a part and its digital signature, e.g. S/MIME or PGP/MIME (RFC 1847).",
    "multipart/report": "a delivery status notification: human text, then a machine-readable report (RFC 6522).",
    "multipart": "a container of other parts, separated by a boundary line (RFC 2046 §5.1).",
    "message/rfc822": (
        "a whole e-mail carried inside this one, headers and all, e.g. when forwarding as an "
        "attachment (RFC 2046 §5.2.1)."
    ),
    "message/delivery-status": "the machine-readable part of a bounce (RFC 3464).",
    "message": "an encapsulated message (RFC 2046 §5.2).",
    "text/plain": "text for any client, no markup; the charset parameter says how to read its bytes (RFC 2046 §4.1).",
    "text/html": (
        "the rich version of the body; mail clients strip scripts and often <style> blocks, and "
        "block remote images until the reader allows them."
    ),
    "text/calendar": "an iCalendar invitation a client can add to a calendar (RFC 5545, RFC 6047).",
    "text": "human-readable text in the given charset (RFC 2046 §4.1).",
    "image": (
        "a picture: shown in the body when Content-Disposition is inline (or referenced by cid:), "
        "offered as a file when attachment (RFC 2046 §4.2, RFC 2183)."
    ),
    "audio": "sound data; clients offer to play or save it (RFC 2046 §4.3).",
    "video": "moving pictures; clients offer to play or save them (RFC 2046 §4.4).",
    "application/pdf": "a PDF document, offered as a file (RFC 8118).",
    "application/octet-stream": (
        "arbitrary binary data of no known type; clients only offer to save it (RFC 2046 §4.5.1)."
    ),
    "application": "data for an application to open, such as a PDF, a ZIP or a spreadsheet (RFC 2046 §4.5).",
}


def explain(content_type: str) -> str:
    """Return a one-sentence explanation of *content_type* (``"multipart/related"``, ``"image/png"`` …).

    Falls back from the full type to its major type (``image``), and says so
    when the type is unknown altogether.

    >>> explain("multipart/alternative")[:40]
    'the same content in several forms, simpl'
    """
    content_type = content_type.lower().split(";")[0].strip()
    major = content_type.split("/")[0]
    return EXPLANATIONS.get(content_type) or EXPLANATIONS.get(major) or (
        f"{content_type} is not a type mimekit knows; a client will treat it as application/octet-stream."
    )


def load_message(source: bytes | str | PathLike[str]) -> Message:
    """Parse raw bytes, or read and parse an ``.eml`` file, into an :class:`~email.message.EmailMessage`.

    Uses ``email.policy.default``: header values come back decoded
    (``msg["From"].addresses[0].display_name == "José Núñez"``). Parsing is
    lenient: damage is recorded in each part's ``defects``, not raised.

    Raises ``FileNotFoundError`` (missing file), ``IsADirectoryError`` or
    ``PermissionError`` with the path and a hint, any other ``OSError`` of
    reading with the path; ``TypeError`` for a str that is
    not a path (decode nothing yourself: pass the bytes).
    """
    if isinstance(source, (bytes, bytearray)):
        return email.message_from_bytes(bytes(source), policy=email.policy.default)
    path = Path(source)
    if "\n" in str(source):
        raise TypeError("load_message() takes bytes or a file path; this str looks like message text: pass it encoded, e.g. text.encode().")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            exc.errno, f"No such message file: {path.resolve()}. Check the path (cwd is {Path.cwd()})", str(path)
        ) from exc
    except IsADirectoryError as exc:
        raise IsADirectoryError(exc.errno, f"{path.resolve()} is a folder; give one .eml file in it", str(path)) from exc
    except PermissionError as exc:
        raise PermissionError(exc.errno, f"Cannot read {path.resolve()}: permission denied", str(path)) from exc
    except OSError as exc:  # e.g. NotADirectoryError for "file.eml/x": same class, with the path
        raise type(exc)(exc.errno, f"Cannot read {path.absolute()}: {exc.strerror or exc}", str(path)) from exc
    return email.message_from_bytes(data, policy=email.policy.default)


def render_tree(msg: Message, *, explain_types: bool = False) -> str:
    """Return the annotated MIME tree of *msg* as text, one line per part.

    Each line gives the MIME type and, where present: the charset, the
    ``type`` of multipart/related, the transfer encoding, the disposition, the
    file name (decoded from RFC 2231 / RFC 2047), the Content-ID, and the
    decoded size in bytes. Defects found by the parser follow their part on
    lines marked ``!``. With ``explain_types=True`` a legend follows the tree
    with a sentence on each kind of node that occurs in it.

    >>> from email.mime.text import MIMEText
    >>> print(render_tree(MIMEText("Hola", "plain", "utf-8")))
    text/plain · charset=utf-8 · base64 · 4 bytes
    """
    lines: list[str] = []
    kinds: dict[str, None] = {}
    _render(msg, "", "", lines, kinds)
    if explain_types:
        lines.append("")
        for content_type in kinds:
            lines.append(f"{content_type}: {explain(content_type)}")
    return "\n".join(lines)


def _render(part: Message, first_prefix: str, prefix: str, lines: list[str], kinds: dict[str, None]) -> None:
    content_type = part.get_content_type()
    kinds.setdefault(content_type, None)
    lines.append(first_prefix + " · ".join(_describe(part)))
    defect_prefix = prefix + ("│   " if part.is_multipart() and part.get_payload() else "    ")
    for where, defect in _defects(part):
        lines.append(f"{defect_prefix}! {where}{type(defect).__name__}: {_describe_defect(defect)}")
    if part.is_multipart():
        children = part.get_payload()
        for index, child in enumerate(children):
            last = index == len(children) - 1
            _render(
                child,
                prefix + ("└── " if last else "├── "),
                prefix + ("    " if last else "│   "),
                lines,
                kinds,
            )


def _defects(part: Message) -> list[tuple[str, Exception]]:
    """The part's own defects, then those of its headers (header objects of policy.default)."""
    found: list[tuple[str, Exception]] = [("", d) for d in getattr(part, "defects", [])]
    for name in part.keys():
        try:
            value = part[name]
        except Exception as exc:  # a header so broken that the header parser itself fails
            found.append((f"{name}: ", exc))
            continue
        found.extend((f"{name}: ", d) for d in getattr(value, "defects", ()))
    return found


def _describe_defect(defect: Exception) -> str:
    text = str(defect)
    if text:
        return text
    doc = (type(defect).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "(no description)"


def _describe(part: Message) -> list[str]:
    fields = [part.get_content_type()]
    charset = part.get_param("charset")
    if charset and part.get_content_maintype() == "text":
        fields.append(f"charset={str(charset).lower()}")
    if part.get_content_type() == "multipart/related" and part.get_param("type"):
        fields.append(f"type={part.get_param('type')}")
    cte = part.get("Content-Transfer-Encoding")
    if cte and not part.is_multipart():
        fields.append(str(cte).strip().lower())
    disposition = part.get_content_disposition()
    if disposition:
        fields.append(disposition)
    filename = part.get_filename()
    if filename:
        fields.append(f'filename="{filename}"')
    content_id = part.get("Content-ID")
    if content_id:
        fields.append(f"cid={str(content_id).strip()}")
    if not part.is_multipart():
        fields.append(f"{_decoded_size(part):,} bytes")
    return fields


def _decoded_text(part: Message) -> str:
    """A text part's body as str: transfer encoding undone, bytes read in its charset (UTF-8 if unknown)."""
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: show what UTF-8 makes of it
        return data.decode("utf-8", errors="replace")


def _decoded_size(part: Message) -> int:
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else payload
        return len(inner.as_bytes()) if isinstance(inner, Message) else len(str(inner).encode())
    data = part.get_payload(decode=True)
    return len(data) if data is not None else 0


# --------------------------------------------------------------------------- reading a message back


def _read_back(source: MessageSource, *, who: str) -> tuple[EmailMessage, bytes]:
    """The message as a recipient reads it (parsed with policy.default) and its bytes.

    A message object is serialised with CRLF line ends and no "From " mangling,
    then parsed back; bytes are parsed; a captured copy gives its own. *who*
    begins the TypeError for a source of the wrong type ("render_shape() takes").
    """
    if isinstance(source, CapturedMessage):
        return source.message, source.raw
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    elif isinstance(source, Message):
        buffer = io.BytesIO()
        BytesGenerator(buffer, mangle_from_=False, policy=source.policy.clone(linesep="\r\n")).flatten(source)
        raw = buffer.getvalue()
    elif isinstance(source, str):
        raise TypeError(
            f"{who} a message object, its raw bytes or a CapturedMessage, not str: "
            "pass the bytes (text.encode()) or the message itself."
        )
    else:
        raise TypeError(
            f"{who} a message object (email.mime or EmailMessage), its raw bytes or a "
            f"CapturedMessage from the inbox, not {type(source).__name__}."
        )
    return email.message_from_bytes(raw, policy=email.policy.default), raw  # type: ignore[return-value]


def _numbered(msg: Message) -> Iterator[tuple[str, Message, Message | None]]:
    """Every part with its section number ("" for the message itself, "1", "2.1" …) and its parent.

    Section numbers count parts from 1 at each level, as IMAP numbers them (RFC 3501 §6.4.5).
    """

    def visit(part: Message, number: str, parent: Message | None) -> Iterator[tuple[str, Message, Message | None]]:
        yield number, part, parent
        if part.is_multipart():
            for index, child in enumerate(part.get_payload(), start=1):
                yield from visit(child, f"{number}.{index}" if number else str(index), part)

    return visit(msg, "", None)


# --------------------------------------------------------------------------- tree shapes


def tree_shape(msg: Message) -> list[tuple[int, str]]:
    """Return the MIME tree of *msg* as ``(depth, content type)`` pairs, parts in order.

    The message itself is depth 0, its parts depth 1, and so on. Reads the
    object as it is (no serialisation): pass a parsed message to see the wire.

    >>> from mimekit import make_alternative
    >>> tree_shape(make_alternative("Hola", "<p>Hola</p>"))
    [(0, 'multipart/alternative'), (1, 'text/plain'), (1, 'text/html')]
    """
    return [(number.count(".") + (1 if number else 0), part.get_content_type()) for number, part, _ in _numbered(msg)]


def render_shape(msg: MessageSource) -> str:
    """Return the shape of *msg*'s MIME tree in the notation of this module's docstring.

    *msg* is a message object (``email.mime`` or ``EmailMessage``), its raw
    bytes, or a :class:`~mimekit.server.CapturedMessage`. A message object is
    serialised and parsed back first, so the shape is the one a recipient
    reads. Only content types appear: no parameters, encodings or
    dispositions.

    Raises ``TypeError`` for a *msg* of another type (for a str: pass
    ``text.encode()``).

    >>> from mimekit import make_alternative
    >>> render_shape(make_alternative("Hola", "<p>Hola</p>"))
    'multipart/alternative(text/plain, text/html)'
    """
    return _format_shape(_shape_of(_read_back(msg, who="render_shape() takes")[0]))


_Shape = tuple[str, tuple["_Shape", ...]]  # (content type, parts)


def _shape_of(part: Message) -> _Shape:
    children = tuple(_shape_of(child) for child in part.get_payload()) if part.is_multipart() else ()
    return part.get_content_type(), children


def _format_shape(shape: _Shape) -> str:
    content_type, children = shape
    if not children:
        return content_type
    return f"{content_type}({', '.join(_format_shape(child) for child in children)})"


_SHAPE_TOKEN = re.compile(r"\s*(?:([A-Za-z0-9!#$&^_.+-]+/(?:[A-Za-z0-9!#$&^_.+-]+|\*))|([(),])|(\S))")


def _parse_shape(text: str) -> _Shape:
    """Read the shape notation; ValueError saying where it went wrong, TypeError for a non-str."""
    if not isinstance(text, str):
        raise TypeError(
            f"The expected tree shape is a str such as 'multipart/alternative(text/plain, text/html)', "
            f"not {type(text).__name__}."
        )
    tokens: list[tuple[str, int]] = []
    for match in _SHAPE_TOKEN.finditer(text):
        if match.group(3):
            raise _shape_error(text, match.start(3), f"{match.group(3)!r} is not part of a MIME type")
        tokens.append((match.group(1) or match.group(2), match.start(1) if match.group(1) else match.start(2)))
    tokens.append(("", len(text)))
    position = 0

    def node() -> _Shape:
        nonlocal position
        token, at = tokens[position]
        if token in ("", "(", ")", ","):
            raise _shape_error(text, at, "a MIME type such as text/plain was expected here")
        position += 1
        content_type = token.lower()
        children: list[_Shape] = []
        if tokens[position][0] == "(":
            if content_type.split("/")[0] not in ("multipart", "message", "*"):
                raise _shape_error(text, tokens[position][1], f"{content_type} cannot hold parts")
            position += 1
            children.append(node())
            while tokens[position][0] == ",":
                position += 1
                children.append(node())
            token, at = tokens[position]
            if token != ")":
                raise _shape_error(text, at, "')' or ',' was expected here")
            position += 1
        return content_type, tuple(children)

    shape = node()
    token, at = tokens[position]
    if token:
        raise _shape_error(text, at, "the shape should end here (one top-level type)")
    return shape


def _shape_error(text: str, at: int, problem: str) -> ValueError:
    return ValueError(
        f"Cannot read the tree shape {text!r}: {problem} (character {at + 1}).\n    {text}\n    {' ' * at}^\n"
        'Write a MIME type and its parts in parentheses, e.g. "multipart/alternative(text/plain, text/html)".'
    )
