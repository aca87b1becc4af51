"""Benchmark: what the embedded server's capturing costs, against a plain aiosmtpd server.

The same plain client (one smtplib connection, ``sendmail()`` per message, the
one of ``bulk_send.py``) sends the same N newsletters (default 2,000), in one
run, to:

* ``capture``         :class:`~mimekit.server.EmbeddedServer` with its default options: every message
                      parsed into its :class:`~mimekit.server.Inbox`, and, since ``transcripts=True``
                      is the default, every session recorded line by line;
* ``capture-no-tx``   ``EmbeddedServer(transcripts=False)``: capturing only (for information);
* ``plain``           a bare aiosmtpd ``Controller`` on 127.0.0.1 whose handler's ``handle_DATA``
                      only answers ``250 OK`` (same SMTP options as the embedded server:
                      ``decode_data=False``, SMTPUTF8, a 32 MiB SIZE).

All three servers run at once, each in its own thread of this process (as the
embedded server always does); the runs are interleaved, the order rotating
every round. The last line is ``capture/plain ratio: R`` with R = capture
msgs/s / plain msgs/s of each server's *median* run; the lines above it give
the ratio of every round, of the best runs, and of the CPU time as checks.

Run from the repository root::

    .venv/bin/python benchmarks/ingest.py --count 2000
    .venv/bin/python benchmarks/ingest.py --quick

Exit status 1 if any run lost a message. Timings are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import cProfile
import socket
import sys
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from bulk_send import (  # the same batch, client, checks and report format as bulk_send.py
    WARMUP,
    Lost,
    Timing,
    check_inbox,
    clock,
    parse_args,
    prepare,
    print_profile,
    print_ratios,
    print_table,
    reset,
    run_interleaved,
    send_plain_reused,
    since,
    warm_up,
)

from mimekit.server import (
    DEFAULT_DATA_SIZE_LIMIT,
    DEFAULT_SERVER_HOSTNAME,
    EmbeddedServer,
)


class AnswerOnlyHandler:
    """The plainest aiosmtpd handler: accept every message, keep nothing."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _free_port(host: str) -> int:
    # aiosmtpd's Controller cannot serve on port 0 (its start-up self-test would connect to port 0).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_plain_server(host: str = "127.0.0.1") -> Controller:
    controller = Controller(
        AnswerOnlyHandler(),
        hostname=host,
        port=_free_port(host),
        server_hostname=DEFAULT_SERVER_HOSTNAME,
        data_size_limit=DEFAULT_DATA_SIZE_LIMIT,
        decode_data=False,
        enable_SMTPUTF8=True,
    )
    controller.start()
    return controller


def profile_server_thread(loop: asyncio.AbstractEventLoop, profiler: cProfile.Profile, on: bool) -> None:
    """Turn *profiler* on or off inside the thread that runs *loop* (cProfile profiles one thread)."""

    async def switch() -> None:
        if on:
            profiler.enable()
        else:
            profiler.disable()

    asyncio.run_coroutine_threadsafe(switch(), loop).result(timeout=10)


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Send N newsletters to the capturing server and to a plain aiosmtpd; print msgs/s.", argv)
    batch = prepare("ingest (embedded capturing server vs plain aiosmtpd), same plain client", "server", args)
    n = len(batch)

    capture = EmbeddedServer().start()  # default options: transcripts=True
    capture_no_tx = EmbeddedServer(transcripts=False).start()
    plain = start_plain_server()
    try:
        print(f"capture:       EmbeddedServer() on {capture.url}, default options (transcripts on)")
        print(f"capture-no-tx: EmbeddedServer(transcripts=False) on {capture_no_tx.url} (for information)")
        print(f"plain:         aiosmtpd {type(plain).__name__} on smtp://{plain.hostname}:{plain.port}, "
              "handle_DATA returns '250 OK' only")
        accepted: dict[str, int] = {}

        def sender(label: str, host: str, port: int) -> Callable[..., Timing]:
            def run(limit: int | None = None) -> Timing:
                t0 = clock()
                accepted[label] = send_plain_reused(host, port, batch, limit)
                return since(t0)

            return run

        methods = [
            ("capture", sender("capture", capture.host, capture.port)),
            ("plain", sender("plain", plain.hostname, plain.port)),
            ("capture-no-tx", sender("capture-no-tx", capture_no_tx.host, capture_no_tx.port)),
        ]
        def after_run(label: str, round_: int) -> str:
            if label == "plain":  # it keeps nothing: the client's count of 250 replies is the proof
                if accepted[label] != n:
                    raise Lost(f"plain, run {round_ + 1}: {accepted[label]}/{n} accepted: messages were lost")
                return f"accepted {n}/{n}"
            server = capture if label == "capture" else capture_no_tx
            note = check_inbox(server, batch, label, round_, accepted=accepted[label])
            reset(server)
            return note

        def reset_both() -> None:
            reset(capture)
            reset(capture_no_tx)

        try:
            warm_up(methods, min(WARMUP, n), reset_both)
            runs = run_interleaved(methods, args.repeat, after_run)
        except Lost as lost:
            print(f"FAILED: {lost}")
            return 1

        if args.profile:
            profiler = cProfile.Profile()
            loop = capture._controller.loop  # the embedded server's event loop thread
            profile_server_thread(loop, profiler, True)
            send_plain_reused(capture.host, capture.port, batch)
            profile_server_thread(loop, profiler, False)
            reset(capture)
            print_profile(profiler, "capture (default options), server thread only")
    finally:
        plain.stop()
        capture_no_tx.stop()
        capture.stop()

    print()
    print_table(runs, n)
    print(
        f"captured {n}/{n} in each of the {args.repeat} runs of both capturing servers (bytes identical); "
        f"plain accepted {n}/{n} in each run"
    )
    median = {label: r.median for label, r in runs.items()}
    print(f"capture-no-tx/plain ratio (medians; information): {median['plain'] / median['capture-no-tx']:.2f}")
    print(
        "capture/capture-no-tx ratio (medians; the transcripts' share): "
        f"{median['capture-no-tx'] / median['capture']:.2f}"
    )
    print_ratios("capture/plain", runs["capture"], runs["plain"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
