"""The shipping notification: a parcel of an order has left, is on its way, or has arrived.

The tree it builds (see :func:`~mimekit.shop.compose.compose`)::

    multipart/alternative
    ├── text/plain                    status, carrier, tracking number and link, items, order link
    └── multipart/related; type="text/html"
        ├── text/html                 the same, with a "Track your package" button, logo at the top
        └── image/png                 the logo: inline, Content-ID <logo.shipment-TRACKING.UNIQUE@shop-domain>

The tracking link comes from :attr:`~mimekit.shop.models.Shipment.tracking_url`,
which %-encodes the tracking number (RFC 3986 §2.1): a number such as
``MR 2026/11-0042`` becomes ``MR%202026%2F11-0042`` and cannot add a path
segment or a query parameter to the carrier's URL. In the HTML the whole link
is then HTML-escaped inside ``href="…"`` (``&`` → ``&amp;``), as every
attribute value must be.

A transactional e-mail: no List-Unsubscribe, it is not marketing.
"""

from __future__ import annotations

import datetime as _dt
from email.mime.multipart import MIMEMultipart

from .compose import compose
from .models import Shipment, Shop

__all__ = ["build_shipping_notification"]


def build_shipping_notification(
    shipment: Shipment,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the e-mail telling the customer where the parcel *shipment* is, ready to send.

    Templates ``shipping_notification/subject.txt``, ``body.txt`` and
    ``body.html``, in the language of ``shipment.order.customer``. The e-mail
    shows the status (``shipped``, ``in transit``, ``out for delivery``,
    ``delivered``, translated), the carrier, the tracking number, the tracking
    link, the estimated delivery date (not once delivered), the items in this
    parcel (name × quantity; a note when the rest of the order follows in
    another parcel), and a link to the order, ``<base_url>/orders/<number>``.

    The subject reads "Your order 1001 is on its way" (Spanish: "Tu pedido 1001
    está en camino"), or "Your order 1001 has been delivered" ("Tu pedido 1001
    se ha entregado") when the status is ``DELIVERED``. When this parcel does
    not complete the order (:attr:`~mimekit.shop.models.Shipment.completes_order`
    is false), subject, heading and first sentence speak of part of the order:
    "Part of your order 1001 is on its way" ("Parte de tu pedido 1001 está en
    camino"), "Part of your order 1001 has been delivered" ("Parte de tu pedido
    1001 se ha entregado"). Dates in sentences are long ("6 de noviembre de
    2026"), in the table medium ("6 nov 2026").

    Customer-, product- and carrier-controlled text is HTML-escaped; the
    tracking number is %-encoded in the link (RFC 3986 §2.1). The logo's
    Content-ID is ``<logo.shipment-<number>.UNIQUE@<shop domain>>``, the tracking
    number reduced to letters, digits and ``-`` (RFC 2392, RFC 2045 §7).

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers;
    by default Date is now and the Message-ID fresh (RFC 5322 §3.6.4).

    Returns the ``multipart/alternative`` message (RFC 2046 §5.1.4) with the
    HTML and the logo in ``multipart/related`` (RFC 2387). Transactional: no
    ``List-Unsubscribe`` header.

    Raises :class:`~mimekit.errors.MimeStructureError` if the shop has no
    logo, ``ValueError`` when the customer's locale is not one the shop writes.

    >>> from mimekit.shop import sample_shipment, sample_shop
    >>> msg = build_shipping_notification(sample_shipment(), sample_shop())  # the first of two parcels
    >>> str(msg["Subject"])
    'Parte de tu pedido 1001 está en camino'
    """
    order = shipment.order
    return compose(
        "shipping_notification",
        shop,
        order.customer,
        {
            "shipment": shipment,
            "order": order,
            "order_url": shop.url("orders", order.number),
            "tracking_url": shipment.tracking_url,
            "status": shipment.status.value,
            "delivered": shipment.status.value == "delivered",
            "partial": not shipment.completes_order,
        },
        scope=f"shipment-{shipment.tracking_number}",
        date=date,
        message_id=message_id,
    )
