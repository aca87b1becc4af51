"""mimekit.connection: SMTP targets as URLs, TLS that is never unverified, credentials only over TLS.

Servers are real: the embedded server for plain SMTP, and aiosmtpd Controllers
on 127.0.0.1 started here with a LocalCA for STARTTLS, implicit TLS and AUTH.
The credentials are obviously fake ("alumno" / "contrasena-de-prueba") and
reach the client only through an environment variable set by monkeypatch.
"""

from __future__ import annotations

import contextlib
import io
import smtplib
import ssl
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from loopback import free_port
from mimekit.connection import DEFAULT_PASSWORD_ENV, SMTPTarget
from mimekit.errors import SMTPDeliveryError
from mimekit.sending import SMTPSession
from mimekit.server import EmbeddedServer
from mimekit.tls import LocalCA

USER = "alumno"
FAKE_PASSWORD = "contrasena-de-prueba"  # not a secret: the test server's only account
PASSWORD_ENV = "MIMEKIT_TEST_SMTP_PASSWORD"
MESSAGE = b"From: shop@example.com\r\nTo: ana@example.org\r\nSubject: TLS\r\n\r\nHola.\r\n"


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA()


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch):
    """Standard input is never a terminal here, so no test can hang on a password prompt."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.delenv(DEFAULT_PASSWORD_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


# --------------------------------------------------------------------------- servers on loopback



class _Recorder:
    """Keeps, for each message, the envelope sender, whether TLS was on, and who had logged in."""

    def __init__(self) -> None:
        self.received: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            {"mail_from": envelope.mail_from, "tls": session.ssl is not None, "login": session.login_data}
        )
        return "250 OK"


class _RecorderWithoutAuth(_Recorder):
    """Like _Recorder, but its EHLO reply leaves AUTH out."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        kept = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        return [r.replace("250 ", "250-") for r in kept[:-1]] + [kept[-1]]


def _authenticator(server, session, envelope, mechanism, auth_data):
    """Accepts the one fake account, with the password the test put in the environment variable."""
    ok = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), FAKE_PASSWORD.encode())
    if ok:
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)  # not handled: aiosmtpd replies 535 5.7.8 itself


@contextlib.contextmanager
def _server(handler=None, **kwargs) -> Iterator[Controller]:
    controller = Controller(handler or _Recorder(), hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def _starttls_server(ca, handler=None, **kwargs):
    return _server(handler, tls_context=ca.server_context(), require_starttls=True, **kwargs)


def _auth_server(ca, handler=None):
    return _starttls_server(ca, handler, authenticator=_authenticator, auth_require_tls=True)


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "username"),
    [
        ("smtp://mail.example.com", "smtp", "mail.example.com", 25, None),
        ("smtp+starttls://mail.example.com", "smtp+starttls", "mail.example.com", 587, None),
        ("smtps://mail.example.com", "smtps", "mail.example.com", 465, None),
        ("smtp://127.0.0.1:8025", "smtp", "127.0.0.1", 8025, None),
        ("smtp://127.0.0.1:8025/", "smtp", "127.0.0.1", 8025, None),
        ("SMTPS://Mail.Example.COM:2465", "smtps", "mail.example.com", 2465, None),
        ("smtps://jose@mail.example.com", "smtps", "mail.example.com", 465, "jose"),
        ("smtps://jos%C3%A9@mail.example.com", "smtps", "mail.example.com", 465, "josé"),
        ("smtp+starttls://ana%40example.org@mail.example.com:587", "smtp+starttls", "mail.example.com", 587,
         "ana@example.org"),
        ("smtp://[::1]:8025", "smtp", "::1", 8025, None),
        ("smtps://jose@[2001:db8::25]", "smtps", "2001:db8::25", 465, "jose"),
    ],
)
def test_from_url_reads_scheme_host_default_port_and_user(url, scheme, host, port, username):
    target = SMTPTarget.from_url(url)
    assert (target.scheme, target.host, target.port, target.username) == (scheme, host, port, username)
    assert SMTPTarget.from_url(str(target)) == target  # str() gives a URL that reads back the same


def test_str_and_repr_show_user_but_never_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, FAKE_PASSWORD)
    target = SMTPTarget.from_url("smtps://jose@mail.example.com", password_env=PASSWORD_ENV)
    assert str(target) == "smtps://jose@mail.example.com:465"
    assert repr(target) == f"<SMTPTarget smtps://jose@mail.example.com:465, password from ${PASSWORD_ENV}>"
    assert target.password() == FAKE_PASSWORD
    assert FAKE_PASSWORD not in repr(target) + str(target) + repr(vars(target))


def test_ipv6_host_is_bracketed_in_url():
    assert str(SMTPTarget("smtp", "::1", 8025)) == "smtp://[::1]:8025"


def test_query_sets_timeout_and_local_hostname():
    target = SMTPTarget.from_url("smtp://127.0.0.1:8025?timeout=2.5&local_hostname=laptop.example.com")
    assert (target.timeout, target.local_hostname) == (2.5, "laptop.example.com")
    assert str(target) == "smtp://127.0.0.1:8025?local_hostname=laptop.example.com&timeout=2.5"


def test_query_timeout_wins_over_keyword_and_keyword_is_default():
    assert SMTPTarget.from_url("smtp://h.example.com?timeout=3", timeout=9).timeout == 3.0
    assert SMTPTarget.from_url("smtp://h.example.com", timeout=9).timeout == 9.0
    assert SMTPTarget.from_url("smtp://h.example.com").timeout == 30.0


def test_username_reads_password_from_default_variable_unless_named():
    assert SMTPTarget.from_url("smtps://jose@h.example.com").password_env == DEFAULT_PASSWORD_ENV
    assert SMTPTarget.from_url("smtps://jose@h.example.com", password_env="AULA_PW").password_env == "AULA_PW"
    assert SMTPTarget.from_url("smtps://h.example.com").password_env is None


@pytest.mark.parametrize(
    "url",
    ["smtps://ana:contrasena-de-prueba@mail.example.com", "smtp+starttls://ana:contrasena-de-prueba@h.example.com:587",
     "smtps://:contrasena-de-prueba@mail.example.com", "smtps://ana:@mail.example.com"],
)
def test_password_in_url_is_refused_without_repeating_it(url):
    with pytest.raises(ValueError, match="environment variable") as caught:
        SMTPTarget.from_url(url)
    message = str(caught.value)
    assert "password_env=" in message and "notebook" in message
    assert "contrasena-de-prueba" not in message


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp+ssl://mail.example.com", "mailto:ana@example.org",
                                 "localhost:25", "//mail.example.com"])
def test_unknown_scheme_lists_the_accepted_ones(url):
    with pytest.raises(ValueError, match=r"smtp://.*smtp\+starttls://.*smtps://"):
        SMTPTarget.from_url(url)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("smtp://", "no host"),
        ("smtp://mail.example.com:99999", "port"),
        ("smtp://mail.example.com:smtp", "port"),
        ("smtp://mail.example.com:0", "port"),
        ("smtp://[::1:25", "IPv6"),
        ("smtp://mail.example.com/inbox", "path"),
        ("smtp://mail.example.com#x", "fragment"),
        ("smtp://mail.example.com?timeout=soon", "timeout"),
        ("smtp://mail.example.com?timeout=0", "timeout"),
        ("smtp://mail.example.com?timeout=1&timeout=2", "twice"),
        ("smtp://mail.example.com?tls=yes", "Unknown parameter 'tls'"),
        ("smtp://mail example.com", "spaces"),
    ],
)
def test_unusable_url_is_refused_with_reason(url, match):
    with pytest.raises(ValueError, match=match):
        SMTPTarget.from_url(url)


def test_password_as_query_parameter_is_refused_and_masked():
    with pytest.raises(ValueError, match="Unknown parameter 'password'") as caught:
        SMTPTarget.from_url("smtps://ana@mail.example.com?password=contrasena-de-prueba")
    assert "contrasena-de-prueba" not in str(caught.value)


def test_url_must_be_str():
    with pytest.raises(TypeError, match="url must be a str"):
        SMTPTarget.from_url(b"smtp://mail.example.com")


def test_login_over_plain_smtp_is_refused_before_any_connection():
    # The refusal comes while reading the URL: no target exists, so nothing can connect.
    with pytest.raises(ValueError, match=r"smtp\+starttls://.*smtps://") as caught:
        SMTPTarget.from_url(f"smtp://{USER}@127.0.0.1:2525")
    assert "RFC 4954" in str(caught.value) and "unencrypted" in str(caught.value)
    with pytest.raises(ValueError, match="RFC 4954"):
        SMTPTarget("smtp", "127.0.0.1", 2525, username=USER)


@pytest.mark.parametrize(
    ("fields", "error"),
    [({"port": "25"}, TypeError), ({"port": 70000}, ValueError), ({"host": ""}, ValueError),
     ({"host": "[::1]"}, ValueError), ({"timeout": -1}, ValueError), ({"timeout": "5"}, TypeError),
     ({"scheme": "SMTP"}, ValueError), ({"password_env": "X=1"}, ValueError)],
)
def test_fields_are_checked(fields, error):
    with pytest.raises(error):
        SMTPTarget(**{"scheme": "smtp", "host": "127.0.0.1", "port": 25, **fields})


# --------------------------------------------------------------------------- the embedded server


def test_for_server_targets_embedded_server_and_delivers(smtp_server):
    target = SMTPTarget.for_server(smtp_server)
    assert str(target) == smtp_server.url
    with target.connect() as smtp:
        smtp.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    assert smtp_server.inbox.wait_for(1)[0].rcpt_tos == ("ana@example.org",)


def test_for_server_needs_a_started_server():
    with pytest.raises(ValueError, match="start it first"):
        SMTPTarget.for_server(EmbeddedServer())
    with pytest.raises(TypeError, match=r"\.host"):
        SMTPTarget.for_server("127.0.0.1:25")


def test_connection_refused_says_nothing_listens(closed_port):
    with pytest.raises(SMTPDeliveryError, match="Nothing listens") as caught:
        SMTPTarget.from_url(f"smtp://127.0.0.1:{closed_port}", timeout=5).connect()
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


# --------------------------------------------------------------------------- STARTTLS


def test_starttls_with_local_ca_delivers_over_tls(ca):
    handler = _Recorder()
    with _starttls_server(ca, handler) as server:
        target = SMTPTarget.from_url(f"smtp+starttls://127.0.0.1:{server.port}?timeout=5")
        with target.connect(ssl_context=ca.client_context()) as smtp:
            assert isinstance(smtp.sock, ssl.SSLSocket)
            assert "starttls" not in smtp.esmtp_features  # the second EHLO, after TLS, was read
            smtp.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    assert handler.received == [{"mail_from": "shop@example.com", "tls": True, "login": None}]


def test_starttls_with_default_context_says_certificate_not_trusted(ca):
    with _starttls_server(ca) as server:
        with pytest.raises(SMTPDeliveryError, match="certificate is not trusted") as caught:
            SMTPTarget.from_url(f"smtp+starttls://127.0.0.1:{server.port}?timeout=5").connect()
    message = str(caught.value)
    assert "ssl_context=LocalCA.client_context()" in message and "never disable verification" in message
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


def test_certificate_for_other_name_says_host_name_mismatch():
    other_names = LocalCA(hostnames=["mimekit.localhost"])
    with _starttls_server(other_names) as server:
        with pytest.raises(SMTPDeliveryError, match="does not name '127.0.0.1'"):
            SMTPTarget.from_url(f"smtp+starttls://127.0.0.1:{server.port}?timeout=5").connect(
                ssl_context=other_names.client_context()
            )


def test_starttls_not_offered_stops_without_plaintext_fallback(smtp_server):
    with pytest.raises(SMTPDeliveryError, match="does not offer STARTTLS") as caught:
        SMTPTarget.from_url(f"smtp+starttls://127.0.0.1:{smtp_server.port}?timeout=5").connect()
    assert "RFC 3207" in str(caught.value) and "plain text" in str(caught.value)
    assert len(smtp_server.inbox) == 0


def test_starttls_url_against_implicit_tls_port_times_out_with_hint(ca):
    with _server(ssl_context=ca.server_context()) as server:
        with pytest.raises(SMTPDeliveryError, match=r"No answer .* within 0.5 s.*smtps://"):
            SMTPTarget.from_url(f"smtp+starttls://127.0.0.1:{server.port}?timeout=0.5").connect(
                ssl_context=ca.client_context()
            )


@pytest.mark.parametrize("change", ["check_hostname", "verify_mode"])
def test_context_without_verification_is_refused_before_connecting(ca, closed_port, change):
    context = ca.client_context()
    context.check_hostname = False
    if change == "verify_mode":
        context.verify_mode = ssl.CERT_NONE
    target = SMTPTarget.from_url(f"smtp+starttls://127.0.0.1:{closed_port}")
    with pytest.raises(ValueError, match="verification turned off"):  # not "Nothing listens": no connection
        target.connect(ssl_context=context)


def test_ssl_context_must_be_an_sslcontext(closed_port):
    with pytest.raises(TypeError, match="ssl.SSLContext"):
        SMTPTarget.from_url(f"smtps://127.0.0.1:{closed_port}").connect(ssl_context="verify")


# --------------------------------------------------------------------------- implicit TLS


def test_implicit_tls_with_local_ca_delivers(ca):
    handler = _Recorder()
    with _server(handler, ssl_context=ca.server_context()) as server:
        with SMTPTarget.from_url(f"smtps://127.0.0.1:{server.port}?timeout=5").connect(
            ssl_context=ca.client_context()
        ) as smtp:
            assert smtp.sock.version() in ("TLSv1.2", "TLSv1.3")
            smtp.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    assert [r["mail_from"] for r in handler.received] == ["shop@example.com"]


def test_implicit_tls_with_default_context_says_certificate_not_trusted(ca):
    with _server(ssl_context=ca.server_context()) as server:
        with pytest.raises(SMTPDeliveryError, match="certificate is not trusted.*never disable verification"):
            SMTPTarget.from_url(f"smtps://127.0.0.1:{server.port}?timeout=5").connect()


def test_implicit_tls_against_plain_server_says_handshake_failed(smtp_server, ca):
    with pytest.raises(SMTPDeliveryError, match="TLS handshake .* failed.*smtp\\+starttls://") as caught:
        SMTPTarget.from_url(f"smtps://127.0.0.1:{smtp_server.port}?timeout=5").connect(
            ssl_context=ca.client_context()
        )
    assert isinstance(caught.value.__cause__, ssl.SSLError)


# --------------------------------------------------------------------------- AUTH


def test_login_over_starttls_with_password_from_environment(ca, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, FAKE_PASSWORD)
    handler = _Recorder()
    with _auth_server(ca, handler) as server:
        target = SMTPTarget.from_url(f"smtp+starttls://{USER}@127.0.0.1:{server.port}?timeout=5",
                                     password_env=PASSWORD_ENV)
        with target.connect(ssl_context=ca.client_context()) as smtp:
            smtp.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    assert handler.received == [{"mail_from": "shop@example.com", "tls": True, "login": USER.encode()}]


def test_wrong_password_gives_535_with_hint(ca, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "otra-contrasena-de-prueba")
    with _auth_server(ca) as server:
        target = SMTPTarget.from_url(f"smtp+starttls://{USER}@127.0.0.1:{server.port}?timeout=5",
                                     password_env=PASSWORD_ENV)
        with pytest.raises(SMTPDeliveryError, match="refused the login as 'alumno' with 535") as caught:
            target.connect(ssl_context=ca.client_context())
    assert caught.value.code == 535
    assert PASSWORD_ENV in str(caught.value) and "app password" in str(caught.value)
    assert "otra-contrasena-de-prueba" not in str(caught.value)
    assert isinstance(caught.value.__cause__, smtplib.SMTPAuthenticationError)


def test_auth_not_offered_is_a_clear_error(ca, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, FAKE_PASSWORD)
    with _starttls_server(ca, _RecorderWithoutAuth()) as server:
        target = SMTPTarget.from_url(f"smtp+starttls://{USER}@127.0.0.1:{server.port}?timeout=5",
                                     password_env=PASSWORD_ENV)
        with pytest.raises(SMTPDeliveryError, match="does not offer AUTH"):
            target.connect(ssl_context=ca.client_context())


def test_login_over_implicit_tls(ca, monkeypatch):
    # aiosmtpd 1.4 does not notice implicit TLS when deciding to offer AUTH (aio-libs/aiosmtpd#281),
    # so this server sets auth_require_tls=False: safe here, every byte is inside TLS.
    monkeypatch.setenv(PASSWORD_ENV, FAKE_PASSWORD)
    handler = _Recorder()
    with _server(handler, ssl_context=ca.server_context(), authenticator=_authenticator,
                 auth_require_tls=False) as server:
        target = SMTPTarget.from_url(f"smtps://{USER}@127.0.0.1:{server.port}?timeout=5", password_env=PASSWORD_ENV)
        with target.connect(ssl_context=ca.client_context()) as smtp:
            smtp.sendmail("shop@example.com", ["ana@example.org"], MESSAGE)
    assert [r["login"] for r in handler.received] == [USER.encode()]


def test_non_ascii_password_is_explained_not_sent(ca, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "contraseña-de-prueba")
    with _auth_server(ca) as server:
        target = SMTPTarget.from_url(f"smtp+starttls://{USER}@127.0.0.1:{server.port}?timeout=5",
                                     password_env=PASSWORD_ENV)
        with pytest.raises(SMTPDeliveryError, match="ASCII") as caught:
            target.connect(ssl_context=ca.client_context())
    assert "contraseña" not in str(caught.value)


# --------------------------------------------------------------------------- the password


def test_password_is_none_without_username(monkeypatch):
    monkeypatch.setenv(DEFAULT_PASSWORD_ENV, FAKE_PASSWORD)
    assert SMTPTarget.from_url("smtps://mail.example.com").password() is None


def test_missing_password_without_terminal_names_the_variable():
    target = SMTPTarget.from_url(f"smtps://{USER}@mail.example.com", password_env=PASSWORD_ENV)
    with pytest.raises(SMTPDeliveryError, match=f"environment variable {PASSWORD_ENV} is not set") as caught:
        target.password()
    assert "notebook" in str(caught.value)


def test_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv(DEFAULT_PASSWORD_ENV, "")
    with pytest.raises(SMTPDeliveryError, match=DEFAULT_PASSWORD_ENV):
        SMTPTarget.from_url(f"smtps://{USER}@mail.example.com").password()


def test_missing_password_fails_before_connecting(closed_port):
    target = SMTPTarget.from_url(f"smtps://{USER}@127.0.0.1:{closed_port}", password_env=PASSWORD_ENV)
    with pytest.raises(SMTPDeliveryError, match=PASSWORD_ENV):  # not "Nothing listens"
        target.connect()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_password_is_asked_for_on_a_terminal_only(monkeypatch):
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or FAKE_PASSWORD)
    target = SMTPTarget.from_url(f"smtps://{USER}@mail.example.com", password_env=PASSWORD_ENV)
    with pytest.raises(SMTPDeliveryError):
        target.password()  # stdin is no terminal (the autouse fixture)
    assert target.password(prompt=True) == FAKE_PASSWORD  # e.g. in Jupyter
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert target.password() == FAKE_PASSWORD
    assert len(prompts) == 2 and all(USER in p and "mail.example.com:465" in p for p in prompts)


def test_empty_typed_password_is_refused(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    with pytest.raises(SMTPDeliveryError, match="No password was typed"):
        SMTPTarget.from_url(f"smtps://{USER}@mail.example.com").password(prompt=True)


def test_server_silent_after_auth_gives_timeout_not_bad_password(ca, monkeypatch):
    def silent(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=True)  # "handled": aiosmtpd sends no reply at all

    monkeypatch.setenv(PASSWORD_ENV, FAKE_PASSWORD)
    with _starttls_server(ca, authenticator=silent) as server:
        target = SMTPTarget.from_url(f"smtp+starttls://{USER}@127.0.0.1:{server.port}?timeout=0.5",
                                     password_env=PASSWORD_ENV)
        with pytest.raises(SMTPDeliveryError, match="No answer from .* within 0.5 s during the login"):
            target.connect(ssl_context=ca.client_context())


def test_exported_names_are_sorted_and_exist():
    import mimekit.connection

    assert mimekit.connection.__all__ == sorted(mimekit.connection.__all__)
    assert all(hasattr(mimekit.connection, name) for name in mimekit.connection.__all__)


@pytest.mark.parametrize("tls, scheme", [("starttls", "smtp+starttls"), ("implicit", "smtps")])
def test_a_session_made_from_a_target_names_its_scheme(tls, scheme):
    with EmbeddedServer(tls=tls) as server:
        session = SMTPSession.from_target(SMTPTarget.for_server(server), ssl_context=server.ca.client_context())
        assert repr(session) == f"<SMTPSession {scheme}://127.0.0.1:{server.port} closed>"
        with session:
            assert repr(session).endswith(" open>")
