"""The shop as data: money, customers, addresses, orders and payments.

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
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

from ..errors import CardNumberError
from ..headers import check_header_value, validate_address

__all__ = ["Address", "Customer", "LineItem", "Money", "Order", "Payment", "Shop"]

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
    """Somebody who buys: a display name (any script), an e-mail address, a locale (``es_ES``, ``en_US``)."""

    name: str
    email: str
    locale: str = "es_ES"

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
    """The sender: name and From address, support address, postal address, web site, logo (PNG bytes)."""

    name: str
    email: str
    support_email: str
    postal_address: str
    base_url: str
    logo_png: bytes = field(repr=False, default=b"")

    def __post_init__(self) -> None:
        check_header_value("From", self.name)
        validate_address(self.email, header="From")
        validate_address(self.support_email, header="Reply-To")
        if not self.base_url.startswith("https://"):
            raise ValueError(f"base_url={self.base_url!r}: links in e-mail should use https://.")

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
