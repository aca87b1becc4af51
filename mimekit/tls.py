"""A throwaway local certificate authority, so the embedded server can speak TLS.

**What a CA is.** A TLS server proves who it is with a *certificate*: its public
key and its names (``localhost``, ``127.0.0.1`` …, the *Subject Alternative
Names*), signed by a *certificate authority*. The client trusts a handful of
CAs (your system's list, or one you name) and accepts a server only when its
certificate is signed by one of them **and** lists the name the client dialled.
Both checks are what make the connection private: encryption with an
unchecked stranger is encryption with whoever sits in between.

**Never switch verification off.** ``ssl._create_unverified_context()``,
``check_hostname = False`` and ``verify_mode = ssl.CERT_NONE`` silence the error
and hand the connection — and the password sent over it — to anyone on the
path. That is exactly what an attacker hopes for. The fix for "certificate
verify failed" is to trust the right CA, which is what :class:`LocalCA` makes
easy: its :meth:`~LocalCA.client_context` trusts this CA (and only it), with
both checks on.

**Two ways to get TLS on SMTP.**

- *STARTTLS* (RFC 3207): the client connects in plain text (port 587, or 25
  between servers), says ``EHLO``, sees ``STARTTLS`` among the extensions,
  sends ``STARTTLS``, gets ``220``, and only then starts the TLS handshake on
  the same connection; then it says ``EHLO`` again, because everything learnt
  before TLS is forgotten (§4.2). A client that wanted TLS must stop if the
  server does not offer it — carrying on in plain text is the "downgrade"
  an attacker causes by deleting that one line (§6).
- *Implicit TLS* (RFC 8314, "SMTPS", port 465): the TLS handshake comes first,
  before the server's ``220`` greeting; nothing is ever sent in plain text.
  RFC 8314 §3.3 recommends it for mail submission.

**This CA lives only in memory**, for as long as your Python process (your
notebook's kernel): a new one with new keys is made each time. Its private key
is never written to disk, and nothing on your
machine trusts it unless you say so — :meth:`~LocalCA.write_ca_pem` writes its
*certificate* (public, no key) for tools such as ``openssl s_client -CAfile``
or a mail client you want to point at the embedded server. (The *server's*
key does pass through a private temporary file, deleted at once, because
:meth:`ssl.SSLContext.load_cert_chain` reads only files.)

>>> ca = LocalCA()
>>> client = ca.client_context()
>>> client.check_hostname, client.verify_mode == ssl.CERT_REQUIRED
(True, True)
>>> ca.hostnames
('127.0.0.1', 'localhost', 'mimekit.localhost')
>>> print(ca.describe())  # doctest: +ELLIPSIS
Local CA (made in memory by this process; trusted by nothing else)
  subject:     OU=Testing CA #...,O=mimekit throwaway teaching CA
...
  SANs:        IP:127.0.0.1, DNS:localhost, DNS:mimekit.localhost
...

Errors raised here: ``TypeError`` / ``ValueError`` for a host name list that
is not a non-empty sequence of non-empty strings; ``OSError`` from
:meth:`~LocalCA.write_ca_pem` when the file cannot be written.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

__all__ = ["DEFAULT_TLS_HOSTNAMES", "LocalCA"]

DEFAULT_TLS_HOSTNAMES = ("127.0.0.1", "localhost", "mimekit.localhost")
"""The names the embedded server is reached by: its default address, and its EHLO name."""

_CA_ORGANIZATION = "mimekit throwaway teaching CA"
_SERVER_ORGANIZATION = "mimekit embedded SMTP server"
_CA_FILENAME = "mimekit-local-ca.pem"
# Short-lived like real certificates (Let's Encrypt's last 90 days); one hour back for clock skew.
_SERVER_CERT_LIFETIME = datetime.timedelta(days=30)
_CLOCK_SKEW = datetime.timedelta(hours=1)


class LocalCA:
    """A certificate authority made in memory, and one server certificate it signed.

    ``hostnames`` are the names the server certificate is valid for: host
    names become ``DNS:`` Subject Alternative Names, IP addresses (``127.0.0.1``,
    ``::1``) become ``IP:`` ones (RFC 5280 §4.2.1.6). A client checks the name
    it connected to against this list (RFC 6125), so connect to one of them.
    The certificate is valid from an hour ago for 30 days.

    Use :meth:`server_context` on the server side (aiosmtpd's ``tls_context=``
    for STARTTLS, ``ssl_context=`` for implicit TLS) and :meth:`client_context`
    on the client side (``smtplib.SMTP.starttls(context=...)``,
    ``smtplib.SMTP_SSL(context=...)``).

    Raises ``TypeError`` when ``hostnames`` is a single string or holds a
    non-string, ``ValueError`` when it is empty or holds an empty name or one
    with spaces.

    >>> ca = LocalCA(hostnames=["mimekit.localhost"])
    >>> ca
    <LocalCA for mimekit.localhost>
    >>> ca.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    True
    """

    def __init__(self, hostnames: Iterable[str] = DEFAULT_TLS_HOSTNAMES) -> None:
        if isinstance(hostnames, (str, bytes)):
            raise TypeError(
                f"hostnames must be a sequence of names such as ('127.0.0.1', 'localhost'), "
                f"not the single string {hostnames!r}: write ({hostnames!r},)"
            )
        names = tuple(hostnames)
        if not names:
            raise ValueError("hostnames is empty: give at least one name, such as '127.0.0.1'")
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"each host name must be a str, not {type(name).__name__}: {name!r}")
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"host names must be non-empty and without spaces, not {name!r}")
        self.hostnames: tuple[str, ...] = names
        self._ca = trustme.CA(organization_name=_CA_ORGANIZATION)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        dns_names = [n for n in names if not _is_ip(n)]
        self._server_cert = self._ca.issue_cert(
            *names,
            # The legacy Common Name is ignored by modern clients (RFC 6125 §6.4.4): the SANs count.
            common_name=(dns_names or names)[0],
            organization_name=_SERVER_ORGANIZATION,
            not_before=now - _CLOCK_SKEW,
            not_after=now + _SERVER_CERT_LIFETIME,
        )

    def __repr__(self) -> str:
        return f"<LocalCA for {', '.join(self.hostnames)}>"

    # -- the certificates, for inspection

    @property
    def ca_pem(self) -> bytes:
        """The CA's certificate in PEM (ASCII bytes): public, safe to show and to share.

        This is what a client must trust. It holds no private key.
        """
        return self._ca.cert_pem.bytes()

    @property
    def server_cert_pem(self) -> bytes:
        """The server's certificate in PEM (ASCII bytes), as the server sends it in the handshake."""
        return self._server_cert.cert_chain_pems[0].bytes()

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The CA's certificate as a :class:`cryptography.x509.Certificate`, to explore its fields."""
        return x509.load_pem_x509_certificate(self.ca_pem)

    @property
    def server_certificate(self) -> x509.Certificate:
        """The server's certificate as a :class:`cryptography.x509.Certificate`."""
        return x509.load_pem_x509_certificate(self.server_cert_pem)

    def write_ca_pem(self, path: str | os.PathLike[str]) -> Path:
        """Write the CA certificate (PEM, no private key) to ``path`` and return the file's absolute path.

        When ``path`` is an existing directory, the file is
        ``mimekit-local-ca.pem`` inside it. An existing file is overwritten.
        Give the file to another tool so it trusts the embedded server, e.g.
        ``openssl s_client -connect 127.0.0.1:PORT -starttls smtp -CAfile FILE``.
        It is only useful while this process runs: the next process makes a new CA.

        Raises ``TypeError`` for a ``path`` that is not a str or path-like, and
        ``OSError`` when the file cannot be written.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a pathlib.Path, not {type(path).__name__}")
        target = Path(path)
        if target.is_dir():
            target = target / _CA_FILENAME
        target.write_bytes(self.ca_pem)
        return target.resolve()

    # -- the two sides of the handshake

    def server_context(self) -> ssl.SSLContext:
        """Return a new server-side :class:`ssl.SSLContext` presenting the server certificate.

        TLS 1.2 at least (RFC 8996 retired 1.0 and 1.1; RFC 8314 §4.1). Client
        certificates are not asked for. Pass it to aiosmtpd as
        ``tls_context=`` (STARTTLS offered after EHLO, RFC 3207) or as the
        Controller's ``ssl_context=`` (implicit TLS from the first byte,
        RFC 8314).
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server_cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a new client-side :class:`ssl.SSLContext` that trusts this CA, with verification on.

        Made with :func:`ssl.create_default_context` and this CA as its only
        trusted authority (``cadata``): the server must present a certificate
        signed by this CA (``verify_mode`` is ``CERT_REQUIRED``) that names the
        host you connected to (``check_hostname`` is true). Do not turn either
        off: a different CA means a different server. TLS 1.2 at least.

        >>> context = LocalCA().client_context()
        >>> context.check_hostname, context.verify_mode.name
        (True, 'CERT_REQUIRED')
        """
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca_pem.decode("ascii"))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # create_default_context() sets both already; said again here because it is the lesson.
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    # -- teaching material

    def describe(self) -> str:
        """Return a short multi-line summary of the CA and the server certificate.

        For each: subject and issuer (RFC 4514 strings), validity (UTC), and
        the SHA-256 fingerprint (what ``openssl x509 -fingerprint -sha256``
        prints); for the server certificate also its Subject Alternative
        Names, the names a client checks.
        """
        ca, server = self.ca_certificate, self.server_certificate
        lines = ["Local CA (made in memory by this process; trusted by nothing else)"]
        lines += _describe_certificate(ca)
        lines += ["Server certificate (signed by the CA above)"]
        lines += _describe_certificate(server, with_sans=True)
        return "\n".join(lines)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _describe_certificate(cert: x509.Certificate, *, with_sans: bool = False) -> list[str]:
    lines = [
        f"  subject:     {cert.subject.rfc4514_string()}",
        f"  issuer:      {cert.issuer.rfc4514_string()}",
    ]
    if with_sans:
        lines.append(f"  SANs:        {', '.join(_san_strings(cert))}")
    lines += [
        f"  valid:       {_utc(cert, 'before')} to {_utc(cert, 'after')}",
        f"  SHA-256:     {cert.fingerprint(hashes.SHA256()).hex(':').upper()}",
    ]
    return lines


def _utc(cert: x509.Certificate, which: str) -> str:
    # cryptography >= 42 has the timezone-aware *_utc properties; older ones the naive UTC ones.
    value = getattr(cert, f"not_valid_{which}_utc", None) or getattr(cert, f"not_valid_{which}")
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _san_strings(cert: x509.Certificate) -> list[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ["(none)"]
    found = []
    for name in sans:
        if isinstance(name, x509.IPAddress):
            found.append(f"IP:{name.value}")
        elif isinstance(name, x509.DNSName):
            found.append(f"DNS:{name.value}")
        else:
            found.append(f"{type(name).__name__}:{name.value}")
    return found
