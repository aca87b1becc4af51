"""Specification of mimekit.pytest_plugin: the fixtures a student's test file gets, run by pytest itself.

Each test writes a small test file as a student would, runs pytest on it with
the ``pytester`` fixture (in this process: the plugin comes in through its
``pytest11`` entry point, as it does for anyone who installed mimekit), and
reads the outcome and the printed report.
"""

from __future__ import annotations

pytest_plugins = ["pytester"]

STUDENT_TESTS = '''
from mimekit import make_alternative, set_header
from mimekit.checks import check_delivered, check_not_in_headers, check_tree_shape


def order_mail():
    msg = make_alternative("Hola José, tu pedido ha salido.", "<p>Hola <b>José</b>, tu pedido ha salido.</p>")
    set_header(msg, "From", ("Tienda Ñandú", "pedidos@tienda.example.com"))
    set_header(msg, "To", ("José Núñez", "jose.nunez@example.com"))
    set_header(msg, "Bcc", "archivo@tienda.example.com")
    set_header(msg, "Subject", "Tu pedido ha salido")
    return msg


def test_the_order_mail_reaches_jose_and_the_archive(mail_session, mail_inbox):
    assert len(mail_inbox) == 0
    mail_session.send(order_mail())
    [captured] = check_delivered(mail_inbox, rcpt_tos=["jose.nunez@example.com", "archivo@tienda.example.com"])
    check_not_in_headers(captured, "Bcc")
    check_tree_shape(captured, "multipart/alternative(text/plain, text/html)")


def test_the_next_test_starts_with_an_empty_inbox_on_another_server(mail_server, mail_inbox):
    assert len(mail_inbox) == 0 and mail_server.is_running
    assert mail_server.name is None and mail_server.host == "127.0.0.1"
'''


def test_a_student_test_file_using_the_fixtures_passes(pytester):
    pytester.makepyfile(test_student=STUDENT_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_failing_check_prints_its_feedback_and_hides_the_library_frames(pytester):
    pytester.makepyfile(
        test_student='''
        from email.mime.multipart import MIMEMultipart
        from email.mime.text import MIMEText
        from mimekit.checks import check_plain_before_html

        def test_plain_text_comes_first():
            msg = MIMEMultipart("alternative", _subparts=[MIMEText("<p>Hola</p>", "html", "utf-8"),
                                                          MIMEText("Hola", "plain", "utf-8")])
            check_plain_before_html(msg)
        '''
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*CheckFailed: The HTML alternative comes before the plain-text one*",
            "E*Expected: text/plain first, the HTML last",
            "E*Found:    text/html, text/plain",
            "E*Your message:",
            "E*multipart/alternative",
            "E*├── text/html · charset=utf-8 · base64 · 11 bytes",
            "E*└── text/plain · charset=utf-8 · base64 · 4 bytes",
            "E*Hint: *RFC 2046 §5.1.4*",
        ]
    )
    assert "checks.py" not in result.stdout.str()  # the student sees their own line, not mimekit's code


def test_servers_are_stopped_after_each_test_passed_or_failed(pytester):
    pytester.makepyfile(
        test_student='''
        import socket
        import pytest

        seen = []

        def test_a_failing_test_with_two_servers(mail_server, make_mail_server):
            seen.extend([mail_server, make_mail_server()])
            assert all(server.is_running for server in seen)
            assert seen[0].port != seen[1].port
            assert False, "this test fails on purpose"

        def test_they_were_stopped_and_their_ports_freed():
            for server in seen:
                assert not server.is_running
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection((server.host, server.port), timeout=5).close()
        '''
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*this test fails on purpose*"])


def test_the_marker_passes_options_to_the_server_and_the_session_speaks_its_tls(pytester):
    pytester.makepyfile(
        test_student='''
        import pytest
        from mimekit import make_text_part, set_header

        @pytest.mark.mail_server(tls="starttls", faults="reject:nobody@*")
        def test_over_starttls_with_a_refused_recipient(mail_server, mail_session, mail_inbox):
            assert mail_server.tls == "starttls"
            msg = make_text_part("Hola")
            set_header(msg, "From", "pedidos@tienda.example.com")
            set_header(msg, "To", ["jose.nunez@example.com", "nobody@example.org"])
            result = mail_session.send(msg)
            assert [r.accepted for r in result.recipients] == [True, False]
            assert mail_inbox.latest().rcpt_tos == ("jose.nunez@example.com",)
            assert mail_session.smtp.sock.version() is not None  # the socket is TLS now
        '''
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=1)


def test_make_mail_server_refuses_a_name_or_a_port(pytester):
    pytester.makepyfile(
        test_student='''
        import pytest

        @pytest.mark.parametrize("option", [{"name": "default"}, {"port": 2525}])
        def test_refused(make_mail_server, option):
            with pytest.raises(TypeError, match="picks (name|port) itself"):
                make_mail_server(**option)
        '''
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_plugin_is_found_through_its_entry_point_and_can_be_switched_off(pytester):
    pytester.makepyfile(test_student="def test_uses_it(mail_inbox):\n    assert len(mail_inbox) == 0\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    switched_off = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:mimekit")
    switched_off.assert_outcomes(errors=1)
    switched_off.stdout.fnmatch_lines(["*fixture 'mail_inbox' not found*"])
