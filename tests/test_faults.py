"""Specification of mimekit.faults: scripted SMTP faults, seen by real clients of a real server on loopback.

Every test starts an :class:`EmbeddedServer` (or, for AUTH, aiosmtpd's own
Controller configured as the embedded server would need) on 127.0.0.1 and talks
to it with :mod:`smtplib`, :class:`mimekit.SMTPSession` or a raw socket.
Delays are small and asserted loosely: the machine may be busy.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import pytest

import mimekit.faults
from mimekit import SMTPDeliveryError, SMTPSession
from mimekit.faults import (
    BadCredentials,
    DisconnectDuringData,
    FaultPlan,
    FaultyHandler,
    Greylist,
    MessageTooBig,
    RejectRecipients,
    ServiceClosing,
    SlowReplies,
    TooManyRecipients,
    inject_faults,
)
from mimekit.server import EmbeddedServer

SHOP = "shop@example.com"
ANA = "ana@example.org"
BEA = "bea@example.org"
NOBODY = "nobody@example.org"
AUDIT = "audit@example.net"
WIRE = b"From: shop@example.com\r\nTo: ana@example.org\r\nSubject: Your order\r\n\r\nThanks!\r\n"


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def serve():
    """``serve(plan)``: a started EmbeddedServer following *plan*, and its FaultyHandler; stopped after the test."""
    started = []

    def start(plan):
        server = EmbeddedServer()
        handler = inject_faults(server, plan)
        started.append(server)
        return server.start(), handler

    yield start
    for server in started:
        server.stop()


def note(subject: str = "Your order") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Shop <{SHOP}>"
    msg["To"] = f"Ana <{ANA}>"
    msg["Subject"] = subject
    msg.set_content("Thanks for your order!\n")
    return msg


def send(server, rcpt_tos=(ANA,), subject="Your order"):
    """Send one message over a new SMTPSession; return the SendResult."""
    with SMTPSession(port=server.port, timeout=5) as session:
        return session.send(note(subject), rcpt_tos=list(rcpt_tos))


def reply_lines(sock: socket.socket) -> list[bytes]:
    """Read one (possibly multi-line) reply; [] if the server closed the connection instead."""
    lines, buffer = [], b""
    while True:
        while b"\r\n" not in buffer:
            chunk = sock.recv(4096)
            if not chunk:
                return lines
            buffer += chunk
        line, buffer = buffer.split(b"\r\n", 1)
        lines.append(line)
        if line[3:4] != b"-":
            return lines


def command(sock: socket.socket, line: bytes) -> list[bytes]:
    sock.sendall(line + b"\r\n")
    return reply_lines(sock)


def raw_session(host: str, port: int) -> socket.socket:
    """A raw client socket, greeted and past EHLO."""
    sock = socket.create_connection((host, port), timeout=5)
    assert reply_lines(sock)[0].startswith(b"220")
    assert command(sock, b"EHLO client.example.com")[-1].startswith(b"250")
    return sock


# --------------------------------------------------------------------------- 550: recipients matching a pattern


def test_matching_recipients_are_refused_with_550_and_the_rest_delivered(serve):
    server, _ = serve(RejectRecipients("nobody@*"))
    result = send(server, [ANA, NOBODY, AUDIT])
    assert result.accepted == [ANA, AUDIT]
    assert result.refused == {NOBODY: (550, "5.1.1 No such user here")}
    assert server.inbox.latest().rcpt_tos == (ANA, AUDIT)


def test_every_recipient_refused_raises_recipients_refused_and_nothing_is_captured(serve):
    server, _ = serve("reject:*@example.org")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            client.sendmail(SHOP, [ANA, NOBODY], WIRE)
    assert caught.value.recipients == {
        ANA: (550, b"5.1.1 No such user here"),
        NOBODY: (550, b"5.1.1 No such user here"),
    }
    assert len(server.inbox) == 0


def test_reject_pattern_is_fnmatch_on_the_lowercased_address():
    assert RejectRecipients("*@example.net").matches("Audit@EXAMPLE.NET")
    assert RejectRecipients("NOBODY@*").matches("nobody@example.org")
    assert RejectRecipients("test-?@example.com").matches("test-1@example.com")
    assert not RejectRecipients("nobody@*").matches("somebody@example.org")
    assert not RejectRecipients("*@example.net").matches("ana@example.network")


def test_the_first_fault_in_the_plan_decides_the_reply(serve):
    server, _ = serve("reject:ana@*,greylist:1")
    result = send(server, [ANA, BEA])
    assert result.refused == {ANA: (550, "5.1.1 No such user here"), BEA: (451, "4.7.1 Greylisted, try again later")}


def test_the_same_script_gives_the_same_results_every_run(serve):
    server, _ = serve("reject:nobody@*,max-rcpt:2,close:1")

    def lesson():
        outcomes = []
        with SMTPSession(port=server.port, timeout=5) as session:
            result = session.send(note("first"), rcpt_tos=[ANA, NOBODY, BEA, AUDIT])
            outcomes.append((result.accepted, result.refused))
            with pytest.raises(SMTPDeliveryError) as caught:
                session.send(note("second"))
            outcomes.append((caught.value.code, caught.value.text))
        return outcomes

    first_run, second_run = lesson(), lesson()
    expected = [
        ([ANA, BEA], {NOBODY: (550, "5.1.1 No such user here"), AUDIT: (452, "4.5.3 Too many recipients")}),
        (421, "4.3.2 Service shutting down"),
    ]
    assert first_run == expected
    assert second_run == first_run
    assert len(server.inbox) == 2


# --------------------------------------------------------------------------- 451: greylisting


def test_greylisting_refuses_the_first_attempts_with_451_then_delivers_exactly_once(serve):
    server, _ = serve(Greylist(attempts=2))
    for _attempt in (1, 2):
        result = send(server)
        assert result.refused == {ANA: (451, "4.7.1 Greylisted, try again later")}
        assert len(server.inbox) == 0
    result = send(server)
    assert result.ok and result.accepted == [ANA]
    assert len(server.inbox) == 1
    assert send(server).ok  # the triplet stays accepted
    assert len(server.inbox) == 2


def test_greylisting_counts_each_sender_and_recipient_pair_separately(serve):
    server, _ = serve("greylist:1")
    assert not send(server, [ANA]).ok
    assert send(server, [ANA]).ok
    assert send(server, [ANA, BEA]).refused == {BEA: (451, "4.7.1 Greylisted, try again later")}
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("billing@example.com", [ANA], WIRE)  # another sender: a new triplet
        assert client.sendmail("billing@example.com", [ANA], WIRE) == {}


# --------------------------------------------------------------------------- 421: service closing


def test_service_closing_replies_421_after_n_messages_and_the_session_is_closed(serve):
    server, _ = serve(ServiceClosing(after_messages=1))
    with SMTPSession(port=server.port, timeout=5) as session:
        assert session.send(note("first")).ok
        with pytest.raises(SMTPDeliveryError) as caught:
            session.send(note("second"))
        assert (caught.value.code, caught.value.text) == (421, "4.3.2 Service shutting down")
        assert isinstance(caught.value.__cause__, smtplib.SMTPSenderRefused)
        assert session.is_open is False
    assert [m.subject for m in server.inbox] == ["first"]


def test_service_closing_hangs_up_right_after_the_421(serve):
    server, _ = serve("close:0")
    with raw_session(server.host, server.port) as sock:
        assert command(sock, b"MAIL FROM:<shop@example.com>") == [b"421 4.3.2 Service shutting down"]
        assert sock.recv(100) == b""  # end of file: the server closed the connection


def test_service_closing_counts_per_connection(serve):
    server, _ = serve("close:1")
    for _connection in (1, 2):
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            assert client.sendmail(SHOP, [ANA], WIRE) == {}
            with pytest.raises(smtplib.SMTPSenderRefused) as caught:
                client.sendmail(SHOP, [ANA], WIRE)
            assert caught.value.smtp_code == 421
    assert len(server.inbox) == 2


# --------------------------------------------------------------------------- 452: too many recipients


def test_recipients_beyond_the_limit_get_452_while_the_earlier_ones_are_accepted(serve):
    server, _ = serve(TooManyRecipients(limit=2))
    result = send(server, [ANA, BEA, AUDIT, "carla@example.org"])
    assert result.accepted == [ANA, BEA]
    assert result.refused == {
        AUDIT: (452, "4.5.3 Too many recipients"),
        "carla@example.org": (452, "4.5.3 Too many recipients"),
    }
    assert server.inbox.latest().rcpt_tos == (ANA, BEA)
    # The client sends the rest in a new transaction, which has a fresh count.
    assert send(server, [AUDIT, "carla@example.org"]).ok
    assert server.inbox.latest().rcpt_tos == (AUDIT, "carla@example.org")


# --------------------------------------------------------------------------- 552: message too big


def test_a_message_over_the_limit_gets_552_and_nothing_is_captured(serve):
    server, _ = serve(MessageTooBig(limit=200))
    with SMTPSession(port=server.port, timeout=5) as session:
        msg = note()
        msg.set_content("x" * 300 + "\n")
        with pytest.raises(SMTPDeliveryError) as caught:
            session.send(msg)
        assert (caught.value.code, caught.value.text) == (552, "5.3.4 Message too big for system")
        assert isinstance(caught.value.__cause__, smtplib.SMTPDataError)
        assert session.is_open  # 552 is an answer, not a hang-up
    assert len(server.inbox) == 0


def test_the_size_limit_counts_the_bytes_after_data(serve):
    server, _ = serve(f"max-size:{len(WIRE)}")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.sendmail(SHOP, [ANA], WIRE) == {}  # exactly the limit: accepted
        with pytest.raises(smtplib.SMTPDataError) as caught:
            client.sendmail(SHOP, [ANA], WIRE + b"!")
        assert caught.value.smtp_code == 552
    assert [m.raw for m in server.inbox] == [WIRE]


# --------------------------------------------------------------------------- 535: bad credentials


@pytest.fixture
def auth_server():
    """The embedded server offering AUTH (over plain SMTP: loopback, a lesson) with the bad-auth fault:
    (server, handler). With the fault cleared, the lesson account ana / "correct horse" logs in."""
    server = EmbeddedServer(auth={"ana": "correct horse"}, allow_auth_without_tls=True, faults="bad-auth")
    with server:
        yield server, server.handler


def test_bad_credentials_reply_535_and_login_raises_authentication_error(auth_server):
    server, handler = auth_server
    for _run in (1, 2):
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("auth")
            with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
                client.login("ana", "correct horse")
        assert (caught.value.smtp_code, caught.value.smtp_error) == (535, b"5.7.8 Authentication credentials invalid")
    handler.plan = FaultPlan()
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.login("ana", "correct horse")[0] == 235


def test_bad_credentials_answers_every_mechanism(auth_server):
    server, _ = auth_server
    with raw_session(server.host, server.port) as sock:
        for line in (b"AUTH PLAIN AGFuYQBzZWNyZXQ=", b"AUTH LOGIN YW5h"):
            assert command(sock, line) == [b"535 5.7.8 Authentication credentials invalid"]


# --------------------------------------------------------------------------- hang-up in the middle of DATA


def test_disconnect_during_data_raises_server_disconnected_and_nothing_is_captured(serve):
    server, _ = serve(DisconnectDuringData())
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.sendmail(SHOP, [ANA], WIRE)
    with SMTPSession(port=server.port, timeout=5) as session:
        with pytest.raises(SMTPDeliveryError) as caught:
            session.send(note())
        assert caught.value.code is None
        assert isinstance(caught.value.__cause__, smtplib.SMTPServerDisconnected)
        assert session.is_open is False
    assert len(server.inbox) == 0


def test_disconnect_during_data_sends_no_reply_at_all(serve):
    server, _ = serve("drop-data")
    with raw_session(server.host, server.port) as sock:
        assert command(sock, b"MAIL FROM:<shop@example.com>") == [b"250 OK"]
        assert command(sock, b"RCPT TO:<ana@example.org>") == [b"250 OK"]
        assert command(sock, b"DATA")[0].startswith(b"354")
        assert command(sock, WIRE + b".") == []  # the connection ends where the reply should be


def test_disconnect_during_data_lets_the_first_n_messages_of_each_connection_through(serve):
    server, _ = serve("drop-data:1")
    for _connection in (1, 2):
        with SMTPSession(port=server.port, timeout=5) as session:
            assert session.send(note()).ok
            with pytest.raises(SMTPDeliveryError):
                session.send(note())
    assert len(server.inbox) == 2


# --------------------------------------------------------------------------- slow replies


def test_slow_data_reply_arrives_late_and_the_message_is_captured(serve):
    server, _ = serve(SlowReplies(0.2))
    with SMTPSession(port=server.port, timeout=5) as session:
        started = time.monotonic()
        assert session.send(note()).ok
        elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 4
    assert len(server.inbox) == 1


def test_slow_replies_delay_only_the_commands_named(serve):
    server, _ = serve("slow:RCPT+NOOP=0.2")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        started = time.monotonic()
        assert client.noop()[0] == 250
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        assert client.sendmail(SHOP, [ANA, BEA], WIRE) == {}
        assert 0.4 <= time.monotonic() - started < 4  # two RCPT TO, 0.2 s each


def test_a_reply_slower_than_the_client_timeout_is_a_disconnection(serve):
    server, _ = serve("slow:DATA=1.5")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.sock.settimeout(0.2)
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            client.sendmail(SHOP, [ANA], WIRE)


def test_a_slow_reply_does_not_hold_up_other_connections(serve):
    server, _ = serve("slow:DATA=0.8")
    finished = {}

    def slow_client():
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(SHOP, [ANA], WIRE)
        finished["slow"] = time.monotonic()

    thread = threading.Thread(target=slow_client)
    thread.start()
    time.sleep(0.1)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.noop()[0] == 250
    finished["quick"] = time.monotonic()
    thread.join(timeout=10)
    assert finished["quick"] < finished["slow"]


# --------------------------------------------------------------------------- clearing between lessons


def test_reset_forgets_greylisted_triplets(serve):
    server, handler = serve("greylist:1")
    assert not send(server).ok
    assert send(server).ok
    handler.reset()
    assert send(server).refused == {ANA: (451, "4.7.1 Greylisted, try again later")}
    assert str(handler.plan) == "greylist:1"  # the plan itself is kept


def test_reset_restarts_the_message_count_of_open_connections(serve):
    server, handler = serve("close:1")
    with SMTPSession(port=server.port, timeout=5) as session:
        assert session.send(note("one")).ok
        handler.reset()
        assert session.send(note("two")).ok
        with pytest.raises(SMTPDeliveryError, match="421"):
            session.send(note("three"))
    assert [m.subject for m in server.inbox] == ["one", "two"]


def test_replacing_the_plan_clears_faults_and_memory(serve):
    server, handler = serve("greylist:1,reject:nobody@*")
    assert not send(server, [ANA, NOBODY]).ok
    assert send(server, [ANA]).ok
    handler.plan = "greylist:1"  # ana is greylisted again, nobody no longer rejected
    assert send(server, [ANA, NOBODY]).refused == {
        ANA: (451, "4.7.1 Greylisted, try again later"),
        NOBODY: (451, "4.7.1 Greylisted, try again later"),
    }
    handler.plan = FaultPlan()
    assert send(server, [ANA, NOBODY]).ok


def test_a_handler_without_faults_behaves_like_the_inner_one(serve):
    server, _ = serve(FaultPlan())
    result = send(server, [ANA, AUDIT])
    assert result.ok
    captured = server.inbox.latest()
    assert (captured.mail_from, captured.rcpt_tos, captured.subject) == (SHOP, (ANA, AUDIT), "Your order")


class _ChattyHandler:
    """An inner handler with hooks of its own: a MAIL rule, and VRFY / NOOP answers."""

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.startswith("blocked@"):
            return "553 5.7.1 Sender not allowed"
        envelope.mail_from = address
        return "250 2.1.0 Sender fine"

    async def handle_VRFY(self, server, session, envelope, address):
        return "252 2.1.5 Cannot verify, will try"

    async def handle_NOOP(self, server, session, envelope, arg):
        return "250 2.0.0 Still here"


def test_the_inner_handlers_own_hooks_still_answer(serve):
    server = EmbeddedServer()
    server.handler = FaultyHandler(_ChattyHandler(), "reject:nobody@*")
    with server, smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.verify(ANA) == (252, b"2.1.5 Cannot verify, will try")  # hook FaultyHandler does not define
        assert client.noop() == (250, b"2.0.0 Still here")
        assert client.mail("blocked@example.com") == (553, b"5.7.1 Sender not allowed")
        assert client.mail(SHOP) == (250, b"2.1.0 Sender fine")
        assert client.rcpt(NOBODY) == (550, b"5.1.1 No such user here")


# --------------------------------------------------------------------------- inject_faults


def test_inject_faults_on_a_running_server_is_refused(smtp_server):
    with pytest.raises(RuntimeError, match="stop it first, or create it with the faults"):
        inject_faults(smtp_server, "greylist:2")
    assert not isinstance(smtp_server.handler, FaultyHandler)


def test_inject_faults_twice_replaces_the_plan_instead_of_wrapping_again():
    server = EmbeddedServer()
    capturing = server.handler
    first = inject_faults(server, "greylist:2")
    second = inject_faults(server, MessageTooBig(1000))
    assert first is second is server.handler
    assert first.inner is capturing
    assert first.plan == FaultPlan(MessageTooBig(1000))


def test_injected_faults_survive_a_restart(serve):
    server, _ = serve("reject:nobody@*")
    server.stop()
    server.start()
    assert send(server, [ANA, NOBODY]).refused == {NOBODY: (550, "5.1.1 No such user here")}


# --------------------------------------------------------------------------- the spec language


@pytest.mark.parametrize(
    "spec",
    [
        "reject:nobody@*",
        "reject:*@example.net",
        "greylist:2",
        "close:3",
        "max-rcpt:5",
        "max-size:10000",
        "bad-auth",
        "drop-data:1",
        "slow:DATA=2.5",
        "slow:MAIL+RCPT=0.2",
        "reject:nobody@*,greylist:2,slow:DATA=2.5",
        "",
    ],
)
def test_a_spec_reads_back_as_itself(spec):
    assert str(FaultPlan.parse(spec)) == spec
    assert FaultPlan.parse(str(FaultPlan.parse(spec))) == FaultPlan.parse(spec)


def test_parse_builds_the_fault_objects_in_order():
    plan = FaultPlan.parse(
        "reject:nobody@*, greylist:2,close:3,max-rcpt:5,max-size:10000,bad-auth,drop-data:1,slow:DATA=2.5"
    )
    assert plan.faults == (
        RejectRecipients("nobody@*"),
        Greylist(2),
        ServiceClosing(3),
        TooManyRecipients(5),
        MessageTooBig(10000),
        BadCredentials(),
        DisconnectDuringData(1),
        SlowReplies(2.5, ("DATA",)),
    )


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("greylist", "greylist:1"),
        ("close", "close:0"),
        ("drop-data", "drop-data:0"),
        ("slow:2.5", "slow:DATA=2.5"),
        ("slow:rcpt=1", "slow:RCPT=1"),
        (" Greylist:2 ,, MAX-RCPT:5 ", "greylist:2,max-rcpt:5"),
    ],
)
def test_short_forms_are_written_out_in_full(spec, canonical):
    assert str(FaultPlan.parse(spec)) == canonical


def test_repeated_specs_as_a_list_make_one_plan():
    assert FaultPlan.parse(["reject:nobody@*", "greylist:2,bad-auth"]) == FaultPlan.parse(
        "reject:nobody@*,greylist:2,bad-auth"
    )


@pytest.mark.parametrize(
    "spec",
    [
        "explode",
        "reject",
        "reject:",
        "greylist:two",
        "greylist:0",
        "close:-1",
        "max-rcpt",
        "max-size:1e4",
        "bad-auth:3",
        "drop-data:x",
        "slow:fast",
        "slow:QUIT=1",
        "slow:DATA=-1",
        "greylist:2,oops",
    ],
)
def test_a_bad_spec_is_a_value_error_listing_the_accepted_forms(spec):
    with pytest.raises(ValueError) as caught:
        FaultPlan.parse(spec)
    message = str(caught.value)
    assert "Cannot read the fault spec" in message
    for form in (
        "reject:PATTERN",
        "greylist[:N]",
        "close[:N]",
        "max-rcpt:N",
        "max-size:N",
        "bad-auth",
        "drop-data[:N]",
        "slow:",
    ):
        assert form in message


def test_parse_of_something_else_than_text_is_a_type_error():
    with pytest.raises(TypeError):
        FaultPlan.parse(42)
    with pytest.raises(TypeError):
        FaultPlan("greylist:2")


# --------------------------------------------------------------------------- the faults themselves


def test_faults_are_frozen_and_compare_by_value():
    assert Greylist(2) == Greylist(attempts=2)
    with pytest.raises(AttributeError):
        Greylist(2).attempts = 3  # type: ignore[misc]
    assert len({Greylist(2), Greylist(2), RejectRecipients("a@*")}) == 2


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Greylist(0), ValueError),
        (lambda: Greylist(code=550), ValueError),  # greylisting is transient: 4xx only
        (lambda: RejectRecipients("nobody@*", text="5.1.1 Gone\r\n250 OK"), ValueError),  # a second reply smuggled in
        (lambda: RejectRecipients("a,b"), ValueError),
        (lambda: RejectRecipients("nobody@*", code=250), ValueError),
        (lambda: TooManyRecipients(True), TypeError),
        (lambda: MessageTooBig(-1), ValueError),
        (lambda: SlowReplies(-0.5), ValueError),
        (lambda: SlowReplies(float("nan")), ValueError),
        (lambda: SlowReplies(1, ("QUIT",)), ValueError),
        (lambda: SlowReplies("1"), TypeError),
    ],
)
def test_bad_fault_arguments_are_refused(make, error):
    with pytest.raises(error):
        make()


def test_slow_replies_take_one_command_name_or_several():
    assert SlowReplies(1, "data").commands == ("DATA",)
    assert SlowReplies(1, ["mail", "RCPT", "mail"]).commands == ("MAIL", "RCPT")
    assert SlowReplies(1).seconds == 1.0


def test_public_names_are_listed_sorted():
    assert mimekit.faults.__all__ == sorted(mimekit.faults.__all__)
    assert all(hasattr(mimekit.faults, name) for name in mimekit.faults.__all__)
