"""Benchmark: the kit's bulk sender against plain smtplib, on the embedded server.

Sends the same N newsletters (default 2,000) three ways, in one run, to one
:class:`~mimekit.server.EmbeddedServer` (default options, so transcripts on):

* ``kit``          :func:`mimekit.bulk.send_bulk` over one :class:`~mimekit.sending.SMTPSession`;
* ``reused``       a plain :class:`smtplib.SMTP` loop of ``send_message()`` on one connection;
* ``per-message``  a new :class:`smtplib.SMTP` connection (connect, EHLO, QUIT) per message.

The newsletters are built once, before anything is timed. All three methods
start from the same message objects and serialise them while timed: the kit
with :func:`~mimekit.envelope.as_smtp_bytes` (plus its checks and report),
plain smtplib with ``send_message()`` (the standard library's own
serialisation and envelope). So the ratio measures what the kit adds on top of
what any sender must do. Every run is checked to have delivered all N with
exactly the bytes the kit produces.

The kit remembers the addresses it validated (the last 4,096) and the address
headers it parsed. Building the newsletters validated every address, as it
does in any program that builds its messages and then sends them; so each
kit run starts with the cache of parsed headers emptied (untimed: no run
profits from the headers of the run before) and the validated addresses as
building left them. ``--cold-addresses`` empties those too before each kit
run: the cost for a list built long before, or longer than 4,096 addresses.

Each method runs ``--repeat`` times (default 6), the methods interleaved (the
order rotates every round, so each method takes each place equally often) so
that the machine's noise falls on all of them alike. The last line is
``bulk/reused ratio: R`` with R = kit msgs/s / reused msgs/s of each method's
*median* run; the lines above it give the ratio of every round, of the best
runs, and of the CPU time (this process's, all threads) as checks.

Run from the repository root::

    .venv/bin/python benchmarks/bulk_send.py --count 2000
    .venv/bin/python benchmarks/bulk_send.py --quick          # a smoke run, a few seconds

Exit status 1 if any run lost a message (or delivered other bytes). Timings are
printed, never asserted: see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import smtplib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from importlib.metadata import version
from typing import Any

from mimekit.bulk import send_bulk
from mimekit.envelope import as_smtp_bytes, envelope_from_headers
from mimekit.errors import SMTPDeliveryError
from mimekit.headers import _checked_address, _mailboxes
from mimekit.sending import SMTPSession
from mimekit.server import EmbeddedServer
from mimekit.shop.models import Customer
from mimekit.shop.newsletter import build_newsletter
from mimekit.shop.sample import NOW, sample_campaign, sample_shop

DEFAULT_COUNT = 2000
DEFAULT_REPEAT = 6  # a multiple of the 3 methods: each takes each place in the order equally often
QUICK_COUNT = 100
QUICK_REPEAT = 2
WARMUP = 20  # messages sent once per method, untimed, before the timed runs
#: The EHLO name of every client, kit and plain alike: a fixed name spares smtplib
#: a socket.getfqdn() (a DNS look-up) per connection, which is no part of what is measured.
LOCAL_HOSTNAME = "bench.example.com"

_FIRST_NAMES = ["José", "Zoë", "Íñigo", "Mary", "Ana", "Chloé", "Björn", "Łucja", "Noah", "Renée"]
_LAST_NAMES = ["Núñez", "Anderson", "Martínez", "O'Brien", "Ibáñez", "Dubois", "Ångström", "Wójcik"]
_DOMAINS = ["example.com", "example.org", "example.net"]  # RFC 2606
_LOCALES = ["es_ES", "en_US"]


# --------------------------------------------------------------------------- shared with ingest.py


@dataclass(frozen=True)
class Batch:
    """The N newsletters, built once: the message objects and, in the same order, their envelopes and bytes."""

    messages: list[Message]
    mail_from: list[str]
    rcpt_tos: list[list[str]]
    data: list[bytes]

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def total_bytes(self) -> int:
        return sum(len(d) for d in self.data)


def build_batch(count: int) -> Batch:
    """*count* newsletters for generated consenting customers; each with its own fixed Message-ID."""
    campaign, shop = sample_campaign(), sample_shop()
    messages, senders, recipients, data = [], [], [], []
    for i in range(count):
        name = f"{_FIRST_NAMES[i % len(_FIRST_NAMES)]} {_LAST_NAMES[i % len(_LAST_NAMES)]}"
        customer = Customer(
            name,
            f"cliente{i:05d}@{_DOMAINS[i % len(_DOMAINS)]}",
            locale=_LOCALES[i % len(_LOCALES)],
            marketing_consent=True,
        )
        msg = build_newsletter(
            campaign, customer, shop, date=NOW, message_id=f"<bench-{i:05d}@tienda.example.com>"
        )
        envelope = envelope_from_headers(msg)
        messages.append(msg)
        senders.append(envelope.mail_from)
        recipients.append(list(envelope.rcpt_tos))
        data.append(as_smtp_bytes(msg))  # also fixes the boundaries: the kit will send these very bytes
    return Batch(messages, senders, recipients, data)


def send_plain_messages(host: str, port: int, batch: Batch, limit: int | None = None) -> int:
    """Plain smtplib from message objects: one connection, ``send_message()`` each; return how many were accepted."""
    accepted = 0
    n = len(batch) if limit is None else limit
    with smtplib.SMTP(host, port, local_hostname=LOCAL_HOSTNAME) as client:
        for msg in batch.messages[:n]:
            if not client.send_message(msg):  # {} = every recipient took it
                accepted += 1
    return accepted


def send_plain_reused(host: str, port: int, batch: Batch, limit: int | None = None) -> int:
    """The plain client: one smtplib connection, ``sendmail()`` per message; return how many were accepted."""
    accepted = 0
    n = len(batch) if limit is None else limit
    with smtplib.SMTP(host, port, local_hostname=LOCAL_HOSTNAME) as client:
        for mail_from, rcpt_tos, data in zip(batch.mail_from[:n], batch.rcpt_tos[:n], batch.data[:n]):
            if not client.sendmail(mail_from, rcpt_tos, data):  # {} = every recipient took it
                accepted += 1
    return accepted


def machine_lines() -> list[str]:
    """What the figures depend on: interpreter, CPUs, memory, load, library versions."""
    cpus = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    try:
        ram = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram = "RAM unknown"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        f"cpus: {cpus} ({usable} usable); {ram}; load average {load}",
        f"mimekit {version('mimekit')}, aiosmtpd {version('aiosmtpd')}; clients and servers in this one process",
    ]


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--count", type=int, default=None, help=f"messages per run (default {DEFAULT_COUNT})")
    parser.add_argument(
        "--repeat", type=int, default=None, help=f"timed runs per method, interleaved (default {DEFAULT_REPEAT})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: --count {QUICK_COUNT} --repeat {QUICK_REPEAT} unless given (a few seconds)",
    )
    parser.add_argument("--profile", action="store_true", help="after the timed runs, profile one run with cProfile")
    parser.add_argument(
        "--cold-addresses",
        action="store_true",
        help="bulk_send only: empty the kit's cache of validated addresses before each kit run",
    )
    args = parser.parse_args(argv)
    if args.count is None:
        args.count = QUICK_COUNT if args.quick else DEFAULT_COUNT
    if args.repeat is None:
        args.repeat = QUICK_REPEAT if args.quick else DEFAULT_REPEAT
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be 1 or more")
    return args


@dataclass(frozen=True)
class Timing:
    """One timed run: wall-clock seconds, and the CPU seconds this process used meanwhile (all threads)."""

    wall: float
    cpu: float


def clock() -> tuple[float, float]:
    """Start a timing: pass the result to :func:`since`."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> Timing:
    return Timing(time.perf_counter() - start[0], time.process_time() - start[1])


@dataclass
class Runs:
    """One method's timed runs, in seconds, in the order of the rounds."""

    label: str
    seconds: list[float]
    cpu_seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)


_CLIENT_ERRORS = (OSError, smtplib.SMTPException, SMTPDeliveryError)


def warm_up(methods: list[tuple[str, Callable[..., Timing]]], count: int, after: Callable[[], None]) -> None:
    """Send *count* messages once with every method, untimed: imports, caches and first connections."""
    for label, method in methods:
        try:
            method(count)
        except _CLIENT_ERRORS as exc:
            raise Lost(f"{label}, warm-up: the client failed: {exc}") from exc
        after()


def run_interleaved(
    methods: list[tuple[str, Callable[[], Timing]]], repeat: int, after_run: Callable[[str, int], str]
) -> dict[str, Runs]:
    """Run every method *repeat* times, rotating the order each round; print one line per round.

    Each method returns its own :class:`Timing` (so that its set-up and checks stay out of
    the timing); *after_run(label, round)* checks the run and returns what to print about it.
    """
    runs = {label: Runs(label, [], []) for label, _ in methods}
    for round_ in range(repeat):
        shift = round_ % len(methods)
        order = methods[shift:] + methods[:shift]
        parts = []
        for label, method in order:
            gc.collect()  # start every run with the same heap, outside the timing
            try:
                timing = method()
            except _CLIENT_ERRORS as exc:
                raise Lost(f"{label}, run {round_ + 1}: the client failed: {exc}") from exc
            runs[label].seconds.append(timing.wall)
            runs[label].cpu_seconds.append(timing.cpu)
            parts.append(f"{label} {timing.wall:.2f} s, {after_run(label, round_)}")
        print(f"round {round_ + 1}: " + "; ".join(parts), flush=True)
    return runs


def print_table(runs: dict[str, Runs], count: int) -> None:
    width = max(len(label) for label in runs) + 2
    print(f"{'method':<{width}}{'best s':>9}{'msgs/s':>9}{'median s':>10}{'msgs/s':>9}{'median cpu s':>14}")
    for r in runs.values():
        print(
            f"{r.label:<{width}}{r.best:>9.2f}{count / r.best:>9.0f}{r.median:>10.2f}{count / r.median:>9.0f}"
            f"{r.cpu_median:>14.2f}"
        )


def print_ratios(name: str, ours: Runs, theirs: Runs) -> None:
    """The checks, then the last line ``{name} ratio: R``: R = our msgs/s / their msgs/s, median runs.

    A ratio of rates is the inverse ratio of times: their seconds / our seconds.
    """
    rounds = " ".join(f"{t / o:.2f}" for o, t in zip(ours.seconds, theirs.seconds))
    print(f"{name} ratio in each round: {rounds}")
    print(f"{name} ratio from the best runs: {theirs.best / ours.best:.2f}")
    print(f"{name} ratio from the CPU time (medians; information): {theirs.cpu_median / ours.cpu_median:.2f}")
    print(f"{name} ratio: {theirs.median / ours.median:.2f}")


def forget_parsed_headers(*, addresses: bool = False) -> None:
    """Empty the kit's cache of parsed address headers and, with *addresses*, of validated addresses.

    (See mimekit.headers: ``_mailboxes`` and ``_checked_address``.)
    """
    _mailboxes.cache_clear()
    if addresses:
        _checked_address.cache_clear()


def print_profile(profiler: cProfile.Profile, title: str, limit: int = 25) -> None:
    """The top of a cProfile, by own time then by cumulative time, with paths shortened."""
    for sort in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(sort).print_stats(limit)
        text = out.getvalue()
        start = text.find("   ncalls")
        print(f"--- profile: {title}, sorted by {sort} ---")
        print(text[start:].rstrip() if start >= 0 else text.rstrip())


class Lost(Exception):
    """A run did not deliver every message, byte for byte."""


def check_inbox(server: EmbeddedServer, batch: Batch, label: str, round_: int, accepted: int | None = None) -> str:
    """Check that the server captured all N messages with exactly the prebuilt bytes, in order."""
    n = len(batch)
    captured = server.inbox.messages()
    if len(captured) != n or (accepted is not None and accepted != n):
        got = f"captured {len(captured)}/{n}" + (f", client counted {accepted}/{n} accepted" if accepted is not None else "")
        raise Lost(f"{label}, run {round_ + 1}: {got}: messages were lost")
    differ = sum(c.raw != d for c, d in zip(captured, batch.data))
    if differ:
        raise Lost(f"{label}, run {round_ + 1}: {differ} of {n} captured messages differ from the prebuilt bytes")
    return f"captured {n}/{n}"


def reset(server: EmbeddedServer) -> None:
    server.inbox.clear()
    server.clear_transcripts()


def prepare(title: str, unit: str, args: argparse.Namespace) -> Batch:
    """Print the benchmark's heading and machine, build the batch (untimed), say how the runs go; return the batch."""
    print(f"mimekit benchmark: {title}")
    for line in machine_lines():
        print(line)
    started = time.perf_counter()
    batch = build_batch(args.count)
    built = time.perf_counter() - started
    n = len(batch)
    print(
        f"messages: {n:,} newsletters, {batch.total_bytes / n:,.0f} bytes each on average "
        f"({batch.total_bytes / 2**20:.1f} MiB in all), built and serialised in {built:.1f} s (not timed)"
    )
    print(
        f"runs: {args.repeat} per {unit}, interleaved (order rotated each round); "
        "table: best run and median run; ratios from the median runs"
    )
    return batch


# --------------------------------------------------------------------------- the three methods


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Send N newsletters three ways to the embedded server; print msgs/s and ratios.", argv)
    batch = prepare("bulk sending (kit send_bulk vs plain smtplib)", "method", args)
    n = len(batch)

    with EmbeddedServer() as server:  # default options: transcripts=True
        host, port = server.host, server.port
        print(f"server: EmbeddedServer() on {server.url}, default options (transcripts on)")
        print(
            "kit: before each run, parsed address headers forgotten; validated addresses "
            + ("forgotten too (--cold-addresses)" if args.cold_addresses else "as building the newsletters left them")
        )
        reports: dict[str, Any] = {}  # what each method's last run returned, for after_run()

        def kit(limit: int | None = None) -> Timing:
            messages = batch.messages if limit is None else batch.messages[:limit]
            session = SMTPSession(host, port, local_hostname=LOCAL_HOSTNAME)
            forget_parsed_headers(addresses=args.cold_addresses)  # no help from the run before
            t0 = clock()
            with session:
                report = send_bulk(messages, session, progress=False)
            elapsed = since(t0)
            reports["kit"] = report
            return elapsed

        def reused(limit: int | None = None) -> Timing:
            t0 = clock()
            accepted = send_plain_messages(host, port, batch, limit)
            elapsed = since(t0)
            reports["reused"] = accepted
            return elapsed

        def per_message(limit: int | None = None) -> Timing:
            nn = n if limit is None else limit
            accepted = 0
            t0 = clock()
            for msg in batch.messages[:nn]:
                with smtplib.SMTP(host, port, local_hostname=LOCAL_HOSTNAME) as client:
                    if not client.send_message(msg):
                        accepted += 1
            elapsed = since(t0)
            reports["per-message"] = accepted
            return elapsed

        methods: list[tuple[str, Callable[..., Timing]]] = [
            ("kit", kit),
            ("reused", reused),
            ("per-message", per_message),
        ]

        def after_run(label: str, round_: int) -> str:
            if label == "kit":
                report = reports["kit"]
                if len(report.sent) != n or not report.ok:
                    raise Lost(f"kit, run {round_ + 1}: send_bulk reported {report}")
                note = check_inbox(server, batch, label, round_)
                if report.retried or report.reconnects:  # would make the run slower for another reason
                    note += f" ({report.retried} retries, {report.reconnects} reconnects)"
            else:
                note = check_inbox(server, batch, label, round_, accepted=reports[label])
            reset(server)
            return note

        try:
            warm_up(methods, min(WARMUP, n), lambda: reset(server))
            runs = run_interleaved(methods, args.repeat, after_run)
        except Lost as lost:
            print(f"FAILED: {lost}")
            return 1

        if args.profile:
            profiler = cProfile.Profile()
            session = SMTPSession(host, port, local_hostname=LOCAL_HOSTNAME)
            forget_parsed_headers(addresses=args.cold_addresses)
            gc.collect()
            profiler.enable()
            with session:
                send_bulk(batch.messages, session, progress=False)
            profiler.disable()
            reset(server)
            print_profile(profiler, "kit path, client (main) thread only; the server runs in another thread")

    print()
    print_table(runs, n)
    print(f"captured {n}/{n} in each of the {args.repeat} runs of every method, bytes identical to the prebuilt ones")
    print(f"per-message/reused ratio (medians): {runs['reused'].median / runs['per-message'].median:.2f}")
    print_ratios("bulk/reused", runs["kit"], runs["reused"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
