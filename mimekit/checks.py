"""Checks for e-mail exercises: assertions whose failure tells the student what to fix.

Each ``check_*`` function looks at one property of a message (its MIME tree,
the order of its alternatives, its ``cid:`` links, an attachment, a header …)
and returns quietly when the property holds. When it does not, it raises
:class:`CheckFailed`, an ``AssertionError`` (so pytest, nbgrader and a plain
``assert``-minded reader all treat it as a failed test) whose message reads as
feedback: what was expected, what the message has (its MIME tree, drawn by
:func:`~mimekit.tree.render_tree`), and a hint naming the RFC section. Hints
name the standard library's way first (``email.mime``, ``EmailMessage``,
``email.utils``, ``smtplib``), which is what the exercises practise, and the
mimekit helper that does the same second.

What the checks accept:

* a message object, ``email.mime`` (legacy) or ``EmailMessage``: it is
  serialised with CRLF line ends and parsed back with ``email.policy.default``,
  so the check sees what a recipient's mail client would read (encoded words
  decoded, RFC 2231 file names joined), not the object as you built it. Bcc
  stays in: a message object is judged as it stands;
* raw bytes, as sent after ``DATA`` or read from an ``.eml`` file (not str:
  pass ``text.encode()``);
* a :class:`~mimekit.server.CapturedMessage` from the embedded server's
  inbox: the bytes that really arrived.

:func:`check_delivered` looks at an inbox rather than a message.

The feedback, in one example::

    >>> from mimekit import make_alternative
    >>> msg = make_alternative("Hola José", "<p>Hola <b>José</b></p>")
    >>> check_tree_shape(msg, "multipart/alternative(text/plain, text/html)")
    >>> check_plain_before_html(msg)
    >>> msg.set_payload(msg.get_payload()[::-1])   # HTML first: the classic mistake
    >>> check_plain_before_html(msg)
    Traceback (most recent call last):
    ...
    mimekit.checks.CheckFailed: The HTML alternative comes before the plain-text one in multipart/alternative (the message itself).
    Expected: text/plain first, the HTML last
    Found:    text/html, text/plain
    Your message:
        multipart/alternative
        ├── text/html · charset=utf-8 · quoted-printable · 24 bytes
        └── text/plain · charset=utf-8 · quoted-printable · 10 bytes
    Hint: A client shows the *last* alternative it can display, so the parts go from simplest to richest: text/plain first, text/html last (RFC 2046 §5.1.4). With email.mime: MIMEMultipart('alternative') with the text/plain part attached first, then the text/html one; with EmailMessage: set_content(plain), then add_alternative(html, subtype='html'). mimekit.make_alternative(plain, html) does this.

When an exercise checks several messages, every check takes ``what=``, naming
the message in the student's words; the feedback then begins with it::

    >>> check_plain_before_html(msg, what="the notice for Zoë")
    Traceback (most recent call last):
    ...
    mimekit.checks.CheckFailed: In the notice for Zoë: the HTML alternative comes before the plain-text one in multipart/alternative (the message itself).
    ...

For a runner that renders feedback and points, every :class:`CheckFailed`
carries the pieces separately: ``check`` (a short stable name such as
``"plain_before_html"``), ``what``, ``summary``, ``expected``, ``actual``,
``hint`` and ``tree`` (the rendered tree, or ``None``).

**Tree shapes** (:func:`check_tree_shape`) use the notation of
:mod:`mimekit.tree`: MIME types, a multipart's parts in parentheses after it,
separated by commas; spaces are ignored and a subtype may be ``*``::

    multipart/mixed(multipart/alternative(text/plain, text/html), application/pdf)
    multipart/alternative(text/plain, multipart/related(text/html, image/*, image/*))

:func:`~mimekit.tree.render_shape` writes a message's shape in this notation
and :func:`~mimekit.tree.tree_shape` gives it as ``(depth, content type)``
pairs; both live in :mod:`mimekit.tree` and are importable from here too.
"""

from __future__ import annotations

import email.errors
import email.utils
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from email.message import EmailMessage, Message
from textwrap import indent

from .errors import MimekitError
from .headers import ADDRESS_HEADERS, AddressLike, parse_addresses
from .multipart import cid_url, find_cid_references
from .parts import MAX_LINE_OCTETS
from .server import CapturedMessage, EmbeddedServer, Inbox
from .tree import (
    MessageSource,
    _decoded_text,
    _format_shape,
    _numbered,
    _parse_shape,
    _read_back,
    _Shape,
    _shape_of,
    explain,
    render_shape,
    render_tree,
    tree_shape,
)

__all__ = [
    "CheckFailed",
    "MessageSource",
    "check_attachment",
    "check_cids_resolve",
    "check_delivered",
    "check_header",
    "check_line_lengths",
    "check_no_secret",
    "check_not_in_headers",
    "check_one_click_unsubscribe",
    "check_plain_before_html",
    "check_tree_shape",
    "render_shape",
    "tree_shape",
]

#: Headers RFC 5322 §3.6 allows at most once.
_SINGLE_HEADERS = frozenset(
    {"date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to", "references", "subject"}
)


class CheckFailed(MimekitError, AssertionError):
    """A check found the message different from what the exercise asks for.

    An ``AssertionError``, so test runners report it as a failed test, and a
    :class:`~mimekit.errors.MimekitError`. ``str(error)`` is the whole
    feedback; the pieces are kept for a runner that renders its own:

    ``check``
        the check's short, stable name: ``"tree_shape"``, ``"plain_before_html"``,
        ``"cids_resolve"``, ``"attachment"``, ``"header"``, ``"delivered"``,
        ``"one_click_unsubscribe"``, ``"line_lengths"``, ``"no_secret"``,
        ``"not_in_headers"``;
    ``what``
        which message was checked, as the exercise named it with ``what=``
        (``"the notice for Zoë"``), or ``None``;
    ``summary``
        one sentence: what is wrong. The feedback's first line is the summary,
        or ``In {what}: {summary}`` when *what* is given;
    ``expected`` / ``actual``
        what the exercise asks for, and what the message has instead (text);
    ``hint``
        what to do about it, with the RFC section;
    ``tree``
        the message's MIME tree as :func:`~mimekit.tree.render_tree` draws it,
        or ``None`` when the check is not about one message.
    """

    def __init__(
        self,
        summary: str,
        *,
        check: str,
        expected: str,
        actual: str,
        hint: str,
        tree: str | None = None,
        what: str | None = None,
    ) -> None:
        self.summary = summary
        self.check = check
        self.expected = expected
        self.actual = actual
        self.hint = hint
        self.tree = tree
        self.what = what
        super().__init__(self.feedback())

    def feedback(self) -> str:
        """The feedback as the student reads it: summary (after ``In {what}:``), Expected, Found, the tree, Hint."""
        first = self.summary if self.what is None else f"In {self.what}: {_lower_first(self.summary)}"
        lines = [first, _field("Expected", self.expected, 9), _field("Found", self.actual, 9)]
        if self.tree is not None:
            lines.append("Your message:\n" + indent(self.tree, "    "))
        lines.append(_field("Hint", self.hint))
        return "\n".join(lines)

    def __reduce__(self):  # keep the fields through pickling (multiprocessing, pytest-xdist)
        return (_rebuild, (self.summary, self.check, self.expected, self.actual, self.hint, self.tree, self.what))


def _rebuild(
    summary: str, check: str, expected: str, actual: str, hint: str, tree: str | None, what: str | None = None
) -> CheckFailed:
    return CheckFailed(summary, check=check, expected=expected, actual=actual, hint=hint, tree=tree, what=what)


def _field(label: str, text: str, width: int = 0) -> str:
    """``Label: text`` (the text aligned at *width*), or the label on its own line above indented lines."""
    if "\n" in text:
        return f"{label}:\n" + indent(text, "    ")
    return f"{(label + ':').ljust(width)} {text}"


def _lower_first(summary: str) -> str:
    """The summary to follow ``In {what}:``: "The message …" becomes "the message …"; names keep their case."""
    if summary.split(" ", 1)[0] in ("The", "No", "Nothing"):
        return summary[0].lower() + summary[1:]
    return summary


def _check_what(what: str | None) -> None:
    """Refuse a *what* that cannot stand after "In " on the feedback's first line."""
    if what is None:
        return
    if not isinstance(what, str):
        raise TypeError(
            f"what= names the message checked, as a str such as 'the notice for Zoë', not {type(what).__name__}."
        )
    if not what.strip() or "\n" in what or "\r" in what:
        raise ValueError(
            f"what= names the message checked in a few words on one line, such as 'the notice for Zoë', not {what!r}."
        )


# --------------------------------------------------------------------------- reading the message


def _read(source: MessageSource) -> tuple[EmailMessage, bytes]:
    """The message as a recipient reads it (parsed with policy.default) and its bytes."""
    return _read_back(source, who="The checks take")


def _where(number: str) -> str:
    return "the message itself" if not number else f"part {number}"


def _header_text(part: Message, name: str) -> list[str]:
    """Every value of header *name* on *part*, decoded; one the parser cannot read at all, as written."""
    values = []
    for key, raw in part.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            values.append(str(part.policy.header_fetch_parse(key, raw)))
        except Exception:  # a header so broken that policy.default cannot read it: show it as it came
            values.append(str(raw))
    return values


# --------------------------------------------------------------------------- tree shapes


def _type_matches(pattern: str, content_type: str) -> bool:
    major, _, minor = pattern.partition("/")
    actual_major, _, actual_minor = content_type.partition("/")
    return major in ("*", actual_major) and minor in ("*", actual_minor)


def _first_difference(expected: _Shape, actual: _Shape, number: str = "") -> tuple[str, str] | None:
    """(what differs, the type expected there) for the first part that differs, else None."""
    where = _where(number)
    if not _type_matches(expected[0], actual[0]):
        return f"{where} is {actual[0]}; the exercise expects {expected[0]} there", expected[0]
    if len(expected[1]) != len(actual[1]):
        have = ", ".join(child[0] for child in actual[1]) or "nothing"
        want = ", ".join(child[0] for child in expected[1])
        parts = f"{len(actual[1])} part{'s' if len(actual[1]) != 1 else ''} ({have})"
        return f"{actual[0]} ({where}) holds {parts}; the exercise expects {len(expected[1])} ({want})", expected[0]
    for index, (want_child, have_child) in enumerate(zip(expected[1], actual[1]), start=1):
        found = _first_difference(want_child, have_child, f"{number}.{index}" if number else str(index))
        if found:
            return found
    return None


def check_tree_shape(msg: MessageSource, expected: str, *, what: str | None = None) -> None:
    """Check that *msg*'s MIME tree has the shape *expected*; raise :class:`CheckFailed` if not.

    *expected* uses the notation of this module's docstring: a MIME type, then
    its parts in parentheses, e.g.
    ``"multipart/mixed(multipart/alternative(text/plain, text/html), application/pdf)"``.
    A ``*`` subtype matches any (``image/*``). Order matters, as it does on
    the wire (RFC 2046 §5.1: parts in order; §5.1.4: alternatives from
    simplest to richest). Only content types are compared, not parameters,
    encodings or dispositions.

    The feedback names the first part that differs by its section number
    (``part 2.1`` is the first part of the second part, as IMAP numbers them,
    RFC 3501 §6.4.5) and explains the type expected there. *what* names the
    message in the feedback's first line (``what="the invoice for José"``).

    Raises :class:`CheckFailed` (check ``"tree_shape"``) when the shapes differ;
    ``ValueError`` (with a caret under the spot) when *expected* cannot be read,
    or for a blank *what*; ``TypeError`` for a *msg*, *expected* or *what* of
    the wrong type.

    >>> from mimekit import make_alternative, make_mixed
    >>> msg = make_mixed(make_alternative("Hola", "<p>Hola</p>"))
    >>> check_tree_shape(msg, "multipart/mixed(multipart/alternative(text/plain, text/*))")
    """
    __tracebackhide__ = True
    _check_what(what)
    wanted = _parse_shape(expected)
    parsed, _ = _read(msg)
    actual = _shape_of(parsed)
    difference = _first_difference(wanted, actual)
    if difference is None:
        return
    differs, wanted_type = difference
    raise CheckFailed(
        f"The MIME tree does not have the expected shape: {differs}.",
        check="tree_shape",
        expected=_format_shape(wanted),
        actual=_format_shape(actual),
        hint=f"{wanted_type}: {explain(wanted_type)} Print render_tree(msg) to compare your tree as you go.",
        tree=render_tree(parsed),
        what=what,
    )


# --------------------------------------------------------------------------- alternatives


def _related_root(part: Message) -> Message | None:
    """The root of a multipart/related: the part named by its ``start`` parameter, else the first (RFC 2387 §3.2)."""
    children = part.get_payload()
    if not children:
        return None
    start = part.get_param("start")
    if start:
        for child in children:
            if str(child.get("Content-ID", "")).strip() == str(start).strip():
                return child
    return children[0]


def _alternative_kind(part: Message) -> str:
    """What an alternative offers: its content type, or text/html for multipart/related around HTML."""
    if part.get_content_type() == "multipart/related":
        root = _related_root(part)
        if root is not None and root.get_content_type() == "text/html":
            return "text/html"
    return part.get_content_type()


def check_plain_before_html(msg: MessageSource, *, what: str | None = None) -> None:
    """Check that every multipart/alternative in *msg* offers text/plain first and the HTML after it.

    RFC 2046 §5.1.4: alternatives go "in increasing order of preference", and
    a client shows the last one it can display; so the plain text comes first
    and the HTML (a text/html part, or a multipart/related whose root is
    text/html, RFC 2387) after it. A message without multipart/alternative
    fails too: there is no plain-text form to fall back on. *what* names the
    message in the feedback's first line.

    Raises :class:`CheckFailed` (check ``"plain_before_html"``) when there is
    no multipart/alternative, when one lacks the text/plain or the HTML
    alternative, or when the HTML comes first; ``TypeError`` for a *msg* or
    *what* of the wrong type; ``ValueError`` for a blank *what*.

    >>> from mimekit import make_alternative, make_related
    >>> check_plain_before_html(make_alternative("Hola", make_related("<p>Hola</p>")))
    """
    __tracebackhide__ = True
    _check_what(what)
    parsed, _ = _read(msg)
    alternatives = [(n, p) for n, p, _ in _numbered(parsed) if p.get_content_type() == "multipart/alternative"]
    hint = (
        "A client shows the *last* alternative it can display, so the parts go from simplest to richest: "
        "text/plain first, text/html last (RFC 2046 §5.1.4). With email.mime: MIMEMultipart('alternative') with "
        "the text/plain part attached first, then the text/html one; with EmailMessage: set_content(plain), then "
        "add_alternative(html, subtype='html'). mimekit.make_alternative(plain, html) does this."
    )
    if not alternatives:
        raise CheckFailed(
            "The message has no multipart/alternative, so it offers no choice between plain text and HTML.",
            check="plain_before_html",
            expected="multipart/alternative(text/plain, text/html), somewhere in the tree",
            actual=_format_shape(_shape_of(parsed)),
            hint=hint,
            tree=render_tree(parsed),
            what=what,
        )
    for number, alternative in alternatives:
        kinds = [_alternative_kind(child) for child in alternative.get_payload()]
        plain = kinds.index("text/plain") if "text/plain" in kinds else None
        rich = kinds.index("text/html") if "text/html" in kinds else None
        if plain is not None and rich is not None and plain < rich:
            continue
        if plain is None:
            summary = f"The multipart/alternative ({_where(number)}) has no text/plain alternative."
        elif rich is None:
            summary = f"The multipart/alternative ({_where(number)}) has no HTML alternative."
        else:
            summary = (
                f"The HTML alternative comes before the plain-text one in multipart/alternative ({_where(number)})."
            )
        raise CheckFailed(
            summary,
            check="plain_before_html",
            expected="text/plain first, the HTML last",
            actual=", ".join(kinds) or "no parts at all",
            hint=hint,
            tree=render_tree(parsed),
            what=what,
        )


# --------------------------------------------------------------------------- cid: links


def _content_id(part: Message) -> str:
    return " ".join(_header_text(part, "Content-ID")).strip()


def _written_url(ref: str) -> str:
    """The ``cid:`` URL as the HTML wrote it, from a reference ``<id>`` found by find_cid_references.

    ``cid:<x@y>`` comes back as ``<<x@y>`` (the URL ends at its ``>``): the bracket is given back.
    """
    inner = ref[1:-1]
    if inner.startswith("<") and not inner.endswith(">"):
        inner += ">"
    return f"cid:{inner}"


def _bracketed(ref: str) -> str | None:
    """For a ``cid:`` URL written with angle brackets (``cid:<x@y>``, ``cid:&lt;x@y&gt;``), the Content-ID meant."""
    match = re.fullmatch(r"(?:<|&lt;)(.*?)(?:>|&gt;)?", ref[1:-1], re.IGNORECASE)
    return f"<{match.group(1)}>" if match and match.group(1) else None


def check_cids_resolve(msg: MessageSource, *, what: str | None = None) -> list[str]:
    """Check that every ``cid:`` URL in *msg*'s HTML names a part beside it; return the Content-IDs found.

    A ``cid:`` URL names a part by its Content-ID without the angle brackets
    (``src="cid:logo@example.com"`` finds ``Content-ID: <logo@example.com>``,
    %-encoding undone, RFC 2392 §2). The part must sit in the same
    multipart/related as the HTML, which is what makes them one document
    (RFC 2387); the references are read with
    :func:`~mimekit.multipart.find_cid_references`. HTML parts sent as
    attachments are not looked at. *what* names the message in the
    feedback's first line.

    Returns every Content-ID that resolved, as ``<id>``, in order, each once;
    an empty list when the HTML refers to no ``cid:`` at all (assert on it
    when the exercise needs inline images).

    Raises :class:`CheckFailed` (check ``"cids_resolve"``) for a ``cid:`` URL
    whose HTML is not inside multipart/related, that keeps the angle brackets
    (``cid:<logo@example.com>``), or that names no part of it; ``TypeError``
    for a *msg* or *what* of the wrong type; ``ValueError`` for a blank *what*.

    >>> from mimekit import add_inline_image, make_alternative, make_related
    >>> msg = make_alternative("Hola", make_related('<img src="cid:logo@tienda.example.com">'))
    >>> url = add_inline_image(msg, b"GIF89a", cid="<logo@tienda.example.com>", mime_type="image/gif")
    >>> check_cids_resolve(msg)
    ['<logo@tienda.example.com>']
    """
    __tracebackhide__ = True
    _check_what(what)
    parsed, _ = _read(msg)
    resolved: dict[str, None] = {}
    everywhere = {_content_id(p): number for number, p, _ in _numbered(parsed) if _content_id(p)}
    helper = "mimekit.add_inline_image() does both and returns the cid: URL to put in the HTML."
    for number, part, parent in _numbered(parsed):
        if part.get_content_type() != "text/html" or part.get_content_disposition() == "attachment":
            continue
        references = find_cid_references(_decoded_text(part))
        if not references:
            continue
        urls = ", ".join(_written_url(ref) for ref in references)
        if parent is None or parent.get_content_type() != "multipart/related":
            inside = "the top level" if parent is None else parent.get_content_type()
            raise CheckFailed(
                f"The HTML ({_where(number)}) refers to {urls}, but it is not inside a multipart/related, "
                "so no image travels with it.",
                check="cids_resolve",
                expected="multipart/related(text/html, image/…): the HTML as root, each image beside it with its Content-ID",
                actual=f"the text/html part sits in {inside}",
                hint=(
                    "Images shown inside HTML live in a multipart/related beside it (RFC 2387). With email.mime: "
                    "MIMEMultipart('related') holding the text/html part first, then each MIMEImage with its "
                    "Content-ID header; with EmailMessage: add_related() on the HTML part. mimekit.make_related(html) "
                    "wraps the HTML, and mimekit.add_inline_image() adds each image and returns its cid: URL."
                ),
                tree=render_tree(parsed),
                what=what,
            )
        siblings = {_content_id(p): p for p in parent.get_payload() if p is not part and _content_id(p)}
        missing = [ref for ref in references if ref not in siblings]
        bracketed = [(ref, _bracketed(ref)) for ref in missing if _bracketed(ref)]
        if bracketed:
            written = ", ".join(_written_url(ref) for ref, _ in bracketed)
            meant = bracketed[0][1]
            if meant in siblings:
                there = "That part is there, beside the HTML: only the URL is wrong."
            else:
                there = "No part beside the HTML has that Content-ID yet either: add the image there (RFC 2387)."
            raise CheckFailed(
                f"The HTML ({_where(number)}) writes {written} with angle brackets; a cid: URL has none.",
                check="cids_resolve",
                expected=", ".join(f"{cid_url(content_id)} (the Content-ID without its angle brackets)"
                                   for _, content_id in bracketed),
                actual=written,
                hint=(
                    f"Remove the angle brackets from the cid: URL (RFC 2392 §2): write src=\"{cid_url(meant)}\" "
                    f"for the part with Content-ID: {meant}; the brackets belong to the Content-ID header only. "
                    f"{there} email.utils.make_msgid() returns the id with its brackets, so write cid[1:-1] after "
                    "cid: in the HTML; mimekit.add_inline_image() returns the URL ready to use."
                ),
                tree=render_tree(parsed),
                what=what,
            )
        if missing:
            bare = [ref for ref in missing if ref[1:-1] in siblings]
            elsewhere = [f"{ref} is in {_where(everywhere[ref])}" for ref in missing if ref in everywhere]
            hint = (
                "A cid: URL is the Content-ID without its angle brackets: src=\"cid:logo@example.com\" "
                "finds Content-ID: <logo@example.com> (RFC 2392 §2), in the same multipart/related as the "
                "HTML (RFC 2387). Give the image its id with image.add_header('Content-ID', cid), cid from "
                "email.utils.make_msgid(), and write cid[1:-1] after cid: in the HTML; " + helper
            )
            if bare:
                hint = (
                    f"The Content-ID header needs angle brackets: write Content-ID: {bare[0]}, not "
                    f"{bare[0][1:-1]} (RFC 2045 §7, the msg-id syntax of RFC 5322 §3.6.4). " + hint
                )
            if elsewhere:
                hint = f"Found outside this multipart/related: {'; '.join(elsewhere)}. " + hint
            raise CheckFailed(
                f"The HTML ({_where(number)}) refers to {', '.join(_written_url(ref) for ref in missing)}, "
                "but no part beside it has that Content-ID.",
                check="cids_resolve",
                expected=", ".join(f"a part with Content-ID: {ref}" for ref in missing),
                actual="Content-IDs beside the HTML: " + (", ".join(siblings) or "none"),
                hint=hint,
                tree=render_tree(parsed),
                what=what,
            )
        for ref in references:
            resolved.setdefault(ref, None)
    return list(resolved)


# --------------------------------------------------------------------------- attachments


def _same_name(a: str, b: str) -> bool:
    """File names compared as text: NFC, so an 'é' typed on macOS (e + accent) equals a precomposed one."""
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


def check_attachment(
    msg: MessageSource, filename: str, mime_type: str | None = None, *, what: str | None = None
) -> Message:
    """Check that *msg* carries the attachment *filename* (of type *mime_type*); return its part.

    The part must have ``Content-Disposition: attachment`` with that file name
    (RFC 2183 §2.2, §2.3). File names are compared decoded: a non-ASCII name
    sent as ``filename*=utf-8''factura-n%C2%BA1001.pdf`` (RFC 2231 §4) matches
    ``"factura-nº1001.pdf"``, and accents match however they were typed
    (Unicode NFC). *mime_type* (``"application/pdf"``), when given, must equal
    the part's content type, ignoring case. *what* names the message in the
    feedback's first line.

    Returns the attachment part as parsed (``part.get_content()`` gives its
    bytes back).

    Raises :class:`CheckFailed` (check ``"attachment"``) when no part has
    that file name, when it is there but ``inline`` or without a disposition,
    or when its type differs; ``TypeError`` for a *msg* or *what* of the wrong
    type; ``ValueError`` for a blank *what*.

    >>> from mimekit import add_attachment, make_mixed
    >>> msg = make_mixed("Adjunto la factura.")
    >>> part = add_attachment(msg, b"%PDF-1.7", filename="factura-nº1001.pdf")
    >>> check_attachment(msg, "factura-nº1001.pdf", "application/pdf").get_content()
    b'%PDF-1.7'
    """
    __tracebackhide__ = True
    _check_what(what)
    parsed, _ = _read(msg)
    files = [(n, p) for n, p, _ in _numbered(parsed) if not p.is_multipart() and p.get_filename() is not None]
    named = [(n, p) for n, p in files if _same_name(p.get_filename(), filename)]
    found = "; ".join(
        f"{p.get_filename()!r} ({p.get_content_type()}, {p.get_content_disposition() or 'no disposition'}, "
        f"{_where(n)})"
        for n, p in files
    ) or "no part with a file name"
    tree = render_tree(parsed)
    if not named:
        raise CheckFailed(
            f"The message has no attachment named {filename!r}.",
            check="attachment",
            expected=f"a part with Content-Disposition: attachment; filename={filename!r}"
            + (f", of type {mime_type}" if mime_type else ""),
            actual=found,
            hint=(
                "Attachments are parts of multipart/mixed after the body, marked Content-Disposition: attachment "
                "with the file name (RFC 2183 §2.3); a non-ASCII name is sent as filename*=utf-8''… "
                "(RFC 2231 §4). With email.mime: part.add_header('Content-Disposition', 'attachment', "
                "filename=name) writes both, then attach the part to the MIMEMultipart('mixed'); with EmailMessage: "
                "msg.add_attachment(data, maintype, subtype, filename=name). mimekit.add_attachment(msg, data, "
                "filename=name) does this."
            ),
            tree=tree,
            what=what,
        )
    attached = [(n, p) for n, p in named if p.get_content_disposition() == "attachment"]
    if not attached:
        number, part = named[0]
        disposition = part.get_content_disposition()
        raise CheckFailed(
            f"{filename!r} is in the message ({_where(number)}) but not as an attachment: its disposition is "
            f"{disposition or 'missing'}.",
            check="attachment",
            expected="Content-Disposition: attachment",
            actual=f"Content-Disposition: {disposition}" if disposition else "no Content-Disposition header",
            hint=(
                "attachment means the reader chooses to open or save the file; inline means show it in the body "
                "(RFC 2183 §2.1, §2.2). Inline images belong in multipart/related; files to download are "
                "attachments: del part['Content-Disposition'] removes the old disposition, then "
                "part.add_header('Content-Disposition', 'attachment', filename=name) marks the file. "
                "mimekit.add_attachment() marks it so too."
            ),
            tree=tree,
            what=what,
        )
    number, part = attached[0]
    if mime_type is not None and part.get_content_type() != mime_type.strip().lower():
        raise CheckFailed(
            f"The attachment {filename!r} ({_where(number)}) has the wrong type.",
            check="attachment",
            expected=mime_type.strip().lower(),
            actual=part.get_content_type(),
            hint=(
                "The Content-Type tells the reader's client which program opens the file (RFC 2045 §5, "
                "RFC 2046 §4.5); application/octet-stream only offers to save it. Build the part with its type: "
                "MIMEApplication(data, 'pdf'), MIMEText(text, 'csv', 'utf-8') or MIMEBase(maintype, subtype) with "
                "email.mime, msg.add_attachment(data, maintype, subtype, ...) with EmailMessage; "
                "mimetypes.guess_type(filename) reads the type from the name. mimekit.add_attachment(..., "
                "mime_type=...) takes it too."
            ),
            tree=tree,
            what=what,
        )
    return part


# --------------------------------------------------------------------------- headers


#: RFC 5322 §3.2.3 specials: a display name holding one travels as a quoted string (§3.4), as formataddr() writes it.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def _show_mailbox(name: str, address: str) -> str:
    """One mailbox as ``formataddr()`` writes it, the name left decoded: ``"Smith, John" <john.smith@example.net>``."""
    if not name:
        return address
    if _SPECIALS.search(name):
        name = f'"{email.utils.quote(name)}"'
    return f"{name} <{address}>"


def _looks(text: str) -> str:
    """What a reader sees of *text*: spaces of any kind and invisible characters (no-break, zero-width …) gone."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text) if ch.isprintable() and not ch.isspace())


def _show_mailboxes(mailboxes: list[tuple[str, str]], other: list[tuple[str, str]]) -> str:
    """*mailboxes* as header text; as Python pairs (repr shows the invisible) when it would look like *other*'s."""
    shown = ", ".join(_show_mailbox(n, a) for n, a in mailboxes)
    if _looks(shown) == _looks(", ".join(_show_mailbox(n, a) for n, a in other)):
        return ", ".join(repr(pair) for pair in mailboxes)
    return shown


def _how_to_write(name: str) -> str:
    """How the standard library writes header *name*, with its RFC 5322 section."""
    lower = name.lower()
    if lower in ("from", "sender", "reply-to"):
        return f"msg[{name!r}] = email.utils.formataddr((name, address)) (RFC 5322 §3.6.2)"
    if lower in ("to", "cc", "bcc"):
        return f"msg[{name!r}] = email.utils.formataddr((name, address)), several joined with ', ' (RFC 5322 §3.6.3)"
    if lower == "date":
        return "msg['Date'] = email.utils.format_datetime(dt), dt a datetime with its timezone (RFC 5322 §3.6.1)"
    if lower == "message-id":
        return "msg['Message-ID'] = email.utils.make_msgid(domain=...) (RFC 5322 §3.6.4)"
    if lower == "subject":
        return "msg['Subject'] = text; non-ASCII text becomes RFC 2047 encoded words by itself (RFC 5322 §3.6.5)"
    return f"msg[{name!r}] = value (RFC 5322 §3.6)"


def _kit_setter(name: str) -> str:
    if name.lower() in ("date", "message-id"):
        return "mimekit.add_date_and_message_id(msg) adds Date and Message-ID."
    return f"mimekit.set_header(msg, {name!r}, value) does this."


def _mailbox_difference(have: list[tuple[str, str]], want: list[tuple[str, str]]) -> str:
    """One sentence on the first difference between two lists of (display name, address)."""
    if len(have) != len(want):
        return (
            f"It holds {len(have)} mailbox{'es' if len(have) != 1 else ''} where the exercise expects {len(want)}."
        )
    for index, ((have_name, have_address), (want_name, want_address)) in enumerate(zip(have, want), start=1):
        which = "" if len(want) == 1 else f" of mailbox {index}"
        if have_address.casefold() != want_address.casefold():
            return (
                f"The address{which} is <{have_address}> where the exercise expects <{want_address}> "
                "(addresses compare ignoring case)."
            )
        if not _same_name(have_name, want_name):
            return (
                f"Only the display name{which} differs: {have_name!r} where the exercise expects {want_name!r}; "
                "names compare exactly once decoded, accents and capitals included."
            )
    return ""


def check_header(
    msg: MessageSource, name: str, expected: AddressLike | Iterable[AddressLike], *, what: str | None = None
) -> None:
    """Check that header *name* of *msg*, decoded, equals *expected*.

    Headers are compared as a reader sees them: RFC 2047 encoded words decoded
    (``=?utf-8?b?...?=`` becomes ``José Núñez``) and folded lines unfolded
    (RFC 5322 §2.2.3). Address headers (From, Sender, Reply-To, To, Cc, Bcc)
    are compared mailbox by mailbox, in order: display names exactly,
    addresses ignoring case; *expected* then takes what
    :func:`~mimekit.headers.set_header` takes (``"José Núñez <jose.nunez@example.com>"``,
    ``("José Núñez", "jose.nunez@example.com")`` or a list of them). Other
    headers take a str, compared exactly. *what* names the message in the
    feedback's first line.

    The feedback writes mailboxes as :func:`email.utils.formataddr` does, the
    display name decoded and in double quotes when it holds a special such
    as a comma (RFC 5322 §3.2.3): ``"Smith, John" <john.smith@example.net>``.

    Raises :class:`CheckFailed` (check ``"header"``) when the header is
    missing, differs, or appears more than once where RFC 5322 §3.6 allows one;
    :class:`~mimekit.errors.HeaderError` when *expected* is not a valid address;
    ``TypeError`` for a *msg*, a non-address *expected* or *what* of the wrong
    type; ``ValueError`` for a blank *what*.

    >>> from mimekit import make_text_part, set_header
    >>> msg = make_text_part("Hola")
    >>> set_header(msg, "To", ("José Núñez", "jose.nunez@example.com"))
    >>> set_header(msg, "Subject", "Tu pedido nº 1001")
    >>> check_header(msg, "To", "José Núñez <Jose.Nunez@example.com>")
    >>> check_header(msg, "Subject", "Tu pedido nº 1001")
    """
    __tracebackhide__ = True
    _check_what(what)
    is_address = name.lower() in ADDRESS_HEADERS
    if not is_address and not isinstance(expected, str):
        raise TypeError(f"check_header(): the expected {name} is a str, not {type(expected).__name__}.")
    wanted = parse_addresses(expected, header=name) if is_address else None
    parsed, _ = _read(msg)
    tree = render_tree(parsed)
    values = _header_text(parsed, name)
    shown = expected if wanted is None else ", ".join(_show_mailbox(n, a) for n, a in wanted)
    if not values:
        raise CheckFailed(
            f"The message has no {name} header.",
            check="header",
            expected=f"{name}: {shown}",
            actual="headers present: " + (", ".join(dict.fromkeys(parsed.keys())) or "none"),
            hint=f"Add it: {_how_to_write(name)}. {_kit_setter(name)}",
            tree=tree,
            what=what,
        )
    if len(values) > 1 and name.lower() in _SINGLE_HEADERS:
        raise CheckFailed(
            f"The {name} header appears {len(values)} times; RFC 5322 §3.6 allows it once.",
            check="header",
            expected=f"one {name} header",
            actual="\n".join(f"{name}: {value}" for value in values),
            hint=(
                f"msg[{name!r}] = value *adds* a header even when one is there: del msg[{name!r}] first (it "
                f"removes every {name} header), then set it once. mimekit.set_header() replaces it in one step."
            ),
            tree=tree,
            what=what,
        )
    if wanted is not None:
        try:
            header = parsed[name]
            mailboxes = [(a.display_name, a.addr_spec) for a in header.addresses]
            unreadable = any(isinstance(d, email.errors.InvalidHeaderDefect) for d in header.defects)
        except Exception:  # so broken that policy.default cannot parse it at all
            mailboxes, unreadable = [], True
        if unreadable or not mailboxes or any("@" not in address for _, address in mailboxes):
            raw = " ".join(value for key, value in parsed.raw_items() if key.lower() == name.lower())
            if "=?" in raw:
                hint = (
                    "Only the display name may be an encoded word; the address must stay plain "
                    "local-part@domain, after it and outside it (RFC 2047 §5(3)). With email.mime, "
                    "msg['From'] = 'José <…>' encodes the whole string and hides the address: give it "
                    "email.utils.formataddr((name, address)), which encodes the name only. "
                    f"mimekit.set_header(msg, {name!r}, (name, address)) does the same."
                )
            elif any(_SPECIALS.search(want_name) for want_name, _ in wanted):
                hint = (
                    "A display name holding a comma, a dot or another special ( ) < > @ , ; : \\ \" . [ ] must be "
                    "in double quotes, or the reader's client splits it into mailboxes there (RFC 5322 §3.2.3, "
                    f"§3.4): {shown}. email.utils.formataddr((name, address)) adds the quotes where they are "
                    f"needed; mimekit.set_header(msg, {name!r}, (name, address)) too."
                )
            else:
                hint = (
                    "Write each mailbox as display name <local-part@domain>, or the bare address, several "
                    "separated by commas (RFC 5322 §3.4): email.utils.formataddr((name, address)) writes one. "
                    f"mimekit.set_header(msg, {name!r}, (name, address)) checks and writes them."
                )
            raise CheckFailed(
                f"The {name} header does not hold a readable address.",
                check="header",
                expected=f"{name}: {shown}",
                actual=f"{name}: {values[0]}",
                hint=hint,
                tree=tree,
                what=what,
            )
        same = len(mailboxes) == len(wanted) and all(
            _same_name(have_name, want_name) and have_address.casefold() == want_address.casefold()
            for (have_name, have_address), (want_name, want_address) in zip(mailboxes, wanted)
        )
        if not same:
            raise CheckFailed(
                f"The {name} header holds other mailboxes than expected.",
                check="header",
                expected=f"{name}: {_show_mailboxes(wanted, mailboxes)}",
                actual=f"{name}: {_show_mailboxes(mailboxes, wanted)}",
                hint=(
                    f"The {name} header is set, but to another value. {_mailbox_difference(mailboxes, wanted)} "
                    f"Write it with {_how_to_write(name)}, and set it once: del msg[{name!r}] before setting it "
                    f"again. mimekit.set_header(msg, {name!r}, [(name, address), ...]) replaces it in one step."
                ),
                tree=tree,
                what=what,
            )
        return
    if expected in values:
        return
    actual = values[0]
    hint = (
        "Values are compared decoded, as a reader's client shows them: write the text itself, "
        f"msg[{name!r}] = text; email.mime and EmailMessage turn non-ASCII text into RFC 2047 encoded words "
        "by themselves (so does mimekit.set_header())."
    )
    if "=?" in actual:
        hint = (
            "The decoded value still holds an encoded word: it was encoded twice, or is malformed (RFC 2047 §2: "
            "no spaces inside one, at most 75 characters). Give msg[name] = … (or email.header.Header(text, "
            "'utf-8')) the plain text and let it encode; mimekit.set_header() also takes the plain text."
        )
    elif actual.strip() == expected.strip() or " ".join(actual.split()) == " ".join(expected.split()):
        hint = "Only the spaces differ: look for a leading, trailing or doubled space (folding adds none, RFC 5322 §2.2.3)."
    raise CheckFailed(
        f"The {name} header is not what the exercise expects.",
        check="header",
        expected=f"{name}: {expected!r}",
        actual=f"{name}: {actual!r}",
        hint=f"The {name} header is set, but to another value. {hint}",
        tree=tree,
        what=what,
    )


def check_not_in_headers(msg: MessageSource, name: str, *, what: str | None = None) -> None:
    """Check that no header *name* is anywhere in *msg*: not at the top, not in any part or forwarded message.

    Made for ``Bcc``: a Bcc recipient belongs in the SMTP envelope only
    (``RCPT TO``); a Bcc header left in the bytes sent tells every recipient
    who got a blind copy (RFC 5322 §3.6.3). Pass the bytes that were sent, or
    the :class:`~mimekit.server.CapturedMessage` that arrived: a message object
    you are about to send with :func:`~mimekit.envelope.as_smtp_bytes` or
    ``smtplib``'s ``send_message()`` may hold Bcc, as they drop it. *what*
    names the message in the feedback's first line.

    Raises :class:`CheckFailed` (check ``"not_in_headers"``) naming where the
    header was found; ``TypeError`` for a *msg* or *what* of the wrong type;
    ``ValueError`` for a blank *what*.

    >>> check_not_in_headers(b"From: a@example.com\\r\\nTo: b@example.org\\r\\n\\r\\nHola\\r\\n", "Bcc")
    """
    __tracebackhide__ = True
    _check_what(what)
    parsed, _ = _read(msg)
    found = [
        f"{name}: {value} (in the headers of {_where(number)})"
        for number, part, _ in _numbered(parsed)
        for value in _header_text(part, name)
    ]
    if not found:
        return
    if name.lower() in ("bcc", "resent-bcc"):
        hint = (
            "Blind-copy recipients go in the envelope only (RCPT TO, RFC 5321 §3.3); the header must not "
            "travel, or every recipient learns who got a blind copy (RFC 5322 §3.6.3). smtplib's "
            "send_message() and mimekit's as_smtp_bytes() leave it out; sendmail(msg.as_string()) does not."
        )
    else:
        hint = f"Remove it before sending: del msg[{name!r}] (on the part that holds it)."
    raise CheckFailed(
        f"The message carries a {name} header, which must not be there.",
        check="not_in_headers",
        expected=f"no {name} header anywhere in the message",
        actual="\n".join(found),
        hint=hint,
        tree=render_tree(parsed),
        what=what,
    )


# --------------------------------------------------------------------------- list headers


def check_one_click_unsubscribe(msg: MessageSource, *, what: str | None = None) -> str:
    """Check that *msg* offers one-click unsubscribe (RFC 8058 §3.1); return its https URL.

    Marketing mail needs two headers::

        List-Unsubscribe: <https://shop.example.com/unsubscribe?t=…>, <mailto:unsubscribe@shop.example.com>
        List-Unsubscribe-Post: List-Unsubscribe=One-Click

    List-Unsubscribe holds URIs in angle brackets, separated by commas
    (RFC 2369 §2, §3.2); for one click exactly one of them is https (plain
    http is refused), and List-Unsubscribe-Post holds exactly
    ``List-Unsubscribe=One-Click``: the mailbox provider POSTs that to the
    URL, with no page for the reader to click through (RFC 8058 §3.1).
    Not checked here: RFC 8058 §4 also wants a DKIM signature covering both
    headers. *what* names the message in the feedback's first line.

    Raises :class:`CheckFailed` (check ``"one_click_unsubscribe"``) when a
    header is missing or malformed, the URL is not https, or there is not
    exactly one https URL; ``TypeError`` for a *msg* or *what* of the wrong
    type; ``ValueError`` for a blank *what*.

    >>> from mimekit import make_text_part
    >>> msg = make_text_part("Novedades de noviembre")
    >>> msg["List-Unsubscribe"] = "<https://tienda.example.com/baja?t=9c1e>, <mailto:baja@tienda.example.com>"
    >>> msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    >>> check_one_click_unsubscribe(msg)
    'https://tienda.example.com/baja?t=9c1e'
    """
    __tracebackhide__ = True
    _check_what(what)
    parsed, _ = _read(msg)
    tree = render_tree(parsed)
    expected = "List-Unsubscribe: <https://…>[, <mailto:…>] and List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    helper = (
        "Set both with msg['List-Unsubscribe'] = '<https://…>, <mailto:…>' and msg['List-Unsubscribe-Post'] = "
        "'List-Unsubscribe=One-Click'; mimekit.shop.list_unsubscribe_headers(https_url, mailto) makes both."
    )
    values = _header_text(parsed, "List-Unsubscribe")
    posts = _header_text(parsed, "List-Unsubscribe-Post")
    shown = "\n".join([f"List-Unsubscribe: {v}" for v in values] + [f"List-Unsubscribe-Post: {v}" for v in posts])

    def fail(summary: str, hint: str) -> CheckFailed:
        return CheckFailed(
            summary, check="one_click_unsubscribe", expected=expected, actual=shown or "neither header",
            hint=f"{hint} {helper}", tree=tree, what=what,
        )

    if len(values) != 1:
        raise fail(
            "The message has no List-Unsubscribe header." if not values else
            f"The message has {len(values)} List-Unsubscribe headers; it should have one.",
            "Marketing mail names how to leave the list in one List-Unsubscribe header (RFC 2369 §3.2).",
        )
    value = " ".join(values[0].split())
    uris = re.findall(r"<([^<>]*)>", value)
    if not uris or re.sub(r"<[^<>]*>", "", value).strip(" ,"):
        raise fail(
            "List-Unsubscribe is not a list of URIs in angle brackets.",
            "Write each URI in angle brackets, separated by commas (RFC 2369 §2): <https://…>, <mailto:…>.",
        )
    https = [uri for uri in uris if uri.lower().startswith("https://")]
    http = [uri for uri in uris if uri.lower().startswith("http://")]
    if http:
        raise fail(
            f"List-Unsubscribe offers a plain http URL: {http[0]}",
            "One-click unsubscribe must use https, so that nobody on the way can read or forge the request "
            "(RFC 8058 §3.1).",
        )
    if len(https) != 1:
        raise fail(
            "List-Unsubscribe has no https URL." if not https else
            f"List-Unsubscribe has {len(https)} https URLs; one-click needs exactly one.",
            "The mailbox provider POSTs to the one https URI of List-Unsubscribe (RFC 8058 §3.1); "
            "a mailto: may stand beside it.",
        )
    if len(posts) != 1 or " ".join(posts[0].split()) != "List-Unsubscribe=One-Click":
        raise fail(
            "List-Unsubscribe-Post is missing." if not posts else
            "List-Unsubscribe-Post does not say List-Unsubscribe=One-Click.",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click tells the provider it may POST that body to "
            "the https URL, with no page to click through (RFC 8058 §3.1); spelled exactly so, once.",
        )
    return https[0]


# --------------------------------------------------------------------------- line lengths


def check_line_lengths(msg: MessageSource, *, limit: int = MAX_LINE_OCTETS, what: str | None = None) -> None:
    """Check that no line of *msg* is longer than *limit* octets (998, RFC 5322 §2.1.1), CRLF not counted.

    Lengths are counted in bytes on the wire, so ``ñ`` in an 8bit line counts
    2. Lines end at CRLF; for bytes written with bare LF line ends (the
    default of ``msg.as_bytes()``), at LF. Servers may refuse, cut or rewrap a
    longer line (RFC 5321 §4.5.3.1.6), which breaks HTML and signatures.
    *what* names the message in the feedback's first line.

    Raises :class:`CheckFailed` (check ``"line_lengths"``) listing the long
    lines (up to 5) with their number, length and whether they are in the
    headers or the body; ``TypeError`` for a *msg* or *what* of the wrong
    type; ``ValueError`` for a blank *what*.

    >>> check_line_lengths(b"Subject: Hola\\r\\n\\r\\n" + b"x" * 998 + b"\\r\\n")
    """
    __tracebackhide__ = True
    _check_what(what)
    parsed, raw = _read(msg)
    lines = [line.removesuffix(b"\r") for line in raw.split(b"\n")]
    body_starts = next((i for i, line in enumerate(lines) if not line), len(lines))
    long_lines = [(i, line) for i, line in enumerate(lines) if len(line) > limit]
    if not long_lines:
        return
    found = "\n".join(
        f"line {i + 1} ({'headers' if i < body_starts else 'body'}): {len(line):,} octets, "
        f"starting {line[:40].decode('utf-8', 'replace')!r}…"
        for i, line in long_lines[:5]
    )
    if len(long_lines) > 5:
        found += f"\n… and {len(long_lines) - 5} more"
    raise CheckFailed(
        f"{len(long_lines)} line{'s are' if len(long_lines) != 1 else ' is'} longer than {limit} octets.",
        check="line_lengths",
        expected=f"every line at most {limit} octets, CRLF not counted (RFC 5322 §2.1.1)",
        actual=found,
        hint=(
            "In a body, let the transfer encoding wrap long lines: quoted-printable adds soft line breaks "
            "(RFC 2045 §6.7) and base64 writes 76-character lines (§6.8); 7bit and 8bit do not wrap. "
            "MIMEText(text, subtype, 'utf-8') sends base64 (a us-ascii MIMEText is 7bit), and EmailMessage's "
            "set_content() switches to quoted-printable or base64 by itself when a line is too long; "
            "mimekit.make_text_part() and mimekit.make_html_part() choose one and say why. A long header is folded at "
            "spaces (RFC 5322 §2.2.3)."
        ),
        tree=render_tree(parsed),
        what=what,
    )


# --------------------------------------------------------------------------- secrets


def _secret_pattern(secret: str) -> re.Pattern[str]:
    """The secret as written; a number of 6+ digits also with spaces, dots or dashes between them."""
    digits = re.sub(r"[\s.+()-]", "", secret)
    if digits.isdigit() and digits.isascii() and len(digits) >= 6:
        return re.compile(r"[\s.()-]*".join(re.escape(d) for d in digits))
    return re.compile(re.escape(secret))


def _masked(secret: str) -> str:
    return f"{secret[:2]}…, {len(secret)} characters"


def check_no_secret(
    msg: MessageSource, secrets: str | Iterable[str] | Mapping[str, str], *, what: str | None = None
) -> None:
    """Check that no secret appears anywhere a reader (or a server on the way) could read it in *msg*.

    Looked at, decoded: every header of every part (RFC 2047 words decoded),
    file names, every text part (transfer encoding undone; HTML also with its
    entities decoded, so ``&amp;`` hides nothing), and the bytes of every
    other part. A secret of 6 or more digits (a card or phone number) is also
    found with spaces, dots or dashes between the digits.

    *secrets* is one str, several, or a mapping from a name to the secret
    (``{"password": "…", "card number": "…"}``), which the feedback then uses.
    The feedback never prints a secret in full: only its first 2 characters.
    *what* names the message in the feedback's first line.

    An account notification says *that* something changed, never the value:
    e-mail is copied to many servers and kept for years, and is not end-to-end
    encrypted. Card numbers show their last 4 digits at most (PCI DSS v4.0,
    requirement 3.4.1).

    Raises :class:`CheckFailed` (check ``"no_secret"``) naming each secret
    found and where; ``ValueError`` for an empty secret or a blank *what*;
    ``TypeError`` for a *msg* or *what* of the wrong type.

    >>> from mimekit import make_text_part
    >>> check_no_secret(make_text_part("Your card ending in 1111 was charged."), {"card": "4111 1111 1111 1111"})
    """
    __tracebackhide__ = True
    _check_what(what)
    if isinstance(secrets, str):
        named = {"the secret": secrets}
    elif isinstance(secrets, Mapping):
        named = {str(label): value for label, value in secrets.items()}
    else:
        named = {f"secret #{i}": value for i, value in enumerate(secrets, start=1)}
    for label, secret in named.items():
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"check_no_secret(): {label} must be a non-empty str, not {secret!r}.")
    parsed, _ = _read(msg)
    places: list[tuple[str, str, bool]] = []  # (where, decoded text, whether it is binary data read as latin-1)
    for number, part, _ in _numbered(parsed):
        for name in dict.fromkeys(part.keys()):
            for value in _header_text(part, name):
                places.append((f"the {name} header of {_where(number)}", value, False))
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename:
            places.append((f"the file name of {_where(number)}", filename, False))
        content = f"the {part.get_content_type()} part ({_where(number)})"
        if part.get_content_maintype() == "text":
            text = _decoded_text(part)
            places.append((content, text, False))
            if part.get_content_subtype() == "html":
                places.append((content, html.unescape(text), False))
        elif part.get_content_maintype() != "message":
            places.append((content, (part.get_payload(decode=True) or b"").decode("latin-1"), True))
    leaks = []
    for label, secret in named.items():
        as_text = _secret_pattern(secret)
        as_bytes = _secret_pattern(secret.encode("utf-8").decode("latin-1"))  # the secret's UTF-8 bytes in binary data
        where = [w for w, text, binary in places if (as_bytes if binary else as_text).search(text)]
        if where:
            leaks.append(f"{label} ({_masked(secret)}) is in " + ", ".join(dict.fromkeys(where)))
    if not leaks:
        return
    raise CheckFailed(
        f"The message gives away {len(leaks)} secret{'s' if len(leaks) != 1 else ''}.",
        check="no_secret",
        expected="no secret anywhere in the message: headers, text, HTML, attachments",
        actual="\n".join(leaks),
        hint=(
            "Say what changed, not the value: mask it (j•••@example.com; mimekit.shop.mask_email and mask_phone "
            "do it), show at most the last 4 digits of a card (PCI DSS v4.0 req. 3.4.1), and never send a "
            "password. E-mail is stored on every server on the way and kept for years."
        ),
        tree=render_tree(parsed),
        what=what,
    )


# --------------------------------------------------------------------------- delivery


def _inbox_messages(where) -> list[CapturedMessage]:
    if isinstance(where, EmbeddedServer):
        return where.inbox.messages()
    if isinstance(where, Inbox):
        return where.messages()
    if isinstance(where, (list, tuple)) and all(isinstance(m, CapturedMessage) for m in where):
        return list(where)
    raise TypeError(
        "check_delivered() takes an EmbeddedServer, its Inbox, or a list of CapturedMessage, "
        f"not {type(where).__name__}."
    )


def _in_address_headers(captured: CapturedMessage, address: str) -> bool:
    values = [v for field in ("To", "Cc", "Bcc") for v in _header_text(captured.message, field)]
    return any(address.casefold() == addr.casefold() for _, addr in email.utils.getaddresses(values))


def _show_captured(captured: CapturedMessage) -> str:
    rcpts = ", ".join(f"<{r}>" for r in captured.rcpt_tos) or "(envelope unknown)"
    return f"MAIL FROM:<{captured.mail_from}>  RCPT TO:{rcpts}  Subject: {captured.subject!r}"


def check_delivered(
    where: EmbeddedServer | Inbox | list[CapturedMessage],
    *,
    rcpt_tos: str | Iterable[str] = (),
    mail_from: str | None = None,
    subject: str | None = None,
    what: str | None = None,
) -> list[CapturedMessage]:
    """Check that mail reached the embedded server for these envelope recipients; return those messages.

    *where* is an :class:`~mimekit.server.EmbeddedServer`, its
    :class:`~mimekit.server.Inbox`, or a list of captured messages. A message
    counts when its envelope sender is *mail_from* (if given) and its decoded
    Subject equals *subject* (if given). Every address of *rcpt_tos* (one str
    or several) must be an envelope recipient (``RCPT TO``) of such a message;
    one message may carry several of them, or each its own. Addresses compare
    ignoring case. With no criterion at all, one message of any kind is
    enough.

    The envelope is what the server delivers by, not the To/Cc headers
    (RFC 5321 §3.3): a Bcc recipient is in ``RCPT TO`` and in no header.
    Sending is synchronous: when ``sendmail()`` or ``SMTPSession.send()``
    returns, the embedded server has captured the message, so there is no
    need to wait. *what* names the mail looked for in the feedback's first
    line (``what="the newsletter for Zoë"``).

    Returns the matching messages that carried a wanted recipient (every
    matching message when *rcpt_tos* is empty), oldest first.

    Raises :class:`CheckFailed` (check ``"delivered"``) listing what the
    inbox does hold; ``TypeError`` for a *where* or *what* of the wrong type;
    ``ValueError`` for a blank *what*.

    >>> from mimekit import EmbeddedServer, SMTPSession, make_text_part, set_header
    >>> msg = make_text_part("Tu pedido ha salido.")
    >>> set_header(msg, "From", "pedidos@tienda.example.com")
    >>> set_header(msg, "To", "jose.nunez@example.com")
    >>> set_header(msg, "Bcc", "archivo@tienda.example.com")
    >>> with EmbeddedServer() as server, SMTPSession(port=server.port) as session:
    ...     result = session.send(msg)
    ...     check_delivered(server, rcpt_tos=["jose.nunez@example.com", "archivo@tienda.example.com"])
    [<CapturedMessage from 'pedidos@tienda.example.com' to ['jose.nunez@example.com', 'archivo@tienda.example.com'] subject '', ... bytes>]
    """
    __tracebackhide__ = True
    _check_what(what)
    messages = _inbox_messages(where)
    wanted = [rcpt_tos] if isinstance(rcpt_tos, str) else list(rcpt_tos)
    matching = [
        m for m in messages
        if (mail_from is None or m.mail_from.casefold() == mail_from.casefold())
        and (subject is None or m.subject == subject)
    ]

    def carries(m: CapturedMessage, address: str) -> bool:
        return address.casefold() in (r.casefold() for r in m.rcpt_tos)

    missing = [a for a in wanted if not any(carries(m, a) for m in matching)]
    if matching and not missing:
        return [m for m in matching if not wanted or any(carries(m, a) for a in wanted)]
    criteria = []
    if mail_from is not None:
        criteria.append(f"MAIL FROM:<{mail_from}>")
    if wanted:
        criteria.append("RCPT TO:" + ", ".join(f"<{a}>" for a in wanted))
    if subject is not None:
        criteria.append(f"Subject: {subject!r}")
    shown = [_show_captured(m) for m in messages[:10]]
    if len(messages) > 10:
        shown.append(f"… and {len(messages) - 10} more")
    if not messages:
        summary = "Nothing reached the server: its inbox is empty."
        hint = (
            "Send to the embedded server itself, at its host and port: smtplib.SMTP(server.host, server.port), "
            "server being what mimekit.start_server() returned; mail sent anywhere else never reaches this inbox. "
            "sendmail() and send_message() return the recipients the server refused (an empty dict when it took "
            "them all). The inbox then lists each message by its envelope, the addresses RCPT TO named: a Bcc "
            "recipient is in the envelope only. server.inbox.clear() after sending empties the inbox again."
        )
    else:
        others = " and ".join(c for c in criteria if not c.startswith("RCPT TO"))
        if missing:
            summary = f"No message for {', '.join(f'<{a}>' for a in missing)} reached the server"
            summary += f" with {others}." if others else "."
        else:
            summary = f"No message with {others} reached the server."
        hint = (
            "The server delivers by the envelope, MAIL FROM and RCPT TO (RFC 5321 §3.3), not by the From/To "
            "headers, which only the reader sees: a message reaches exactly the addresses RCPT TO named. "
            "smtplib's sendmail(from_addr, to_addrs, msg) sends RCPT TO for each of to_addrs; send_message(msg) "
            "takes them from To, Cc and Bcc. A Bcc recipient is in the envelope only, never in a header that "
            "travels. mimekit's SMTPSession.send(msg, rcpt_tos=...) takes them too."
        )
        in_headers = [a for a in missing if any(_in_address_headers(m, a) and not carries(m, a) for m in messages)]
        if in_headers:
            hint = (
                f"<{in_headers[0]}> is in a header of a message that arrived, but not in its envelope: "
                "the message went to the RCPT TO addresses only. " + hint
            )
        elif mail_from is not None and not any(m.mail_from.casefold() == mail_from.casefold() for m in messages):
            hint = (
                "MAIL FROM is the envelope sender, where bounces go (RFC 5321 §4.1.1.2); it may differ from "
                "the From header. " + hint
            )
        elif subject is not None and not any(m.subject == subject for m in messages):
            hint = (
                "The Subject is compared whole, as the reader sees it (RFC 2047 encoded words decoded); "
                "compare it with the subjects that arrived. " + hint
            )
    raise CheckFailed(
        summary,
        check="delivered",
        expected="a message with " + ("  ".join(criteria) if criteria else "any envelope") + " in the inbox",
        actual="\n".join(shown) if shown else "an empty inbox",
        hint=hint,
        what=what,
    )
