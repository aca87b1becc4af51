"""The embedded server's TLS, AUTH and fault options, through real smtplib clients on loopback."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from mimekit import EmbeddedServer, SMTPTarget, as_smtp_bytes, make_text_part, set_header
from mimekit.faults import FaultyHandler

USER, PASSWORD = "alumno", "contrasena-de-prueba"  # a throwaway lesson account, not a secret


def message() -> bytes:
    msg = make_text_part("Hola\n")
    set_header(msg, "From", "pedidos@tienda.example.com")
    set_header(msg, "To", "jose.nunez@example.com")
    set_header(msg, "Subject", "Por un canal cifrado")
    return as_smtp_bytes(msg)


def test_starttls_server_offers_auth_only_after_starttls_and_captures_the_message(caplog):
    with EmbeddedServer(tls="starttls", auth={USER: PASSWORD}) as server:
        assert server.url == f"smtp+starttls://127.0.0.1:{server.port}"
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("starttls") and not client.has_extn("auth")
            code, _ = client.docmd("AUTH", "PLAIN AGFsdW1ubwBjb250cmFzZW5hLWRlLXBydWViYQ==")
            assert code == 530  # RFC 3207 §4: must issue STARTTLS first
            client.starttls(context=server.ca.client_context())
            client.ehlo()
            assert set(client.esmtp_features["auth"].split()) == {"LOGIN", "PLAIN"}
            assert client.login(USER, PASSWORD)[0] == 235
            client.sendmail("pedidos@tienda.example.com", ["jose.nunez@example.com"], message())
        assert server.inbox.wait_for(1)[0].subject == "Por un canal cifrado"
    assert "login_data is deprecated" not in caplog.text


def test_wrong_password_gets_535():
    with EmbeddedServer(tls="starttls", auth={USER: PASSWORD}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.starttls(context=server.ca.client_context())
            with pytest.raises(smtplib.SMTPAuthenticationError) as info:
                client.login(USER, "otra-cosa")
    assert info.value.smtp_code == 535


def test_implicit_tls_server_speaks_tls_from_the_first_byte():
    with EmbeddedServer(tls="implicit", auth={USER: PASSWORD}) as server:
        assert server.url.startswith("smtps://")
        with smtplib.SMTP_SSL(server.host, server.port, timeout=5, context=server.ca.client_context()) as client:
            assert client.login(USER, PASSWORD)[0] == 235
            client.sendmail("pedidos@tienda.example.com", ["jose.nunez@example.com"], message())
        assert len(server.inbox.wait_for(1)) == 1


def test_default_client_context_does_not_trust_the_lesson_ca():
    with EmbeddedServer(tls="starttls") as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            with pytest.raises(ssl.SSLCertVerificationError):
                client.starttls(context=ssl.create_default_context())


def test_auth_without_tls_is_refused_unless_a_lesson_asks_for_it():
    with pytest.raises(ValueError, match="in clear"):
        EmbeddedServer(auth={USER: PASSWORD})
    with EmbeddedServer(auth={USER: PASSWORD}, allow_auth_without_tls=True) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            assert client.login(USER, PASSWORD)[0] == 235


def test_the_connection_url_of_a_tls_server_round_trips_through_smtp_target(monkeypatch):
    monkeypatch.setenv("MIMEKIT_SMTP_PASSWORD", PASSWORD)
    with EmbeddedServer(tls="starttls", auth={USER: PASSWORD}) as server:
        host_port = server.url.split("://", 1)[1]
        target = SMTPTarget.from_url(f"smtp+starttls://{USER}@{host_port}")
        smtp = target.connect(ssl_context=server.ca.client_context())
        try:
            smtp.sendmail("pedidos@tienda.example.com", ["jose.nunez@example.com"], message())
        finally:
            smtp.quit()
        assert len(server.inbox.wait_for(1)) == 1


def test_faults_given_at_construction_apply_and_show_in_the_settings():
    server = EmbeddedServer(faults="reject:nobody@*")
    assert isinstance(server.handler, FaultyHandler)
    with server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            refused = client.sendmail(
                "pedidos@tienda.example.com", ["jose.nunez@example.com", "nobody@example.org"], message()
            )
    assert refused == {"nobody@example.org": (550, b"5.1.1 No such user here")}
    assert "reject:nobody@*" in server._settings()


def test_bad_auth_fault_offers_auth_and_refuses_every_login():
    with EmbeddedServer(tls="starttls", faults="bad-auth") as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.starttls(context=server.ca.client_context())
            client.ehlo()
            with pytest.raises(smtplib.SMTPAuthenticationError) as info:
                client.login(USER, PASSWORD)
    assert info.value.smtp_code == 535


@pytest.mark.parametrize("tls", ["ssl", "STARTTLS", True])
def test_unknown_tls_mode_is_refused(tls):
    with pytest.raises(ValueError, match="starttls"):
        EmbeddedServer(tls=tls)


@pytest.mark.parametrize(("tls", "scheme"), [(None, "smtp"), ("starttls", "smtp+starttls"), ("implicit", "smtps")])
def test_smtp_target_for_a_server_follows_its_tls_mode(tls, scheme):
    with EmbeddedServer(tls=tls) as server:
        target = SMTPTarget.for_server(server)
        assert (target.scheme, target.host, target.port) == (scheme, server.host, server.port)


def test_a_refused_certificate_is_in_the_transcript_and_leaves_no_traceback_in_the_log(caplog):
    with EmbeddedServer(tls="starttls") as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            with pytest.raises(ssl.SSLCertVerificationError):
                client.starttls(context=ssl.create_default_context())  # the lesson CA is not in the system store
        [transcript] = server.transcripts
        lines = [str(line) for line in transcript.wait_closed().lines]
    assert any("TLS handshake failed" in line for line in lines), lines
    assert "SMTP session exception" not in caplog.text and "Traceback" not in caplog.text
