"""mimekit.tls: a throwaway CA whose certificates real TLS clients accept, with verification on.

Servers are real aiosmtpd servers on 127.0.0.1 (STARTTLS and implicit TLS),
started here directly; clients are plain smtplib, so these tests check LocalCA
alone, not mimekit.connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509

from loopback import free_port
from mimekit.tls import DEFAULT_TLS_HOSTNAMES, LocalCA


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA()



class _Recorder:
    """An aiosmtpd handler that keeps (envelope, TLS info) of each message."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict | None]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, session.ssl))
        return "250 OK"


@contextlib.contextmanager
def _server(handler, **kwargs) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


MESSAGE = b"From: shop@example.com\r\nTo: ana@example.org\r\nSubject: TLS\r\n\r\nHola.\r\n"


# --------------------------------------------------------------------------- the contexts


def test_client_context_verifies_certificate_and_host_name(ca):
    context = ca.client_context()
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_client_context_trusts_only_this_ca(ca):
    trusted = ca.client_context().get_ca_certs(binary_form=True)
    assert trusted == [ssl.PEM_cert_to_DER_cert(ca.ca_pem.decode("ascii"))]


def test_server_context_is_server_side_tls_1_2_or_later(ca):
    context = ca.server_context()
    assert context.protocol == ssl.PROTOCOL_TLS_SERVER
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


# --------------------------------------------------------------------------- the certificates


def test_server_certificate_has_ip_sans_for_ips_and_dns_sans_for_names(ca):
    sans = ca.server_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "mimekit.localhost"]
    assert ca.hostnames == DEFAULT_TLS_HOSTNAMES


def test_server_certificate_is_signed_by_the_ca(ca):
    ca.server_certificate.verify_directly_issued_by(ca.ca_certificate)


def test_ca_pem_is_a_certificate_without_private_key(ca):
    assert ca.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" not in ca.ca_pem
    assert x509.load_pem_x509_certificate(ca.ca_pem).extensions.get_extension_for_class(
        x509.BasicConstraints
    ).value.ca


def test_each_local_ca_is_new():
    assert LocalCA().ca_pem != LocalCA().ca_pem


def test_describe_names_subjects_sans_validity_and_fingerprints(ca):
    text = ca.describe()
    assert "IP:127.0.0.1, DNS:localhost, DNS:mimekit.localhost" in text
    assert text.count("SHA-256:") == 2
    for pem in (ca.ca_pem, ca.server_cert_pem):  # the fingerprint is the SHA-256 of the DER bytes
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
        assert hashlib.sha256(der).digest().hex(":").upper() in text
    assert "CN=localhost" in text
    assert "UTC to" in text


def test_describe_lists_the_names_asked_for():
    assert "SANs:        DNS:mail.example.com, IP:::1" in LocalCA(hostnames=["mail.example.com", "::1"]).describe()


@pytest.mark.parametrize(
    ("hostnames", "error"),
    [("localhost", TypeError), ([], ValueError), (["localhost", ""], ValueError), ([b"localhost"], TypeError),
     (["two words"], ValueError)],
)
def test_hostnames_must_be_a_sequence_of_names(hostnames, error):
    with pytest.raises(error, match="host"):
        LocalCA(hostnames=hostnames)


def test_write_ca_pem_to_file_and_into_directory(ca, tmp_path):
    assert ca.write_ca_pem(tmp_path / "ca.pem") == (tmp_path / "ca.pem").resolve()
    assert (tmp_path / "ca.pem").read_bytes() == ca.ca_pem
    in_dir = ca.write_ca_pem(str(tmp_path))
    assert in_dir == (tmp_path / "mimekit-local-ca.pem").resolve()
    assert in_dir.read_bytes() == ca.ca_pem


# --------------------------------------------------------------------------- real handshakes


def test_starttls_succeeds_with_client_context(ca):
    handler = _Recorder()
    with _server(handler, tls_context=ca.server_context(), require_starttls=True) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            client.starttls(context=ca.client_context())
            client.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    (mail_from, tls), = handler.received
    assert mail_from == "shop@example.com"
    assert tls is not None and tls["peercert"] is None  # the server saw TLS; no client certificate


def test_starttls_with_system_trust_store_rejects_local_ca(ca):
    with _server(_Recorder(), tls_context=ca.server_context()) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            with pytest.raises(ssl.SSLCertVerificationError):
                client.starttls(context=ssl.create_default_context())


def test_implicit_tls_succeeds_with_client_context(ca):
    handler = _Recorder()
    with _server(handler, ssl_context=ca.server_context()) as server:
        with smtplib.SMTP_SSL("127.0.0.1", server.port, timeout=5, context=ca.client_context()) as client:
            assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
            client.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    assert [m for m, _ in handler.received] == ["shop@example.com"]


def test_implicit_tls_with_other_ca_is_rejected(ca):
    with _server(_Recorder(), ssl_context=ca.server_context()) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            smtplib.SMTP_SSL("127.0.0.1", server.port, timeout=5, context=LocalCA().client_context())


def test_certificate_for_other_names_fails_host_name_check():
    only_named = LocalCA(hostnames=["mimekit.localhost"])
    with _server(_Recorder(), tls_context=only_named.server_context()) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
                client.starttls(context=only_named.client_context())


def test_written_ca_pem_works_as_cafile(ca, tmp_path):
    cafile = ca.write_ca_pem(tmp_path)
    with _server(_Recorder(), tls_context=ca.server_context()) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            code, _ = client.starttls(context=ssl.create_default_context(cafile=str(cafile)))
    assert code == 220


def test_exported_names_are_sorted_and_exist():
    import mimekit.tls

    assert mimekit.tls.__all__ == sorted(mimekit.tls.__all__)
    assert all(hasattr(mimekit.tls, name) for name in mimekit.tls.__all__)
