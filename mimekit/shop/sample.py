"""Sample data: a fictional Spanish shop and its customers, on RFC 2606 example domains.

Everything is fixed (names, prices, dates, tokens) so lessons and tests print
the same thing every time. Names and streets carry accents on purpose, and the
customers read Spanish (``es_ES``) or English (``en_US``).

The shop's ``signing_key`` here is a published sample value for lessons, not a
secret: a real shop loads a random key from its configuration.
"""

from __future__ import annotations

import datetime as _dt
import struct
import zlib
from decimal import Decimal
from importlib.resources import files

from .models import (
    AccountCreated,
    AccountDetailsUpdated,
    Address,
    Campaign,
    CampaignText,
    Cart,
    CartItem,
    Customer,
    FieldChange,
    LineItem,
    Money,
    Order,
    PasswordChanged,
    Payment,
    Product,
    Shipment,
    ShipmentStatus,
    Shop,
)

__all__ = [
    "NOW",
    "PLACED_AT",
    "sample_account_created",
    "sample_account_details_updated",
    "sample_campaign",
    "sample_cart",
    "sample_carts",
    "sample_customer",
    "sample_customers",
    "sample_order",
    "sample_password_changed",
    "sample_products",
    "sample_shipment",
    "sample_shop",
]

MADRID = _dt.timezone(_dt.timedelta(hours=1))  # CET, as in November
#: When the sample order was placed: 2 November 2026, 10:30 in Madrid.
PLACED_AT = _dt.datetime(2026, 11, 2, 10, 30, tzinfo=MADRID)
#: "Now" in the sample world: 5 November 2026, 09:00 in Madrid.
NOW = _dt.datetime(2026, 11, 5, 9, 0, tzinfo=MADRID)


def sample_shop() -> Shop:
    """Tienda Ñandú, an online shop in Madrid, sending from tienda.example.com."""
    return Shop(
        name="Tienda Ñandú",
        email="pedidos@tienda.example.com",
        support_email="ayuda@tienda.example.com",
        postal_address="Calle de Alcalá 123, 28009 Madrid, España",
        base_url="https://tienda.example.com",
        logo_png=files("mimekit.shop").joinpath("static/logo.png").read_bytes(),
        signing_key=b"sample key for the mimekit lessons - not a secret",
    )


def sample_customer() -> Customer:
    """José Núñez, a customer in Madrid who reads Spanish and agreed to marketing mail."""
    return Customer(name="José Núñez", email="jose.nunez@example.com", locale="es_ES", marketing_consent=True)


def sample_customers() -> list[Customer]:
    """Four customers: José (es, consent), Zoë (en, consent), Íñigo (es, unsubscribed), Mary (en, no consent)."""
    return [
        sample_customer(),
        Customer("Zoë Anderson", "zoe.anderson@example.org", locale="en_US", marketing_consent=True),
        Customer("Íñigo Martínez", "inigo.martinez@example.net", locale="es_ES", marketing_consent=True, unsubscribed=True),
        Customer("Mary O'Brien", "mary.obrien@example.org", locale="en_US", marketing_consent=False),
    ]


def _swatch_png(rgb: tuple[int, int, int], size: int = 64) -> bytes:
    """A small square PNG of one colour, made with zlib (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def sample_products() -> dict[str, Product]:
    """The catalogue, by SKU: T-shirt, mug, book, scarf; each with a product photo (a colour swatch)."""
    products = [
        Product("CAM-ALG-M", "Camiseta de algodón «Ñandú», talla M", Money("19.95"), _swatch_png((0xF2, 0xB1, 0x34)), "camiseta-nandu"),
        Product("TAZ-CER-01", "Taza de cerámica de Talavera", Money("12.50"), _swatch_png((0x1F, 0x4E, 0x79)), "taza-talavera"),
        Product("LIB-CAS-07", "Cien años de soledad (edición de bolsillo)", Money("10.90"), _swatch_png((0x8C, 0x2F, 0x39)), "cien-anos"),
        Product("BUF-LAN-02", "Bufanda de lana merina", Money("29.00"), _swatch_png((0x3C, 0x7A, 0x4E)), "bufanda-merina"),
    ]
    return {product.sku: product for product in products}


def _line(product: Product, quantity: int) -> LineItem:
    return LineItem(product.sku, product.name, product.price, quantity)


def sample_order(customer: Customer | None = None) -> Order:
    """Order 1001: three lines in euros, Spanish VAT at 21 %, paid by Visa ending 4242."""
    customer = customer or sample_customer()
    catalogue = sample_products()
    return Order(
        number="1001",
        customer=customer,
        items=(
            _line(catalogue["CAM-ALG-M"], 2),
            _line(catalogue["TAZ-CER-01"], 1),
            _line(catalogue["LIB-CAS-07"], 1),
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


def sample_shipment(order: Order | None = None) -> Shipment:
    """The first parcel of order 1001: the T-shirts and the mug, in transit with a courier.

    The tracking number holds a space and a slash, so the tracking link must
    %-encode it.
    """
    order = order or sample_order()
    return Shipment(
        order=order,
        items=order.items[:2],
        carrier="Mensajería Rápida",
        tracking_number="MR 2026/11-0042",
        tracking_url_template="https://envios.example.net/seguimiento?numero={number}",
        status=ShipmentStatus.IN_TRANSIT,
        shipped_at=_dt.datetime(2026, 11, 3, 16, 45, tzinfo=MADRID),
        estimated_delivery=_dt.date(2026, 11, 6),
    )


def sample_cart(customer: Customer | None = None) -> Cart:
    """Zoë's cart: a scarf and two mugs, left 26 hours before :data:`NOW`, not bought, not reminded."""
    catalogue = sample_products()
    return Cart(
        token="Vx3kQ9s2Lr7bT1",
        customer=customer or sample_customers()[1],
        items=(CartItem(catalogue["BUF-LAN-02"], 1), CartItem(catalogue["TAZ-CER-01"], 2)),
        updated_at=NOW - _dt.timedelta(hours=26),
    )


def sample_carts() -> list[Cart]:
    """Carts in every state the reminder rule must tell apart, relative to :data:`NOW`.

    Zoë's (abandoned 26 h, the one to remind); José's bought one; Mary's without
    marketing consent; Íñigo's, already reminded; and José's fresh one (1 h).
    """
    customers = sample_customers()
    catalogue = sample_products()
    item = (CartItem(catalogue["LIB-CAS-07"], 1),)
    return [
        sample_cart(customers[1]),
        Cart("Pq8Zt2mW4nY6", customers[0], item, NOW - _dt.timedelta(hours=30), purchased=True),
        Cart("Hj5Ks1Nd9Vb3", customers[3], item, NOW - _dt.timedelta(hours=48)),
        Cart("Lm2Qw7Er4Ty8", customers[2], item, NOW - _dt.timedelta(hours=72), reminded_at=NOW - _dt.timedelta(hours=40)),
        Cart("Zx6Cv3Bn1Mq5", customers[0], item, NOW - _dt.timedelta(hours=1)),
    ]


def sample_campaign() -> Campaign:
    """The autumn newsletter ("Fall" for American readers), in Spanish and English, featuring the scarf and the mug.

    It goes to the shop's one mailing list, ``list_id="boletin"`` (the default).
    """
    catalogue = sample_products()
    return Campaign(
        slug="otono-2026",
        texts={
            "es_ES": CampaignText(
                subject="Llega el otoño a Tienda Ñandú",
                preheader="Bufandas de lana y cerámica de Talavera para los días fríos.",
                intro="Ya huele a castañas asadas. Esta semana te proponemos dos favoritos para el frío.",
            ),
            "en_US": CampaignText(
                subject="Fall arrives at Tienda Ñandú",
                preheader="Merino wool scarves and Talavera pottery for chilly days.",
                intro="You can already smell roasted chestnuts. This week we suggest two favorites for the cold.",
            ),
        },
        featured=(catalogue["BUF-LAN-02"], catalogue["TAZ-CER-01"]),
        unsubscribe_url="https://tienda.example.com/baja",
    )


def sample_account_created(customer: Customer | None = None) -> AccountCreated:
    """José opened his account on 1 November 2026."""
    return AccountCreated(customer or sample_customer(), _dt.datetime(2026, 11, 1, 18, 5, tzinfo=MADRID))


def sample_password_changed(customer: Customer | None = None) -> PasswordChanged:
    """José changed his password on 4 November 2026 from Firefox on Linux."""
    return PasswordChanged(
        customer or sample_customer(), _dt.datetime(2026, 11, 4, 21, 12, tzinfo=MADRID), device="Firefox, Linux"
    )


def sample_account_details_updated(customer: Customer | None = None) -> AccountDetailsUpdated:
    """Zoë changed her e-mail address, her phone number and the spelling of her name."""
    customer = customer or sample_customers()[1]
    return AccountDetailsUpdated(
        customer,
        _dt.datetime(2026, 11, 4, 12, 40, tzinfo=MADRID),
        (
            FieldChange("name", "Zoe Anderson", "Zoë Anderson"),
            FieldChange("email", "zoe.a@example.net", "zoe.anderson@example.org", sensitive=True),
            FieldChange("phone", "+34 612 345 678", "+34 699 876 543", sensitive=True),
        ),
    )
