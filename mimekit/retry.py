"""Retrying: which SMTP failures are worth another try, and how long to wait before it.

Every SMTP reply code says whether trying again can help (RFC 5321 §4.2.1)::

    2xx  done                                    nothing to retry
    4xx  transient: "not now, try again later"   451 greylisted, 421 closing, 452 too many recipients
    5xx  permanent: "never, not like this"       550 no such user, 552 too big, 554 rejected
    ---  no reply at all: the connection dropped or timed out    worth another try (on a new connection)

So a client retries a 4xx and a dropped connection, and never a 5xx: sending
the same thing again to a server that said 550 only looks like spam.

*When* to retry: a mail server's queue waits at least 30 minutes between
tries and gives up after 4-5 days (RFC 5321 §4.5.4.1); a greylisting server
wants the same message again after some minutes (RFC 6647 §2.1). A program
that sends straight from a notebook cannot wait that long, so the defaults here
are short, and grow *exponentially*: 0.5 s, 1 s, 2 s … up to ``max_delay``.
Each wait is shortened by a random part, the *jitter*, so that many clients
that failed together (a server restarting) do not all come back in the same
instant.

:class:`RetryPolicy` holds those numbers, and takes its clock (``sleep``) and
its dice (``rng``) from you, so a test replaces both and runs instantly and the
same every time:

>>> import random
>>> slept = []
>>> policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=5.0, jitter=0.0, sleep=slept.append)
>>> policy.delays()
[1.0, 2.0, 4.0, 5.0]
>>> policy.is_transient(451), policy.is_transient(550), policy.is_transient(None)
(True, False, True)
>>> policy.wait(1)
2.0
>>> slept
[2.0]

Errors: ``TypeError`` / ``ValueError`` for an argument of the wrong type or range.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

__all__ = ["RetryPolicy"]


class RetryPolicy:
    """How many times to try, and how long to wait between tries (exponential backoff with jitter).

    * ``attempts``: tries in all, the first included (``1``: never retry), an int ≥ 1;
    * ``base_delay``: the wait before the first retry, in seconds (≥ 0);
    * ``max_delay``: no wait is longer than this, in seconds (≥ 0);
    * ``jitter``: the share of each wait drawn at random, from 0 (exact waits)
      to 1 (anything between 0 and the full wait): retry *n* (counted from 0)
      waits ``d * (1 - jitter * u)`` seconds, where ``d = min(max_delay,
      base_delay * 2**n)`` and ``u`` is uniform in [0, 1) ("equal jitter":
      never longer than ``d``, never shorter than ``d * (1 - jitter)``);
    * ``sleep``: called with the seconds to wait (default :func:`time.sleep`;
      a test passes a function that only records them);
    * ``rng``: a :class:`random.Random` for the jitter (default: a new one;
      pass ``random.Random(0)`` for the same waits every run).

    RFC 5321 §4.5.4.1 asks a mail server to wait 30 minutes or more between
    tries; the defaults here (0.5 s doubling to 30 s, 4 tries) suit a person
    waiting at a notebook and a local server, not a real queue.

    Raises ``TypeError`` / ``ValueError`` for arguments of the wrong type or range.
    """

    def __init__(
        self,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        jitter: float = 0.5,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(attempts, int) or isinstance(attempts, bool):
            raise TypeError(
                f"RetryPolicy: attempts must be an int (tries in all, the first included), not {attempts!r}"
            )
        if attempts < 1:
            raise ValueError(f"RetryPolicy: attempts must be 1 or more (1 means: never retry), not {attempts}")
        for name, value in (("base_delay", base_delay), ("max_delay", max_delay), ("jitter", jitter)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"RetryPolicy: {name} must be a number of seconds, not {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"RetryPolicy: {name} must be 0 or more, not {value}")
        if jitter > 1:
            raise ValueError(
                f"RetryPolicy: jitter must be between 0 and 1 (the random share of each wait), not {jitter}"
            )
        if not callable(sleep):
            raise TypeError(f"RetryPolicy: sleep must be callable with seconds, like time.sleep, not {sleep!r}")
        if rng is None:
            rng = random.Random()
        if not callable(getattr(rng, "random", None)):
            raise TypeError(f"RetryPolicy: rng must be a random.Random, not {type(rng).__name__}")
        self.attempts = attempts
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.jitter = float(jitter)
        self.sleep = sleep
        self.rng = rng

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(attempts={self.attempts}, base_delay={self.base_delay:g}, "
            f"max_delay={self.max_delay:g}, jitter={self.jitter:g})"
        )

    @staticmethod
    def is_transient(code: int | None) -> bool:
        """Return whether a failure with reply *code* may work if tried again.

        ``4xx`` (RFC 5321 §4.2.1, "transient negative completion") and ``None``
        (no reply: the connection dropped or timed out) are transient; ``5xx``
        ("permanent negative completion") and anything else are not.
        """
        return code is None or 400 <= code <= 499

    def delay(self, retry: int) -> float:
        """Return the seconds to wait before retry number *retry* (0 for the first retry), jitter drawn."""
        if not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be an int, 0 for the first retry, not {retry!r}")
        nominal = min(self.max_delay, self.base_delay * 2.0 ** min(retry, 1023))
        return nominal * (1.0 - self.jitter * self.rng.random())

    def delays(self) -> list[float]:
        """Return the waits before each retry, in seconds: ``attempts - 1`` of them, jitter drawn anew."""
        return [self.delay(n) for n in range(self.attempts - 1)]

    def wait(self, retry: int) -> float:
        """Sleep (with ``sleep``) before retry number *retry* (0 for the first); return the seconds waited."""
        seconds = self.delay(retry)
        self.sleep(seconds)
        return seconds
