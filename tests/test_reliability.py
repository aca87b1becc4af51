"""Reliability of the embedded SMTP server: load, scripted faults, hostile clients, a server that goes away.

Every test runs real aiosmtpd servers on 127.0.0.1 and real clients (smtplib,
mimekit's SMTPSession / send_bulk, or bare sockets speaking SMTP by hand).
Every wait is bounded: sockets have timeouts, threads are joined with a
deadline, polling loops stop after a few seconds, and each test has a
pytest-timeout. "Nothing lost, nothing twice" is checked on the server's side:
the bytes and Message-IDs in the inbox, compared with what was sent and with
what the client reported.
"""

from __future__ import annotations

import errno
import itertools
import random
import smtplib
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.mime.text import MIMEText

import pytest

from mimekit import EmbeddedServer, SMTPSession, SMTPTarget, as_smtp_bytes
from mimekit.bulk import BulkReport, send_bulk
from mimekit.envelope import envelope_from_headers
from mimekit.errors import ServerStartError, SMTPDeliveryError
from mimekit.retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)

SHOP = "shop@example.com"
ANA = "ana@example.org"
CRLF = b"\r\n"


# --------------------------------------------------------------------------- helpers


def note(n: int, *, tag: str = "rel", to: str | None = None, size: int = 0) -> Message:
    """A small unique message: Message-ID ``<TAG-N@example.com>``, its own body, about *size* more bytes."""
    body = f"{tag} message {n}\n" + ("x" * 70 + "\n") * (size // 71)
    msg = MIMEText(body, "plain", "us-ascii")  # compat32 headers: 4,000 of them build in a blink
    msg["From"] = f"Shop <{SHOP}>"
    msg["To"] = to or f"cliente{n}@example.com"
    msg["Subject"] = f"{tag} {n}"
    msg["Message-ID"] = f"<{tag}-{n}@example.com>"
    return msg


def mid(n: int, tag: str = "rel") -> str:
    return f"<{tag}-{n}@example.com>"


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll *predicate* every 10 ms for at most *timeout* seconds; return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(0.01)
    return True


_probes = itertools.count()


def assert_still_delivers(server: EmbeddedServer) -> None:
    """A fresh, well-behaved smtplib client delivers one message, captured byte-exact exactly once."""
    n = next(_probes)
    raw = as_smtp_bytes(note(n, tag="probe"))
    rcpt = f"probe{n}@example.org"
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.sendmail(SHOP, [rcpt], raw) == {}
    assert [m.raw for m in server.inbox.filter(rcpt_to=rcpt)] == [raw]


class RawClient:
    """A bare TCP socket speaking SMTP by hand; every read has a deadline."""

    def __init__(
        self, server: EmbeddedServer | None, timeout: float = 5.0, *, sock: socket.socket | None = None
    ) -> None:
        """Connect to *server*, or speak over *sock*, a socket already connected to one."""
        self.timeout = timeout
        if sock is None:
            assert server is not None
            sock = socket.create_connection((server.host, server.port), timeout=timeout)
        self.sock = sock
        self.buffer = b""

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> int:
        """Read one whole reply (all lines of a multi-line one) and return its code.

        Raises ``EOFError`` when the server closes the connection first,
        ``TimeoutError`` when no whole reply came within the timeout.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._line(deadline)
            assert line[:3].isdigit(), f"not an SMTP reply line: {line!r}"
            if line[3:4] != b"-":  # "250-..." continues a reply, "250 ..." ends it (RFC 5321 §4.2.1)
                return int(line[:3])

    def command(self, line: bytes) -> int:
        self.send(line + b"\r\n")
        return self.reply()

    def closed_by_server(self, timeout: float = 5.0) -> bool:
        """Whether the server closes the connection (EOF) within *timeout*, ignoring anything it still sends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
        return False

    def vanish(self, *, reset: bool = False) -> None:
        """Go away without QUIT: a plain close (FIN) or, with *reset*, an abortive one (RST)."""
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _line(self, deadline: float) -> bytes:
        while b"\r\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no whole reply line within {self.timeout} s; unread: {self.buffer[:200]!r}")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(f"the server closed the connection; unread: {self.buffer[:200]!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line


def greeted(client: RawClient) -> RawClient:
    assert client.reply() == 220
    assert client.command(b"EHLO raw.example.com") == 250
    return client


@pytest.fixture
def server(smtp_server):
    """The running embedded server of conftest's ``smtp_server``, under a shorter name."""
    return smtp_server


# --------------------------------------------------------------------------- load


def test_twenty_concurrent_clients_times_two_hundred_messages_all_captured_byte_exact_once_in_order(server):
    clients, per_client = 20, 200
    sent: dict[int, list[bytes]] = {}
    for c in range(clients):
        messages = []
        for n in range(per_client):
            msg = note(n, tag=f"c{c}")
            if n % 7 == 0:  # some bodies with a leading dot: dot-stuffing must be undone byte-exact
                msg.set_payload(f".c{c} m{n}\n..two dots\n")
            messages.append(as_smtp_bytes(msg))
        sent[c] = messages
    errors: list[BaseException] = []
    refusals: list[dict] = []
    go = threading.Barrier(clients, timeout=10)

    def client(c: int) -> None:
        try:
            with smtplib.SMTP(server.host, server.port, timeout=20) as smtp:  # one connection per client
                go.wait()
                for raw in sent[c]:
                    refused = smtp.sendmail(SHOP, [f"client{c}@example.org"], raw)
                    if refused:
                        refusals.append(refused)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 45
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a client was still sending after 45 s"
    assert errors == [] and refusals == []

    captured = server.inbox.wait_for(clients * per_client, timeout=5)
    everything = [raw for messages in sent.values() for raw in messages]
    assert len(set(everything)) == clients * per_client  # every message unique
    assert len(captured) == clients * per_client
    # byte-exact and none duplicated: the multiset of captured bytes is exactly the set sent
    assert Counter(m.raw for m in captured) == Counter(everything)
    assert len({m.message["Message-ID"] for m in captured}) == clients * per_client
    peers = set()
    for c in range(clients):
        mine = [m for m in captured if m.rcpt_tos == (f"client{c}@example.org",)]
        assert [m.raw for m in mine] == sent[c]  # one connection's messages keep their order
        assert len({m.peer for m in mine}) == 1  # ... and came over that one connection
        peers |= {m.peer for m in mine}
    assert len(peers) == clients

    # each session's transcript holds that client's 200 captures, the very inbox objects, in order
    assert wait_until(lambda: all(not t.is_open for t in server.transcripts))
    transcripts = server.transcripts
    assert len(transcripts) == clients
    by_peer = {t.peer: t for t in transcripts}
    assert set(by_peer) == peers
    for c in range(clients):
        mine = [m for m in captured if m.rcpt_tos == (f"client{c}@example.org",)]
        session = by_peer[mine[0].peer]
        assert len(session.messages) == per_client
        assert all(a is b for a, b in zip(session.messages, mine))


# --------------------------------------------------------------------------- the fault matrix, through send_bulk


@dataclass
class FaultCase:
    """One row of the matrix: the server's faults, the messages, and what the client must report."""

    spec: str
    recipients: list[list[str]]  # message n goes to recipients[n] (its To: header)
    refused: dict[tuple[int, str], int] = field(default_factory=dict)  # (n, address) -> final code
    failed: set[int] = field(default_factory=set)  # messages given up on: no reply on every try
    retried: int = 0
    reconnects: int = 0
    attempts: int = 4
    timeout: float = 5.0
    sizes: dict[int, int] = field(default_factory=dict)  # extra body bytes of message n


def _to(*names: str) -> list[str]:
    return [f"{name}@example.com" for name in names]


FAULT_CASES = [
    # 451 to the first 2 tries of each (IP, sender, recipient): the third try of every message goes through.
    FaultCase("greylist:2", [_to("a0"), _to("a1"), _to("a2"), _to("a3"), _to("a4", "b4")], retried=5 * 2),
    # More greylisting than the policy has tries: the 451 still standing after try 4 is reported.
    FaultCase(
        "greylist:4",
        [_to("a0"), _to("a1", "b1")],
        refused={(0, "a0@example.com"): 451, (1, "a1@example.com"): 451, (1, "b1@example.com"): 451},
        retried=2 * 3,
    ),
    # 421 to the 4th MAIL FROM of every connection: 3 + 3 + 3 + 1 messages over 4 connections.
    FaultCase("close:3", [_to(f"a{n}") for n in range(10)], retried=3, reconnects=3),
    # Hang up without a reply at the end of the 3rd DATA of every connection: 2 + 2 + 2 + 1.
    FaultCase("drop-data:2", [_to(f"a{n}") for n in range(7)], retried=3, reconnects=3),
    # 452 to every RCPT TO beyond the first: one recipient per transaction; 4 tries reach 4 of 5.
    FaultCase(
        "max-rcpt:1",
        [_to("a0"), _to("a1", "b1"), _to("a2", "b2", "c2"), _to("a3", "b3", "c3", "d3", "e3")],
        refused={(3, "e3@example.com"): 452},
        retried=0 + 1 + 2 + 3,
    ),
    # 550 to nobody@*: permanent, never retried; a message with another recipient still goes to it.
    FaultCase(
        "reject:nobody@*",
        [_to("a0"), _to("nobody"), _to("nobody", "a2"), _to("a3")],
        refused={(1, "nobody@example.com"): 550, (2, "nobody@example.com"): 550},
    ),
    # 552 after DATA for a message over 2,000 bytes: permanent, for each of its recipients.
    FaultCase(
        "max-size:2000",
        [_to("a0"), _to("a1", "b1"), _to("a2")],
        refused={(1, "a1@example.com"): 552, (1, "b1@example.com"): 552},
        sizes={1: 5000},
    ),
    # The reply to DATA comes 0.3 s late, the client waits 0.1 s: no reply, on every try.
    FaultCase(
        "slow:DATA=0.3",
        [_to("a0"), _to("a1")],
        failed={0, 1},
        retried=2 * 1,
        reconnects=3,
        attempts=2,
        timeout=0.1,
    ),
]


def assert_each_message_once_or_reported(
    server: EmbeddedServer,
    report: BulkReport,
    messages: list[Message],
    refused: dict[tuple[str, str], int],
    failed: set[str],
) -> None:
    """Each (Message-ID, recipient) is in the inbox exactly once, or reported with the expected code; never both."""
    arrivals = Counter((m.message["Message-ID"], rcpt) for m in server.inbox for rcpt in m.rcpt_tos)
    twice = {key: count for key, count in arrivals.items() if count > 1}
    assert twice == {}, f"delivered more than once: {twice}"

    wire = {msg["Message-ID"]: as_smtp_bytes(msg) for msg in messages}  # Date was added when it was sent
    for captured in server.inbox:
        assert captured.raw == wire[captured.message["Message-ID"]]  # byte-exact, every retry the same bytes

    reported = {(m, address): code for m, replies in report.refused.items() for address, (code, _) in replies.items()}
    assert reported == refused
    assert set(report.failed) == failed
    assert report.unsent == [] and report.skipped == []

    for msg in messages:
        message_id = msg["Message-ID"]
        wanted = set(envelope_from_headers(msg).rcpt_tos)
        arrived = {rcpt for (m, rcpt) in arrivals if m == message_id}
        said_no = {address for (m, address) in reported if m == message_id}
        if message_id in failed:
            assert arrived == set() and said_no == set(), message_id
        else:
            assert arrived | said_no == wanted and not arrived & said_no, message_id  # nothing lost

    # what the report calls accepted is exactly what the server captured
    assert {(r.message_id, address) for r in report.sent for address in r.accepted} == set(arrivals)
    assert not set(report.sent_ids) & set(report.failed)


@pytest.mark.parametrize("case", FAULT_CASES, ids=[case.spec for case in FAULT_CASES])
def test_fault_matrix_each_message_arrives_once_or_is_reported_with_the_right_code(case: FaultCase):
    tag = "fm-" + case.spec.replace(":", "-").replace("=", "-").replace("*", "x").replace("@", "-")
    messages = [
        note(n, tag=tag, to=", ".join(recipients), size=case.sizes.get(n, 0))
        for n, recipients in enumerate(case.recipients)
    ]
    slept: list[float] = []
    with EmbeddedServer(faults=case.spec) as server:
        target = SMTPTarget.for_server(server, timeout=case.timeout)
        report = send_bulk(
            messages, target, retry=RetryPolicy(attempts=case.attempts, sleep=slept.append), progress=False
        )
        assert_each_message_once_or_reported(
            server,
            report,
            messages,
            refused={(mid(n, tag), address): code for (n, address), code in case.refused.items()},
            failed={mid(n, tag) for n in case.failed},
        )
        peers = {m.peer for m in server.inbox}
    # transient failures were retried (each retry waited once), permanent ones never
    assert (report.retried, report.reconnects) == (case.retried, case.reconnects)
    assert len(slept) == report.retried
    if server.inbox:
        assert len(peers) == report.reconnects + 1
    for message_id, text in report.failed.items():  # no reply is said to be a timeout, naming the message
        assert "timeout" in text and message_id in text


def test_slow_data_reply_is_reported_then_retried_and_delivered_once_when_the_server_speeds_up():
    server = EmbeddedServer(faults="slow:DATA=0.3")
    handler = server.handler
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the first backoff: by the retry, the server is fast again
        waits.append(seconds)
        handler.plan = ""

    with server:
        report = send_bulk(
            [note(0, tag="recover"), note(1, tag="recover")],
            SMTPTarget.for_server(server, timeout=0.1),
            retry=RetryPolicy(attempts=3, sleep=sleep),
            progress=False,
        )
        assert Counter(m.message["Message-ID"] for m in server.inbox) == {mid(0, "recover"): 1, mid(1, "recover"): 1}
    assert [r.attempts for r in report.sent] == [2, 1]
    assert (report.retried, report.reconnects, report.failed, report.refused) == (1, 1, {}, {})
    assert len(waits) == 1


# --------------------------------------------------------------------------- hostile clients on bare sockets


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bytes_get_5xx_replies_and_the_server_keeps_serving(server, seed):
    rng = random.Random(seed)
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    if seed == 3:  # printable junk: every line an unknown command, until aiosmtpd loses patience
        garbage = b"\r\n".join(
            bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ<>@: ") for _ in range(rng.randrange(1, 80)))
            for _ in range(20)
        )
    codes = []
    with RawClient(server) as client:
        assert client.reply() == 220
        client.send(garbage + b"\r\nNOOP\r\n")
        hung_up = False
        for _ in range(garbage.count(b"\n") + 2):  # at most one reply per line, and the NOOP's
            try:
                code = client.reply()
            except EOFError:
                hung_up = True
                break
            codes.append(code)
            if code == 250:
                break
    assert codes, "no reply at all to the garbage"
    answers, last = codes[:-1], codes[-1]
    assert all(500 <= code <= 599 for code in answers), codes
    if hung_up:  # aiosmtpd hangs up after too many unknown commands, saying so with 502 first
        assert last == 502, codes
    else:
        assert last == 250, codes  # the NOOP after the garbage: the session still works
    assert len(server.inbox) == 0
    assert_still_delivers(server)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_random_bytes_as_message_content_are_captured_byte_exact(server, seed):
    rng = random.Random(seed)
    lines = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))) for _ in range(40)]
    lines = [line.replace(b"\r", b"").replace(b"\n", b"") for line in lines]  # any byte but CR and LF
    lines[::3] = [b"." + line for line in lines[::3]]  # and lines that need dot-stuffing
    content = b"\r\n".join(lines) + b"\r\n"
    stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines) + b"\r\n"
    with RawClient(server) as client:
        greeted(client)
        assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert client.command(b"DATA") == 354
        client.send(stuffed[:7])  # in odd pieces, as TCP may deliver them
        client.send(stuffed[7:1000])
        assert client.command(stuffed[1000:] + b".") == 250
        assert client.command(b"QUIT") == 221
    [captured] = server.inbox
    assert captured.raw == content
    assert isinstance(captured.subject, str) and repr(captured)  # reading it back does not raise
    assert wait_until(lambda: not server.transcripts[-1].is_open)
    summary = [line.text for line in server.transcripts[-1].lines if line.text.startswith("<message")]
    assert summary == [f"<message: {len(content):,} bytes, {len(lines):,} lines>"]
    assert_still_delivers(server)


@pytest.mark.parametrize(
    "line",
    [
        b"NOOP " + b"x" * 9995,
        b"MAIL FROM:<" + b"a" * 9976 + b"@example.com>",
        bytes(random.Random(7).choice(b"abcdefghij0123456789 ") for _ in range(10_000)),
    ],
    ids=["noop", "mail-from", "junk"],
)
def test_a_10000_byte_command_line_gets_500_and_the_session_goes_on(server, line):
    assert len(line) == 10_000
    raw = as_smtp_bytes(note(0, tag="after-long-line"))
    with RawClient(server) as client:
        greeted(client)
        assert client.command(line) == 500  # "500 Command line too long" (aiosmtpd)
        assert client.command(b"NOOP") == 250
        # the same session then delivers a message
        assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert client.command(b"DATA") == 354
        assert client.command(raw + b".") == 250
        assert client.command(b"QUIT") == 221
    assert [m.raw for m in server.inbox] == [raw]
    # the transcript keeps a shortened line, not 10,000 characters
    assert wait_until(lambda: not server.transcripts[-1].is_open)
    longest = max(len(line.text) for line in server.transcripts[-1].lines if line.direction == "C")
    assert longest < 1_200
    assert_still_delivers(server)


def test_a_line_over_1000_bytes_inside_data_refuses_that_message_only(server):
    good = as_smtp_bytes(note(1, tag="after-long-data-line"))
    with RawClient(server) as client:
        greeted(client)
        assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert client.command(b"DATA") == 354
        client.send(b"Subject: too long\r\n\r\n" + b"y" * 5000 + b"\r\n")
        assert client.command(b".") == 500  # RFC 5321 §4.5.3.1.6: 1,000 octets per line at most
        assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert client.command(b"DATA") == 354
        assert client.command(good + b".") == 250
    assert [m.raw for m in server.inbox] == [good]
    assert_still_delivers(server)


@pytest.mark.parametrize(
    ("setup", "wrong"),
    [
        ([], b"MAIL FROM:<shop@example.com>"),  # before EHLO
        ([b"EHLO raw.example.com"], b"DATA"),  # DATA before MAIL FROM
        ([b"EHLO raw.example.com"], b"RCPT TO:<ana@example.org>"),  # RCPT before MAIL
        ([b"EHLO raw.example.com", b"MAIL FROM:<shop@example.com>"], b"DATA"),  # DATA before RCPT
        ([b"EHLO raw.example.com", b"MAIL FROM:<shop@example.com>"], b"MAIL FROM:<shop@example.com>"),  # nested
    ],
    ids=["mail-before-ehlo", "data-before-mail", "rcpt-before-mail", "data-before-rcpt", "nested-mail"],
)
def test_commands_out_of_order_get_503_and_the_session_goes_on(server, setup, wrong):
    raw = as_smtp_bytes(note(0, tag="after-503"))
    with RawClient(server) as client:
        assert client.reply() == 220
        for line in setup:
            assert client.command(line) == 250
        assert client.command(wrong) == 503  # bad sequence of commands (RFC 5321 §4.2.4)
        # the session goes on: a transaction in the right order works on the same connection
        assert client.command(b"RSET") == 250
        assert client.command(b"EHLO raw.example.com") == 250
        assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert client.command(b"DATA") == 354
        assert client.command(raw + b".") == 250
        assert client.command(b"QUIT") == 221
    assert [(m.mail_from, m.rcpt_tos, m.raw) for m in server.inbox] == [(SHOP, (ANA,), raw)]
    assert_still_delivers(server)


@pytest.mark.parametrize("how", ["close-after-whole-lines", "close-mid-line", "reset"])
def test_a_client_vanishing_mid_data_leaves_nothing_captured_and_others_still_deliver(server, how):
    raw = as_smtp_bytes(note(0, tag="vanish", size=3000))
    half = raw[: len(raw) // 2]
    if how == "close-after-whole-lines":
        half = half[: half.rindex(b"\r\n") + 2]
    elif half.endswith(b"\r\n"):
        half = half[:-1]
    with RawClient(server) as client:
        greeted(client)
        assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert client.command(b"DATA") == 354
        client.send(half)
        client.vanish(reset=how == "reset")
    assert wait_until(lambda: bool(server.transcripts) and not server.transcripts[-1].is_open)
    vanished = server.transcripts[-1]
    assert vanished.messages == ()
    assert any("cut off" in line.text for line in vanished.lines)  # the transcript says the message was cut
    assert len(server.inbox) == 0
    assert_still_delivers(server)
    assert len(server.inbox) == 1


def test_clients_stalled_or_vanishing_in_data_do_not_hold_up_a_client_sending_meanwhile(server):
    stalled = [greeted(RawClient(server)) for _ in range(5)]
    vanishing = [greeted(RawClient(server)) for _ in range(5)]
    try:
        for client in stalled + vanishing:
            assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
            assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
            assert client.command(b"DATA") == 354
            client.send(b"Subject: half\r\n\r\nthe first half of")
        for client in vanishing:
            client.vanish()
        started = time.monotonic()
        messages = [as_smtp_bytes(note(n, tag="meanwhile")) for n in range(20)]
        with smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
            for raw in messages:
                assert smtp.sendmail(SHOP, ["meanwhile@example.org"], raw) == {}
        assert time.monotonic() - started < 10
        assert [m.raw for m in server.inbox] == messages
        # the stalled clients then finish their messages, and those are captured too
        for client in stalled:
            assert client.command(b" the message\r\n.") == 250
    finally:
        for client in stalled + vanishing:
            client.sock.close()
    assert len(server.inbox) == 20 + 5
    assert all(m.raw == b"Subject: half\r\n\r\nthe first half of the message\r\n" for m in server.inbox[20:])


# --------------------------------------------------------------------------- a busy port, a server gone


def test_a_busy_explicit_port_raises_server_start_error_naming_it_and_leaves_nothing_half_started():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        srv = EmbeddedServer(port=busy)
        with pytest.raises(ServerStartError) as info:
            srv.start()
        assert isinstance(info.value, OSError) and info.value.errno == errno.EADDRINUSE
        assert f"port {busy}" in str(info.value) and "in use" in str(info.value)
        assert not srv.is_running
        with pytest.raises(ServerStartError, match=f"port {busy}"):  # and again: the same clear error
            srv.start()
    # once the port is free, the very same server starts there and serves
    with srv:
        assert srv.port == busy
        assert_still_delivers(srv)


def test_a_server_stopped_under_an_open_session_makes_the_next_send_say_the_connection_was_lost():
    server = EmbeddedServer().start()
    try:
        with SMTPSession(port=server.port, timeout=5) as session:
            assert session.send(note(0, tag="stopped", to=ANA)).ok
            started = time.monotonic()
            server.stop()
            assert time.monotonic() - started < 3
            assert session.is_open  # the client cannot know yet
            with pytest.raises(SMTPDeliveryError) as info:
                session.send(note(1, tag="stopped", to=ANA))
            error = info.value
            assert "connection" in str(error) and "was lost" in str(error)
            assert mid(1, "stopped") in str(error) and "before the message was sent" in str(error)
            assert error.code is None
            assert not session.is_open
    finally:
        server.stop()
    assert [m.message["Message-ID"] for m in server.inbox] == [mid(0, "stopped")]


def test_a_server_restarted_on_its_port_under_a_session_gets_the_retried_message_exactly_once():
    server = EmbeddedServer().start()
    port = server.port
    server.stop()
    server = EmbeddedServer(port=port).start()  # an explicit port: a restart comes back on it
    try:
        with SMTPSession(port=port, timeout=5) as session:
            server.stop()
            server.start()
            assert server.port == port
            result = session.send(note(0, tag="restarted", to=ANA), retry=RetryPolicy(sleep=lambda s: None))
            assert result.ok and result.attempts == 2 and session.connections == 2
    finally:
        server.stop()
    assert [m.message["Message-ID"] for m in server.inbox] == [mid(0, "restarted")]


def test_a_server_stopped_while_a_client_waits_for_the_data_reply_loses_nothing_silently():
    server = EmbeddedServer(faults="slow:DATA=5").start()
    outcome: list[BaseException | object] = []
    try:
        session = SMTPSession(port=server.port, timeout=10)
        session.open()

        def send() -> None:
            try:
                outcome.append(session.send(note(0, tag="cut", to=ANA)))
            except BaseException as exc:  # examined below
                outcome.append(exc)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        # wait until the whole message is in and the client waits for the (slow) reply
        def message_in_full() -> bool:
            return any(line.text.startswith("<message:") for t in server.transcripts for line in t.lines)

        assert wait_until(message_in_full)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3  # stop() does not wait for the slow reply
        sender.join(timeout=5)
        assert not sender.is_alive()
    finally:
        server.stop()
    [error] = outcome
    assert isinstance(error, SMTPDeliveryError) and error.code is None
    assert "was lost" in str(error) and "after the message was sent (DATA)" in str(error)
    assert not session.is_open
    assert len(server.inbox) == 0  # the server answered nothing, and kept nothing


def test_a_server_stopped_under_busy_clients_loses_no_acknowledged_message_and_every_client_hears_of_it():
    server = EmbeddedServer().start()
    clients, at_most = 5, 300
    acked: dict[int, list[str]] = {c: [] for c in range(clients)}
    errors: dict[int, BaseException] = {}
    connected = threading.Barrier(clients + 1, timeout=10)

    def client(c: int) -> None:
        try:
            with SMTPSession(port=server.port, timeout=5) as session:
                connected.wait()
                for n in range(at_most):
                    result = session.send(note(n, tag=f"busy{c}", to=f"busy{c}@example.org"))
                    assert result.ok
                    acked[c].append(result.message_id)
        except BaseException as exc:  # examined below
            errors[c] = exc

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    stalled = idle = None
    try:
        stalled, idle = greeted(RawClient(server)), greeted(RawClient(server))
        assert stalled.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
        assert stalled.command(f"RCPT TO:<{ANA}>".encode()) == 250
        assert stalled.command(b"DATA") == 354
        stalled.send(b"Subject: never finished\r\n\r\nhal")
        for thread in threads:
            thread.start()
        connected.wait()  # every client has its session open before the server goes
        server.inbox.wait_for(100, timeout=20)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3
        for thread in threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads)
        assert stalled.closed_by_server() and idle.closed_by_server()
    finally:
        server.stop()
        for raw_client in (stalled, idle):
            if raw_client is not None:
                raw_client.sock.close()

    captured = Counter(m.message["Message-ID"] for m in server.inbox)
    assert set(captured.values()) == {1}  # nothing twice
    assert all(m.raw != b"" and b"never finished" not in m.raw for m in server.inbox)
    assert set(errors) == set(range(clients))  # every client was cut off mid-stream ...
    for c in range(clients):
        error = errors[c]
        assert isinstance(error, SMTPDeliveryError) and "was lost" in str(error)  # ... and told so
        assert not set(acked[c]) - set(captured)  # every message the server said 250 to is kept
        kept = [m for m in captured if m.startswith(f"<busy{c}-")]
        unacknowledged = set(kept) - set(acked[c])
        # at most the one in flight was kept without its 250 reaching the client; then the client
        # was told the server may have kept it (RFC 5321 §4.1.1.4)
        assert len(unacknowledged) <= 1
        if unacknowledged:
            assert "after the message was sent (DATA)" in str(error)


def test_a_client_connecting_while_the_server_starts_gets_its_own_transcript(monkeypatch):
    import mimekit.server

    early: list[socket.socket] = []
    original = mimekit.server._BoundSocketController.start

    def start_after_a_client_connected(self, *args, **kwargs):
        # The port is bound and listening by now: a client that connects at this moment (one
        # retrying against a restarting server) waits in the listen backlog. Only the timing is forced.
        early.append(socket.create_connection((self.hostname, self.port), timeout=5))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mimekit.server._BoundSocketController, "start", start_after_a_client_connected)
    server = EmbeddedServer().start()
    monkeypatch.undo()
    raw = as_smtp_bytes(note(0, tag="early"))
    try:
        with RawClient(None, sock=early[0]) as client:
            greeted(client)
            assert client.command(f"MAIL FROM:<{SHOP}>".encode()) == 250
            assert client.command(f"RCPT TO:<{ANA}>".encode()) == 250
            assert client.command(b"DATA") == 354
            assert client.command(raw + b".") == 250
            assert client.command(b"QUIT") == 221
        [captured] = server.inbox
        assert captured.raw == raw  # the message itself is fine ...
        assert wait_until(lambda: all(not t.is_open for t in server.transcripts), timeout=2)
        sessions = server.transcripts
    finally:
        server.stop()
    # ... but its session must be recorded, and the self-test must not be
    assert server.find_transcript(captured) is not None
    summary = f"<message: {len(raw):,} bytes, {raw.count(CRLF):,} lines>"
    assert [[line.text for line in t.lines if line.direction == "C"] for t in sessions] == [
        ["EHLO raw.example.com", f"MAIL FROM:<{SHOP}>", f"RCPT TO:<{ANA}>", "DATA", summary, "QUIT"]
    ]
