"""Session transcripts of mimekit.server: real smtplib clients (and raw sockets) on loopback."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl

import pytest

from mimekit.errors import InboxTimeout
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
    return transcript.wait_closed()


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
        "S: 250-PIPELINING",
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


def dot_stuffed(content: bytes) -> bytes:
    """*content* as a client sends it after DATA: a line starting with "." gets another (RFC 5321 §4.5.2)."""
    return b"".join(b"." + line if line.startswith(b".") else line for line in content.splitlines(keepends=True))


def test_message_sent_a_byte_at_a_time_is_summarised_as_if_sent_whole():
    # The server counts the message as it arrives, a socket read at a time: a CRLF, a stuffed dot or the
    # final "." split between two reads must count as in one piece.
    content = wire(body=b".first\r\n..second\r\n\r\n.\r\nlast\r\n")
    with EmbeddedServer() as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            recv_reply(sock)
            for command in (b"EHLO bytes.example.com", f"MAIL FROM:<{SHOP}>".encode(), f"RCPT TO:<{ANA}>".encode()):
                sock.sendall(command + b"\r\n")
                recv_reply(sock)
            sock.sendall(b"DATA\r\n")
            assert recv_reply(sock).startswith(b"354")
            for byte in dot_stuffed(content) + b".\r\n":
                sock.sendall(bytes([byte]))
            assert recv_reply(sock).startswith(b"250")
            sock.sendall(b"QUIT\r\n")
            recv_reply(sock)
        transcript = only_session(server)
        captured = server.inbox.latest()
    assert captured.raw == content
    lines = texts(transcript)
    crlf_lines = content.count(b"\r\n")
    summary = f"C: <message: {len(content):,} bytes, {crlf_lines:,} lines>"
    assert lines[lines.index("S: 354 End data with <CR><LF>.<CR><LF>") + 1 :] == [
        summary,
        "S: 250 OK: message captured",
        "C: QUIT",
        "S: 221 Bye",
        "-- connection closed --",
    ]


def test_message_over_a_mebibyte_is_summarised_like_a_small_one():
    # (The server counts a large message as it arrives instead of after it: the same figures.)
    content = wire(body=(b".a line that smtplib dot-stuffs " + b"x" * 60 + b"\r\n") * 15_000)
    assert len(content) > 1_300_000
    with EmbeddedServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.sendmail(SHOP, [ANA], content)
        transcript = only_session(server)
        captured = server.inbox.latest()
    assert captured.raw == content
    crlf_lines = content.count(b"\r\n")
    assert f"C: <message: {len(content):,} bytes, {crlf_lines:,} lines>" in texts(transcript)


def test_message_over_the_size_limit_is_summarised_and_its_552_recorded():
    content = wire(body=b"x" * 300 + b"\r\n")
    with EmbeddedServer(data_size_limit=100) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            client.mail(SHOP)
            client.rcpt(ANA)
            code, _ = client.data(content)
            assert code == 552
            assert client.noop()[0] == 250  # the session goes on
        lines = texts(only_session(server))
    at = lines.index("S: 552 Error: Too much mail data")
    assert lines[at - 1] == f"C: <message: {len(content):,} bytes, 7 lines>"
    assert lines[at + 1 : at + 3] == ["C: noop", "S: 250 OK"]


def test_message_with_a_line_over_1000_octets_is_summarised_and_its_500_recorded():
    content = b"Subject: too long\r\n\r\n" + b"y" * 5000 + b"\r\n.short\r\n"
    with EmbeddedServer() as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            recv_reply(sock)
            for command in (b"EHLO long.example.com", f"MAIL FROM:<{SHOP}>".encode(), f"RCPT TO:<{ANA}>".encode()):
                sock.sendall(command + b"\r\n")
                recv_reply(sock)
            sock.sendall(b"DATA\r\n")
            recv_reply(sock)
            sock.sendall(dot_stuffed(content) + b".\r\nNOOP\r\n")  # RFC 5321 §4.5.3.1.6: 1,000 octets a line
            replies = b""
            while b"250 " not in replies:
                replies += sock.recv(4096)
            assert replies.startswith(b"500 ")
        lines = texts(only_session(server))
        assert len(server.inbox) == 0
    at = lines.index("S: 500 Line too long (see RFC5321 4.5.3.1.6)")
    assert lines[at - 1] == f"C: <message: {len(content):,} bytes, 4 lines>"
    assert lines[at + 1 : at + 3] == ["C: NOOP", "S: 250 OK"]


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
        transcript.wait_closed()
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
        transcript.wait_closed()
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


def test_wait_closed_returns_the_finished_transcript_and_times_out_while_the_client_stays():
    with EmbeddedServer() as server:
        client = smtplib.SMTP(server.host, server.port, local_hostname="laptop.example.com", timeout=5)
        [transcript] = server.transcripts
        with pytest.raises(InboxTimeout, match=r"still open after 0.05 s.*smtp.quit\(\)"):
            transcript.wait_closed(0.05)
        client.quit()
        assert transcript.wait_closed() is transcript
        assert not transcript.is_open and str(transcript.lines[-1]) == "-- connection closed --"
