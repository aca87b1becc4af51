"""Specification of mimekit.server: a real aiosmtpd server on loopback, real smtplib clients."""

from __future__ import annotations

import collections
import datetime
import doctest
import errno
import re
import smtplib
import socket
import threading
import time
from email import policy
from email.message import EmailMessage

import pytest

import mimekit.server
from mimekit.errors import InboxTimeout, ServerStartError
from mimekit.server import (
    CapturedMessage,
    EmbeddedServer,
    Inbox,
    running_servers,
    start_server,
    stop_server,
)

SHOP = "shop@example.com"
ANA = "ana@example.org"
AUDIT = "audit@example.net"


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def server(smtp_server):
    """The running embedded server of conftest's ``smtp_server``, under a shorter name."""
    return smtp_server


@pytest.fixture(autouse=True)
def no_named_server_left_running():
    yield
    for name in list(running_servers()):
        stop_server(name)


def build_message(
    subject: str = "Your order",
    body: str = "Thanks for your order!\n",
    *,
    to: str = ANA,
    message_id: str | None = None,
) -> bytes:
    """The wire bytes a client sends after DATA: CRLF line ends (email.policy.SMTP)."""
    msg = EmailMessage()
    msg["From"] = f"Shop <{SHOP}>"
    msg["To"] = to
    msg["Subject"] = subject
    if message_id is not None:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def send(server: EmbeddedServer, raw: bytes, rcpt_tos=(ANA,), mail_from: str = SHOP) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        refused = client.sendmail(mail_from, list(rcpt_tos), raw)
    assert refused == {}


def refuses_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


# --------------------------------------------------------------------------- binding


def test_default_server_listens_on_ipv4_loopback_on_a_free_port(server):
    assert server.host == "127.0.0.1"
    assert server.port > 0
    assert server.is_running
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.noop()[0] == 250


def test_greeting_and_ehlo_name_the_server_hostname_and_advertise_size_8bitmime_smtputf8():
    with EmbeddedServer(server_hostname="smtp.example.net", data_size_limit=1_000_000) as srv:
        client = smtplib.SMTP(timeout=5)
        try:
            code, greeting = client.connect(srv.host, srv.port)
            assert code == 220
            assert greeting.startswith(b"smtp.example.net ")
            code, _ = client.ehlo("client.example.com")
            assert code == 250
            assert client.esmtp_features["size"] == "1000000"
            assert "8bitmime" in client.esmtp_features
            assert "smtputf8" in client.esmtp_features
        finally:
            client.quit()


def test_localhost_is_accepted_as_a_loopback_host():
    with EmbeddedServer(host="localhost") as srv:
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as client:
            assert client.noop()[0] == 250


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_non_loopback_host_is_refused_without_allow_remote(host):
    srv = EmbeddedServer(host=host)
    with pytest.raises(ServerStartError, match="allow_remote=True") as info:
        srv.start()
    assert isinstance(info.value, OSError)
    assert not srv.is_running


def test_ipv6_loopback_is_accepted_when_the_machine_has_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with EmbeddedServer(host="::1") as srv:
        assert srv.url == f"smtp://[::1]:{srv.port}"
        send(srv, build_message())
        assert re.fullmatch(r"\[::1\]:\d+", srv.inbox.latest().peer)


def test_refused_host_leaves_the_running_server_of_that_name_running():
    running = start_server()
    with pytest.raises(ServerStartError):
        start_server(host="0.0.0.0")
    assert running.is_running
    assert running_servers() == {"default": running}


def test_allow_remote_lifts_the_loopback_check_but_an_address_not_on_this_machine_still_fails():
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    srv = EmbeddedServer(host="192.0.2.10", allow_remote=True)
    with pytest.raises(ServerStartError, match="not an address of this machine") as info:
        srv.start()
    assert info.value.errno == errno.EADDRNOTAVAIL
    assert isinstance(info.value.__cause__, OSError)


def test_busy_explicit_port_raises_server_start_error_naming_the_port():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy_port = squatter.getsockname()[1]
        srv = EmbeddedServer(port=busy_port)
        with pytest.raises(ServerStartError) as info:
            srv.start()
    error = info.value
    assert isinstance(error, OSError)
    assert error.errno == errno.EADDRINUSE
    assert isinstance(error.__cause__, OSError)
    assert f"port {busy_port}" in str(error)
    assert "port=0" in str(error)
    assert not srv.is_running


def test_second_server_on_the_same_explicit_port_is_refused(server):
    with pytest.raises(ServerStartError, match=f"port {server.port} on 127.0.0.1 is already in use"):
        EmbeddedServer(port=server.port).start()
    assert server.is_running


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"port": -1}, ValueError),
        ({"port": 70_000}, ValueError),
        ({"port": "2525"}, TypeError),
        ({"data_size_limit": -5}, ValueError),
        ({"server_hostname": "two words"}, ValueError),
    ],
)
def test_arguments_of_the_wrong_type_or_range_are_refused_at_construction(kwargs, error):
    with pytest.raises(error):
        EmbeddedServer(**kwargs)


# --------------------------------------------------------------------------- start, stop, restart


def test_stopped_server_frees_its_port_and_refuses_connections(server):
    host, port = server.host, server.port
    server.stop()
    assert not server.is_running
    assert refuses_connections(host, port)


def test_stop_twice_is_harmless(server):
    server.stop()
    server.stop()
    assert not server.is_running


def test_start_on_a_running_server_keeps_the_same_port(server):
    port = server.port
    assert server.start() is server
    assert server.port == port


def test_restart_after_stop_serves_again_and_keeps_the_inbox(server):
    send(server, build_message("Before restart"))
    server.stop()
    assert server.start() is server
    assert server.is_running
    send(server, build_message("After restart"))
    assert [m.subject for m in server.inbox] == ["Before restart", "After restart"]


def test_restart_on_an_explicit_port_rebinds_it_at_once_after_a_session():
    with EmbeddedServer() as first:
        port = first.port
        send(first, build_message())  # QUIT leaves the server side of the connection in TIME_WAIT
    with EmbeddedServer(port=port) as second:
        assert second.port == port
        send(second, build_message())
        assert len(second.inbox) == 1


def test_context_manager_stops_the_server_on_exit():
    with EmbeddedServer() as srv:
        assert srv.is_running
    assert not srv.is_running
    assert refuses_connections(srv.host, srv.port)


def test_context_manager_stops_the_server_when_the_body_raises():
    with pytest.raises(RuntimeError, match="boom"):
        with EmbeddedServer() as srv:
            raise RuntimeError("boom")
    assert not srv.is_running
    assert refuses_connections(srv.host, srv.port)


def test_stop_ends_an_open_client_session():
    srv = EmbeddedServer().start()
    client = smtplib.SMTP(srv.host, srv.port, timeout=5)
    try:
        client.ehlo()
        srv.stop()
        assert not srv.is_running
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    finally:
        client.close()


def test_repr_shows_url_state_and_message_count(server):
    assert repr(server) == f"<EmbeddedServer smtp://127.0.0.1:{server.port} running, 0 messages>"
    send(server, build_message())
    server.stop()
    assert repr(server) == f"<EmbeddedServer smtp://127.0.0.1:{server.port} stopped, 1 message>"


# --------------------------------------------------------------------------- named servers (notebook reruns)


def test_start_server_twice_returns_the_running_server_with_its_port_and_inbox():
    first = start_server()
    send(first, build_message())
    again = start_server()
    assert again is first
    assert again.port == first.port
    assert len(again.inbox) == 1
    assert running_servers() == {"default": first}


def test_start_server_with_different_arguments_replaces_the_running_one():
    old = start_server()
    old_port = old.port
    new = start_server(server_hostname="other.example.com")
    assert new is not old
    assert not old.is_running
    assert refuses_connections("127.0.0.1", old_port)
    assert new.is_running
    assert running_servers() == {"default": new}


def test_start_server_with_a_different_inbox_replaces_the_running_one():
    old = start_server()
    inbox = Inbox()
    new = start_server(inbox=inbox)
    assert new is not old and new.inbox is inbox
    assert start_server(inbox=inbox) is new


def test_stop_server_stops_the_named_server_and_ignores_unknown_names():
    srv = start_server(name="lesson-1")
    stop_server("lesson-1")
    assert not srv.is_running
    assert "lesson-1" not in running_servers()
    stop_server("lesson-1")
    stop_server("never-started")


def test_named_server_started_again_under_its_name_stops_the_older_instance():
    older = EmbeddedServer(name="cell").start()
    older_port = older.port
    newer = EmbeddedServer(name="cell").start()
    try:
        assert not older.is_running
        assert refuses_connections("127.0.0.1", older_port)
        assert newer.is_running
        assert running_servers()["cell"] is newer
    finally:
        newer.stop()


def test_unnamed_servers_run_side_by_side():
    with EmbeddedServer() as a, EmbeddedServer() as b:
        assert a.is_running and b.is_running
        assert a.port != b.port
        assert running_servers() == {}


# --------------------------------------------------------------------------- capturing


def test_capture_keeps_envelope_bcc_recipient_and_the_exact_bytes(server):
    raw = build_message(to=f"Ana <{ANA}>")
    before = datetime.datetime.now(datetime.timezone.utc)
    send(server, raw, rcpt_tos=[ANA, AUDIT])
    captured = server.inbox.latest()
    assert isinstance(captured, CapturedMessage)
    assert captured.mail_from == SHOP
    assert captured.rcpt_tos == (ANA, AUDIT)
    assert AUDIT.encode() not in captured.raw  # the Bcc-style recipient is only in the envelope
    assert captured.raw == raw
    assert b"\r\n" in captured.raw and b"\n" not in captured.raw.replace(b"\r\n", b"")
    assert captured.size == len(raw)
    assert captured.message["To"].addresses[0].addr_spec == ANA
    assert captured.received_at.tzinfo is not None
    assert captured.received_at.utcoffset() == datetime.timedelta(0)
    assert before <= captured.received_at <= datetime.datetime.now(datetime.timezone.utc)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", captured.peer)


def test_non_ascii_subject_is_decoded_from_rfc2047_encoded_words(server):
    subject = "Confirmación de pedido — José Núñez"
    raw = build_message(subject, "Hola José,\ngracias por tu pedido.\n")
    assert subject.encode() not in raw  # on the wire it is =?utf-8?...?= (RFC 2047)
    send(server, raw)
    captured = server.inbox.latest()
    assert captured.raw == raw
    assert captured.subject == subject
    assert captured.message["Subject"] == subject
    assert "gracias por tu pedido" in captured.message.get_content()


def test_body_lines_starting_with_a_dot_and_from_lines_arrive_byte_exact(server):
    body = "First line\n.leading dot\n..two dots\n.\nFrom here on, nothing is mangled\n"
    raw = build_message("Dots", body)
    send(server, raw)
    captured = server.inbox.latest()
    assert captured.raw == raw
    assert b"\r\n.leading dot\r\n..two dots\r\n.\r\nFrom here on" in captured.raw
    assert b">From" not in captured.raw


def test_null_reverse_path_is_kept_as_angle_brackets(server):
    send(server, build_message("Delivery Status Notification"), mail_from="")
    assert server.inbox.latest().mail_from == "<>"


def test_message_over_the_data_size_limit_is_refused_and_not_captured():
    with EmbeddedServer(data_size_limit=1_000) as srv:
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            send(srv, build_message(body=("x" * 70 + "\n") * 20))
        assert info.value.smtp_code == 552
        assert len(srv.inbox) == 0


def test_captured_message_repr_is_short():
    captured = CapturedMessage(
        mail_from=SHOP,
        rcpt_tos=(ANA,),
        raw=build_message("Hi"),
        received_at=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
        peer="127.0.0.1:1",
    )
    assert repr(captured).startswith("<CapturedMessage from 'shop@example.com' to ['ana@example.org']")


# --------------------------------------------------------------------------- the inbox


def test_inbox_filters_by_envelope_recipient_ignoring_case(server):
    send(server, build_message("For Ana"), rcpt_tos=[ANA])
    send(server, build_message("For audit"), rcpt_tos=[AUDIT])
    send(server, build_message("For both"), rcpt_tos=[AUDIT, ANA])
    found = server.inbox.filter(rcpt_to="Ana@Example.ORG")
    assert [m.subject for m in found] == ["For Ana", "For both"]


def test_inbox_filters_by_subject_substring_ignoring_case(server):
    send(server, build_message("Order #1001 shipped"))
    send(server, build_message("Password reset"))
    send(server, build_message("Confirmación de pedido — José Núñez"))
    assert [m.subject for m in server.inbox.filter(subject="SHIPPED")] == ["Order #1001 shipped"]
    assert len(server.inbox.filter(subject="confirmación")) == 1
    assert server.inbox.filter(subject="invoice") == []
    assert len(server.inbox.filter()) == 3
    assert server.inbox.filter(rcpt_to=ANA, subject="reset")[0].subject == "Password reset"


def test_inbox_reads_like_a_list_of_snapshots(server):
    for n in range(3):
        send(server, build_message(f"Message {n}"))
    inbox = server.inbox
    assert len(inbox) == 3
    assert inbox[0].subject == "Message 0"
    assert inbox[-1] is inbox.latest()
    assert [m.subject for m in inbox[1:]] == ["Message 1", "Message 2"]
    assert [m.subject for m in inbox] == [m.subject for m in inbox.messages()]
    assert repr(inbox) == "<Inbox: 3 messages>"
    with pytest.raises(IndexError, match="holds 3 messages"):
        inbox[3]
    snapshot = inbox.messages()
    snapshot.clear()
    assert len(inbox) == 3


def test_clear_returns_how_many_messages_were_removed(server):
    send(server, build_message())
    send(server, build_message())
    assert server.inbox.clear() == 2
    assert len(server.inbox) == 0
    assert server.inbox.clear() == 0


def test_latest_on_an_empty_inbox_raises_index_error_saying_it_is_empty():
    with pytest.raises(IndexError, match="inbox is empty.*wait_for"):
        Inbox().latest()


def test_wait_for_returns_once_the_awaited_messages_arrive_from_another_thread(server):
    errors: list[BaseException] = []

    def send_later() -> None:
        try:
            time.sleep(0.2)
            send(server, build_message("First"))
            send(server, build_message("Second"))
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    sender = threading.Thread(target=send_later)
    started = time.monotonic()
    sender.start()
    try:
        messages = server.inbox.wait_for(2, timeout=5)
    finally:
        sender.join()
    assert errors == []
    assert time.monotonic() - started < 5
    assert [m.subject for m in messages] == ["First", "Second"]


def test_wait_for_raises_inbox_timeout_with_counts_timeout_and_hint(server):
    send(server, build_message())
    with pytest.raises(InboxTimeout) as info:
        server.inbox.wait_for(2, timeout=0.5)
    error = info.value
    assert isinstance(error, TimeoutError)
    text = str(error)
    assert "0.5 s" in text
    assert "for 2 messages" in text and "but 1 arrived" in text
    assert f"smtp://127.0.0.1:{server.port}" in text and "running" in text


def test_wait_for_refuses_negative_counts_and_timeouts():
    with pytest.raises(ValueError):
        Inbox().wait_for(-1)
    with pytest.raises(ValueError):
        Inbox().wait_for(1, timeout=-0.1)


def test_servers_sharing_an_inbox_both_capture_into_it():
    inbox = Inbox()
    with EmbeddedServer(inbox=inbox) as a, EmbeddedServer(inbox=inbox) as b:
        send(a, build_message("Via a"))
        send(b, build_message("Via b"))
    assert [m.subject for m in inbox] == ["Via a", "Via b"]


# --------------------------------------------------------------------------- concurrency


def test_concurrent_clients_all_messages_captured_byte_exact_without_duplicates(server):
    clients, per_client = 5, 50
    sent: dict[int, list[bytes]] = {}
    errors: list[BaseException] = []

    def client(number: int) -> None:
        messages = [
            build_message(
                f"Client {number} message {n}",
                f"Body of message {n} from client {number}.\n.dot line {n}\n",
                message_id=f"<c{number}.m{n}@example.com>",
            )
            for n in range(per_client)
        ]
        sent[number] = messages
        try:
            with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
                for raw in messages:
                    smtp.sendmail(SHOP, [f"client{number}@example.org"], raw)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    captured = server.inbox.wait_for(clients * per_client, timeout=5)
    assert len(captured) == clients * per_client
    assert len({m.message["Message-ID"] for m in captured}) == clients * per_client
    all_sent = [raw for messages in sent.values() for raw in messages]
    assert collections.Counter(m.raw for m in captured) == collections.Counter(all_sent)
    for number in range(clients):
        from_client = [m.raw for m in captured if m.rcpt_tos == (f"client{number}@example.org",)]
        assert from_client == sent[number]  # one connection's messages keep their order


# --------------------------------------------------------------------------- documentation


def test_docstring_examples_run():
    results = doctest.testmod(mimekit.server, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0


def test_public_names_are_exported_in_sorted_order():
    assert mimekit.server.__all__ == sorted(mimekit.server.__all__)
    for name in mimekit.server.__all__:
        assert getattr(mimekit.server, name).__doc__


# --------------------------------------------------------------------------- PIPELINING (RFC 2920)


def test_ehlo_advertises_pipelining_and_a_pipelined_transaction_gets_its_replies_in_order(server):
    with smtplib.SMTP(server.host, server.port, local_hostname="laptop.example.com", timeout=5) as client:
        client.ehlo()
        assert client.has_extn("pipelining")
    raw = build_message()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        reader = sock.makefile("rb")

        def reply() -> bytes:
            lines = [reader.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(reader.readline())
            return b"".join(lines)

        assert reply().startswith(b"220 ")
        sock.sendall(b"EHLO laptop.example.com\r\n")
        assert b"250-PIPELINING\r\n" in reply()
        # One write: MAIL, two RCPT and DATA (RFC 2920 §3.1: DATA ends the group).
        sock.sendall(
            f"MAIL FROM:<{SHOP}>\r\nRCPT TO:<{ANA}>\r\nRCPT TO:<audit@example.net>\r\nDATA\r\n".encode()
        )
        codes = [reply()[:3] for _ in range(4)]
        assert codes == [b"250", b"250", b"250", b"354"]
        sock.sendall(raw + b"\r\n.\r\nQUIT\r\n")
        assert reply().startswith(b"250 ")
        assert reply().startswith(b"221 ")
    [captured] = server.inbox.wait_for(1)
    assert list(captured.rcpt_tos) == [ANA, "audit@example.net"]
    assert captured.raw.rstrip(b"\r\n") == raw.rstrip(b"\r\n")


# --------------------------------------------------------------------------- following the inbox


def test_wait_for_change_wakes_on_a_new_message_on_clear_and_on_stop():
    with EmbeddedServer() as srv:
        version = srv.inbox.version
        assert srv.inbox.wait_for_change(version, timeout=0) == version  # nothing changed: returns at once
        send(srv, build_message())
        after_send = srv.inbox.wait_for_change(version, timeout=5)
        assert after_send > version and len(srv.inbox) == 1
        srv.inbox.clear()
        assert srv.inbox.wait_for_change(after_send, timeout=5) > after_send
        woke = threading.Event()
        waiter = threading.Thread(target=lambda: (srv.inbox.wait_for_change(srv.inbox.version, timeout=30), woke.set()))
        waiter.start()
        deadline = time.monotonic() + 5
        while not srv.inbox._changed._waiters and time.monotonic() < deadline:  # until it is blocked inside
            time.sleep(0.01)
    # Leaving the with block stopped the server, which wakes the waiter long before its 30 s.
    waiter.join(timeout=5)
    assert woke.is_set()
    with pytest.raises(ValueError, match="timeout"):
        srv.inbox.wait_for_change(0, timeout=-1)
