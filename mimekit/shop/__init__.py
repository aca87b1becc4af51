"""A small online shop and its e-mails: the models, the templates, one module per e-mail.

============================  ==================================================
models                        the shop as data (Money, Order, Shipment, Cart …)
rendering                     Jinja2 templates, Spanish/English catalogs, CSS inlining
compose                       templates + data → the finished MIME message
order_confirmation            the order confirmation
sample                        a Spanish sample shop, customers, orders, carts …
============================  ==================================================
"""

from .compose import InlineImage, compose, list_unsubscribe_headers, unsubscribe_token
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
from .order_confirmation import build_order_confirmation
from .sample import (
    sample_account_created,
    sample_account_details_updated,
    sample_campaign,
    sample_cart,
    sample_carts,
    sample_customer,
    sample_customers,
    sample_order,
    sample_password_changed,
    sample_products,
    sample_shipment,
    sample_shop,
)

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
    "InlineImage",
    "LineItem",
    "Money",
    "Order",
    "PasswordChanged",
    "Payment",
    "Product",
    "Shipment",
    "ShipmentStatus",
    "Shop",
    "build_order_confirmation",
    "compose",
    "list_unsubscribe_headers",
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
    "unsubscribe_token",
]
