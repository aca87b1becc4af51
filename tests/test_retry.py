"""Specification of mimekit.retry and of SMTPSession.send(retry=...): when to try again, and how long to wait.

The policy's waits are checked with a seeded random generator; the retries run
against a real EmbeddedServer on loopback whose faults are scripted
(:mod:`mimekit.faults`), with a ``sleep`` that only records, so nothing waits.
"""

from __future__ import annotations

import random
from email.message import EmailMessage

import pytest

from message_parts import delivered
from mimekit import SMTPDeliveryError, SMTPSession
from mimekit.faults import FaultPlan, RejectRecipients, TooManyRecipients
from mimekit.retry import RetryPolicy

SHOP = "shop@example.com"
ANA = "ana@example.org"
BEA = "bea@example.org"


def note(n: int = 1, *, to: str = ANA, body: str = "Thanks for your order!\n") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Shop <{SHOP}>"
    msg["To"] = to
    msg["Subject"] = f"Order {n}"
    msg["Message-ID"] = f"<order-{n}@example.com>"
    msg.set_content(body)
    return msg









# --------------------------------------------------------------------------- the policy


def test_delays_double_from_base_delay_and_stop_at_max_delay_without_jitter():
    policy = RetryPolicy(attempts=9, base_delay=0.5, max_delay=30.0, jitter=0.0)
    assert policy.delays() == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_delays_grow_exponentially_within_jitter_bounds_and_cap_at_max_delay():
    policy = RetryPolicy(attempts=12, base_delay=0.5, max_delay=30.0, jitter=0.5, rng=random.Random(7))
    for _ in range(50):
        delays = policy.delays()
        assert len(delays) == 11
        for n, delay in enumerate(delays):
            nominal = min(30.0, 0.5 * 2**n)
            assert nominal * 0.5 <= delay <= nominal
        assert max(delays) <= 30.0


def test_jitter_is_drawn_from_the_given_rng_so_a_seed_repeats_the_waits():
    first = RetryPolicy(rng=random.Random(42)).delays()
    again = RetryPolicy(rng=random.Random(42)).delays()
    other = RetryPolicy(rng=random.Random(43)).delays()
    assert first == again != other
    assert len(set(first)) == 3  # jitter makes them differ from the plain doubling


def test_wait_calls_the_given_sleep_with_the_delay_and_returns_it(slept):
    policy = RetryPolicy(base_delay=2.0, jitter=0.0, sleep=slept.append)
    assert policy.wait(0) == 2.0 and policy.wait(2) == 8.0
    assert slept == [2.0, 8.0]


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        (None, True),
        (421, True),
        (450, True),
        (451, True),
        (452, True),
        (499, True),
        (500, False),
        (550, False),
        (552, False),
        (554, False),
        (250, False),
    ],
)
def test_4xx_and_no_reply_are_transient_5xx_permanent(code, transient):
    assert RetryPolicy.is_transient(code) is transient
    assert RetryPolicy().is_transient(code) is transient


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"attempts": 0}, ValueError, "attempts must be 1 or more"),
        ({"attempts": 2.5}, TypeError, "attempts must be an int"),
        ({"base_delay": -1}, ValueError, "base_delay must be 0 or more"),
        ({"max_delay": float("inf")}, ValueError, "max_delay"),
        ({"jitter": 1.5}, ValueError, "jitter must be between 0 and 1"),
        ({"sleep": 3}, TypeError, "sleep must be callable"),
        ({"rng": 3}, TypeError, "rng must be a random.Random"),
    ],
)
def test_bad_policy_arguments_say_what_is_accepted(kwargs, error, words):
    with pytest.raises(error, match=words):
        RetryPolicy(**kwargs)


def test_one_attempt_means_no_delays():
    assert RetryPolicy(attempts=1).delays() == []


# --------------------------------------------------------------------------- SMTPSession.send(retry=...)


def test_greylisted_message_is_delivered_once_after_three_attempts(faulty_server, instant, slept):
    server = faulty_server("greylist:2")
    msg = note()
    with SMTPSession(port=server.port, timeout=5) as session:
        result = session.send(msg, retry=instant())
    assert result.ok and result.attempts == 3
    assert result.message_id == "<order-1@example.com>" == msg["Message-ID"]
    assert delivered(server) == {"<order-1@example.com>": 1}
    assert len(slept) == 2 and slept[0] <= 0.5 < slept[1] <= 1.0  # the first two waits of the backoff
    assert "after 3 attempts" in str(result)


def test_without_a_policy_a_greylisted_recipient_is_reported_not_retried(faulty_server):
    server = faulty_server("greylist:2")
    with SMTPSession(port=server.port, timeout=5) as session:
        result = session.send(note())
    assert result.attempts == 1
    assert result.refused == {ANA: (451, "4.7.1 Greylisted, try again later")}
    assert len(server.inbox) == 0


def test_a_permanent_refusal_is_never_retried(faulty_server, instant, slept):
    server = faulty_server("reject:ana@*")
    with SMTPSession(port=server.port, timeout=5) as session:
        result = session.send(note(), retry=instant())
    assert result.attempts == 1 and slept == []
    assert result.refused == {ANA: (550, "5.1.1 No such user here")}


def test_only_the_recipients_refused_for_now_are_tried_again_the_accepted_get_one_copy(faulty_server, instant):
    server = faulty_server(FaultPlan(RejectRecipients("nobody@*"), TooManyRecipients(1)))
    with SMTPSession(port=server.port, timeout=5) as session:
        result = session.send(note(to=f"{ANA}, {BEA}, nobody@example.org"), retry=instant())
    # ana accepted at once; bea refused with 452 (one recipient per transaction) and sent alone next time
    assert result.accepted == [ANA, BEA] and result.attempts == 2
    assert result.refused == {"nobody@example.org": (550, "5.1.1 No such user here")}
    assert [m.rcpt_tos for m in server.inbox] == [(ANA,), (BEA,)]
    assert set(delivered(server)) == {"<order-1@example.com>"}  # the same message, both times


def test_a_refusal_that_outlasts_the_policy_keeps_its_last_code(faulty_server, instant, slept):
    server = faulty_server("greylist:5")
    with SMTPSession(port=server.port, timeout=5) as session:
        result = session.send(note(), retry=instant(attempts=3))
    assert result.attempts == 3 and len(slept) == 2
    assert result.recipients[0].code == 451 and not result.ok
    assert len(server.inbox) == 0


def test_421_reconnects_and_sends_again_on_a_new_connection(faulty_server, instant):
    server = faulty_server("close:1")
    with SMTPSession(port=server.port, timeout=5) as session:
        first = session.send(note(1), retry=instant())
        second = session.send(note(2), retry=instant())
        assert session.is_open
    assert (first.attempts, second.attempts) == (1, 2)
    assert session.connections == 2
    assert delivered(server) == {"<order-1@example.com>": 1, "<order-2@example.com>": 1}
    assert len({m.peer for m in server.inbox}) == 2


def test_a_drop_during_data_is_resent_and_delivered_exactly_once(faulty_server, instant):
    server = faulty_server("drop-data:1")
    with SMTPSession(port=server.port, timeout=5) as session:
        session.send(note(1), retry=instant())
        result = session.send(note(2), retry=instant())
    assert result.ok and result.attempts == 2
    # aiosmtpd keeps nothing whose DATA it never answered: the resend is the only copy
    assert delivered(server) == {"<order-1@example.com>": 1, "<order-2@example.com>": 1}


def test_a_message_too_big_is_refused_with_552_and_not_retried(faulty_server, instant, slept):
    server = faulty_server("max-size:2000")
    with SMTPSession(port=server.port, timeout=5) as session, pytest.raises(SMTPDeliveryError) as caught:
        session.send(note(body="x" * 3000 + "\n"), retry=instant())
    assert (caught.value.code, caught.value.attempts) == (552, 1)
    assert slept == [] and len(server.inbox) == 0


def test_giving_up_raises_with_the_attempts_and_the_last_error(faulty_server, instant, slept):
    server = faulty_server("drop-data:0")  # every connection drops its first message
    with SMTPSession(port=server.port, timeout=5) as session:
        with pytest.raises(SMTPDeliveryError, match="duplicate") as caught:
            session.send(note(), retry=instant(attempts=3))
    assert caught.value.code is None and caught.value.attempts == 3
    assert len(slept) == 2 and session.connections == 3
    assert len(server.inbox) == 0


def test_retry_must_be_a_policy(smtp_server):
    with SMTPSession(port=smtp_server.port, timeout=5) as session, pytest.raises(TypeError, match="RetryPolicy"):
        session.send(note(), retry=3)
