"""Sample data: a fictional Spanish shop and its customers, on RFC 2606 example domains.

Everything is fixed (names, prices, dates) so lessons and tests print the same
thing every time. Names and streets carry accents on purpose.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from importlib.resources import files

from .models import Address, Customer, LineItem, Money, Order, Payment, Shop

__all__ = ["sample_customer", "sample_order", "sample_shop"]

#: When the sample order was placed: 2 November 2026, 10:30 in Madrid (UTC+1).
PLACED_AT = _dt.datetime(2026, 11, 2, 10, 30, tzinfo=_dt.timezone(_dt.timedelta(hours=1)))


def sample_shop() -> Shop:
    """Tienda Ñandú, an online shop in Madrid, sending from tienda.example.com."""
    return Shop(
        name="Tienda Ñandú",
        email="pedidos@tienda.example.com",
        support_email="ayuda@tienda.example.com",
        postal_address="Calle de Alcalá 123, 28009 Madrid, España",
        base_url="https://tienda.example.com",
        logo_png=files("mimekit.shop").joinpath("static/logo.png").read_bytes(),
    )


def sample_customer() -> Customer:
    """José Núñez, a customer in Madrid who reads Spanish."""
    return Customer(name="José Núñez", email="jose.nunez@example.com", locale="es_ES")


def sample_order(customer: Customer | None = None) -> Order:
    """Order 1001: three lines in euros, Spanish VAT at 21 %, paid by Visa ending 4242."""
    customer = customer or sample_customer()
    return Order(
        number="1001",
        customer=customer,
        items=(
            LineItem("CAM-ALG-M", "Camiseta de algodón «Ñandú», talla M", Money("19.95"), 2),
            LineItem("TAZ-CER-01", "Taza de cerámica de Talavera", Money("12.50"), 1),
            LineItem("LIB-CAS-07", "Cien años de soledad (edición de bolsillo)", Money("10.90"), 1),
        ),
        shipping_address=Address(
            name=customer.name,
            street="Calle de la Montaña 12, 3.º B",
            postal_code="28013",
            city="Madrid",
            country="España",
        ),
        payment=Payment("Visa", "4242"),
        placed_at=PLACED_AT,
        shipping=Money("4.95"),
        tax_rate=Decimal("0.21"),
    )
