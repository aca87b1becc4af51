"""Multipart trees: alternative, related (with Content-ID), mixed (with attachments), and forwarding.

A multipart part holds other parts, separated on the wire by a *boundary* line
(RFC 2046 §5.1). The three subtypes an e-mail is built from, and how they nest
in the usual shop e-mail::

    multipart/mixed                    the body, then files (RFC 2046 §5.1.3)
    ├── multipart/alternative          one content, several forms (RFC 2046 §5.1.4)
    │   ├── text/plain                 first: the simplest form
    │   └── multipart/related          last: the richest form, with its resources (RFC 2387)
    │       ├── text/html              the root, refers to images as src="cid:…"
    │       └── image/png              Content-ID: <logo…@example.com>, inline
    └── application/pdf                Content-Disposition: attachment; filename=…

A client shows the *last* alternative it can display, so plain text comes first
and HTML last. Images inside multipart/related are found by their Content-ID
(RFC 2392: ``cid:logo@example.com`` in HTML names ``Content-ID: <logo@example.com>``).
"""

from __future__ import annotations

import email
import re
import secrets
from urllib.parse import quote, unquote
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from .errors import MimeStructureError
from .headers import check_msg_id
from .parts import Source, guess_mime_type, make_binary_part, make_html_part, make_text_part, read_source

__all__ = [
    "add_attachment",
    "add_inline_image",
    "cid_url",
    "find_cid_references",
    "make_alternative",
    "make_content_id",
    "make_forward",
    "make_mixed",
    "make_related",
]

#: A ``cid:`` URL in HTML or CSS; group 1 is the Content-ID without brackets, still %-encoded.
CID_URL = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)


def make_content_id(name: str, domain: str, *, unique: bool = True) -> str:
    """Return a Content-ID ``<name.TOKEN@domain>`` (angle brackets included).

    A Content-ID has the syntax of a Message-ID (RFC 2045 §7, RFC 5322
    §3.6.4) and must be unique; the random token makes it unique across
    messages too. ``unique=False`` leaves it out (``<name@domain>``), handy for
    a lesson whose printed output must not change between runs.

    >>> make_content_id("logo", "tienda.example.com", unique=False)
    '<logo@tienda.example.com>'
    """
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        raise ValueError(
            f"make_content_id({name!r}, {domain!r}): use letters, digits, '.', '-' and '_' in the name "
            "and a plain domain such as example.com (RFC 5322 §3.6.4 msg-id syntax)."
        )
    token = f".{secrets.token_hex(6)}" if unique else ""
    return f"<{name}{token}@{domain}>"


def cid_url(content_id: str) -> str:
    """Return the ``cid:`` URL that HTML uses for *content_id* (RFC 2392 §2).

    The angle brackets go; characters that mean something in a URL (``%``,
    ``#``, ``?`` …) are %-encoded, as RFC 2392 §2 asks.

    >>> cid_url("<logo@tienda.example.com>")
    'cid:logo@tienda.example.com'
    >>> cid_url("<100%#1@tienda.example.com>")
    'cid:100%25%231@tienda.example.com'
    """
    return "cid:" + quote(content_id.strip().removeprefix("<").removesuffix(">"), safe="@!$&'()*+,;=._~-")


def find_cid_references(html: str) -> list[str]:
    """Return the Content-IDs that *html* refers to with ``cid:`` URLs, in order, as ``<id>``.

    >>> find_cid_references('<img src="cid:logo@example.com"><img src="cid:a@example.com">')
    ['<logo@example.com>', '<a@example.com>']
    """
    seen: dict[str, None] = {}
    for match in CID_URL.finditer(html):
        seen.setdefault(f"<{unquote(match.group(1))}>", None)  # RFC 2392 §2: URL %-encoding
    return list(seen)


def make_alternative(plain: str | Message, html: str | Message) -> MIMEMultipart:
    """Return ``multipart/alternative`` with the plain-text form first and the HTML form last.

    Result::

        multipart/alternative
        ├── text/plain; charset="utf-8"
        └── text/html; charset="utf-8"      (or the multipart/related you pass)

    Both arguments take a str (made into a UTF-8 part with :func:`make_text_part`)
    or a ready part, e.g. the result of :func:`make_related`. Order matters:
    RFC 2046 §5.1.4 says the parts go "in increasing order of preference", and
    clients show the last one they can.
    """
    plain_part = make_text_part(plain) if isinstance(plain, str) else plain
    html_part = make_html_part(html) if isinstance(html, str) else html
    if plain_part.get_content_type() != "text/plain":
        raise MimeStructureError(
            f"The first alternative should be text/plain, not {plain_part.get_content_type()} "
            "(RFC 2046 §5.1.4: simplest form first)."
        )
    return MIMEMultipart("alternative", _subparts=[plain_part, html_part])


def make_related(html: str | MIMEText) -> MIMEMultipart:
    """Return ``multipart/related; type="text/html"`` with *html* as its root part.

    Add the images the HTML refers to with :func:`add_inline_image`. The root
    is the first part (RFC 2387 §3.2) and the ``type`` parameter names its MIME
    type (RFC 2387 §3.1).
    """
    html_part = make_html_part(html) if isinstance(html, str) else html
    if html_part.get_content_type() != "text/html":
        raise MimeStructureError(
            f"The root of multipart/related here should be text/html, not {html_part.get_content_type()}."
        )
    related = MIMEMultipart("related", _subparts=[html_part])
    related.set_param("type", "text/html")
    return related


def add_inline_image(
    msg: Message,
    image: Source,
    *,
    cid: str | None = None,
    filename: str | None = None,
    mime_type: str | None = None,
    domain: str = "mimekit.example.com",
) -> str:
    """Put an image beside the HTML in multipart/related and return its ``cid:`` URL.

    *msg* may be the multipart/related itself, or any tree holding exactly one
    text/html part: if that part is not yet inside multipart/related, it is
    replaced in place by ``multipart/related [text/html, image]``. *image* is
    raw bytes (not base64) or a file path. *cid* is the Content-ID with or
    without angle brackets (make one beforehand with :func:`make_content_id`
    when the HTML must name it); by default one is made from the file name and
    *domain*. The image part gets ``Content-ID`` and
    ``Content-Disposition: inline`` (RFC 2183 §2.1), so clients show it in the
    HTML and not as an attachment.

    Returns ``"cid:…"``, the URL to write in ``<img src="…">`` (RFC 2392).

    Raises :class:`MimeStructureError` when *msg* has no text/html part (add
    the HTML alternative first), more than one, or already holds a part with
    this Content-ID; :class:`~mimekit.errors.HeaderError` when *cid* is not
    ``<left@right>`` (RFC 2045 §7); :class:`AttachmentNotFoundError` for a
    missing file.
    """
    data, path_name = read_source(image)
    filename = filename or path_name
    if filename or mime_type:
        mime_type = guess_mime_type(filename or "", mime_type)
    else:  # bare bytes: let email.mime.image recognise PNG, JPEG, GIF, WebP … by their first bytes
        try:
            mime_type = MIMEImage(data).get_content_type()
        except TypeError as exc:
            raise MimeStructureError(
                "Cannot tell what kind of image these bytes are; pass mime_type='image/png' "
                "(or the right type) or a filename such as 'logo.png'."
            ) from exc
    if not mime_type.startswith("image/"):
        raise MimeStructureError(f"add_inline_image() takes images; {filename or 'this file'} is {mime_type}.")
    related = _find_or_make_related(msg)
    if cid is None:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", (filename or "image").rsplit(".", 1)[0]).strip("-") or "image"
        cid = make_content_id(stem, domain)
    cid = "<" + cid.strip().removeprefix("<").removesuffix(">") + ">"
    check_msg_id(cid, header="Content-ID")
    for part in related.get_payload():
        if part.get("Content-ID", "").strip() == cid:
            raise MimeStructureError(
                f"This multipart/related already has a part with Content-ID {cid}; Content-IDs must be "
                "unique (RFC 2045 §7). Use another cid or make_content_id()."
            )
    part = make_binary_part(data, mime_type, filename=filename, disposition="inline")
    part["Content-ID"] = cid
    related.attach(part)
    return cid_url(cid)


def _find_or_make_related(msg: Message) -> Message:
    """Return the multipart/related holding the single text/html part, making it if needed."""
    if msg.get_content_type() == "multipart/related":
        return msg
    if msg.get_content_type() == "text/html":
        raise MimeStructureError(
            "Cannot add an inline image to a lone text/html part: the image needs a multipart/related "
            "beside the HTML (RFC 2387). Wrap it first, e.g. msg = make_alternative(plain, make_related(html)), "
            "then call add_inline_image(msg, ...)."
        )
    html_parts: list[tuple[Message, Message]] = []  # (parent, html part)
    for parent in msg.walk():
        if parent.is_multipart():
            for child in parent.get_payload():
                if child.get_content_type() == "text/html":
                    html_parts.append((parent, child))
    if not html_parts:
        raise MimeStructureError(
            "Cannot add an inline image: the message has no text/html part yet; add the HTML "
            "alternative first (inline images live in multipart/related beside the HTML, RFC 2387)."
        )
    if len(html_parts) > 1:
        raise MimeStructureError(
            f"Cannot tell which HTML the image belongs to: the message has {len(html_parts)} text/html "
            "parts. Pass the multipart/related (or its parent) you mean."
        )
    parent, html = html_parts[0]
    if parent.get_content_type() == "multipart/related":
        return parent
    related = make_related(html)  # type: ignore[arg-type]
    payload = parent.get_payload()
    payload[payload.index(html)] = related
    return related


def make_mixed(body: str | Message, attachments: list[Source] | tuple[Source, ...] = ()) -> MIMEMultipart:
    """Return ``multipart/mixed`` with *body* first and one part per attachment.

    *body* is a str (made into text/plain) or a ready part such as the result
    of :func:`make_alternative`. Each attachment is a path or raw bytes; use
    :func:`add_attachment` afterwards for file names and MIME types of bytes.
    RFC 2046 §5.1.3: the parts are independent and shown in order.
    """
    body_part = make_text_part(body) if isinstance(body, str) else body
    mixed = MIMEMultipart("mixed", _subparts=[body_part])
    for source in attachments:
        add_attachment(mixed, source)
    return mixed


def add_attachment(
    msg: Message,
    source: Source,
    *,
    filename: str | None = None,
    mime_type: str | None = None,
) -> Message:
    """Attach a file to the multipart/mixed *msg* and return the new part.

    *source* is a path (read whole; its base name becomes the file name) or raw
    bytes (then pass *filename*). The MIME type is *mime_type* if given, else
    guessed from the file name, else ``application/octet-stream``. The part
    gets ``Content-Disposition: attachment`` with the file name, encoded per
    RFC 2231 when not ASCII (see :func:`~mimekit.parts.make_binary_part`).

    Raises :class:`MimeStructureError` when *msg* is not multipart/mixed (wrap
    the body with :func:`make_mixed` first), :class:`AttachmentNotFoundError`
    (a ``FileNotFoundError``) for a missing file.
    """
    if msg.get_content_type() != "multipart/mixed":
        raise MimeStructureError(
            f"Attachments go in multipart/mixed, and this message is {msg.get_content_type()}. "
            "Wrap the body first: msg = make_mixed(body) (RFC 2046 §5.1.3)."
        )
    data, path_name = read_source(source)
    filename = filename or path_name
    part = make_binary_part(
        data, guess_mime_type(filename or "", mime_type), filename=filename, disposition="attachment"
    )
    msg.attach(part)
    return part


def make_forward(original: Message | bytes, note: str | None = None) -> MIMEMultipart:
    """Return ``multipart/mixed [text/plain note, message/rfc822 original]`` to forward a message whole.

    The original travels as a ``message/rfc822`` part (RFC 2046 §5.2.1),
    headers and attachments included, so the recipient can open it as the
    message it was. *original* is a message object (``email.mime`` or
    ``EmailMessage``) or its raw bytes. It is copied through its own bytes, so
    its headers stay exactly as they were encoded, except Bcc and Resent-Bcc,
    which are dropped: forwarding must not reveal the blind copies. A
    message/rfc822 part may not be base64- or quoted-printable-encoded, so if
    the original has 8-bit bytes the part is marked
    ``Content-Transfer-Encoding: 8bit`` (RFC 2046 §5.2.1), and the server must
    offer 8BITMIME (RFC 6152).
    """
    if not isinstance(original, (bytes, bytearray)):
        original = original.as_bytes(policy=original.policy.clone(linesep="\n"))
    copy = email.message_from_bytes(bytes(original))  # compat32: headers kept as written
    del copy["Bcc"]
    del copy["Resent-Bcc"]
    forwarded = MIMEMessage(copy)
    forwarded.add_header("Content-Disposition", "inline")
    if not bytes(original).isascii():
        forwarded["Content-Transfer-Encoding"] = "8bit"
    parts: list[Message] = [forwarded]
    if note:
        parts.insert(0, make_text_part(note))
    return MIMEMultipart("mixed", _subparts=parts)
