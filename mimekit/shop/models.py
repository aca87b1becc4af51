"""The shop as data: money, customers, products, orders, payments, shipments, carts, campaigns, account events.

Plain frozen dataclasses, checked when they are made so that a bad value fails
where it enters, not in the middle of an e-mail template:

* money is :class:`decimal.Decimal` with an ISO 4217 currency, never ``float``
  (``0.1 + 0.2 != 0.3`` is no way to run a till);
* a payment keeps the card brand and the last 4 digits only: a whole card
  number is refused. PCI DSS v4.0 requires a card number to be masked when
  shown (requirement 3.4.1) and strong cryptography whenever it is sent by
  end-user messaging such as e-mail (requirement 4.2.2); ordinary e-mail is
  not end-to-end encrypted and is copied to servers, phones and backups
  nobody controls, so a shop never puts a card number in one;
* prices include VAT, as Spanish consumer prices must: :attr:`Order.tax` is
  the VAT *contained in* the total, not added to it;
* addresses are validated (:func:`mimekit.headers.validate_address`), and so
  are locales, time zones, currencies and the links that go into headers.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import quote, urlencode, urlsplit

from babel.dates import get_timezone
from babel.numbers import format_currency, list_currencies

from ..errors import CardNumberError
from ..headers import check_header_value, validate_address

__all__ = [
    "SUPPORTED_LOCALES",
    "AccountCreated",
    "AccountDetailsUpdated",
    "Address",
    "Campaign",
    "CampaignText",
    "Cart",
    "CartItem",
    "Customer",
    "FieldChange",
    "LineItem",
    "Money",
    "Order",
    "PasswordChanged",
    "Payment",
    "Product",
    "Shipment",
    "ShipmentStatus",
    "Shop",
    "check_https_url",
]

_CENT = Decimal("0.01")

#: The locales the shop writes in; English is the templates' own language.
#: (Re-exported by :mod:`mimekit.shop.rendering`, which reads the catalogs.)
SUPPORTED_LOCALES = ("en_US", "es_ES")


def check_https_url(url: str, *, name: str) -> str:
    """Return *url* if it is an absolute https link fit for a header and an e-mail; else raise ``ValueError``.

    Parsed with :func:`urllib.parse.urlsplit`: the scheme must be ``https``,
    there must be a host, no ``#fragment`` (it would end up before the query a
    caller adds), and none of the characters that end a URL in a header or an
    HTML attribute: spaces, ``<``, ``>``, ``"`` (RFC 3986 appendix C, RFC 2369
    §2: angle brackets delimit the URL in ``List-Unsubscribe``). A query the
    URL already has is allowed. *name* names the setting in the message.

    >>> check_https_url("https://tienda.example.com/baja?origen=correo", name="unsubscribe_url")
    'https://tienda.example.com/baja?origen=correo'
    >>> check_https_url("https://tienda.example.com/baja#top", name="unsubscribe_url")
    Traceback (most recent call last):
    ...
    ValueError: unsubscribe_url='https://tienda.example.com/baja#top' has a #fragment; ...
    """
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a str such as 'https://tienda.example.com/baja', not {type(url).__name__}.")
    bad = sorted({char for char in url if char.isspace() or char in '<>"' or ord(char) < 32})
    if bad:
        raise ValueError(
            f"{name}={url!r} holds {', '.join(map(repr, bad))}: spaces, '<', '>' and '\"' end a URL in a "
            "header or an HTML attribute; %-encode them (urllib.parse.quote)."
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"{name}={url!r} is not a URL: {exc}.") from exc
    if parts.scheme != "https":
        raise ValueError(
            f"{name}={url!r}: use an https:// URL (RFC 8058 one-click unsubscribe needs https, and links in "
            "e-mail should use it)."
        )
    if not parts.hostname:
        raise ValueError(f"{name}={url!r} has no host; write it whole, e.g. 'https://tienda.example.com/baja'.")
    if parts.fragment or url.endswith("#"):
        raise ValueError(
            f"{name}={url!r} has a #fragment; leave it out: the query added to the link must come before any "
            "fragment, and a fragment is never sent to the server."
        )
    return url


_KNOWN_CURRENCIES = frozenset(list_currencies())  # the ISO 4217 codes in CLDR, current and historic


@dataclass(frozen=True)
class Money:
    """An amount in one currency: ``Money(Decimal("19.95"), "EUR")``.

    *amount* is a Decimal, an int, or a str such as ``"19.95"``; a ``float``
    raises ``TypeError`` (binary floats cannot hold 19.95 exactly).
    *currency* is an ISO 4217 code that CLDR knows (``"XYZ"`` raises
    ``ValueError``). Amounts add up only within one currency
    (``ValueError`` otherwise) and multiply by whole quantities.

    >>> Money("19.95") * 2 + Money("4.50")
    Money(amount=Decimal('44.40'), currency='EUR')
    >>> Money("1234.5").format("es_ES"), Money("1234.5").format("en_US")
    ('1.234,50\\xa0€', '€1,234.50')
    """

    amount: Decimal
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError(
                f"Money({self.amount!r}): floats cannot hold most decimal amounts exactly; "
                f"pass a str or Decimal, e.g. Money('{self.amount}')."
            )
        if isinstance(self.amount, bool) or not isinstance(self.amount, (Decimal, int, str)):
            raise TypeError(f"Money takes a Decimal, an int or a str such as '19.95', not {type(self.amount).__name__}.")
        if isinstance(self.amount, str) and "," in self.amount:
            raise ValueError(
                f"Money({self.amount!r}): write amounts with a dot and no thousands separator, "
                "e.g. Money('1234.56'); the comma of '1.234,56 €' is how es_ES shows it, not how Python reads it."
            )
        try:
            amount = Decimal(self.amount)
        except InvalidOperation as exc:
            raise ValueError(f"Money({self.amount!r}): not a number; write it like '19.95'.") from exc
        if not amount.is_finite():
            raise ValueError(f"Money({self.amount!r}): an amount must be a finite number.")
        object.__setattr__(self, "amount", amount)
        if not isinstance(self.currency, str) or not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency={self.currency!r} is not an ISO 4217 code such as 'EUR' or 'USD'.")
        if self.currency not in _KNOWN_CURRENCIES:
            raise ValueError(
                f"currency={self.currency!r} is not an ISO 4217 code that CLDR knows; use one such as 'EUR' or 'USD'."
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"Cannot add {other.currency} to {self.currency}: convert first.")
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            return NotImplemented
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    def rounded(self) -> Money:
        """Round to cents, half up, as shops and tax offices do."""
        return Money(self.amount.quantize(_CENT, rounding=ROUND_HALF_UP), self.currency)

    def format(self, locale: str) -> str:
        """Format for *locale* with Babel (CLDR): ``"1.234,50 €"`` in es_ES, ``"€1,234.50"`` in en_US."""
        return format_currency(self.amount, self.currency, locale=locale)


@dataclass(frozen=True)
class Address:
    """A postal address, printed line by line as the destination country writes it."""

    name: str
    street: str
    postal_code: str
    city: str
    country: str

    def lines(self) -> list[str]:
        """The address as lines for a label: name, street, ``postal_code city``, country."""
        return [self.name, self.street, f"{self.postal_code} {self.city}", self.country]


@dataclass(frozen=True)
class Customer:
    """Somebody who buys: a display name (any script), an e-mail address, a locale (``es_ES``, ``en_US``).

    *name* must not be blank. *locale* is one of :data:`SUPPORTED_LOCALES`,
    written with an underscore (``"es_ES"``, not ``"es-ES"``).
    *marketing_consent* is whether the customer opted in to marketing mail
    (newsletters, cart reminders); *unsubscribed* is whether they later used an
    unsubscribe link. Both must be real ``bool`` values: a ``"no"`` read from a
    CSV file is a non-empty string, which Python counts as true, so it raises
    ``TypeError`` instead of turning into consent. Marketing mail goes only to
    customers with consent who have not unsubscribed
    (:attr:`may_receive_marketing`); transactional mail (orders, shipping,
    account) goes to everyone.

    >>> Customer("José Núñez", "jose.nunez@example.com", "es_ES", marketing_consent="no")
    Traceback (most recent call last):
    ...
    TypeError: marketing_consent must be True or False, not str 'no': ...
    """

    name: str
    email: str
    locale: str = "es_ES"
    marketing_consent: bool = False
    unsubscribed: bool = False

    @property
    def marketing_refusal(self) -> str | None:
        """Why marketing mail may not be sent (``"unsubscribed"``, ``"no marketing consent"``), or None."""
        if self.unsubscribed:
            return "unsubscribed"
        if not self.marketing_consent:
            return "no marketing consent"
        return None

    @property
    def may_receive_marketing(self) -> bool:
        """True when marketing mail may be sent: consent given and not unsubscribed."""
        return self.marketing_refusal is None

    def __post_init__(self) -> None:
        for flag in ("marketing_consent", "unsubscribed"):
            value = getattr(self, flag)
            if not isinstance(value, bool):
                raise TypeError(
                    f"{flag} must be True or False, not {type(value).__name__} {value!r}: any non-empty "
                    "string (even 'no' or 'false' from a CSV file) is true in Python, and a consent must "
                    "never be guessed. Convert it first, e.g. value.strip().lower() in ('yes', 'true', '1')."
                )
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name={self.name!r}: a customer needs a name to be greeted by; it is blank.")
        check_header_value("To", self.name)
        validate_address(self.email, header="To")
        if self.locale not in SUPPORTED_LOCALES:
            hint = ""
            if isinstance(self.locale, str) and self.locale.replace("-", "_") in SUPPORTED_LOCALES:
                hint = f" Locales are written with an underscore: {self.locale.replace('-', '_')!r}."
            raise ValueError(
                f"locale={self.locale!r}: the shop writes e-mails in {', '.join(SUPPORTED_LOCALES)} only "
                f"(e.g. 'es_ES' for Spanish as written in Spain; 'es-ES' is written 'es_ES').{hint}"
            )


@dataclass(frozen=True)
class Shop:
    """The sender: name and From address, support address, postal address, web site, logo (PNG bytes).

    *email* is the From of transactional mail (orders, shipping, account).
    *marketing_email* is the From of marketing mail (newsletters, cart
    reminders); it defaults to ``novedades@<domain>``, so that complaints and
    filters aimed at marketing never hit the address that sends order
    confirmations. Replies to both go to *support_email* (Reply-To).
    *unsubscribe_email* receives ``mailto:`` unsubscribe requests (the second
    form of ``List-Unsubscribe``, RFC 2369); it defaults to
    ``unsubscribe@<domain>``. *signing_key* signs the tokens in unsubscribe
    links so nobody can unsubscribe somebody else by guessing a URL; keep a
    real one out of the code (an environment variable, a secrets store).
    *timezone* (IANA name such as ``"Europe/Madrid"``) is where e-mails show
    times of day; an unknown name raises ``ValueError``.
    """

    name: str
    email: str
    support_email: str
    postal_address: str
    base_url: str
    logo_png: bytes = field(repr=False, default=b"")
    unsubscribe_email: str = ""
    signing_key: bytes = field(repr=False, default=b"")
    timezone: str = "Europe/Madrid"
    marketing_email: str = ""

    def __post_init__(self) -> None:
        check_header_value("From", self.name)
        validate_address(self.email, header="From")
        validate_address(self.support_email, header="Reply-To")
        if not self.base_url.startswith("https://"):
            raise ValueError(f"base_url={self.base_url!r}: links in e-mail should use https://.")
        if not self.unsubscribe_email:
            object.__setattr__(self, "unsubscribe_email", f"unsubscribe@{self.domain}")
        validate_address(self.unsubscribe_email, header="List-Unsubscribe")
        if not self.marketing_email:
            object.__setattr__(self, "marketing_email", f"novedades@{self.domain}")
        validate_address(self.marketing_email, header="From")
        try:
            get_timezone(self.timezone)
        except (LookupError, ValueError, TypeError) as exc:
            raise ValueError(
                f"timezone={self.timezone!r} is not an IANA time zone name; use one such as 'Europe/Madrid' "
                "or 'America/New_York'."
            ) from exc

    def url(self, *segments: str, **query: str) -> str:
        """An absolute https link into the shop; each path segment and the query %-encoded (RFC 3986).

        A segment holding ``/``, ``?`` or ``&`` stays one segment, so data can
        never change which page a link opens.

        >>> shop = Shop("T", "a@example.com", "b@example.com", "", "https://tienda.example.com")
        >>> shop.url("orders", "A/1 2", t="x&y")
        'https://tienda.example.com/orders/A%2F1%202?t=x%26y'
        """
        path = "/".join(quote(segment, safe="") for segment in segments)
        link = f"{self.base_url.rstrip('/')}/{path}"
        return f"{link}?{urlencode(query)}" if query else link

    @property
    def domain(self) -> str:
        """The domain of the shop's From address, used for Message-IDs and Content-IDs."""
        return self.email.rpartition("@")[2]


@dataclass(frozen=True)
class LineItem:
    """One line of an order: a product (SKU and name) at a unit price, times a whole quantity ≥ 1."""

    sku: str
    name: str
    unit_price: Money
    quantity: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.unit_price, Money):
            raise TypeError(
                f"unit_price for {self.sku} must be Money, e.g. Money('19.95', 'EUR'), "
                f"not {type(self.unit_price).__name__}."
            )
        if not isinstance(self.quantity, int) or isinstance(self.quantity, bool) or self.quantity < 1:
            raise ValueError(f"quantity={self.quantity!r} for {self.sku}: a line needs a whole number ≥ 1.")

    @property
    def total(self) -> Money:
        """unit_price × quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Payment:
    """How an order was paid: card brand and the last 4 digits, nothing more.

    A whole card number raises :class:`~mimekit.errors.CardNumberError`:
    PCI DSS v4.0 requires it masked when shown (requirement 3.4.1) and strong
    cryptography if it is ever sent by end-user messaging (requirement 4.2.2).
    E-mail is not end-to-end encrypted, so it never carries one.

    >>> Payment("Visa", "4242").masked
    'Visa •••• 4242'
    >>> Payment("Visa", "4242 4242 4242 4242")
    Traceback (most recent call last):
    ...
    mimekit.errors.CardNumberError: That looks like a whole card number (16 digits). ...
    """

    brand: str
    last4: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "last4", str(self.last4))
        brand_digits = re.sub(r"\D", "", str(self.brand))
        if brand_digits:
            raise CardNumberError(
                f"The card brand holds {len(brand_digits)} digits; a brand is a name such as 'Visa' "
                "or 'Mastercard'. Did the card number go in the wrong field? Only the last 4 digits "
                "belong in an e-mail (PCI DSS v4.0: masked when shown, requirement 3.4.1; strong "
                "cryptography when sent by end-user messaging, requirement 4.2.2)."
            )
        digits = re.sub(r"\D", "", self.last4)  # any separator: spaces, dashes, dots …
        if len(digits) >= 12:
            raise CardNumberError(
                f"That looks like a whole card number ({len(digits)} digits). Pass only the last 4 "
                f"digits, Payment({self.brand!r}, {digits[-4:]!r}). PCI DSS v4.0 requires a card number "
                "to be masked when shown (requirement 3.4.1) and strong cryptography whenever it is sent "
                "by end-user messaging such as e-mail (requirement 4.2.2); ordinary e-mail is not "
                "end-to-end encrypted and is copied to many places, so a shop never puts a card number "
                "in one."
            )
        if not re.fullmatch(r"[0-9]{4}", self.last4):
            given = f"{len(digits)} digits" if len(digits) > 4 else repr(self.last4)  # never echo a long number
            raise ValueError(f"last4 got {given}: give exactly the last 4 digits of the card, e.g. '4242'.")

    @property
    def masked(self) -> str:
        """``"Visa •••• 4242"``: how the payment appears in e-mails."""
        return f"{self.brand} •••• {self.last4}"


@dataclass(frozen=True)
class Order:
    """A placed order. Subtotal, total and the VAT they contain are computed, never stored.

    Prices include VAT, as consumer prices in Spain (and the EU) must: the
    line prices and *shipping* are what the customer pays, and
    ``total = subtotal + shipping``. ``tax`` is the VAT *contained in* the
    total at *tax_rate* (e.g. ``Decimal("0.21")`` for Spain's IVA):
    ``total - total / (1 + tax_rate)``, rounded to cents half up. The e-mail
    shows it under the total ("IVA incluido"), never added to it.

    *shipping* must be :class:`Money` (``TypeError`` otherwise, before any
    other check); all amounts in one currency.

    >>> from mimekit.shop.sample import sample_order
    >>> o = sample_order()  # 63.30 of goods, 4.95 shipping, IVA 21 %
    >>> o.subtotal.amount, o.shipping.amount, o.total.amount, o.tax.amount
    (Decimal('63.30'), Decimal('4.95'), Decimal('68.25'), Decimal('11.85'))
    """

    number: str
    customer: Customer
    items: tuple[LineItem, ...]
    shipping_address: Address
    payment: Payment
    placed_at: _dt.datetime
    shipping: Money = Money("0")
    tax_rate: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        if not isinstance(self.shipping, Money):
            raise TypeError(
                f"shipping must be Money, e.g. Money('4.95'), not {type(self.shipping).__name__} "
                f"{self.shipping!r}."
            )
        object.__setattr__(self, "items", tuple(self.items))
        if not self.items:
            raise ValueError(f"Order {self.number} has no items.")
        currencies = {item.unit_price.currency for item in self.items} | {self.shipping.currency}
        if len(currencies) != 1:
            raise ValueError(f"Order {self.number} mixes currencies {sorted(currencies)}.")
        if self.placed_at.tzinfo is None:
            raise ValueError("placed_at must be timezone-aware, e.g. datetime(..., tzinfo=timezone.utc).")
        if not isinstance(self.tax_rate, Decimal):
            raise TypeError(f"tax_rate must be a Decimal such as Decimal('0.21'), not {type(self.tax_rate).__name__}.")
        if not Decimal(0) <= self.tax_rate < Decimal(1):
            raise ValueError(
                f"tax_rate={self.tax_rate}: give the rate as a fraction, Decimal('0.21') for 21 %."
            )

    @property
    def currency(self) -> str:
        """The ISO 4217 code every amount of the order is in."""
        return self.shipping.currency

    @property
    def subtotal(self) -> Money:
        """The sum of the line totals, VAT included."""
        return sum((item.total for item in self.items), Money("0", self.currency))

    @property
    def total(self) -> Money:
        """What the customer pays: subtotal + shipping, VAT included (nothing is added on top)."""
        return self.subtotal + self.shipping

    @property
    def tax(self) -> Money:
        """The VAT contained in :attr:`total`: ``total - total / (1 + tax_rate)``, rounded half up to cents."""
        total = self.total.amount
        return Money(total - total / (1 + self.tax_rate), self.currency).rounded()


@dataclass(frozen=True)
class Product:
    """Something the shop sells: SKU, name, current price, a product photo (PNG bytes) and its page."""

    sku: str
    name: str
    price: Money
    image_png: bytes = field(repr=False, default=b"")
    path: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.price, Money):
            raise TypeError(f"price for {self.sku} must be Money, e.g. Money('19.95'), not {type(self.price).__name__}.")


class ShipmentStatus(str, enum.Enum):
    """Where a parcel is, in the carrier's usual steps."""

    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class Shipment:
    """A parcel on its way: which order, which items, which carrier and tracking number.

    *previously_shipped* lists what earlier parcels of the same order held,
    so :attr:`completes_order` can tell the last parcel from a partial one.
    *tracking_url_template* is the carrier's https tracking page with a
    ``{number}`` placeholder; :attr:`tracking_url` fills it with the tracking
    number %-encoded, so a number holding ``&``, ``/`` or spaces cannot change
    the link's meaning.

    *items* (and *previously_shipped*) must be items of *order*, matched by
    SKU. *estimated_delivery* is a calendar day, a :class:`datetime.date`
    (not a ``datetime``: ``TypeError``), not before the day it shipped,
    ``shipped_at.date()`` (``ValueError``).
    """

    order: Order
    items: tuple[LineItem, ...]
    carrier: str
    tracking_number: str
    tracking_url_template: str
    status: ShipmentStatus
    shipped_at: _dt.datetime
    estimated_delivery: _dt.date
    previously_shipped: tuple[LineItem, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "previously_shipped", tuple(self.previously_shipped))
        object.__setattr__(self, "status", ShipmentStatus(self.status))
        if not self.tracking_number.strip():
            raise ValueError("tracking_number is empty: the carrier's tracking link needs it.")
        if "\r" in self.tracking_number or "\n" in self.tracking_number:
            raise ValueError(f"tracking_number {self.tracking_number!r} holds a line break; give the number alone.")
        if not self.items:
            raise ValueError(f"Shipment {self.tracking_number!r} holds no items.")
        if not self.tracking_url_template.startswith("https://") or "{number}" not in self.tracking_url_template:
            raise ValueError(
                f"tracking_url_template={self.tracking_url_template!r}: give the carrier's https URL "
                "with a {number} placeholder, e.g. 'https://envios.example.net/seguimiento?n={number}'."
            )
        if self.shipped_at.tzinfo is None:
            raise ValueError("shipped_at must be timezone-aware.")
        if isinstance(self.estimated_delivery, _dt.datetime) or not isinstance(self.estimated_delivery, _dt.date):
            raise TypeError(
                f"estimated_delivery must be a date, e.g. date(2026, 11, 6), not "
                f"{type(self.estimated_delivery).__name__}: a carrier promises a day, not a moment."
            )
        if self.estimated_delivery < self.shipped_at.date():
            raise ValueError(
                f"estimated_delivery {self.estimated_delivery.isoformat()} is before the parcel shipped "
                f"({self.shipped_at.date().isoformat()})."
            )
        ordered = {item.sku for item in self.order.items}
        for name in ("items", "previously_shipped"):
            strangers = sorted({item.sku for item in getattr(self, name)} - ordered)
            if strangers:
                raise ValueError(
                    f"Shipment {self.tracking_number!r}: {name} holds {', '.join(strangers)}, which order "
                    f"{self.order.number} does not have (it has {', '.join(sorted(ordered))})."
                )

    @property
    def completes_order(self) -> bool:
        """True when this parcel, with those shipped before it, holds every item ordered (by SKU and quantity)."""
        shipped: dict[str, int] = {}
        for item in (*self.previously_shipped, *self.items):
            shipped[item.sku] = shipped.get(item.sku, 0) + item.quantity
        ordered: dict[str, int] = {}
        for item in self.order.items:
            ordered[item.sku] = ordered.get(item.sku, 0) + item.quantity
        return all(shipped.get(sku, 0) >= quantity for sku, quantity in ordered.items())

    @property
    def tracking_url(self) -> str:
        """The tracking link, the number %-encoded (RFC 3986 §2.1)."""
        return self.tracking_url_template.replace("{number}", quote(self.tracking_number, safe=""))


@dataclass(frozen=True)
class CartItem:
    """A product in a cart, and how many."""

    product: Product
    quantity: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, int) or isinstance(self.quantity, bool) or self.quantity < 1:
            raise ValueError(f"quantity={self.quantity!r} for {self.product.sku}: a whole number ≥ 1.")

    @property
    def total(self) -> Money:
        return self.product.price * self.quantity


@dataclass(frozen=True)
class Cart:
    """A shopping cart: whose, what, when it last changed, and whether it was bought or already reminded.

    *token* identifies the cart in the resume-checkout link; it must be random
    and unguessable (``secrets.token_urlsafe()``), since the link restores the
    cart without a password: at least 8 characters, only letters, digits,
    ``-`` and ``_`` (what ``token_urlsafe`` makes), so it travels in a URL
    as it is. Treat it like a password: it belongs in that link and nowhere
    else (not in a header, not in a Content-ID, not in a log).
    *reminded_at*, when given, is timezone-aware; all items are priced in
    one currency.
    """

    token: str
    customer: Customer
    items: tuple[CartItem, ...]
    updated_at: _dt.datetime
    purchased: bool = False
    reminded_at: _dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if not isinstance(self.token, str) or not re.fullmatch(r"[A-Za-z0-9_-]{8,}", self.token):
            shown = f"{len(self.token)} characters" if isinstance(self.token, str) else type(self.token).__name__
            raise ValueError(
                f"Cart token ({shown}) must be at least 8 characters of letters, digits, '-' and '_'; "
                "make it with secrets.token_urlsafe(), since it opens the cart without a password."
            )
        _require_aware(self.updated_at, "updated_at")
        if self.reminded_at is not None:
            _require_aware(self.reminded_at, "reminded_at")
        currencies = {item.product.price.currency for item in self.items}
        if len(currencies) > 1:
            raise ValueError(f"The cart mixes currencies {sorted(currencies)}; a cart is priced in one.")

    @property
    def subtotal(self) -> Money:
        currency = self.items[0].product.price.currency if self.items else "EUR"
        return sum((item.total for item in self.items), Money("0", currency))


@dataclass(frozen=True)
class CampaignText:
    """What a campaign says in one language: subject, preheader, and the introduction paragraph.

    The preheader is the short text mail clients show after the subject in
    the message list; it is the second line of the subject, so write it.
    """

    subject: str
    preheader: str
    intro: str

    def __post_init__(self) -> None:
        check_header_value("Subject", self.subject)


@dataclass(frozen=True)
class Campaign:
    """A marketing e-mail sent to many customers, in each customer's language.

    *slug* names this campaign (``otono-2026``): the progress bar, the
    Content-IDs of its images. *list_id* names the mailing list it goes to
    (default ``"boletin"``, an ASCII slug), which stays the same from one
    campaign to the next: the unsubscribe link carries ``lista=<list_id>``
    and a token signed for that list, and the message a ``List-Id`` header
    (RFC 2919), so unsubscribing from one campaign leaves the list.
    *texts* holds a :class:`CampaignText` per locale, keys from
    :data:`SUPPORTED_LOCALES` (``{"es_ES": …, "en_US": …}``); *featured* the
    products shown. *unsubscribe_url* is the https page that takes one-click
    unsubscribe requests (RFC 8058), checked by :func:`check_https_url`; each
    recipient's link adds ``lista`` and their own signed token to its query.
    """

    slug: str
    texts: Mapping[str, CampaignText]
    featured: tuple[Product, ...]
    unsubscribe_url: str
    list_id: str = "boletin"

    def __post_init__(self) -> None:
        object.__setattr__(self, "featured", tuple(self.featured))
        object.__setattr__(self, "texts", dict(self.texts))
        if not re.fullmatch(r"[a-z0-9-]+", self.slug):
            raise ValueError(f"slug={self.slug!r}: use lowercase ASCII letters, digits and '-'.")
        if not isinstance(self.list_id, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.list_id):
            raise ValueError(
                f"list_id={self.list_id!r}: use lowercase ASCII letters, digits and single '-' inside, "
                "e.g. 'boletin'; it goes into the List-Id header (RFC 2919) and the unsubscribe link."
            )
        if not self.texts:
            raise ValueError(f"Campaign {self.slug!r} has no texts; give one CampaignText per locale.")
        for locale, text in self.texts.items():
            if locale not in SUPPORTED_LOCALES:
                raise ValueError(
                    f"Campaign {self.slug!r} has a text for {locale!r}, which is not a locale the shop writes "
                    f"in; use keys from {', '.join(SUPPORTED_LOCALES)} ('es-ES' is written 'es_ES')."
                )
            if not isinstance(text, CampaignText):
                raise TypeError(f"texts[{locale!r}] must be a CampaignText, not {type(text).__name__}.")
        check_https_url(self.unsubscribe_url, name="unsubscribe_url")

    def text_for(self, locale: str) -> CampaignText:
        """The campaign's text in *locale*; ``KeyError`` naming the locales it has when missing."""
        try:
            return self.texts[locale]
        except KeyError:
            raise KeyError(
                f"Campaign {self.slug!r} has no text for {locale!r}; it has {sorted(self.texts)}."
            ) from None


@dataclass(frozen=True)
class AccountCreated:
    """A new account was opened."""

    customer: Customer
    created_at: _dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.created_at, "created_at")


@dataclass(frozen=True)
class PasswordChanged:
    """The account's password was changed: when, and from which device (never the password itself)."""

    customer: Customer
    changed_at: _dt.datetime
    device: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.changed_at, "changed_at")


_ALWAYS_SENSITIVE = frozenset({"email", "emailaddress", "phone", "phonenumber", "telephone", "mobile", "mobilephone"})


@dataclass(frozen=True)
class FieldChange:
    """One changed account field, old and new value as text. *sensitive* values are shown masked in e-mails.

    A field named like an e-mail address or a phone number (``"email"``,
    ``"e-mail"``, ``"phone"``, ``"telephone"``, ``"mobile"``, case ignored)
    is always sensitive, whatever *sensitive* says: forgetting the flag must
    not put an address in clear into a security notice. *old* and *new* must
    be ``str`` (``""`` for none): ``TypeError`` otherwise.

    >>> FieldChange("E-Mail", "a@example.org", "b@example.org").sensitive
    True
    """

    field: str
    old: str
    new: str
    sensitive: bool = False

    def __post_init__(self) -> None:
        for name in ("field", "old", "new"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(
                    f"FieldChange.{name} must be a str ('' when there is none), not {type(value).__name__}."
                )
        if re.sub(r"[\s_-]+", "", self.field.lower()) in _ALWAYS_SENSITIVE:
            object.__setattr__(self, "sensitive", True)


@dataclass(frozen=True)
class AccountDetailsUpdated:
    """Account details changed: which fields, from what to what."""

    customer: Customer
    updated_at: _dt.datetime
    changes: tuple[FieldChange, ...]

    def __post_init__(self) -> None:
        _require_aware(self.updated_at, "updated_at")
        object.__setattr__(self, "changes", tuple(self.changes))
        if not self.changes:
            raise ValueError("AccountDetailsUpdated needs at least one FieldChange.")


def _require_aware(moment: _dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, e.g. datetime(..., tzinfo=timezone.utc): a naive time means "
            "a different moment on every machine."
        )
