"""The SMTP envelope, and the exact bytes that go on the wire.

An e-mail travels inside an *envelope* (RFC 5321 §2.3.1): the sender given in
``MAIL FROM`` and the recipients given one by one in ``RCPT TO``. Servers route by
the envelope, not by the headers. The headers (From, To, Cc) are part of the
*content*, what the reader sees. Usually the two agree; Bcc is where they must
not: a Bcc recipient is in the envelope (so the server delivers to them) but the
Bcc header is removed from the bytes sent (RFC 5322 §3.6.3), so nobody else
learns of them.

Serialising for SMTP has two traps this module closes:

* every line must end in CRLF (RFC 5321 §2.3.8); a bare LF is refused by
  strict servers and mangled by others;
* the default generator writes ``>From`` for a body line starting with
  ``From `` (an mbox habit). SMTP needs no such mangling
  (``email.policy.SMTP`` and ``mangle_from_=False``).
"""

from __future__ import annotations

import copy
import io
import re
import secrets
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message

from .errors import HeaderError, MimeStructureError
from .headers import _mailboxes, check_address_headers, check_headers, validate_address
from .parts import MAX_LINE_OCTETS

__all__ = ["Envelope", "as_smtp_bytes", "envelope_from_headers"]

_BARE_CR_OR_LF = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope of one message (RFC 5321 §3.3).

    ``mail_from`` is the reverse-path given in ``MAIL FROM:<…>``, where bounces
    go; ``rcpt_tos`` the forward-paths, one ``RCPT TO:<…>`` each, in order.
    Both are bare addresses without display names.
    """

    mail_from: str
    rcpt_tos: tuple[str, ...]


def envelope_from_headers(msg: Message) -> Envelope:
    """Compute the envelope from *msg*'s headers.

    ``mail_from`` is the Sender address if there is one, else the first From
    address (RFC 5322 §3.6.2). ``rcpt_tos`` is every address in To, Cc and Bcc,
    in that order, duplicates (compared case-insensitively) removed.

    Raises :class:`HeaderError` when there is no From or no recipient at all.

    >>> from email.mime.text import MIMEText
    >>> msg = MIMEText("Hola")
    >>> msg["From"] = "Tienda <pedidos@tienda.example.com>"
    >>> msg["To"] = "José Núñez <jose.nunez@example.com>"
    >>> msg["Bcc"] = "archivo@tienda.example.com"
    >>> envelope_from_headers(msg)
    Envelope(mail_from='pedidos@tienda.example.com', rcpt_tos=('jose.nunez@example.com', 'archivo@tienda.example.com'))
    """
    senders = _addresses(msg, "Sender") or _addresses(msg, "From")
    if not senders:
        raise HeaderError(
            "The message has no From header, so there is no sender for MAIL FROM "
            "(RFC 5322 §3.6.2 requires From). Set it, e.g. set_header(msg, 'From', 'shop@example.com').",
            header="From",
        )
    rcpt_tos: dict[str, str] = {}
    for header in ("To", "Cc", "Bcc"):
        for address in _addresses(msg, header):
            rcpt_tos.setdefault(address.lower(), address)
    if not rcpt_tos:
        raise HeaderError(
            "The message has no recipient in To, Cc or Bcc, so there is nobody to send it to. "
            "Set To (RFC 5322 §3.6.3), or pass rcpt_tos explicitly.",
            header="To",
        )
    return Envelope(mail_from=senders[0], rcpt_tos=tuple(rcpt_tos.values()))


def _addresses(msg: Message, header: str) -> list[str]:
    values = [str(v) for v in msg.get_all(header, [])]
    if not values:
        return []
    addresses = []
    for name, address in _mailboxes(*values):  # email.utils.getaddresses(values), cached
        if address:
            addresses.append(validate_address(address, header=header))
    return addresses


def as_smtp_bytes(msg: Message) -> bytes:
    """Return the bytes to send after ``DATA``: CRLF line ends, no Bcc, no ``>From`` mangling.

    Bcc and Resent-Bcc are left out of the bytes but stay on *msg*
    (RFC 5322 §3.6.3). Like ``msg.as_bytes()``, the first serialisation fixes
    each multipart boundary on *msg*, so serialising again gives the same bytes.
    The bytes are written by :class:`~email.generator.BytesGenerator` with
    the message's own policy set to ``linesep="\\r\\n"`` and ``mangle_from_=False`` (what ``email.policy.SMTP`` means for modern messages).

    The result is checked before it is returned, because a server may refuse
    or silently alter mail that breaks these rules:

    * no header name or value carries an injected CR or LF (:class:`HeaderInjectionError`);
    * every address header parses back to its addresses (:func:`~mimekit.headers.check_address_headers`,
      :class:`HeaderError`): the one-string ``msg["From"] = "José <…>"`` trap is refused;
    * no bare CR or LF, only CRLF (RFC 5321 §2.3.8);
    * no line longer than 998 octets (RFC 5322 §2.1.1; RFC 5321 §4.5.3.1.6).

    The last two raise :class:`MimeStructureError`; they happen only when a
    part was given a transfer encoding of ``8bit``/``binary`` by hand.
    Dot-stuffing (RFC 5321 §4.5.2) is smtplib's job during DATA, not done here.
    """
    check_headers(msg)
    check_address_headers(msg)
    _check_transfer_encodings(msg)
    if msg.get_content_maintype() == "multipart" and msg.get_boundary() is None:
        # The generator gives a multipart without a boundary one as it writes it, on the part
        # itself: the nested parts below are msg's own (the copy is shallow) and keep theirs,
        # but the top level is the copy. So that one is set here, on msg, as the generator
        # would; then serialising twice gives the same bytes.
        msg.set_boundary(f"{'=' * 15}{secrets.randbelow(10**19):019d}==")
    outgoing = copy.copy(msg)  # shallow: only the top-level header list is replaced below
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    buffer = io.BytesIO()
    policy = outgoing.policy.clone(linesep="\r\n")
    BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(outgoing)
    data = buffer.getvalue()
    lines = data.split(b"\r\n")
    crlf = len(lines) - 1
    # Counting is quick; the search, which finds where, runs only when some CR or LF is not part of a CRLF.
    bare = _BARE_CR_OR_LF.search(data) if data.count(b"\r") != crlf or data.count(b"\n") != crlf else None
    if bare:
        line_no = data.count(b"\n", 0, bare.start()) + 1
        kind = "CR" if bare.group() == b"\r" else "LF"
        raise MimeStructureError(
            f"Line {line_no} of the serialised message ends in a bare {kind}; "
            "SMTP needs CRLF (RFC 5321 §2.3.8). "
            "Let the transfer encoding be chosen for you (quoted-printable or base64) instead of 8bit/binary."
        )
    if max(map(len, lines)) > MAX_LINE_OCTETS:  # then say which line: the first one too long
        for line_no, line in enumerate(lines, start=1):
            if len(line) > MAX_LINE_OCTETS:
                raise MimeStructureError(
                    f"Line {line_no} of the serialised message is {len(line)} octets long; the limit is "
                    f"{MAX_LINE_OCTETS} (RFC 5322 §2.1.1). Use quoted-printable or base64 for that part."
                )
    return data


def _check_transfer_encodings(msg: Message) -> None:
    """Refuse leaves whose bytes contradict their Content-Transfer-Encoding, and Bcc inside parts.

    ``7bit`` (also what no header means) promises ASCII without NUL; ``8bit``
    allows any byte but NUL, in lines (RFC 2045 §2.7, §2.8). Raw binary needs
    base64. A Bcc header inside a forwarded message/rfc822 part would reveal
    the blind copies of that message, so it is refused too.
    """
    for part in msg.walk():
        if part is not msg and part.get_all("Bcc"):
            raise MimeStructureError(
                "A part inside this message (a forwarded message/rfc822?) still has a Bcc header, which "
                "would show its blind copies to your recipients. Remove it, or forward with "
                "make_forward(), which drops it."
            )
        if part.is_multipart():
            continue
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        if cte not in ("7bit", "8bit"):  # base64, quoted-printable (ASCII by construction), binary: nothing to check
            continue
        payload = part.get_payload()
        if isinstance(payload, str):
            data = payload.encode("utf-8", "surrogateescape")
        elif isinstance(payload, (bytes, bytearray)):
            data = bytes(payload)
        else:
            continue
        what = f"a {part.get_content_type()} part"
        if cte == "7bit" and (not data.isascii() or b"\x00" in data):
            raise MimeStructureError(
                f"{what} declares 7bit (or no Content-Transfer-Encoding) but holds 8-bit or NUL bytes, "
                "which would be corrupted on the way (RFC 2045 §2.7). Encode binary data with "
                "email.encoders.encode_base64(part), or build the part with make_binary_part()."
            )
        if cte == "8bit" and b"\x00" in data:
            raise MimeStructureError(
                f"{what} declares 8bit but holds NUL bytes, which 8bit does not allow (RFC 2045 §2.8); "
                "use base64 for binary data."
            )
