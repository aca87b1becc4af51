"""The abandoned-cart reminder: one e-mail, once, to a customer who left a full cart behind.

Two steps, kept apart so each can be read and tested alone:

* :func:`carts_to_remind` is the *rule*: which carts get a reminder now;
* :func:`build_cart_reminder` is the *e-mail* for one of them.

The tree it builds (see :func:`~mimekit.shop.compose.compose`)::

    multipart/alternative
    ├── text/plain                    the cart as a list, the link to resume checkout
    └── multipart/related; type="text/html"
        ├── text/html                 the cart as a table with a photo per product
        ├── image/png                 the logo: inline, Content-ID <logo.cart-reminder.UNIQUE@shop-domain>
        └── image/png …               one photo per product: Content-ID <SKU.cart-reminder.UNIQUE@shop-domain>

The cart's token is not in any Content-ID, nor in any other header: it opens
the cart without a password, so it belongs in the resume link of the body and
nowhere that servers, filters and logs copy as a matter of course.

A cart reminder is *marketing*, not transactional: it tries to sell, it does
not report on something the customer did. So it goes only to customers who
agreed to marketing mail, comes From the shop's marketing address, names its
list (``List-Id``, RFC 2919), and carries a visible unsubscribe link and the
``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers (RFC 2369, RFC 8058)::

    From: Tienda Ñandú <novedades@tienda.example.com>
    List-Id: <recordatorios-carrito.tienda.example.com>
    List-Unsubscribe: <https://tienda.example.com/baja?lista=recordatorios-carrito&t=5f0c…>,
     <mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20recordatorios-carrito>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from email.mime.multipart import MIMEMultipart

from .compose import InlineImage, compose, unsubscribe_token
from .models import Cart, Shop

__all__ = ["CART_REMINDER_LIST", "build_cart_reminder", "carts_to_remind"]

#: The list of cart reminders: in unsubscribe links and tokens (``?lista=recordatorios-carrito``) and List-Id.
CART_REMINDER_LIST = "recordatorios-carrito"


def carts_to_remind(
    carts: Iterable[Cart],
    now: _dt.datetime,
    *,
    abandoned_for: _dt.timedelta = _dt.timedelta(hours=24),
) -> list[Cart]:
    """Return the carts that should get a reminder at *now*, in the order given.

    A cart is reminded when all of these hold, each for a reason:

    * ``now - cart.updated_at >= abandoned_for``: it has been left alone at
      least that long (default 24 hours). Exactly at the threshold counts: a
      cart updated at 09:00 is due at 09:00 the next day, not a second later.
      Sooner, the customer may simply still be shopping.
    * it was not purchased: reminding somebody to buy what they bought is
      noise, and makes them distrust the shop's other mail.
    * ``reminded_at is None``: one reminder only. A second and third one turn a
      helpful nudge into pestering, and raise spam complaints.
    * it has items: an empty cart has nothing to remind of.
    * the customer :attr:`~mimekit.shop.models.Customer.may_receive_marketing`:
      a cart reminder is marketing (it promotes a sale the customer did not
      complete), so in the EU it needs prior consent (ePrivacy Directive
      art. 13(1); in Spain, LSSI art. 21.1), and an unsubscribe is final. The
      law has one exception, the "soft opt-in": a shop may write to its
      existing customers about its own similar products, if they were given a
      clear way to refuse when it collected the address and are given one in
      every message (ePrivacy Directive art. 13(2); in Spain, LSSI art. 21.2).
      The kit asks for explicit consent anyway, because it is the safe
      default.

    *carts* is any iterable of :class:`~mimekit.shop.models.Cart`; *now* and
    the carts' ``updated_at`` must be timezone-aware (comparing them across
    time zones is then correct). *abandoned_for* is a positive
    :class:`~datetime.timedelta` (``TypeError`` for anything else, such as
    a number of hours; ``ValueError`` for zero or less).

    Deciding is all it does: after sending, record the reminder
    (``dataclasses.replace(cart, reminded_at=now)``) so the next run skips it.

    Raises ``ValueError`` when *now* is naive (no ``tzinfo``).

    >>> from mimekit.shop.sample import NOW, sample_carts
    >>> [cart.customer.name for cart in carts_to_remind(sample_carts(), NOW)]
    ['Zoë Anderson']
    """
    if not isinstance(abandoned_for, _dt.timedelta):
        raise TypeError(
            f"abandoned_for={abandoned_for!r}: give a timedelta, e.g. timedelta(hours=24), not "
            f"{type(abandoned_for).__name__} (hours? seconds? a timedelta says)."
        )
    if abandoned_for <= _dt.timedelta(0):
        raise ValueError(f"abandoned_for={abandoned_for!r}: a cart is abandoned after a positive time, e.g. 24 hours.")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(
            f"now={now!r} is naive: pass a timezone-aware datetime, e.g. datetime.now(timezone.utc); "
            "the carts' updated_at are aware, and a naive time cannot be compared with them."
        )
    return [
        cart
        for cart in carts
        if now - cart.updated_at >= abandoned_for
        and not cart.purchased
        and cart.reminded_at is None
        and cart.items
        and cart.customer.may_receive_marketing
    ]


def build_cart_reminder(
    cart: Cart,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the reminder for *cart* from *shop*, ready to send to the cart's customer.

    Templates ``cart_reminder/subject.txt``, ``body.txt`` and ``body.html``, in
    the customer's language. Every item shows with its quantity, current unit
    price and line total, and the cart's subtotal; in the HTML each product
    has its photo, an inline image with Content-ID
    ``<SKU.cart-reminder.UNIQUE@shop-domain>`` (see
    :func:`~mimekit.shop.compose.compose`: UNIQUE comes from the Message-ID,
    RFC 2045 §7) and file name ``SKU.png``. The cart token is in no header. The photos of a
    product in the cart twice are attached once. A product without a photo is
    listed without one.

    The button "Return to your cart" links to ``<base_url>/carrito?t=TOKEN``:
    it restores the cart without a password, which is why the token appears
    there and nowhere else in the message.

    The e-mail is marketing, so it comes From ``shop.marketing_email``, has
    ``List-Id: <recordatorios-carrito.shop-domain>`` (RFC 2919) and the
    unsubscribe link
    ``<base_url>/baja?lista=recordatorios-carrito&t=SIGNATURE``: *SIGNATURE* is
    :func:`~mimekit.shop.compose.unsubscribe_token` for this customer, different for each
    customer and never the address itself. The page finds the customer whose
    token matches (the tokens are deterministic, so the shop can index them).

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers.

    Whether the cart is due (time, purchased, already reminded) is
    :func:`carts_to_remind`'s decision; building does not check it again.

    Raises ``ValueError`` when the customer may not receive marketing mail (no
    consent, or unsubscribed) or the cart is empty;
    :class:`~mimekit.errors.MimeStructureError` if the shop has no logo.

    >>> from mimekit import render_tree
    >>> from mimekit.shop.sample import sample_cart, sample_shop
    >>> msg = build_cart_reminder(sample_cart(), sample_shop(), message_id="<cart-1@tienda.example.com>")
    >>> print(render_tree(msg))
    multipart/alternative
    ├── text/plain · charset=utf-8 · quoted-printable · ... bytes
    └── multipart/related · type=text/html
        ├── text/html · charset=utf-8 · quoted-printable · ... bytes
        ├── image/png · base64 · inline · filename="logo.png" · cid=<logo.cart-reminder.867bb7bbdf@tienda.example.com> · ...
        ├── image/png · base64 · inline · filename="BUF-LAN-02.png" · cid=<BUF-LAN-02.cart-reminder.867bb7bbdf@tienda.example.com> · ...
        └── image/png · base64 · inline · filename="TAZ-CER-01.png" · cid=<TAZ-CER-01.cart-reminder.867bb7bbdf@tienda.example.com> · ...
    >>> msg["List-Id"]
    '<recordatorios-carrito.tienda.example.com>'
    >>> msg["List-Unsubscribe-Post"]
    'List-Unsubscribe=One-Click'
    """
    customer = cart.customer
    refusal = customer.marketing_refusal
    if refusal == "unsubscribed":
        raise ValueError(
            f"Not building a cart reminder for {customer.email}: the customer unsubscribed from marketing "
            "mail, and a cart reminder is marketing. An unsubscribe must be honoured (RFC 8058; Gmail and "
            "Yahoo require it within 2 days). Filter carts with carts_to_remind() first."
        )
    if refusal == "no marketing consent":
        raise ValueError(
            f"Not building a cart reminder for {customer.email}: the customer did not agree to marketing "
            "mail, and a cart reminder is marketing: this kit sends marketing only with explicit consent, "
            "the safe default (ePrivacy Directive art. 13; LSSI art. 21 in Spain). Filter carts with "
            "carts_to_remind() first."
        )
    if not cart.items:
        raise ValueError(f"Cart {cart.token!r} is empty: there is nothing to remind {customer.email} of.")

    images = [InlineImage(i.product.sku, i.product.image_png, f"{i.product.sku}.png") for i in cart.items if i.product.image_png]

    return compose(
        "cart_reminder",
        shop,
        customer,
        {
            "cart": cart,
            "resume_url": shop.url("carrito", t=cart.token),
        },
        scope="cart-reminder",  # never the token: Content-IDs are headers, and the token opens the cart
        images=images,
        unsubscribe_url=shop.url(
            "baja", lista=CART_REMINDER_LIST, t=unsubscribe_token(shop, customer, CART_REMINDER_LIST)
        ),
        list_id=CART_REMINDER_LIST,
        date=date,
        message_id=message_id,
    )

