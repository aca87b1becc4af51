"""Fixtures shared by the test modules: a real parser, real servers on loopback, small real files.

Every check reads the *wire*: the bytes :func:`mimekit.as_smtp_bytes` produces,
parsed back with ``email.policy.default`` as a recipient's mail client would.
Servers are real aiosmtpd servers on 127.0.0.1 and are always stopped (the
server fixtures build on ``mail_server`` / ``make_mail_server`` of mimekit's
pytest plugin, mimekit/pytest_plugin.py).
Addresses are on example.com / example.org / example.net only (RFC 2606).
"""

from __future__ import annotations

import email
import email.policy
import random
import re
import struct
import zlib
from email.message import EmailMessage, Message

import pytest

from loopback import free_port
from mimekit import EmbeddedServer, RetryPolicy, as_smtp_bytes, set_header
from mimekit.checks import check_cids_resolve
from mimekit.parts import make_text_part
from mimekit.shop import build_order_confirmation, sample_order, sample_shop

# --------------------------------------------------------------------------- the wire


def parse_wire(msg: Message) -> EmailMessage:
    """Serialise *msg* for SMTP and parse the bytes back with the modern parser."""
    return email.message_from_bytes(as_smtp_bytes(msg), policy=email.policy.default)


@pytest.fixture
def parse():
    """``parse(msg)``: the message a recipient's parser reads from ``as_smtp_bytes(msg)``."""
    return parse_wire


def _longest_line(raw: bytes) -> int:
    return max(len(line) for line in raw.split(b"\r\n"))


def _bare_line_breaks(raw: bytes) -> list[bytes]:
    return re.findall(rb"\r(?!\n)|(?<!\r)\n", raw)


@pytest.fixture
def assert_valid_wire():
    """``assert_valid_wire(raw)``: CRLF line ends only and no line over 998 octets (RFC 5322 §2.1.1)."""

    def check(raw: bytes) -> bytes:
        assert _bare_line_breaks(raw) == [], "a bare CR or LF is on the wire"
        assert _longest_line(raw) <= 998, f"a line of {_longest_line(raw)} octets is on the wire"
        return raw

    return check


def cid_targets(msg: Message) -> list[tuple[list[str], list[str]]]:
    """For each multipart/related in *msg*: (cid: URLs in its HTML root, Content-IDs of its other parts).

    Written here with its own regular expression, independent of
    ``mimekit.find_cid_references`` (which :func:`mimekit.checks.check_cids_resolve`
    uses), so the tests of inline images do not rest on the code they test.
    """
    found = []
    for part in msg.walk():
        if part.get_content_type() != "multipart/related":
            continue
        root, *others = part.get_payload()
        html = root.get_payload(decode=True).decode(root.get_content_charset() or "utf-8")
        urls = re.findall(r"""src=["']cid:([^"']+)["']""", html)
        ids = [str(p["Content-ID"]).strip().removeprefix("<").removesuffix(">") for p in others if p["Content-ID"]]
        found.append((urls, ids))
    return found


@pytest.fixture
def assert_cids_resolve():
    """``assert_cids_resolve(msg)``: the HTML refers to images by ``cid:`` and each names a sibling part's Content-ID.

    The library's :func:`~mimekit.checks.check_cids_resolve` judges (and
    explains a failure); :func:`cid_targets` must agree with it.
    """

    def check(msg: Message) -> None:
        assert check_cids_resolve(msg), "the HTML refers to no cid: URL"
        groups = cid_targets(msg)
        assert groups, "no multipart/related in the message"
        for urls, ids in groups:
            assert urls, "the HTML root refers to no cid: URL"
            for url in urls:
                assert url in ids, f"cid:{url} names no part of its multipart/related (Content-IDs: {ids})"

    return check


# --------------------------------------------------------------------------- small real data


def _png(width: int = 2, height: int = 1) -> bytes:
    """A valid RGB PNG, built by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def png_bytes() -> bytes:
    """A tiny valid PNG image (raw bytes, not base64)."""
    return _png()


@pytest.fixture
def text_message():
    """``text_message(body, *, to=..., cc=..., bcc=..., subject=...)``: a text/plain e-mail with headers set."""

    def build(
        body: str = "Hola José,\ngracias por tu pedido.\n",
        *,
        sender="Tienda Ñandú <pedidos@tienda.example.com>",
        to="José Núñez <jose.nunez@example.com>",
        cc=None,
        bcc=None,
        subject: str = "Tu pedido nº 1001",
    ) -> Message:
        msg = make_text_part(body)
        set_header(msg, "From", sender)
        set_header(msg, "To", to)
        if cc is not None:
            set_header(msg, "Cc", cc)
        if bcc is not None:
            set_header(msg, "Bcc", bcc)
        set_header(msg, "Subject", subject)
        return msg

    return build


@pytest.fixture
def shop():
    return sample_shop()


@pytest.fixture
def order():
    return sample_order()


@pytest.fixture
def confirmation(order, shop):
    """The shop's order confirmation with a fixed Date and Message-ID: alternative [plain, related [html, logo png]]."""
    return build_order_confirmation(order, shop, date=order.placed_at, message_id="<order-1001@tienda.example.com>")


# --------------------------------------------------------------------------- servers on loopback


@pytest.fixture
def smtp_server(mail_server):
    """A running :class:`EmbeddedServer` on 127.0.0.1 and a free port; stopped after the test.

    The ``mail_server`` fixture of mimekit's pytest plugin (mimekit/pytest_plugin.py), under this name.
    """
    return mail_server


class RefusingHandler:
    """An aiosmtpd handler around the server's own: refuses some senders, recipients and messages.

    * ``RCPT TO`` for an address starting with ``nobody@``: ``550 5.1.1 No such user``;
    * ``MAIL FROM`` for an address starting with ``blocked@``: ``553 5.7.1 Sender not allowed``;
    * ``DATA`` whose content holds the header ``X-Spam: yes``: ``554 5.6.0 Message rejected``.

    Everything else is accepted and passed to the wrapped handler, which captures it.
    """

    def __init__(self, inner) -> None:
        self.inner = inner

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.lower().startswith("blocked@"):
            return "553 5.7.1 Sender not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if b"\r\nX-Spam: yes\r\n" in b"\r\n" + envelope.original_content:
            return "554 5.6.0 Message rejected"
        return await self.inner.handle_DATA(server, session, envelope)


@pytest.fixture
def refusing_server():
    """A running :class:`EmbeddedServer` whose handler is wrapped in :class:`RefusingHandler`."""
    server = EmbeddedServer()
    server.handler = RefusingHandler(server.handler)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound to port 0 to find it, then released)."""
    return free_port()


@pytest.fixture
def slept() -> list[float]:
    """The waits an :func:`instant` policy was asked to sleep, in seconds."""
    return []


@pytest.fixture
def instant(slept):
    """``instant(attempts=4)``: a RetryPolicy that records its waits instead of sleeping, same jitter every run."""

    def make(attempts: int = 4) -> RetryPolicy:
        return RetryPolicy(attempts=attempts, sleep=slept.append, rng=random.Random(1))

    return make


@pytest.fixture
def faulty_server(make_mail_server):
    """``faulty_server(faults)``: start an EmbeddedServer with that fault plan; every one is stopped after the test."""

    def start(faults=None):
        return make_mail_server(faults=faults)

    return start
