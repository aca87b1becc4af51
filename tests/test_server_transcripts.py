"""Session transcripts of mimekit.server: real smtplib clients (and raw sockets) on loopback."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
import threading

import pytest

from mimekit.server import EmbeddedServer, Transcript, TranscriptLine

SHOP = "shop@example.com"
ANA = "ana@example.org"
AUDIT = "audit@example.net"
USER, PASSWORD = "alumno", "contrasena-de-prueba"  # a throwaway lesson account, not a secret


def wire(subject: str = "Your order", body: bytes = b"Thanks for your order!\r\n") -> bytes:
    return (
        f"From: Shop <{SHOP}>\r\nTo: Ana <{ANA}>\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode() + body


def texts(transcript: Transcript) -> list[str]:
    return [str(line) for line in transcript.lines]


def only_session(server: EmbeddedServer) -> Transcript:
    [transcript] = server.transcripts
    wait_closed(transcript)
    return transcript


def wait_closed(transcript: Transcript, timeout: float = 5.0) -> None:
    """The server notices the end of a connection a moment after the client closed it."""
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if not transcript.is_open:
            return
        done.wait(0.01)
    raise AssertionError(f"session still open after {timeout} s: {transcript!r}")


def recv_reply(sock: socket.socket) -> bytes:
    """Read one complete (possibly multi-line) SMTP reply from a raw socket."""
    data = b""
    while True:
        data += sock.recv(4096)
        lines = data.split(b"\r\n")
        if len(lines) > 1 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data


# --------------------------------------------------------------------------- what is recorded


def test_plain_session_records_every_command_and_reply_in_order():
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, local_hostname="laptop.example.com", timeout=5) as client:
            client.sendmail(SHOP, [ANA, AUDIT], wire())
        transcript = only_session(server)
    assert texts(transcript) == [
        "S: 220 mimekit.localhost mimekit embedded SMTP server",
        "C: ehlo laptop.example.com",
        "S: 250-mimekit.localhost",
        "S: 250-SIZE 33554432",
        "S: 250-8BITMIME",
        "S: 250-SMTPUTF8",
        "S: 250 HELP",
        f"C: mail FROM:<{SHOP}> size={len(wire())}",
        "S: 250 OK",
        f"C: rcpt TO:<{ANA}>",
        "S: 250 OK",
        f"C: rcpt TO:<{AUDIT}>",
        "S: 250 OK",
        "C: data",
        "S: 354 End data with <CR><LF>.<CR><LF>",
        f"C: <message: {len(wire())} bytes, 7 lines>",
        "S: 250 OK: message captured",
        "C: QUIT",
        "S: 221 Bye",
        "-- connection closed --",
    ]
    assert transcript.render() == str(transcript) == "\n".join(texts(transcript))
    assert transcript.lines[1] == TranscriptLine("C", "ehlo laptop.example.com")
    assert transcript.peer.startswith("127.0.0.1:") and transcript.session_id == 1
    assert transcript.ended_at is not None and transcript.ended_at >= transcript.started_at


def test_transcript_links_to_the_captured_messages_and_back():
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(SHOP, [ANA], wire("one"))
            client.sendmail(SHOP, [ANA], wire("two"))
        transcript = only_session(server)
        first, second = server.inbox.messages()
        assert transcript.messages == (first, second)
        assert transcript.messages[0] is first
        assert server.find_transcript(second) is transcript
    assert "2 messages" in repr(transcript) and "closed" in repr(transcript)


def test_message_summary_counts_the_bytes_after_dot_unstuffing_like_captured_raw():
    body = b".a line that starts with a dot\r\n..two dots\r\nFrom the start\r\n"
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(SHOP, [ANA], wire(body=body))
        transcript = only_session(server)
        captured = server.inbox.latest()
    assert captured.raw == wire(body=body)
    assert f"C: <message: {captured.size:,} bytes, 9 lines>" in texts(transcript)
    assert not any("two dots" in line for line in texts(transcript))


def test_message_over_the_size_limit_is_summarised_and_its_552_recorded():
    with EmbeddedServer(data_size_limit=100) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            client.mail(SHOP)
            client.rcpt(ANA)
            code, _ = client.data(wire(body=b"x" * 300 + b"\r\n"))
            assert code == 552
        lines = texts(only_session(server))
    assert any(line.startswith("C: <message: ") for line in lines)
    assert "S: 552 Error: Too much mail data" in lines


def test_pipelined_commands_are_recorded_one_by_one_each_followed_by_its_reply():
    with EmbeddedServer() as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            recv_reply(sock)
            sock.sendall(b"EHLO pipeline.example.com\r\n")
            recv_reply(sock)
            sock.sendall(  # RFC 2920: one write, several commands
                f"MAIL FROM:<{SHOP}>\r\nRCPT TO:<{ANA}>\r\nRCPT TO:<{AUDIT}>\r\nDATA\r\n".encode()
            )
            replies = b""
            while b"354 " not in replies:
                replies += sock.recv(4096)
            sock.sendall(wire() + b".\r\nNOOP\r\nQUIT\r\n")
            while b"221 " not in replies:
                replies += sock.recv(4096)
        transcript = only_session(server)
        assert len(server.inbox) == 1
    lines = texts(transcript)
    start = lines.index(f"C: MAIL FROM:<{SHOP}>")
    assert lines[start:] == [
        f"C: MAIL FROM:<{SHOP}>",
        "S: 250 OK",
        f"C: RCPT TO:<{ANA}>",
        "S: 250 OK",
        f"C: RCPT TO:<{AUDIT}>",
        "S: 250 OK",
        "C: DATA",
        "S: 354 End data with <CR><LF>.<CR><LF>",
        f"C: <message: {len(wire())} bytes, 7 lines>",
        "S: 250 OK: message captured",
        "C: NOOP",
        "S: 250 OK",
        "C: QUIT",
        "S: 221 Bye",
        "-- connection closed --",
    ]


def test_errors_and_unknown_commands_are_recorded_with_their_reply_codes():
    with EmbeddedServer() as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            recv_reply(sock)
            for command in (b"FROB x\r\n", b"RCPT TO:<ana@example.org>\r\n", b"X" * 3000 + b"\r\n", b"QUIT\r\n"):
                sock.sendall(command)
                recv_reply(sock)
        lines = texts(only_session(server))
    assert lines[1:3] == ["C: FROB x", 'S: 500 Error: command "FROB" not recognized']
    assert lines[3] == "C: RCPT TO:<ana@example.org>" and lines[4].startswith("S: 503 ")
    assert lines[5].startswith("C: XXXX") and lines[5].endswith("(3,002 bytes in all, cut here)")
    assert lines[6] == "S: 500 Command line too long"


def test_non_utf8_client_bytes_are_shown_with_replacement_characters():
    with EmbeddedServer() as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            recv_reply(sock)
            sock.sendall(b"NOOP caf\xe9\r\n")
            recv_reply(sock)
        transcript = server.transcripts[0]
        wait_closed(transcript)
    assert "C: NOOP caf\ufffd" in texts(transcript)


# --------------------------------------------------------------------------- TLS


def test_starttls_session_shows_the_tls_marker_and_the_second_ehlo():
    with EmbeddedServer(tls="starttls") as server:
        with smtplib.SMTP(server.host, server.port, local_hostname="laptop.example.com", timeout=5) as client:
            client.starttls(context=server.ca.client_context())
            client.sendmail(SHOP, [ANA], wire())
            version = client.sock.version()
        lines = texts(only_session(server))
    marker = f"-- TLS started ({version}) --"
    assert lines.index("C: STARTTLS") + 1 == lines.index("S: 220 Ready to start TLS")
    assert lines.index("S: 220 Ready to start TLS") + 1 == lines.index(marker)
    assert lines.count("C: ehlo laptop.example.com") == 2
    assert lines.index(marker) < lines.index("C: ehlo laptop.example.com", lines.index(marker))
    assert "S: 250-STARTTLS" in lines[: lines.index(marker)]
    assert "S: 250 OK: message captured" in lines[lines.index(marker):]


def test_implicit_tls_session_is_marked_before_the_greeting():
    with EmbeddedServer(tls="implicit") as server:
        with smtplib.SMTP_SSL(server.host, server.port, timeout=5, context=server.ca.client_context()) as client:
            client.noop()
        lines = texts(only_session(server))
    assert lines[0].startswith("-- TLS started (TLSv1.") and lines[0].endswith(", implicit TLS) --")
    assert lines[1].startswith("S: 220 ")


def test_failed_tls_handshake_is_noted_and_the_session_closed():
    with EmbeddedServer(tls="starttls") as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client, pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ssl.create_default_context())
        lines = texts(only_session(server))
    assert any(line.startswith("-- TLS handshake failed") for line in lines)
    assert lines[-1] == "-- connection closed --"


# --------------------------------------------------------------------------- AUTH secrets


def assert_no_secret(lines: list[str]) -> None:
    text = "\n".join(lines)
    secrets = [
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
        base64.b64encode(USER.encode()).decode(),
    ]
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into the transcript:\n{text}"
    assert "********" in text


def test_auth_plain_with_initial_response_is_masked():
    with EmbeddedServer(tls="starttls", auth={USER: PASSWORD}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.starttls(context=server.ca.client_context())
            client.ehlo()
            client.user, client.password = USER, PASSWORD
            assert client.auth("PLAIN", client.auth_plain)[0] == 235
        lines = texts(only_session(server))
    assert "C: AUTH PLAIN ********" in lines
    assert "S: 235 2.7.0 Authentication successful" in lines
    assert_no_secret(lines)


def test_auth_plain_without_initial_response_masks_the_answer_to_the_334_challenge():
    with EmbeddedServer(tls="starttls", auth={USER: PASSWORD}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.starttls(context=server.ca.client_context())
            client.ehlo()
            client.user, client.password = USER, PASSWORD
            assert client.auth("PLAIN", client.auth_plain, initial_response_ok=False)[0] == 235
        lines = texts(only_session(server))
    at = lines.index("C: AUTH PLAIN")
    assert lines[at + 1] == "S: 334 " and lines[at + 2] == "C: ********"
    assert_no_secret(lines)


@pytest.mark.parametrize("initial_response_ok", [False, True])
def test_auth_login_masks_the_user_name_and_the_password(initial_response_ok):
    with EmbeddedServer(tls="starttls", auth={USER: PASSWORD}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.starttls(context=server.ca.client_context())
            client.ehlo()
            client.user, client.password = USER, PASSWORD
            assert client.auth("LOGIN", client.auth_login, initial_response_ok=initial_response_ok)[0] == 235
        lines = texts(only_session(server))
    assert_no_secret(lines)
    if initial_response_ok:
        assert "C: AUTH LOGIN ********" in lines
    else:
        at = lines.index("C: AUTH LOGIN")
        assert lines[at + 1].startswith("S: 334 ") and lines[at + 2] == "C: ********"
    assert lines.count("C: ********") == (1 if initial_response_ok else 2)


def test_wrong_password_is_masked_too_and_the_535_recorded():
    with EmbeddedServer(auth={USER: PASSWORD}, allow_auth_without_tls=True) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client, pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(USER, "otra-cosa")
        lines = texts(only_session(server))
    assert "otra-cosa" not in "\n".join(lines)
    assert base64.b64encode(b"otra-cosa").decode() not in "\n".join(lines)
    assert any(line.startswith("S: 535 ") for line in lines)


# --------------------------------------------------------------------------- keeping and clearing


def test_twenty_sessions_are_recorded_and_max_transcripts_keeps_the_newest():
    with EmbeddedServer() as everything, EmbeddedServer(max_transcripts=5) as bounded:
        for server in (everything, bounded):
            for n in range(20):
                with smtplib.SMTP(server.host, server.port, timeout=5) as client:
                    client.noop()
        assert [t.session_id for t in everything.transcripts] == list(range(1, 21))
        assert [t.session_id for t in bounded.transcripts] == list(range(16, 21))


def test_the_servers_own_start_up_check_is_not_a_session():
    with EmbeddedServer(tls="implicit") as server:
        assert server.transcripts == []
        server.stop()
        server.start()
        assert server.transcripts == []


def test_inbox_clear_keeps_transcripts_and_clear_transcripts_keeps_the_inbox():
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(SHOP, [ANA], wire())
        assert server.inbox.clear() == 1
        assert len(server.transcripts) == 1
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(SHOP, [ANA], wire())
        assert server.clear_transcripts() == 2
        assert server.transcripts == [] and len(server.inbox) == 1
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.noop()
        assert [t.session_id for t in server.transcripts] == [3]  # numbering goes on


def test_transcripts_survive_a_restart():
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.noop()
        server.stop()
        server.start()
        assert len(server.transcripts) == 1 and not server.transcripts[0].is_open


def test_transcripts_false_records_nothing():
    with EmbeddedServer(transcripts=False) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(SHOP, [ANA], wire())
        assert server.transcripts == [] and server.clear_transcripts() == 0
        assert server.find_transcript(server.inbox.wait_for(1)[0]) is None


def test_a_session_in_progress_can_be_read_as_a_snapshot_from_another_thread():
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo("laptop.example.com")
            [transcript] = server.transcripts
            snapshot = transcript.lines
            assert transcript.is_open and "open" in repr(transcript)
            client.noop()
            assert len(transcript.lines) == len(snapshot) + 2
        wait_closed(transcript)
    assert snapshot[-1] == TranscriptLine("S", "250 HELP")


def test_a_dropped_connection_during_data_notes_the_reply_that_was_never_sent():
    with EmbeddedServer(faults="drop-data") as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client, pytest.raises(smtplib.SMTPServerDisconnected):
            client.sendmail(SHOP, [ANA], wire())
        lines = texts(only_session(server))
    assert any(line.startswith("C: <message: ") for line in lines)
    assert not any(line.startswith("S: 421") for line in lines)
    assert any(line.startswith("-- not sent, the connection is closing: 421 ") for line in lines)
    assert lines[-1] == "-- connection closed --"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"max_transcripts": 0}, ValueError), ({"max_transcripts": "10"}, TypeError)],
)
def test_bad_max_transcripts_is_refused(kwargs, error):
    with pytest.raises(error, match="max_transcripts"):
        EmbeddedServer(**kwargs)
