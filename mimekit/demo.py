"""The headless demo: every shop e-mail sent to the embedded server, captured, and shown.

What ``python -m mimekit demo`` does, step by step:

1. start an :class:`~mimekit.server.EmbeddedServer` on 127.0.0.1 and a free port;
2. build each e-mail the shop sends from the sample data (:func:`demo_emails`),
   for customers who read Spanish and English;
3. send them over one :class:`~mimekit.sending.SMTPSession`, the newsletter with
   :func:`~mimekit.shop.newsletter.send_newsletter` to three customers, one of
   whom unsubscribed (skipped and reported);
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

from .sending import SMTPSession
from .server import CapturedMessage, EmbeddedServer
from .shop import (
    build_order_confirmation,
    sample_account_created,
    sample_account_details_updated,
    sample_campaign,
    sample_cart,
    sample_customers,
    sample_order,
    sample_password_changed,
    sample_shipment,
    sample_shop,
)
from .shop.account_notifications import build_account_created, build_account_details_updated, build_password_changed
from .shop.cart_reminder import build_cart_reminder
from .shop.newsletter import send_newsletter
from .shop.shipping_notification import build_shipping_notification
from .tree import render_tree

__all__ = ["demo_emails", "run_demo"]


def demo_emails() -> list[tuple[str, Callable[[], Message]]]:
    """The one-recipient e-mails of the demo, in order: a short type name (for file names) and a builder."""
    shop = sample_shop()
    return [
        ("order-confirmation", lambda: build_order_confirmation(sample_order(), shop)),
        ("shipping-notification", lambda: build_shipping_notification(sample_shipment(), shop)),
        ("cart-reminder", lambda: build_cart_reminder(sample_cart(), shop)),
        ("account-created", lambda: build_account_created(sample_account_created(), shop)),
        ("password-changed", lambda: build_password_changed(sample_password_changed(), shop)),
        ("account-details-updated", lambda: build_account_details_updated(sample_account_details_updated(), shop)),
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
            for kind, build in demo_emails():
                result = session.send(build())
                print(f"sent {kind}: {result.message_id} -> {', '.join(map(str, result.recipients))}", file=out)
                if result.accepted:
                    sent.append((kind, result.message_id or ""))
            report = send_newsletter(sample_campaign(), sample_customers()[:3], sample_shop(), session, progress=False)
            for result in report.sent:
                print(f"sent newsletter: {result.message_id} -> {', '.join(map(str, result.recipients))}", file=out)
                if result.accepted:
                    sent.append(("newsletter", result.message_id or ""))
            print(f"newsletter: {report}", file=out)
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
    for header in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"):
        if msg[header] is not None:
            print(f"  {header + ':':<22} {str(msg[header]).strip()}", file=out)
    print("", file=out)
    for line in render_tree(msg).splitlines():
        print(f"  {line}", file=out)
