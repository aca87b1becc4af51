"""SMTP targets as URLs: one setting for the embedded server, a classroom server or a real relay.

A target is written as a URL, and the scheme says how the connection is
protected (the ``smtp`` / ``smtps`` names follow RFC 8314 §7 and common use,
as in Python's own ``smtplib`` and many mail tools)::

    smtp://127.0.0.1:8025                  plain SMTP, no TLS, no login (the embedded server)
    smtp+starttls://alumno@host:587        plain first, then STARTTLS (RFC 3207), then AUTH
    smtps://alumno@host:465                TLS from the first byte (RFC 8314), then AUTH

The ports default to 25, 587 and 465. The user name sits in the URL, but the
**password never does**: it comes from an environment variable (named by
``password_env``, by default ``MIMEKIT_SMTP_PASSWORD``) or from a prompt, so it
never ends up in a notebook, a shell history, a log or the repository.

What :meth:`SMTPTarget.connect` says to an ``smtp+starttls://`` server
(``C:`` the client, ``S:`` the server)::

    (TCP connection)                          S: 220 mail.example.com ESMTP   RFC 5321 §4.3.1
    C: EHLO laptop.example.com                S: 250-mail.example.com
                                                 250-STARTTLS               RFC 5321 §4.1.1.1
                                                 250 8BITMIME
    C: STARTTLS                               S: 220 Ready to start TLS        RFC 3207 §4
    (TLS handshake: the certificate must be signed by a CA the client trusts
     and name the host it dialled; nothing goes on without both)
    C: EHLO laptop.example.com                S: 250-mail.example.com          RFC 3207 §4.2: forget
                                                 250 AUTH PLAIN LOGIN          what was said before
    C: AUTH PLAIN <base64 of user and password>                               RFC 4954 §4
                                              S: 235 2.7.0 Authentication successful

For ``smtps://`` the TLS handshake comes first and the server's 220 greeting
arrives already encrypted (RFC 8314 §3.3); then EHLO and AUTH as above.

Three rules are never relaxed here:

- certificate verification stays on (a context with ``check_hostname`` off or
  ``CERT_NONE`` is refused); for the embedded server, trust its local CA with
  ``ssl_context=LocalCA.client_context()`` (see :mod:`mimekit.tls`);
- when STARTTLS was asked for and the server does not offer it, the
  connection stops: carrying on in plain text is the downgrade an attacker
  arranges by deleting one line of the EHLO reply (RFC 3207 §6);
- a user name (so AUTH) is refused with plain ``smtp://``: credentials only
  travel over TLS (RFC 4954 §4, RFC 8314 §3).

>>> target = SMTPTarget.from_url("smtps://jos%C3%A9@mail.example.com")
>>> target
<SMTPTarget smtps://jos%C3%A9@mail.example.com:465, password from $MIMEKIT_SMTP_PASSWORD>
>>> target.username, target.port
('josé', 465)
>>> SMTPTarget.from_url("smtp+starttls://ana:secreto@mail.example.com")
Traceback (most recent call last):
    ...
ValueError: The URL smtp+starttls://ana:***@mail.example.com holds a password. ...

Errors raised here: ``TypeError`` / ``ValueError`` for a URL or argument that
cannot be used (unknown scheme, password in the URL, bad port, AUTH over plain
``smtp://``, an SSL context with verification off);
:class:`~mimekit.errors.SMTPDeliveryError` (with the server's ``code`` and
``text`` when there was a reply, and the original exception as
``__cause__``) for everything that goes wrong while connecting, and for a
password that cannot be found.
"""

from __future__ import annotations

import getpass
import os
import smtplib
import socket
import ssl
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .errors import SMTPDeliveryError

__all__ = ["DEFAULT_PASSWORD_ENV", "DEFAULT_PORTS", "SMTPTarget"]

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
"""The port each scheme uses when the URL names none (RFC 5321 §4.5.4.2, RFC 6409 §3.1, RFC 8314 §7.3)."""

DEFAULT_PASSWORD_ENV = "MIMEKIT_SMTP_PASSWORD"
"""The environment variable read for the password when a user name is given and ``password_env`` is not."""

DEFAULT_TIMEOUT = 30.0
_QUERY_PARAMETERS = ("local_hostname", "timeout")


@dataclass(frozen=True)
class SMTPTarget:
    """Where and how to reach an SMTP server: scheme, host, port, and who logs in.

    ``scheme`` is ``"smtp"`` (no TLS), ``"smtp+starttls"`` (STARTTLS, RFC 3207)
    or ``"smtps"`` (implicit TLS, RFC 8314). ``host`` is a name or an IP address
    (IPv6 without brackets: ``"::1"``); ``port`` an int from 1 to 65535.
    ``username`` is the AUTH user (RFC 4954), or ``None`` for no login; it is
    refused with ``"smtp"``. ``password_env`` names the environment variable
    holding the password (defaults to :data:`DEFAULT_PASSWORD_ENV` when a
    username is given); the password itself is never stored on the target.
    ``local_hostname`` is the name given in EHLO (``None``: this machine's
    fully qualified name). ``timeout`` is in seconds, for connecting and for
    every reply.

    Usually made with :meth:`from_url` or :meth:`for_server`. ``str()`` gives
    the URL back (user name included, password never: there is none to show).

    Raises ``TypeError`` / ``ValueError`` for a field of the wrong type or value.
    """

    scheme: str
    host: str
    port: int
    username: str | None = None
    password_env: str | None = None
    local_hostname: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.scheme not in DEFAULT_PORTS:
            raise ValueError(f"Unknown scheme {self.scheme!r}: use one of {_schemes_list()}.")
        _check_text("host", self.host)
        if self.host.startswith("["):
            raise ValueError(f"host must be written without brackets (as '::1', not {self.host!r})")
        if not isinstance(self.port, int) or isinstance(self.port, bool):
            raise TypeError(f"port must be an int, not {type(self.port).__name__}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        if self.username is not None:
            _check_text("username", self.username, spaces_ok=True)
            if self.scheme == "smtp":
                raise ValueError(
                    f"Refusing a login as {self.username!r} over plain smtp://{_host_port(self.host, self.port)}: "
                    "the password would cross the network unencrypted, readable by anyone on the way. "
                    "Credentials travel only over TLS (RFC 4954 §4, RFC 8314 §3): use "
                    "smtp+starttls:// (usually port 587) or smtps:// (usually port 465)."
                )
            if self.password_env is None:
                object.__setattr__(self, "password_env", DEFAULT_PASSWORD_ENV)
        if self.password_env is not None:
            _check_text("password_env", self.password_env)
            if "=" in self.password_env:
                raise ValueError(
                    f"password_env is the NAME of an environment variable, such as {DEFAULT_PASSWORD_ENV!r}, "
                    "not an assignment: it cannot contain '='"
                )
        if self.local_hostname is not None:
            _check_text("local_hostname", self.local_hostname)
        if not isinstance(self.timeout, (int, float)) or isinstance(self.timeout, bool):
            raise TypeError(f"timeout must be a number of seconds, not {type(self.timeout).__name__}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be more than 0 seconds, not {self.timeout}")
        object.__setattr__(self, "timeout", float(self.timeout))

    # -- building

    @classmethod
    def from_url(cls, url: str, *, password_env: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> SMTPTarget:
        """Parse an ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL into a target.

        ``url`` has the shape ``scheme://[user@]host[:port][/][?timeout=S&local_hostname=NAME]``:

        - the user name is %-decoded (``jos%C3%A9`` is ``josé``; an address as
          user name is written ``ana%40example.com``);
        - the port defaults to 25, 587 or 465 by scheme (:data:`DEFAULT_PORTS`);
        - an IPv6 address is written in brackets: ``smtp://[::1]:8025``;
        - ``?timeout=`` (seconds) overrides the ``timeout`` keyword, and
          ``?local_hostname=`` sets the EHLO name.

        ``password_env`` names the environment variable holding the password
        (default :data:`DEFAULT_PASSWORD_ENV` when the URL has a user name).

        Raises ``TypeError`` when ``url`` is not a str; ``ValueError`` when it
        holds a password (``user:password@``: put it in an environment variable
        instead), has an unknown scheme, no host, a bad port, a path, a
        fragment, an unknown or repeated query parameter, spaces, or a user
        name with ``smtp://`` (AUTH without TLS). The messages never repeat a
        password.

        >>> SMTPTarget.from_url("smtp+starttls://profe@aula.example.org?timeout=5")
        <SMTPTarget smtp+starttls://profe@aula.example.org:587?timeout=5, password from $MIMEKIT_SMTP_PASSWORD>
        >>> str(SMTPTarget.from_url("smtp://[::1]:8025"))
        'smtp://[::1]:8025'
        """
        if not isinstance(url, str):
            raise TypeError(f"url must be a str such as 'smtp://127.0.0.1:8025', not {type(url).__name__}")
        try:
            parts = urlsplit(url)
            shown = _mask_password(url)
        except ValueError as exc:  # e.g. "Invalid IPv6 URL" for an unclosed bracket
            raise ValueError(f"Cannot read the SMTP URL: {exc}. Write it as smtp://host:port.") from None
        if any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
            raise ValueError(f"The SMTP URL {shown!r} contains spaces or control characters; remove them.")
        if parts.password is not None:
            raise ValueError(
                f"The URL {shown} holds a password. A URL is copied into notebooks, shell histories, "
                "logs and repositories, so the password stays out of it: put it in an environment "
                f"variable and name that variable, e.g. from_url('{_mask_password(url, drop=True)}', "
                f"password_env={DEFAULT_PASSWORD_ENV!r}). Never write a password in a notebook or commit it."
            )
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            hint = ""
            if not parts.netloc:
                hint = " (a URL starts with the scheme: smtp://host:port)"
            raise ValueError(
                f"Unknown scheme {parts.scheme!r} in {shown!r}{hint}: use one of {_schemes_list()}."
            )
        host = parts.hostname
        if not host:
            raise ValueError(f"The URL {shown!r} names no host: write it as {scheme}://host:port.")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(
                f"The port in {shown!r} is not a number from 1 to 65535."
            ) from None
        if port is None:
            port = DEFAULT_PORTS[scheme]
        if parts.path not in ("", "/"):
            raise ValueError(f"An SMTP URL has no path, but {shown!r} has {parts.path!r}: remove it.")
        if parts.fragment:
            raise ValueError(f"An SMTP URL has no fragment, but {shown!r} has '#{parts.fragment}': remove it.")
        options = _parse_query(parts.query, shown)
        username = None if parts.username is None or parts.username == "" else unquote(parts.username)
        if "timeout" in options:
            try:
                timeout = float(options["timeout"])
            except ValueError:
                raise ValueError(
                    f"?timeout= in {shown!r} must be a number of seconds, not {options['timeout']!r}."
                ) from None
        return cls(
            scheme=scheme,
            host=host,
            port=port,
            username=username,
            password_env=password_env,
            local_hostname=options.get("local_hostname"),
            timeout=timeout,
        )

    @classmethod
    def for_server(cls, server: Any, *, timeout: float = DEFAULT_TIMEOUT) -> SMTPTarget:
        """Return the target of a running embedded server: ``smtp://``, ``smtp+starttls://`` or ``smtps://host:port``.

        ``server`` is an :class:`~mimekit.server.EmbeddedServer` or any object
        with ``.host`` (str) and ``.port`` (int); the scheme follows its
        ``url`` when it has one (a TLS server), else plain ``smtp``. The target
        has no user name: add one with ``dataclasses.replace`` for AUTH.

        Raises ``TypeError`` when ``server`` has no str ``host`` / int ``port``,
        and ``ValueError`` when its port is still 0 (not started yet).

        >>> from mimekit.server import EmbeddedServer
        >>> with EmbeddedServer() as server:
        ...     SMTPTarget.for_server(server).port == server.port
        True
        """
        host, port = getattr(server, "host", None), getattr(server, "port", None)
        if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
            raise TypeError(
                "for_server() takes an EmbeddedServer, or any object with a str .host and an int .port, "
                f"not {type(server).__name__}"
            )
        if port == 0:
            raise ValueError(
                "The server has no port yet: start it first (server.start(), or with EmbeddedServer() as server)."
            )
        url = getattr(server, "url", "")
        scheme = url.split("://", 1)[0] if isinstance(url, str) and "://" in url else "smtp"
        return cls(scheme if scheme in DEFAULT_PORTS else "smtp", host, port, timeout=timeout)

    # -- showing

    @property
    def url(self) -> str:
        """The target as a URL: ``smtps://jose@host:465``; never a password, which the target does not hold."""
        netloc = _host_port(self.host, self.port)
        if self.username is not None:
            netloc = f"{quote(self.username, safe='')}@{netloc}"
        query = {}
        if self.local_hostname is not None:
            query["local_hostname"] = self.local_hostname
        if self.timeout != DEFAULT_TIMEOUT:
            text = f"{self.timeout:g}"
            query["timeout"] = text if float(text) == self.timeout else repr(self.timeout)
        return urlunsplit((self.scheme, netloc, "", urlencode(query), ""))

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        where = f" password from ${self.password_env}" if self.username is not None else ""
        return f"<SMTPTarget {self.url}{',' if where else ''}{where}>"

    # -- the password

    def password(self, *, prompt: bool | None = None) -> str | None:
        """Return the password for ``username``, from the environment or a prompt; ``None`` without a username.

        The password is read from the environment variable ``password_env``
        (an empty value counts as unset). If it is not set, the password is
        asked for with :func:`getpass.getpass` (not echoed) when ``prompt`` is
        true, or, with ``prompt=None`` (the default), only when standard input
        is an interactive terminal. In Jupyter, standard input is not a
        terminal: pass ``prompt=True`` to get a password box, or set the
        variable before starting Jupyter. The password is never printed,
        logged or stored on the target.

        Raises :class:`~mimekit.errors.SMTPDeliveryError` naming the variable to
        set when the variable is unset and there is no prompt, or when an
        empty password was typed.
        """
        if self.username is None:
            return None
        name = self.password_env or DEFAULT_PASSWORD_ENV
        value = os.environ.get(name)
        if value:
            return value
        if prompt is None:
            prompt = _stdin_is_interactive()
        if prompt:
            value = getpass.getpass(f"Password for {self.username} at {_host_port(self.host, self.port)} (not shown): ")
            if value:
                return value
            raise SMTPDeliveryError(f"No password was typed for {self.username} at {self.host}; nothing was sent.")
        raise SMTPDeliveryError(
            f"No password for {self.username!r} at {_host_port(self.host, self.port)}: the environment variable "
            f"{name} is not set, and there is no terminal to ask on. Set {name} in the shell that "
            f"starts Python or Jupyter (e.g. `read -s {name} && export {name}`), or call "
            "password(prompt=True) in a notebook. Never write the password in a notebook or the repository."
        )

    # -- connecting

    def connect(self, *, ssl_context: ssl.SSLContext | None = None) -> smtplib.SMTP:
        """Connect, say EHLO, start TLS and log in as the scheme says; return the open :class:`smtplib.SMTP`.

        - ``smtp``: connect, EHLO (RFC 5321 §4.1.1.1). No TLS: ``ssl_context``
          is not used.
        - ``smtp+starttls``: connect, EHLO, ``STARTTLS`` (stops if the server
          does not offer it: never a fallback to plain text, RFC 3207 §6), then
          EHLO again (RFC 3207 §4.2), then AUTH if a username is set.
        - ``smtps``: TLS handshake first (:class:`smtplib.SMTP_SSL`, RFC 8314
          §3.3), EHLO, then AUTH if a username is set.

        AUTH (``smtp.login``, RFC 4954) uses the password from
        :meth:`password`, fetched before connecting. ``ssl_context`` is the
        client context that decides which certificates are trusted; by
        default :func:`ssl.create_default_context` (your system's CAs). For
        the embedded server's TLS, pass ``LocalCA.client_context()``.

        Use the result as a context manager, so QUIT is sent at the end::

            with target.connect(ssl_context=ca.client_context()) as smtp:
                smtp.send_message(msg)

        Raises ``TypeError`` for an ``ssl_context`` that is not an
        :class:`ssl.SSLContext`; ``ValueError`` for one with ``check_hostname``
        off or ``verify_mode`` not ``CERT_REQUIRED``;
        :class:`~mimekit.errors.SMTPDeliveryError` (``code`` / ``text`` set
        when the server replied, the cause kept) when nothing listens there,
        the host does not resolve, the server does not answer in ``timeout``
        seconds, the certificate is not trusted or does not name the host,
        the TLS handshake fails, the server greets or answers EHLO with an
        error, STARTTLS is not offered or refused, AUTH is not offered, the
        login is refused (535), the user name or password is not ASCII
        (``smtplib`` sends credentials as ASCII only), the password cannot be
        found (see :meth:`password`), or the connection drops.
        """
        context = _checked_context(ssl_context)
        password = self.password()  # before connecting: a missing password costs no connection
        step = "the connection"
        try:
            if self.scheme == "smtps":
                step = "the connection and TLS handshake"
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise self._failure(step, exc) from exc
        try:
            self._ehlo(smtp)
            if self.scheme == "smtp+starttls":
                self._starttls(smtp, context)
            if self.username is not None and password is not None:
                self._login(smtp, self.username, password)
        except SMTPDeliveryError:
            smtp.close()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise self._failure("the session", exc) from exc
        return smtp

    def _ehlo(self, smtp: smtplib.SMTP) -> None:
        code, reply = smtp.ehlo()
        if code != 250:
            raise SMTPDeliveryError(
                f"The server at {_host_port(self.host, self.port)} answered EHLO with {code} {_text(reply)} "
                "instead of 250 (RFC 5321 §4.1.1.1); it may not speak ESMTP.",
                code=code,
                text=_text(reply),
            )

    def _starttls(self, smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
        where = _host_port(self.host, self.port)
        if not smtp.has_extn("starttls"):
            raise SMTPDeliveryError(
                f"The server at {where} does not offer STARTTLS (it is not in its EHLO reply), so the "
                "connection was closed instead of going on in plain text: an attacker on the path can "
                "delete that one line to read everything, so a client that asked for TLS must stop "
                "(RFC 3207 §6). Check the port (587 usually offers STARTTLS; 465 is smtps://), or use "
                "smtp:// knowingly for a server without TLS, and then without a login."
            )
        try:
            smtp.starttls(context=context)
        except smtplib.SMTPResponseException as exc:
            raise SMTPDeliveryError(
                f"The server at {where} refused STARTTLS with {exc.smtp_code} {_text(exc.smtp_error)} "
                "(RFC 3207 §4); the connection was closed rather than continued in plain text.",
                code=exc.smtp_code,
                text=_text(exc.smtp_error),
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise self._failure("the STARTTLS handshake", exc) from exc
        self._ehlo(smtp)  # RFC 3207 §4.2: the extensions offered before TLS count no more

    def _login(self, smtp: smtplib.SMTP, username: str, password: str) -> None:
        where = _host_port(self.host, self.port)
        if not smtp.has_extn("auth"):
            raise SMTPDeliveryError(
                f"The server at {where} does not offer AUTH (RFC 4954 §3) after TLS, so the login as "
                f"{username!r} cannot happen. It may take mail without a login (drop the user name from "
                "the URL), or only on another port (587 or 465)."
            )
        try:
            smtp.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise SMTPDeliveryError(
                f"The server at {where} refused the login as {username!r} with {exc.smtp_code} "
                f"{_text(exc.smtp_error)}. Check the user name in the URL and the password in the "
                f"environment variable {self.password_env} (it is not shown here); many providers want an "
                "app password rather than the account's own (RFC 4954 §6).",
                code=exc.smtp_code,
                text=_text(exc.smtp_error),
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SMTPDeliveryError(
                f"The server at {where} does not offer AUTH (RFC 4954 §3): {exc}.",
            ) from exc
        except UnicodeEncodeError as exc:
            raise SMTPDeliveryError(
                f"The user name or the password for {where} has a non-ASCII character, and smtplib sends "
                "credentials as ASCII only (CPython issue #73936, bpo-29750), although AUTH PLAIN allows "
                "UTF-8 (RFC 4616). Nothing was sent. Use an ASCII password (an app password is)."
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise self._failure("the login", exc) from exc
        except smtplib.SMTPResponseException as exc:
            raise SMTPDeliveryError(
                f"The server at {where} answered the login with {exc.smtp_code} {_text(exc.smtp_error)}.",
                code=exc.smtp_code,
                text=_text(exc.smtp_error),
            ) from exc
        except smtplib.SMTPException as exc:  # "No suitable authentication method found."
            offered = smtp.esmtp_features.get("auth", "").strip() or "none"
            raise SMTPDeliveryError(
                f"No way to log in at {where}: {exc} The server offers AUTH {offered}; smtplib knows "
                "CRAM-MD5, PLAIN and LOGIN (RFC 4954, RFC 4616)."
            ) from exc

    def _failure(self, step: str, exc: BaseException) -> SMTPDeliveryError:
        """Turn a socket, TLS or smtplib error into an SMTPDeliveryError that says what to do."""
        where = _host_port(self.host, self.port)
        code = getattr(exc, "smtp_code", None)
        text = _text(exc.smtp_error) if hasattr(exc, "smtp_error") else None
        if isinstance(exc, ssl.SSLCertVerificationError):
            detail = exc.verify_message or str(exc)
            if exc.verify_code in (62, 64) or "mismatch" in detail.lower():  # X509_V_ERR_{HOSTNAME,IP_ADDRESS}_MISMATCH
                message = (
                    f"The certificate of {where} does not name {self.host!r} ({detail}): connect with a "
                    "name the certificate lists (LocalCA(hostnames=...) decides them for the embedded "
                    "server). Never turn check_hostname off: a certificate for another name proves nothing."
                )
            else:
                message = (
                    f"The server's certificate is not trusted ({detail}) at {where}: pass "
                    "ssl_context=LocalCA.client_context() for the embedded server (or a context trusting "
                    "the CA of your classroom server); never disable verification."
                )
        elif isinstance(exc, ssl.SSLError):
            message = (
                f"The TLS handshake with {where} failed during {step}: {exc.reason or exc}. Does the "
                "server speak TLS on this port in the way the scheme says? smtps:// expects TLS from the "
                "first byte (usually port 465); smtp+starttls:// starts in plain text (usually port 587)."
            )
        elif isinstance(exc, ConnectionRefusedError):
            message = (
                f"Nothing listens at {where} (connection refused). Is the server running, and is this "
                "its port? For the embedded server use SMTPTarget.for_server(server)."
            )
        elif isinstance(exc, socket.gaierror):
            message = f"The host name {self.host!r} does not resolve ({exc.strerror or exc}): check its spelling."
        elif isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            # smtplib turns a timeout while reading a reply into SMTPServerDisconnected.
            message = (
                f"No answer from {where} within {self.timeout:g} s during {step}. A server that waits "
                "for a TLS handshake first wants smtps:// (port 465); one that greets in plain text wants "
                "smtp:// or smtp+starttls://."
            )
        elif isinstance(exc, smtplib.SMTPConnectError):
            message = (
                f"The server at {where} greeted with {code} {text} instead of 220 "
                "(RFC 5321 §4.3.1): it does not take mail now."
            )
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            message = f"The server at {where} closed the connection during {step}: {str(exc) or 'no reason given'}."
        elif code is not None:
            message = f"The server at {where} answered {code} {text} during {step}."
        else:
            message = f"Cannot talk to the SMTP server at {where} during {step}: {exc}."
        return SMTPDeliveryError(message, code=code, text=text)


# --------------------------------------------------------------------------- helpers


def _checked_context(context: ssl.SSLContext | None) -> ssl.SSLContext:
    if context is None:
        return ssl.create_default_context()
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(
            f"ssl_context must be an ssl.SSLContext (e.g. LocalCA().client_context()), not {type(context).__name__}"
        )
    if not context.check_hostname or context.verify_mode != ssl.CERT_REQUIRED:
        raise ValueError(
            "Refusing an ssl_context with certificate verification turned off (check_hostname="
            f"{context.check_hostname}, verify_mode={context.verify_mode.name}): without it anyone on the "
            "path can pose as the server and read the password. Trust the right CA instead: "
            "LocalCA.client_context() for the embedded server, or ssl.create_default_context(cafile=...)."
        )
    return context


def _check_text(name: str, value: object, *, spaces_ok: bool = False) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if any(ord(c) < 32 or c == "\x7f" or (c.isspace() and not spaces_ok) for c in value):
        raise ValueError(f"{name} must not contain spaces or control characters: {value!r}")


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _schemes_list() -> str:
    return ", ".join(f"{scheme}:// (port {port})" for scheme, port in DEFAULT_PORTS.items())


def _mask_password(url: str, *, drop: bool = False) -> str:
    """``url`` as safe to show: a password in its userinfo replaced by ``***`` (or removed, with
    ``drop``), and so is the value of any query parameter other than those allowed (``?password=``)."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}@{hostport}" if drop else f"{user}:***@{hostport}")
    if parts.query:
        fields = []
        for field in parts.query.split("&"):
            key, equals, _ = field.partition("=")
            fields.append(field if key in _QUERY_PARAMETERS or not equals else f"{key}=***")
        parts = parts._replace(query="&".join(fields))
    return urlunsplit(parts)


def _parse_query(query: str, shown: str) -> dict[str, str]:
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ValueError(f"Cannot read the query of {shown!r}: write it as ?timeout=10&local_hostname=NAME.") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key not in _QUERY_PARAMETERS:
            raise ValueError(
                f"Unknown parameter {key!r} in {shown!r}: an SMTP URL takes only "
                f"{' and '.join(_QUERY_PARAMETERS)} (and never a password)."
            )
        if key in options:
            raise ValueError(f"The parameter {key!r} is given twice in {shown!r}.")
        options[key] = value
    return options


def _stdin_is_interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty(), or closed
        return False


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
