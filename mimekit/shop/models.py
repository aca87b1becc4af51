"""The shop as data: money, customers, products, orders, payments, shipments, carts, campaigns, account events.

Plain frozen dataclasses, checked when they are made so that a bad value fails
where it enters, not in the middle of an e-mail template:

* money is :class:`decimal.Decimal` with an ISO 4217 currency, never ``float``
  (``0.1 + 0.2 != 0.3`` is no way to run a till);
* a payment keeps the card brand and the last 4 digits only: a whole card
  number is refused (PCI DSS v4.0 requirements 3.4.1 and 4.2.2), because an
  e-mail is copied to servers, phones and backups nobody controls;
* addresses are validated (:func:`mimekit.headers.validate_address`).
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

from ..errors import CardNumberError
from ..headers import check_header_value, validate_address

__all__ = [
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
]

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Money:
    """An amount in one currency: ``Money(Decimal("19.95"), "EUR")``.

    *amount* is a Decimal, an int, or a str such as ``"19.95"``; a ``float``
    raises ``TypeError`` (binary floats cannot hold 19.95 exactly).
    *currency* is an ISO 4217 code. Amounts add up only within one currency
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
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency={self.currency!r} is not an ISO 4217 code such as 'EUR' or 'USD'.")

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

    *marketing_consent* is whether the customer opted in to marketing mail
    (newsletters, cart reminders); *unsubscribed* is whether they later used an
    unsubscribe link. Marketing mail goes only to customers with consent who
    have not unsubscribed (:attr:`may_receive_marketing`); transactional mail
    (orders, shipping, account) goes to everyone.
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
        check_header_value("To", self.name)
        validate_address(self.email, header="To")
        try:
            Locale.parse(self.locale)
        except (ValueError, TypeError, UnknownLocaleError) as exc:
            raise ValueError(
                f"locale={self.locale!r} is not a locale Babel knows; use a code such as 'es_ES' or 'en_US'."
            ) from exc


@dataclass(frozen=True)
class Shop:
    """The sender: name and From address, support address, postal address, web site, logo (PNG bytes).

    *unsubscribe_email* receives ``mailto:`` unsubscribe requests (the second
    form of ``List-Unsubscribe``, RFC 2369); it defaults to
    ``unsubscribe@<domain>``. *signing_key* signs the tokens in unsubscribe
    links so nobody can unsubscribe somebody else by guessing a URL; keep a
    real one out of the code (an environment variable, a secrets store).
    *timezone* (IANA name) is where e-mails show times of day.
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

    def __post_init__(self) -> None:
        check_header_value("From", self.name)
        validate_address(self.email, header="From")
        validate_address(self.support_email, header="Reply-To")
        if not self.base_url.startswith("https://"):
            raise ValueError(f"base_url={self.base_url!r}: links in e-mail should use https://.")
        if not self.unsubscribe_email:
            object.__setattr__(self, "unsubscribe_email", f"unsubscribe@{self.domain}")
        validate_address(self.unsubscribe_email, header="List-Unsubscribe")

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
                "belong in an e-mail (PCI DSS v4.0 requirements 3.4.1 and 4.2.2)."
            )
        digits = re.sub(r"\D", "", self.last4)  # any separator: spaces, dashes, dots …
        if len(digits) >= 12:
            raise CardNumberError(
                f"That looks like a whole card number ({len(digits)} digits). Pass only the last 4 "
                f"digits, Payment({self.brand!r}, {digits[-4:]!r}): an e-mail is copied to many places, "
                "and PCI DSS v4.0 forbids showing a full card number (requirement 3.4.1) or sending "
                "one by end-user messaging such as e-mail (requirement 4.2.2)."
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
    """A placed order. Subtotal, tax and total are computed, never stored.

    ``tax`` is *tax_rate* (e.g. ``Decimal("0.21")`` for Spain's IVA) applied to
    subtotal + shipping, rounded to cents half up.
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
        if not isinstance(self.shipping, Money):
            raise TypeError(f"shipping must be Money, not {type(self.shipping).__name__}.")

    @property
    def currency(self) -> str:
        return self.shipping.currency

    @property
    def subtotal(self) -> Money:
        return sum((item.total for item in self.items), Money("0", self.currency))

    @property
    def tax(self) -> Money:
        return Money((self.subtotal + self.shipping).amount * self.tax_rate, self.currency).rounded()

    @property
    def total(self) -> Money:
        return self.subtotal + self.shipping + self.tax


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
    cart without a password.
    """

    token: str
    customer: Customer
    items: tuple[CartItem, ...]
    updated_at: _dt.datetime
    purchased: bool = False
    reminded_at: _dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if self.updated_at.tzinfo is None:
            raise ValueError("updated_at must be timezone-aware.")

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

    *slug* names the campaign in links and List-Unsubscribe tokens
    (``otono-2026``); *texts* holds a :class:`CampaignText` per locale
    (``{"es_ES": …, "en_US": …}``); *featured* the products shown.
    *unsubscribe_url* is the https page that takes one-click unsubscribe
    requests (RFC 8058); each recipient's link adds their own signed token.
    """

    slug: str
    texts: Mapping[str, CampaignText]
    featured: tuple[Product, ...]
    unsubscribe_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "featured", tuple(self.featured))
        object.__setattr__(self, "texts", dict(self.texts))
        if not re.fullmatch(r"[a-z0-9-]+", self.slug):
            raise ValueError(f"slug={self.slug!r}: use lowercase ASCII letters, digits and '-'.")
        if not self.texts:
            raise ValueError(f"Campaign {self.slug!r} has no texts; give one CampaignText per locale.")
        if not self.unsubscribe_url.startswith("https://"):
            raise ValueError(
                f"unsubscribe_url={self.unsubscribe_url!r}: RFC 8058 one-click unsubscribe needs an https URL."
            )

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


@dataclass(frozen=True)
class FieldChange:
    """One changed account field. *sensitive* fields (e-mail, phone) are shown masked in e-mails."""

    field: str
    old: str
    new: str
    sensitive: bool = False


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
