"""Headers: addresses with non-ASCII names, Subject, Date, Message-ID, and the injection guard.

A header is one line ``Name: value`` (RFC 5322 §2.2), folded onto several lines
when long. Header values must be ASCII on the wire, so text such as
``José Núñez`` travels as an *encoded word* (RFC 2047)::

    From: =?utf-8?b?Sm9zw6kgTsO6w7Fleg==?= <jose.nunez@example.com>

Only the display name is encoded: the address itself stays plain ASCII so that
every server can route it. Encoding the whole ``"José Núñez <jose@…>"`` string,
which is what ``email.mime`` does if you assign it to ``msg["From"]`` as one str,
hides the address inside the encoded word and breaks the header. The helpers
here avoid that and refuse values a header cannot carry.

Works on both message flavours: the legacy ``email.mime`` classes (policy
``compat32``) and the modern ``email.message.EmailMessage`` (policy ``default``).
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import functools
import re
from collections.abc import Iterable
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from typing import Union

import email_validator

from .errors import HeaderError, HeaderInjectionError, InvalidAddressError

__all__ = [
    "ADDRESS_HEADERS",
    "AddressLike",
    "add_date_and_message_id",
    "check_address_headers",
    "check_header_name",
    "check_header_value",
    "check_headers",
    "check_msg_id",
    "format_address",
    "parse_addresses",
    "set_header",
    "validate_address",
]

#: Headers whose value is a list of mailboxes (RFC 5322 §3.6.2 and §3.6.3).
ADDRESS_HEADERS = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc"})

#: One mailbox: ``"jose.nunez@example.com"``, ``"José Núñez <jose.nunez@example.com>"``
#: or the pair ``("José Núñez", "jose.nunez@example.com")``.
AddressLike = Union[str, "tuple[str, str]"]

# RFC 5322 §2.2: a field name is printable US-ASCII except the colon ("ftext").
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# RFC 5322 §3.6.4 msg-id, kept to the dot-atom form every generator writes: <left@right>.
_MSG_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+>")
# An empty group such as "undisclosed-recipients:;" (RFC 5322 §3.4): a valid address header without addresses.
_EMPTY_GROUP = re.compile(r"[^:]*:\s*;\s*")
#: How many distinct addresses (and address header values) keep their checked answer: sending the
#: same From, or a To that was validated when it was set, again costs a dictionary look-up.
_ADDRESS_CACHE_SIZE = 4096


def check_header_name(name: str) -> None:
    """Raise :class:`HeaderError` unless *name* is a valid header field name.

    A field name is one or more printable ASCII characters other than the
    colon (RFC 5322 §2.2): no space, no CR or LF. A name with a line break in it
    is header injection just like a value with one (``"X-Foo\\r\\nBcc"``),
    so it raises :class:`HeaderInjectionError`.

    >>> check_header_name("X-Campaign")
    >>> check_header_name("X Campaign")
    Traceback (most recent call last):
    ...
    mimekit.errors.HeaderError: 'X Campaign' is not a header field name: ...
    """
    if not isinstance(name, str):
        raise HeaderError(f"A header name is a str such as 'Subject', not {type(name).__name__}.", header=str(name))
    if "\r" in name or "\n" in name:
        raise HeaderInjectionError(
            f"The header name {name!r} contains a line break (CR or LF): it would end the header "
            "line and inject another one (RFC 5322 §2.2). Use a fixed name such as 'X-Campaign'.",
            header=name,
        )
    if not _FIELD_NAME.fullmatch(name):
        raise HeaderError(
            f"{name!r} is not a header field name: use printable ASCII letters, digits and '-', "
            "without spaces or ':' (RFC 5322 §2.2), e.g. 'X-Campaign'.",
            header=name,
        )


def check_msg_id(value: str, *, header: str = "Message-ID") -> None:
    """Raise :class:`HeaderError` unless *value* is a message identifier ``<left@right>``.

    Message-ID and Content-ID share this syntax (RFC 5322 §3.6.4, RFC 2045 §7):
    angle brackets around two dot-atoms joined by ``@``, ASCII only, no spaces.

    >>> check_msg_id("<pedido-1001@tienda.example.com>")
    >>> check_msg_id("pedido-1001")
    Traceback (most recent call last):
    ...
    mimekit.errors.HeaderError: 'pedido-1001' is not a valid Message-ID: ...
    """
    check_header_value(header, value)
    if not _MSG_ID.fullmatch(value):
        raise HeaderError(
            f"{value!r} is not a valid {header}: write it as <unique-part@domain> in ASCII, with no "
            "spaces, angle brackets or second @ inside, e.g. <pedido-1001@tienda.example.com> "
            "(RFC 5322 §3.6.4).",
            header=header,
        )


def check_header_value(name: str, value: str) -> None:
    """Raise :class:`HeaderInjectionError` if *value* holds a CR or LF.

    A header line ends at CRLF (RFC 5322 §2.2). A value that contains one could
    add a header of its own, the classic *header injection*::

        subject = "Hello\\r\\nBcc: everyone@example.net"

    The error names the header and shows the value with the line break made
    visible, so the caller can find where it came from (usually a web form).

    >>> check_header_value("Subject", "Tu pedido ha salido")
    >>> check_header_value("Subject", "Hi\\nBcc: x@example.net")
    Traceback (most recent call last):
    ...
    mimekit.errors.HeaderInjectionError: The Subject header value 'Hi\\nBcc: x@example.net' contains a line break (CR or LF). ...
    """
    if "\r" in value or "\n" in value:
        raise HeaderInjectionError(
            f"The {name} header value {value!r} contains a line break (CR or LF). "
            "A line break ends the header on the wire (RFC 5322 §2.2), so it could "
            "inject another header such as Bcc. Remove the line break, or replace it "
            "with a space if the text came from a multi-line form field.",
            header=name,
        )


def check_headers(msg: Message) -> None:
    """Check every header of *msg* and its parts for injected line breaks.

    Parsed messages store folded values (a CRLF followed by a space or tab,
    RFC 5322 §2.2.3); those are fine. Any other CR or LF, in a value or in a
    name, raises :class:`HeaderInjectionError` naming the header; a name that
    is not RFC 5322 ftext raises :class:`HeaderError`. Values held as
    :class:`email.header.Header` objects are checked through their text.
    """
    checked_names: set[str] = set()
    for part in msg.walk():
        for name, value in part.items():
            if name not in checked_names:
                check_header_name(name)
                checked_names.add(name)
            text = str(value)
            if "\r" not in text and "\n" not in text:  # nearly always: nothing to unfold or refuse
                continue
            unfolded = text.replace("\r\n ", " ").replace("\r\n\t", "\t")
            unfolded = unfolded.replace("\n ", " ").replace("\n\t", "\t")
            check_header_value(name, unfolded)


def validate_address(address: str, *, header: str = "To") -> str:
    """Check that *address* is a usable ``local-part@domain`` and return it.

    Syntax only, with the ``email-validator`` package (RFC 5321 §4.1.2 and
    RFC 5322 §3.4.1); no DNS look-up is made. The domain must have a dot, so
    ``user@localhost`` is refused: use ``example.com``, ``example.org`` or
    ``example.net`` for examples (RFC 2606).

    A non-ASCII domain is returned in its ASCII (IDNA, "punycode") form, which
    every server can route. A non-ASCII local part (``josé@…``) is refused:
    it needs SMTPUTF8 (RFC 6531) on every server on the way, and the kit's
    messages use plain ASCII addresses. Otherwise the address is returned as
    given (not re-cased). Raises :class:`InvalidAddressError` (a
    ``ValueError``) with the reason.

    The answer for an address is remembered (for the last 4,096 distinct
    ones), so checking the same address again, such as a shop's From on
    every message it sends, costs a dictionary look-up.

    >>> validate_address("jose.nunez@example.com")
    'jose.nunez@example.com'
    >>> validate_address("ana@münchen.example")
    'ana@xn--mnchen-3ya.example'
    """
    check_header_value(header, address)
    try:
        ascii_email = _checked_address(str(address))
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddressError(
            f"{address!r} in the {header} header is not a valid e-mail address: {exc} "
            "Write it as local-part@domain, for example jose.nunez@example.com "
            "(RFC 5322 §3.4.1).",
            header=header,
            address=address,
        ) from exc
    if not address.isascii():
        return ascii_email or address
    return address


@functools.lru_cache(maxsize=_ADDRESS_CACHE_SIZE)
def _checked_address(address: str) -> str | None:
    """Validate *address* with email-validator (no DNS); return its ASCII form, or raise ``EmailNotValidError``.

    A pure function of *address*, so its answers are cached; a refusal is
    not (it raises), and is worked out again each time.
    """
    checked = email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return checked.ascii_email


@functools.lru_cache(maxsize=_ADDRESS_CACHE_SIZE)
def _mailboxes(*values: str) -> tuple[tuple[str, str], ...]:
    """``email.utils.getaddresses(values)`` as a tuple: the (display name, address) pairs of header *values*.

    A pure function of the header text, cached: computing the envelope and
    checking the address headers of one message parse the same values.
    """
    return tuple(email.utils.getaddresses(list(values)))


def parse_addresses(value: AddressLike | Iterable[AddressLike], *, header: str = "To") -> list[tuple[str, str]]:
    """Turn *value* into a list of validated ``(display name, address)`` pairs.

    Accepts one mailbox or an iterable of them, each a plain address, a
    ``"Name <address>"`` string, or a ``(name, address)`` tuple. A string may
    also hold several mailboxes separated by commas. Raises
    :class:`HeaderInjectionError` for CR/LF and :class:`InvalidAddressError`
    for anything that is not a mailbox.

    >>> parse_addresses("José Núñez <jose.nunez@example.com>, ana@example.org")
    [('José Núñez', 'jose.nunez@example.com'), ('', 'ana@example.org')]
    """
    if isinstance(value, (str, tuple)):
        items: list[AddressLike] = [value]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise HeaderError(
            f"The {header} header takes a str, a (name, address) tuple or a list of them, "
            f"not {type(value).__name__}.",
            header=header,
        )
    pairs: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, tuple):
            if len(item) != 2 or not all(isinstance(x, str) for x in item):
                raise HeaderError(
                    f"{item!r} in the {header} header should be a (display name, address) pair of str.",
                    header=header,
                )
            name, address = item
            check_header_value(header, name)
            pairs.append((name, validate_address(address, header=header)))
            continue
        if not isinstance(item, str):
            raise HeaderError(
                f"{item!r} in the {header} header should be a str or a (name, address) tuple, "
                f"not {type(item).__name__}.",
                header=header,
            )
        check_header_value(header, item)
        parsed = email.utils.getaddresses([item])
        if not parsed or any(not address for _, address in parsed):
            raise InvalidAddressError(
                f"{item!r} in the {header} header is not a mailbox. Write "
                '"Name <local-part@domain>" or just local-part@domain (RFC 5322 §3.4).',
                header=header,
                address=item,
            )
        for name, address in parsed:
            try:
                pairs.append((name, validate_address(address, header=header)))
            except InvalidAddressError as exc:
                if address == item.strip():
                    raise
                # The parser kept only a fragment ('not' of 'not an address'): name the text as given.
                raise InvalidAddressError(
                    f"{item!r} in the {header} header is not a mailbox: it reads as the address "
                    f"{address!r}, which is not valid ({exc.__cause__}). Write \"Name <local-part@domain>\" "
                    "or just local-part@domain, and put a display name holding a comma in double "
                    "quotes (RFC 5322 §3.4).",
                    header=header,
                    address=item,
                ) from exc.__cause__
    if not pairs:
        raise HeaderError(f"The {header} header needs at least one address.", header=header)
    return pairs


def format_address(name: str, address: str) -> str:
    """Return one mailbox as header text, the display name RFC 2047-encoded if needed.

    ASCII names are quoted only when they contain specials such as a comma
    (RFC 5322 §3.2.3); non-ASCII names become a UTF-8 encoded word.

    >>> format_address("José Núñez", "jose.nunez@example.com")
    '=?utf-8?b?Sm9zw6kgTsO6w7Fleg==?= <jose.nunez@example.com>'
    >>> format_address("Núñez, José", "jose.nunez@example.com")
    '=?utf-8?b?TsO6w7FleiwgSm9zw6k=?= <jose.nunez@example.com>'
    >>> format_address("Shop, Inc.", "shop@example.com")
    '"Shop, Inc." <shop@example.com>'
    """
    return email.utils.formataddr((name, address), charset="utf-8")


def set_header(msg: Message, name: str, value: AddressLike | Iterable[AddressLike]) -> None:
    """Set header *name* on *msg*, replacing any earlier value.

    Address headers (From, Sender, Reply-To, To, Cc, Bcc) take anything
    :func:`parse_addresses` accepts; every address is validated and each
    display name encoded on its own (RFC 2047 §5(3)), so a parser gives back
    ``José Núñez`` and ``jose.nunez@example.com`` intact (an ``EmailMessage``
    gets :class:`~email.headerregistry.Address` objects and its policy does the
    encoding). Other headers take a
    str; non-ASCII text is stored as an RFC 2047 UTF-8 :class:`~email.header.Header`
    for ``email.mime`` messages, and left to the policy for ``EmailMessage``.

    Raises :class:`HeaderInjectionError` for a CR or LF anywhere in the name
    or the value, :class:`InvalidAddressError` for a bad address,
    :class:`HeaderError` for a name that is not a field name or a value of the
    wrong type.

    >>> from email.mime.text import MIMEText
    >>> msg = MIMEText("Hola")
    >>> set_header(msg, "To", ("José Núñez", "jose.nunez@example.com"))
    >>> msg["To"]
    '=?utf-8?b?Sm9zw6kgTsO6w7Fleg==?= <jose.nunez@example.com>'
    """
    check_header_name(name)
    if name.lower() in ADDRESS_HEADERS:
        pairs = parse_addresses(value, header=name)
        text: str | Header | list[Address] = ", ".join(format_address(n, a) for n, a in pairs)
        if _is_modern(msg):
            # Give the policy the names themselves to encode: encoded words handed to an
            # EmailMessage are parsed and refolded, and Pythons without the gh-121284 fix
            # can then leak a comma out of a long one, splitting one mailbox in two.
            text = [Address(display_name=n, addr_spec=a) for n, a in pairs]
    else:
        if not isinstance(value, str):
            raise HeaderError(
                f"The {name} header takes a str, not {type(value).__name__}.", header=name
            )
        check_header_value(name, value)
        text = value
        if not value.isascii() and not _is_modern(msg):
            text = Header(value, "utf-8", header_name=name)
    del msg[name]
    msg[name] = text


def add_date_and_message_id(
    msg: Message,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> Message:
    """Add ``Date`` and ``Message-ID`` to *msg* where they are missing; return *msg*.

    RFC 5322 §3.6 requires Date on every message and says every message
    SHOULD have a Message-ID; mail without one is often treated as spam. Date is *date* (must be timezone-aware) or
    now, formatted per RFC 5322 §3.3. Message-ID is *message_id* or a fresh
    ``<unique@domain>`` from :func:`email.utils.make_msgid`, the domain taken
    from the Sender address if there is one, else from From, so the ID is
    unique to the sender (RFC 5322 §3.6.4).
    Headers already present are left alone.

    Raises :class:`HeaderError` if a Message-ID must be made but there is no
    Sender or From header to take the domain from, if *message_id* is not
    ``<left@right>`` (:func:`check_msg_id`), or if *date* is naive.
    """
    if msg["Date"] is None:
        when = date if date is not None else _dt.datetime.now(_dt.timezone.utc)
        if when.tzinfo is None:
            raise HeaderError(
                "The Date header needs a timezone-aware datetime (RFC 5322 §3.3 writes the "
                "offset, e.g. +0100). Pass datetime(..., tzinfo=timezone.utc) or "
                "datetime.now(timezone.utc).",
                header="Date",
            )
        msg["Date"] = email.utils.format_datetime(when)
    if msg["Message-ID"] is None:
        if message_id is None:
            sender = msg["Sender"] or msg["From"]
            if sender is None:
                raise HeaderError(
                    "Cannot make a Message-ID: the message has no From header to take the domain "
                    "from (RFC 5322 §3.6.4). Set From first, or pass message_id=.",
                    header="Message-ID",
                )
            addresses = email.utils.getaddresses([str(sender)])
            domain = addresses[0][1].rpartition("@")[2] if addresses else ""
            message_id = email.utils.make_msgid(domain=domain or None)
        check_msg_id(message_id)
        msg["Message-ID"] = message_id
    return msg


def _is_modern(msg: Message) -> bool:
    """True for messages whose policy encodes headers itself (EmailMessage)."""
    return getattr(msg.policy, "header_factory", None) is not None


def check_address_headers(msg: Message) -> None:
    """Check that every address header of *msg* will reach a parser intact.

    Catches the classic mistake with ``email.mime`` messages: assigning
    ``msg["From"] = "José Núñez <jose.nunez@example.com>"`` as one str. The
    legacy policy then encodes the whole string as one RFC 2047 word and the
    address disappears into it (RFC 2047 §5(3) allows encoded words only in
    the display name). Also refuses address headers in which a parser finds no
    ``local-part@domain``.

    Raises :class:`HeaderError` naming the header, with the fix:
    ``set_header(msg, "From", ("José Núñez", "jose.nunez@example.com"))``.
    """
    modern = _is_modern(msg)
    present: list[str] = []  # the address headers *msg* has, in the order they first appear
    for field in msg:  # the header names, in order
        name = field.lower()
        if name in ADDRESS_HEADERS and name not in present:
            present.append(name)
    for name in present:
        for value in msg.get_all(name, []):
            header = name.title() if name != "reply-to" else "Reply-To"
            if isinstance(value, Header):
                raise HeaderError(
                    f"The {header} header holds an email.header.Header object, which encodes the "
                    "address along with the name. Use set_header(msg, "
                    f"{header!r}, (name, address)) so only the display name is encoded (RFC 2047 §5).",
                    header=header,
                )
            text = str(value)
            if not modern and not text.isascii():
                raise HeaderError(
                    f"The {header} header {text!r} holds raw non-ASCII text: written as it is, the "
                    "whole value becomes one encoded word and the address is lost (RFC 2047 §5(3)). "
                    f"Use set_header(msg, {header!r}, {text!r}), which encodes only the display name.",
                    header=header,
                )
            pairs = [(n, a) for n, a in _mailboxes(text) if a]
            if (not pairs and _EMPTY_GROUP.fullmatch(text) is None) or any("@" not in address for _, address in pairs):
                # (an empty group such as "undisclosed-recipients:;" has no address and is fine)
                raise HeaderError(
                    f"The {header} header {text!r} does not parse as a list of addresses "
                    "(local-part@domain, RFC 5322 §3.4). Set it with set_header().",
                    header=header,
                )
