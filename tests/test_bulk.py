"""Specification of mimekit.bulk: many messages over one connection, each delivered once or reported.

Real EmbeddedServers on loopback with scripted faults; the RetryPolicy's sleep
only records, so backoff costs no time. "Exactly once" is checked on the
server's side: the Message-IDs captured in the inbox, compared with the report.
"""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage

import pytest

from message_parts import delivered
from mimekit import EmbeddedServer, SMTPDeliveryError, SMTPSession, SMTPTarget
from mimekit.bulk import BulkReport, send_bulk

SHOP = "shop@example.com"


def note(n: int, *, to: str | None = None, size: int = 0) -> EmailMessage:
    """Message *n*: to clienteN@example.com (or *to*), Message-ID <bulk-N@example.com>, a body of about *size* bytes."""
    msg = EmailMessage()
    msg["From"] = f"Shop <{SHOP}>"
    msg["To"] = to or f"cliente{n}@example.com"
    msg["Subject"] = f"News {n}"
    msg["Message-ID"] = f"<bulk-{n}@example.com>"
    msg.set_content("Hello!\n" + "x" * size + "\n")
    return msg


def mid(n: int) -> str:
    return f"<bulk-{n}@example.com>"








def inbox_ids(server) -> Counter:
    """How many times each (Message-ID, recipient) arrived."""
    return Counter((m.message["Message-ID"], rcpt) for m in server.inbox for rcpt in m.rcpt_tos)



# --------------------------------------------------------------------------- one connection, reconnected


def test_all_messages_go_over_one_connection_when_nothing_fails(faulty_server, instant):
    server = faulty_server()
    report = send_bulk([note(n) for n in range(10)], server, retry=instant(), progress=False)
    assert report.sent_ids == [mid(n) for n in range(10)]
    assert (report.retried, report.reconnects) == (0, 0) and report.ok
    assert len({m.peer for m in server.inbox}) == 1
    assert str(report) == "10 sent, 0 refused, 0 retries, 0 reconnects, 0 failed"


def test_421_after_two_messages_five_messages_arrive_exactly_once_over_three_connections(faulty_server, instant):
    # close:2 answers 421 to the third MAIL FROM of *every* connection: 2 + 2 + 1
    server = faulty_server("close:2")
    report = send_bulk([note(n) for n in range(5)], server, retry=instant(), progress=False)
    assert delivered(server) == {mid(n): 1 for n in range(5)}
    assert report.sent_ids == [mid(n) for n in range(5)]
    assert (report.reconnects, report.retried) == (2, 2)
    assert len({m.peer for m in server.inbox}) == 3


def test_421_after_three_messages_five_messages_arrive_exactly_once_over_two_connections(faulty_server, instant):
    server = faulty_server("close:3")
    report = send_bulk([note(n) for n in range(5)], server, retry=instant(), progress=False)
    assert delivered(server) == {mid(n): 1 for n in range(5)}
    assert (report.reconnects, report.retried, len(report.sent)) == (1, 1, 5)
    assert [r.attempts for r in report.sent] == [1, 1, 1, 2, 1]  # the fourth met the 421
    assert len({m.peer for m in server.inbox}) == 2
    assert str(report) == "5 sent, 0 refused, 1 retries, 1 reconnects, 0 failed"


def test_a_drop_during_data_retries_that_message_and_delivers_it_exactly_once(faulty_server, instant):
    server = faulty_server("drop-data:1")
    report = send_bulk([note(0), note(1)], server, retry=instant(), progress=False)
    assert delivered(server) == {mid(0): 1, mid(1): 1}
    assert [r.attempts for r in report.sent] == [1, 2]
    assert (report.retried, report.reconnects, report.failed) == (1, 1, {})


def test_greylisting_is_waited_out_and_the_attempts_recorded(faulty_server, instant, slept):
    server = faulty_server("greylist:2")
    report = send_bulk([note(0)], server, retry=instant(), progress=False)
    assert delivered(server) == {mid(0): 1}
    assert report.sent[0].attempts == 3 and report.retried == 2 and len(slept) == 2


# --------------------------------------------------------------------------- permanent refusals


def test_a_message_too_big_is_refused_with_552_not_retried_and_the_others_delivered(faulty_server, instant, slept):
    server = faulty_server("max-size:3000")
    messages = [note(0), note(1, size=5000), note(2)]
    report = send_bulk(messages, server, retry=instant(), progress=False)
    assert delivered(server) == {mid(0): 1, mid(2): 1}
    assert report.refused == {mid(1): {"cliente1@example.com": (552, "5.3.4 Message too big for system")}}
    assert report.retried == 0 and slept == []
    assert str(report) == "2 sent, 1 refused (552: 1), 0 retries, 0 reconnects, 0 failed"


def test_a_refused_recipient_is_recorded_with_550_and_not_retried(faulty_server, instant, slept):
    server = faulty_server("reject:nobody@*")
    messages = [note(0), note(1, to="nobody@example.org, cliente1@example.com"), note(2, to="nobody@example.net")]
    report = send_bulk(messages, server, retry=instant(), progress=False)
    assert report.sent_ids == [mid(0), mid(1)]  # message 1 went to its other recipient
    assert report.refused == {
        mid(1): {"nobody@example.org": (550, "5.1.1 No such user here")},
        mid(2): {"nobody@example.net": (550, "5.1.1 No such user here")},
    }
    assert slept == [] and not report.ok
    assert str(report) == "2 sent, 2 refused (550: 2), 0 retries, 0 reconnects, 0 failed"


# --------------------------------------------------------------------------- nothing lost, nothing twice


def test_two_hundred_messages_under_mixed_faults_each_arrive_once_or_are_reported(faulty_server, instant):
    server = EmbeddedServer(faults="reject:nobody*@*,greylist:1,close:9,max-size:4000")
    handler = server.handler
    server.start()
    try:

        def messages():
            for n in range(200):
                if n == 100:  # the second half meets a server that hangs up in DATA instead
                    handler.plan = "reject:nobody*@*,drop-data:6,max-size:4000"
                if n % 17 == 0:
                    yield note(n, to=f"nobody{n}@example.org")
                elif n % 13 == 0:
                    yield note(n, to=f"cliente{n}@example.com, nobody{n}@example.net")
                elif n % 23 == 0:
                    yield note(n, size=6000)
                else:
                    yield note(n)

        report = send_bulk(messages(), server, retry=instant(), progress=False)
    finally:
        server.stop()

    everything = {mid(n) for n in range(200)}
    sent, refused, failed = set(report.sent_ids), set(report.refused), set(report.failed)
    # nothing lost: every message is sent, refused or given up on, and never both sent and failed
    assert sent | refused | failed == everything and report.unsent == []
    assert not sent & failed
    # nothing twice: each (Message-ID, recipient) arrived at most once, exactly the accepted ones
    arrivals = inbox_ids(server)
    assert set(arrivals.values()) == {1}
    assert set(arrivals) == {(r.message_id, address) for r in report.sent for address in r.accepted}
    # the refusals are the scripted ones, with their codes
    codes = report.refused_by_code()
    assert codes == {
        550: len([n for n in range(200) if n % 17 == 0 or n % 13 == 0]),
        552: len([n for n in range(200) if n % 23 == 0 and n % 17 and n % 13]),
    }
    assert report.failed == {}
    assert report.reconnects > 10 and report.retried > 100  # greylisting, 421s and drops were met


def test_resume_with_skip_message_ids_sends_only_what_was_not_accepted(faulty_server, instant):
    server = faulty_server()
    messages = [note(n) for n in range(6)]
    report = BulkReport()

    def crashing():
        for n, msg in enumerate(messages):
            if n == 3:
                raise KeyboardInterrupt  # the laptop lid closes
            yield msg

    with pytest.raises(KeyboardInterrupt):
        send_bulk(crashing(), server, retry=instant(), progress=False, report=report)
    assert report.sent_ids == [mid(0), mid(1), mid(2)]  # filled as it went, readable after the crash

    rerun = send_bulk(messages, server, retry=instant(), progress=False, skip_message_ids=report.sent_ids)
    assert rerun.skipped == [mid(0), mid(1), mid(2)]
    assert rerun.sent_ids == [mid(3), mid(4), mid(5)]
    assert delivered(server) == {mid(n): 1 for n in range(6)}
    assert str(rerun).endswith(", 3 skipped")


def test_without_a_policy_a_lost_connection_stops_and_lists_the_rest_as_unsent(faulty_server, instant):
    server = faulty_server("close:2")
    messages = [note(n) for n in range(5)]
    with SMTPSession(port=server.port, timeout=5) as session:
        first = send_bulk(messages, session, retry=None, progress=False)
    assert first.sent_ids == [mid(0), mid(1)]
    assert first.refused == {mid(2): {"cliente2@example.com": (421, "4.3.2 Service shutting down")}}
    assert first.unsent == [mid(3), mid(4)]
    assert str(first) == "2 sent, 1 refused (421: 1), 0 retries, 0 reconnects, 0 failed, 2 not sent"

    second = send_bulk(messages, server, retry=instant(), progress=False, skip_message_ids=first.sent_ids)
    assert second.sent_ids == [mid(2), mid(3), mid(4)]
    assert delivered(server) == {mid(n): 1 for n in range(5)}


def test_giving_up_on_a_message_reports_it_failed_and_carries_on(faulty_server, instant):
    server = faulty_server("drop-data:0")  # no connection ever takes a message
    report = send_bulk([note(0), note(1)], server, retry=instant(attempts=2), progress=False)
    assert set(report.failed) == {mid(0), mid(1)}
    assert "connection" in report.failed[mid(0)] and "Message-ID" in report.failed[mid(0)]
    assert report.sent == [] and len(server.inbox) == 0
    assert str(report) == "0 sent, 0 refused, 2 retries, 3 reconnects, 2 failed"


# --------------------------------------------------------------------------- what it sends over


def test_a_given_session_is_used_and_left_open(smtp_server, instant):
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        send_bulk([note(0), note(1)], session, retry=instant(), progress=False)
        assert session.is_open and session.connections == 1
    assert len(smtp_server.inbox) == 2


def test_a_target_gets_its_own_session_closed_at_the_end(smtp_server, instant):
    report = send_bulk([note(0)], SMTPTarget.for_server(smtp_server, timeout=5), retry=instant(), progress=False)
    assert report.sent_ids == [mid(0)]


def test_a_starttls_server_is_reached_over_tls_trusting_its_own_ca(instant):
    with EmbeddedServer(tls="starttls") as server:
        report = send_bulk([note(0)], server, retry=instant(), progress=False)
        assert report.sent_ids == [mid(0)] and len(server.inbox) == 1


def test_a_server_that_cannot_be_reached_raises_after_the_retries(closed_port, instant, slept):
    with pytest.raises(SMTPDeliveryError, match="Nothing listens"):
        send_bulk([note(0)], SMTPTarget("smtp", "127.0.0.1", closed_port, timeout=5), retry=instant(), progress=False)
    assert len(slept) == 3


def test_something_else_to_send_over_is_a_type_error():
    with pytest.raises(TypeError, match="SMTPSession, an SMTPTarget or an EmbeddedServer"):
        send_bulk([note(0)], "smtp://127.0.0.1:25", progress=False)


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_is_drawn_only_when_asked(progress, smtp_server, instant, capsys):
    send_bulk([note(n) for n in range(3)], smtp_server, retry=instant(), progress=progress, desc="otono")
    err = capsys.readouterr().err
    assert ("otono" in err and "3/3" in err) is progress
