"""Leaf parts: text in UTF-8, and binary parts (images, audio, documents).

A leaf part is a small message of its own: headers that say what the bytes are
(``Content-Type``, RFC 2045 §5), how they were made 7-bit safe
(``Content-Transfer-Encoding``, RFC 2045 §6), and whether a mail client should
show them in the body or offer them as a file (``Content-Disposition``,
RFC 2183). Every helper here returns the plain ``email.mime`` object, so you can
keep working on it with the standard library.

The transfer encoding, chosen for you and explained by :func:`explain_cte`:

``7bit``
    Plain ASCII with short lines: sent as it is, readable in the raw source.
``quoted-printable``
    Mostly ASCII text with a few accents (Spanish, French …): ``é`` becomes
    ``=C3=A9`` and long lines get soft breaks (``=`` at the end), so the source
    stays readable and no line passes 76 characters (RFC 2045 §6.7).
``base64``
    Binary data, or text that is mostly non-ASCII (Greek, Chinese …), where
    quoted-printable would triple the size: 3 bytes become 4 characters
    (RFC 2045 §6.8).

Either way no line on the wire gets longer than 998 octets, the hard limit of
RFC 5322 §2.1.1.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from email import charset as _charset
from email import encoders, quoprimime
from email.mime.application import MIMEApplication
from email.mime.audio import MIMEAudio
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from os import PathLike
from pathlib import Path
from urllib.parse import quote
from typing import Union

from .errors import AttachmentNotFoundError, MimeStructureError
from .headers import check_header_value

__all__ = [
    "MAX_LINE_OCTETS",
    "PREFERRED_LINE_OCTETS",
    "choose_cte",
    "explain_cte",
    "guess_mime_type",
    "make_binary_part",
    "make_html_part",
    "make_text_part",
    "read_source",
]

#: Hard limit for one line, CRLF excluded (RFC 5322 §2.1.1; RFC 5321 §4.5.3.1.6).
MAX_LINE_OCTETS = 998
#: The line length that RFC 5322 §2.1.1 asks for ("SHOULD be no more than 78").
PREFERRED_LINE_OCTETS = 78

#: Longest file name, in octets after RFC 2231 %-encoding, that still fits on one header line.
_MAX_FILENAME_OCTETS = 900

#: Where a binary part comes from: raw bytes (not base64) or a file path.
Source = Union[bytes, str, "PathLike[str]"]

# type/subtype, each an RFC 2045 §5.1 token: no spaces, controls or tspecials.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MIME_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")

_CTE_TO_BODY_ENCODING = {
    "7bit": None,
    "quoted-printable": _charset.QP,
    "base64": _charset.BASE64,
}


def choose_cte(text: str) -> str:
    """Pick the Content-Transfer-Encoding for *text* sent as UTF-8.

    ``"7bit"`` when *text* is ASCII without NUL or stray CR (RFC 2045 §2.7) and
    no line is longer than 78 octets;
    otherwise whichever of ``"quoted-printable"`` and ``"base64"`` is shorter,
    quoted-printable on a tie because people can read it. The modern
    ``EmailMessage.set_content`` compares the two the same way, but only under a
    7-bit policy (``cte_type="7bit"``); under ``email.policy.default`` it sends
    non-ASCII text as ``8bit``, which needs a server that offers 8BITMIME and a
    client that declares ``BODY=8BITMIME`` on MAIL FROM (RFC 6152 §3), as
    :meth:`~mimekit.sending.SMTPSession.send` does.

    >>> choose_cte("Hello")
    '7bit'
    >>> choose_cte("Confirmación de tu pedido nº 1001")
    'quoted-printable'
    >>> choose_cte("Ελληνικά κείμενα")
    'base64'
    """
    lines = text.splitlines() or [""]
    has_controls = "\x00" in text or re.search(r"\r(?!\n)", text) is not None
    if text.isascii() and not has_controls and max(len(line) for line in lines) <= PREFERRED_LINE_OCTETS:
        return "7bit"
    data = text.encode("utf-8")
    qp_size = len(quoprimime.body_encode(data.decode("latin-1")))  # how email.charset encodes it
    # base64 text is encoded with CRLF line ends (see make_text_part), 76-character lines
    b64_size = len(base64.encodebytes(re.sub(r"\r\n|\r|\n", "\r\n", text).encode("utf-8")))
    return "quoted-printable" if qp_size <= b64_size else "base64"


def explain_cte(text: str) -> str:
    """Say in one sentence which transfer encoding :func:`choose_cte` picks for *text*, and why.

    >>> explain_cte("Hello")
    '7bit: the text is ASCII and every line fits in 78 octets, so it travels as it is.'
    """
    cte = choose_cte(text)
    if cte == "7bit":
        return "7bit: the text is ASCII and every line fits in 78 octets, so it travels as it is."
    non_ascii = sum(1 for ch in text if not ch.isascii())
    longest = max((len(line.encode("utf-8")) for line in text.splitlines()), default=0)
    why = []
    if non_ascii:
        why.append(f"{non_ascii} non-ASCII character{'s' if non_ascii != 1 else ''}")
    if longest > PREFERRED_LINE_OCTETS:
        why.append(f"a {longest}-octet line")
    reason = " and ".join(why)
    if cte == "quoted-printable":
        if non_ascii:
            what = "escapes only the non-ASCII bytes (=C3=A9 for é) and soft-wraps long lines"
        else:
            what = "leaves ASCII as it is and soft-wraps long lines with '=' at the end"
        return (
            f"quoted-printable: the text has {reason}; quoted-printable {what}, "
            "so it stays readable and shorter than base64."
        )
    return (
        f"base64: the text has {reason}; so much of it would need escaping that base64 "
        "(4 characters per 3 bytes) is the shorter encoding."
    )


def make_text_part(text: str, subtype: str = "plain", *, cte: str | None = None) -> MIMEText:
    """Return a ``text/<subtype>; charset="utf-8"`` part holding *text*.

    The part on the wire::

        Content-Type: text/plain; charset="utf-8"
        Content-Transfer-Encoding: quoted-printable

        Confirmaci=C3=B3n de tu pedido

    *text* is a str (not bytes); line ends may be ``\\n`` or ``\\r\\n``, they
    become CRLF when sent. *cte* forces ``"7bit"``, ``"quoted-printable"`` or
    ``"base64"``; by default :func:`choose_cte` picks it.

    Raises ``TypeError`` for bytes (decode them first: the charset must be
    known), and :class:`MimeStructureError` when ``7bit`` is forced on text
    that is not ASCII or has a line over 998 octets (RFC 2045 §2.7).
    """
    if not isinstance(text, str):
        raise TypeError(
            f"make_text_part() takes the text as str, not {type(text).__name__}; "
            "decode bytes with their charset first, e.g. data.decode('utf-8')."
        )
    if not re.fullmatch(_TOKEN, subtype):
        raise ValueError(
            f"subtype={subtype!r} is not a MIME subtype; pass just the subtype such as 'plain' or 'html' "
            "(the charset is always utf-8 here)."
        )
    if cte is None:
        cte = choose_cte(text)
    if cte not in _CTE_TO_BODY_ENCODING:
        raise ValueError(
            f"cte={cte!r} is not a transfer encoding for text; use '7bit', 'quoted-printable' or 'base64'."
        )
    if cte == "7bit":
        too_long = [line for line in text.splitlines() if len(line.encode("utf-8")) > MAX_LINE_OCTETS]
        if not text.isascii() or too_long:
            raise MimeStructureError(
                "7bit needs ASCII text with lines of at most 998 octets (RFC 2045 §2.7, RFC 5322 §2.1.1); "
                "leave cte=None to let quoted-printable or base64 carry this text."
            )
    if cte == "base64":
        # The generator turns line ends into CRLF only in text it can see; inside base64 they
        # must be CRLF already, the canonical form of text (RFC 2046 §4.1.1, RFC 2045 §6.8).
        text = re.sub(r"\r\n|\r|\n", "\r\n", text)
    utf8 = _charset.Charset("utf-8")
    utf8.body_encoding = _CTE_TO_BODY_ENCODING[cte]
    part = MIMEText(text, subtype, utf8)
    if cte == "7bit":  # Charset without body encoding marks 7bit itself; make it explicit
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = "7bit"
    return part


def make_html_part(html: str, *, cte: str | None = None) -> MIMEText:
    """Return a ``text/html; charset="utf-8"`` part; see :func:`make_text_part`."""
    return make_text_part(html, "html", cte=cte)


def guess_mime_type(filename: str, mime_type: str | None = None) -> str:
    """Return the MIME type for *filename*: *mime_type* if given, else a guess.

    The guess uses the file name's extension (:mod:`mimetypes`); unknown
    extensions give ``application/octet-stream``, "arbitrary binary data"
    (RFC 2046 §4.5.1), which every client offers as a download.

    >>> guess_mime_type("factura.pdf")
    'application/pdf'
    >>> guess_mime_type("datos.zz9")
    'application/octet-stream'
    """
    if mime_type is not None:
        if not _MIME_TYPE.fullmatch(mime_type):
            raise ValueError(
                f"mime_type={mime_type!r} is not a MIME type; write it as type/subtype, e.g. 'application/pdf'."
            )
        return mime_type.lower()
    guessed, encoding = mimetypes.guess_type(filename, strict=False)
    if guessed is None or encoding is not None:  # .tar.gz etc.: the bytes are compressed
        return "application/octet-stream"
    return guessed


def read_source(source: Source) -> tuple[bytes, str | None]:
    """Return ``(data, filename)`` for raw bytes or a file path.

    Bytes are taken as they are (raw, not base64) with no file name; a path is
    read whole and its base name returned. Raises
    :class:`AttachmentNotFoundError` (a ``FileNotFoundError``) naming the
    absolute path when it does not exist or is a directory.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    if not isinstance(source, (str, PathLike)):
        raise TypeError(f"Expected raw bytes or a file path, not {type(source).__name__}.")
    path = Path(source)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise AttachmentNotFoundError(
            f"Cannot attach {str(source)!r}: {path.resolve()} {what}. "
            "Check the spelling and the working directory (os.getcwd()), or pass the bytes instead."
        )
    return path.read_bytes(), path.name


def make_binary_part(
    data: bytes,
    mime_type: str,
    *,
    filename: str | None = None,
    disposition: str = "attachment",
) -> MIMENonMultipart:
    """Return a base64 leaf part for *data* with a Content-Disposition.

    *data* is raw bytes (not base64). The ``email.mime`` class follows the
    major type: ``image/*`` → :class:`MIMEImage`, ``audio/*`` →
    :class:`MIMEAudio`, ``application/*`` → :class:`MIMEApplication`, anything
    else :class:`MIMEBase` encoded with :func:`email.encoders.encode_base64`.

    The part on the wire, for a non-ASCII *filename*::

        Content-Type: application/pdf; name*=utf-8''factura-N%C3%BA%C3%B1ez.pdf
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename*=utf-8''factura-N%C3%BA%C3%B1ez.pdf

    The file name goes in the ``filename`` parameter of Content-Disposition
    (RFC 2183 §2.3), percent-encoded per RFC 2231 §4 when not ASCII, and the
    same value in the deprecated ``name`` parameter of Content-Type (RFC 2046
    §4.5.1), which some clients read instead.
    *disposition* is ``"attachment"`` (offer as a file) or ``"inline"`` (show in
    the body, RFC 2183 §2.1).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"Binary parts take raw bytes, not {type(data).__name__}.")
    if disposition not in ("attachment", "inline"):
        raise ValueError(f"disposition={disposition!r}: use 'attachment' or 'inline' (RFC 2183 §2).")
    maintype, _, subtype = mime_type.partition("/")
    data = bytes(data)
    name_param: dict[str, str | tuple[str, str, str]] = {}
    if filename is not None:
        check_header_value("Content-Disposition", filename)
        encoded_length = len(quote(filename.encode("utf-8"), safe=""))
        if encoded_length > _MAX_FILENAME_OCTETS:
            raise MimeStructureError(
                f"The file name {filename[:40]!r}… is {encoded_length} octets once encoded (RFC 2231); "
                f"Python's email package writes it on one header line, and lines may not pass "
                f"998 octets (RFC 5322 §2.1.1). Shorten it to at most {_MAX_FILENAME_OCTETS} encoded octets."
            )
        name_param["name"] = filename if filename.isascii() else ("utf-8", "", filename)
    if maintype == "image":
        part: MIMENonMultipart = MIMEImage(data, subtype, **name_param)
    elif maintype == "audio":
        part = MIMEAudio(data, subtype, **name_param)
    elif maintype == "application":
        part = MIMEApplication(data, subtype, **name_param)
    elif maintype in ("multipart", "message"):
        raise MimeStructureError(
            f"{mime_type} is a container type, not a leaf: build it with the multipart helpers "
            "(a message to forward goes in make_forward, RFC 2046 §5.2.1)."
        )
    else:
        if maintype == "text":  # a text file: say how to read its bytes, if we can tell
            try:
                data.decode("utf-8")
                name_param = {"charset": "us-ascii" if data.isascii() else "utf-8", **name_param}
            except UnicodeDecodeError:
                pass  # unknown charset: leave it out rather than guess wrong
        part = MIMEBase(maintype, subtype, **name_param)
        part.set_payload(data)
        encoders.encode_base64(part)
    if filename is not None:
        part.add_header("Content-Disposition", disposition, filename=name_param["name"])
    else:
        part.add_header("Content-Disposition", disposition)
    return part
