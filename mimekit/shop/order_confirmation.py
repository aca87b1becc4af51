"""The order confirmation: the first e-mail a customer gets from the shop.

The tree it builds (see :func:`~mimekit.shop.compose.compose`)::

    multipart/alternative
    ├── text/plain                    the order written for reading in any client
    └── multipart/related; type="text/html"
        ├── text/html                 the same order as a table, logo at the top
        └── image/png                 the logo: inline, Content-ID <logo.order-N.UNIQUE@shop-domain>

A transactional e-mail: no List-Unsubscribe, it is not marketing.
"""

from __future__ import annotations

import datetime as _dt
from email.mime.multipart import MIMEMultipart

from .compose import compose
from .models import Order, Shop

__all__ = ["build_order_confirmation"]


def build_order_confirmation(
    order: Order,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the order confirmation for *order* from *shop*, ready to send.

    Templates ``order_confirmation/subject.txt``, ``body.txt`` and
    ``body.html``, in the customer's language; customer- and product-controlled
    text is HTML-escaped (a product named ``<b>Tom & Jerry</b>`` shows
    literally). Amounts and dates follow the customer's locale (Babel). The
    order link is ``<base_url>/orders/<number>``, the number %-encoded.

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers,
    e.g. for a lesson whose output must not change; by default Date is now and
    the Message-ID is fresh, on the shop's domain (RFC 5322 §3.6.4).

    Raises :class:`~mimekit.errors.MimeStructureError` if the shop has no logo.
    """
    return compose(
        "order_confirmation",
        shop,
        order.customer,
        {"order": order, "order_url": shop.url("orders", order.number)},
        scope=f"order-{order.number}",
        date=date,
        message_id=message_id,
    )

