"""The order confirmation: the first e-mail a customer gets from the shop.

The tree it builds::

    multipart/alternative
    ├── text/plain                    the order written for reading in any client
    └── multipart/related; type="text/html"
        ├── text/html                 the same order as a table, logo at the top
        └── image/png                 the logo: inline, Content-ID <logo.order-N@shop-domain>

Headers: From the shop, To the customer (non-ASCII display name encoded per
RFC 2047), Reply-To the support address, Subject, Date, Message-ID. A
transactional e-mail: no List-Unsubscribe, it is not marketing.
"""

from __future__ import annotations

import datetime as _dt
import re
from email.mime.multipart import MIMEMultipart
from urllib.parse import quote

from ..errors import MimeStructureError
from ..headers import add_date_and_message_id, set_header
from ..multipart import add_inline_image, cid_url, make_alternative
from .models import Order, Shop
from .rendering import render_template

__all__ = ["build_order_confirmation", "order_confirmation_subject"]


def order_confirmation_subject(order: Order) -> str:
    """The Subject line: ``"Your order 1001 is confirmed"``."""
    return f"Your order {order.number} is confirmed"


def build_order_confirmation(
    order: Order,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the order confirmation for *order* from *shop*, ready to send.

    Both bodies come from the package templates ``order_confirmation.txt``
    and ``order_confirmation.html``; customer- and product-controlled text is
    HTML-escaped in the HTML (a product named ``<b>Tom & Jerry</b>`` shows
    literally). Amounts and dates follow the customer's locale (Babel). The
    shop logo travels inline in multipart/related and the HTML refers to it
    with a ``cid:`` URL (RFC 2387, RFC 2392).

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers,
    e.g. for a lesson whose output must not change; by default Date is now and
    the Message-ID is fresh, on the shop's domain (RFC 5322 §3.6.4).

    Raises :class:`~mimekit.errors.MimeStructureError` if the shop has no logo.
    """
    locale = order.customer.locale
    subject = order_confirmation_subject(order)
    safe_number = re.sub(r"[^A-Za-z0-9.-]+", "-", order.number)  # Content-IDs allow no spaces or slashes
    logo_cid = f"<logo.order-{safe_number}@{shop.domain}>"
    context = {
        "shop": shop,
        "order": order,
        "locale": locale,
        "subject": subject,
        "logo_url": cid_url(logo_cid),
        "order_url": f"{shop.base_url.rstrip('/')}/orders/{quote(order.number, safe='')}",
    }
    msg = make_alternative(
        render_template("order_confirmation.txt", **context),
        render_template("order_confirmation.html", **context),
    )
    if not shop.logo_png:
        raise MimeStructureError(f"Shop {shop.name!r} has no logo_png; the HTML refers to it by Content-ID.")
    add_inline_image(msg, shop.logo_png, cid=logo_cid, filename="logo.png")
    set_header(msg, "From", (shop.name, shop.email))
    set_header(msg, "To", (order.customer.name, order.customer.email))
    set_header(msg, "Reply-To", (shop.name, shop.support_email))
    set_header(msg, "Subject", subject)
    add_date_and_message_id(msg, date=date, message_id=message_id)
    return msg
