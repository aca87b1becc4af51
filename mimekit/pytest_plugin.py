"""pytest fixtures for e-mail tests: a fresh embedded SMTP server per test, its inbox, a session to it.

Installed with mimekit (entry point ``pytest11``, name ``mimekit``), so in any
project where mimekit is installed a test can ask for them by name, the way
Django's tests read ``mail.outbox``::

    from mimekit import make_text_part, set_header
    from mimekit.checks import check_delivered, check_not_in_headers

    def test_the_archive_gets_a_blind_copy(mail_session, mail_inbox):
        msg = make_text_part("Hola José, tu pedido ha salido.")
        set_header(msg, "From", "pedidos@tienda.example.com")
        set_header(msg, "To", "jose.nunez@example.com")
        set_header(msg, "Bcc", "archivo@tienda.example.com")
        mail_session.send(msg)
        [captured] = check_delivered(mail_inbox, rcpt_tos=["jose.nunez@example.com", "archivo@tienda.example.com"])
        check_not_in_headers(captured, "Bcc")

The fixtures (each test gets its own; nothing is shared between tests):

``mail_server``
    a running :class:`~mimekit.server.EmbeddedServer` on 127.0.0.1 and a
    free port, stopped when the test ends, passed or failed. It is unnamed,
    so it never replaces the server a notebook started with
    :func:`~mimekit.server.start_server`, and tests never see each other's
    mail. Options of :class:`~mimekit.server.EmbeddedServer` go in a marker::

        @pytest.mark.mail_server(tls="starttls", faults="reject:nobody@*")
        def test_...(mail_server): ...

``mail_inbox``
    ``mail_server.inbox``: the :class:`~mimekit.server.Inbox` of captured
    messages, empty when the test starts.

``mail_session``
    a :class:`~mimekit.sending.SMTPSession` connected to ``mail_server``
    (EHLO done; STARTTLS or implicit TLS when the server uses TLS, trusting
    its local CA; no AUTH), closed with QUIT after the test.

``make_mail_server``
    ``make_mail_server(**options)`` starts one more server with those
    options and returns it; every one is stopped after the test. For tests
    that need two servers, or options computed in the test.

Use the checks of :mod:`mimekit.checks` on what arrives: their failures print
the expected shape, the tree of the message that arrived, and a hint with the
RFC. To switch the plugin off: ``pytest -p no:mimekit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .connection import SMTPTarget
from .sending import SMTPSession
from .server import EmbeddedServer, Inbox

__all__ = ["mail_inbox", "mail_server", "mail_session", "make_mail_server"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mail_server(**options): start the mail_server fixture with these EmbeddedServer options "
        "(tls=, auth=, faults=, data_size_limit= …).",
    )


@pytest.fixture
def make_mail_server() -> Iterator[Callable[..., EmbeddedServer]]:
    """``make_mail_server(**options)``: start an EmbeddedServer on loopback and a free port; all stopped after the test.

    *options* are :class:`~mimekit.server.EmbeddedServer`'s, except ``name``
    (the fixture's servers are unnamed so that they never stop a notebook's
    :func:`~mimekit.server.start_server` server) and ``port`` (always a free
    one). Raises ``TypeError`` for either, and what the server raises.
    """
    started: list[EmbeddedServer] = []

    def start(**options: Any) -> EmbeddedServer:
        for refused in ("name", "port"):
            if refused in options:
                raise TypeError(
                    f"make_mail_server() picks {refused} itself: the test's servers are unnamed and listen on a "
                    "free port, so they never clash with each other or with a notebook's start_server()."
                )
        server = EmbeddedServer(**options)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def mail_server(request: pytest.FixtureRequest, make_mail_server: Callable[..., EmbeddedServer]) -> EmbeddedServer:
    """A running :class:`~mimekit.server.EmbeddedServer` for this test only (options from ``@pytest.mark.mail_server``)."""
    marker = request.node.get_closest_marker("mail_server")
    if marker is not None and marker.args:
        raise TypeError("@pytest.mark.mail_server takes keyword options only, e.g. mail_server(tls='starttls').")
    return make_mail_server(**(marker.kwargs if marker is not None else {}))


@pytest.fixture
def mail_inbox(mail_server: EmbeddedServer) -> Inbox:
    """The inbox of ``mail_server``: every message it captures during this test, oldest first."""
    return mail_server.inbox


@pytest.fixture
def mail_session(mail_server: EmbeddedServer) -> Iterator[SMTPSession]:
    """An :class:`~mimekit.sending.SMTPSession` open to ``mail_server`` (TLS as the server speaks it); closed after."""
    context = mail_server.ca.client_context() if mail_server.ca is not None else None
    session = SMTPSession.from_target(SMTPTarget.for_server(mail_server), ssl_context=context)
    with session:
        yield session
