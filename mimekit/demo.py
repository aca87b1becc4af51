"""The headless demo: every shop e-mail sent to the embedded server, captured, and shown.

What ``python -m mimekit demo`` does, step by step:

1. start an :class:`~mimekit.server.EmbeddedServer` on 127.0.0.1 and a free port;
2. build each e-mail the shop has (:data:`DEMO_EMAILS`) from the sample data;
3. send them over one :class:`~mimekit.sending.SMTPSession`;
4. wait for the inbox to hold them, print each captured copy (envelope,
   headers, MIME tree) and, with ``--save DIR``, write the exact bytes
   received to ``DIR/NN-<type>.eml``;
5. match captured copies to sent messages by Message-ID and end with
   ``N sent, N captured, N lost``.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import TextIO

from .server import CapturedMessage, EmbeddedServer
from .sending import SMTPSession
from .shop import build_order_confirmation, sample_order, sample_shop
from .tree import render_tree

__all__ = ["DEMO_EMAILS", "run_demo"]

#: The e-mails the demo sends: a short type name (used in file names) and a builder.
DEMO_EMAILS: list[tuple[str, Callable[[], Message]]] = [
    ("order-confirmation", lambda: build_order_confirmation(sample_order(), sample_shop())),
]


def run_demo(out: TextIO, *, save_dir: Path | None = None, timeout: float = 10.0) -> int:
    """Run the demo, printing to *out*; return the number of messages lost (0 when all arrived).

    *timeout* is how long, in seconds, to wait for the captured copies.
    Raises :class:`~mimekit.errors.SMTPDeliveryError` or
    :class:`~mimekit.errors.ServerStartError` if the exchange itself fails, and
    ``OSError`` if *save_dir* cannot be written.
    """
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedServer() as server:
        print(f"Embedded SMTP server listening on {server.url}", file=out)
        sent: list[tuple[str, str]] = []  # (type, Message-ID) of every accepted message
        with SMTPSession(server.host, server.port, timeout=timeout) as session:
            for kind, build in DEMO_EMAILS:
                result = session.send(build())
                print(f"sent {kind}: {result.message_id} -> {', '.join(map(str, result.recipients))}", file=out)
                if result.accepted:
                    sent.append((kind, result.message_id or ""))
        try:
            server.inbox.wait_for(len(sent), timeout=timeout)
        except TimeoutError as exc:
            print(f"warning: {exc}", file=out)
        by_id = {str(c.message["Message-ID"]): c for c in server.inbox}
        captured = 0
        for number, (kind, message_id) in enumerate(sent, start=1):
            copy = by_id.get(message_id)
            if copy is None:
                print(f"\n[{number}] {kind}: NOT captured ({message_id})", file=out)
                continue
            captured += 1
            _print_captured(out, number, kind, copy)
            if save_dir is not None:
                path = save_dir / f"{number:02d}-{kind}.eml"
                path.write_bytes(copy.raw)
                print(f"saved the {len(copy.raw):,} bytes received to {path}", file=out)
    lost = len(sent) - captured
    print(f"\n{len(sent)} sent, {captured} captured, {lost} lost", file=out)
    return lost


def _print_captured(out: TextIO, number: int, kind: str, copy: CapturedMessage) -> None:
    msg = copy.message
    print(f"\n[{number}] {kind}: {copy.size:,} bytes received", file=out)
    print(f"  envelope  MAIL FROM:<{copy.mail_from}>  RCPT TO:{', '.join(f'<{r}>' for r in copy.rcpt_tos)}", file=out)
    for header in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID"):
        if msg[header] is not None:
            print(f"  {header + ':':<11} {msg[header]}", file=out)
    print("", file=out)
    for line in render_tree(msg).splitlines():
        print(f"  {line}", file=out)
