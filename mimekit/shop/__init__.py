"""A small online shop and its e-mails: the models, the templates, one module per e-mail.

============================  ==================================================
models                        the shop as data (Money, Order, Shipment, Cart …)
rendering                     Jinja2 templates, Spanish/English catalogs, CSS inlining
compose                       templates + data → the finished MIME message
order_confirmation            the order confirmation
shipping_notification         the parcel is on its way (tracking link %-encoded)
cart_reminder                 the abandoned-cart rule and its reminder (marketing)
newsletter                    one marketing e-mail per consenting customer, over one session
account_notifications         account created, password changed, details updated (masked)
sample                        a Spanish sample shop, customers, orders, carts …
============================  ==================================================
"""

from .account_notifications import (
    build_account_created,
    build_account_details_updated,
    build_password_changed,
    mask_email,
    mask_phone,
    masked,
)
from .cart_reminder import CART_REMINDER_LIST, build_cart_reminder, carts_to_remind
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
from .newsletter import NewsletterReport, build_newsletter, send_newsletter
from .order_confirmation import build_order_confirmation
from .shipping_notification import build_shipping_notification
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
    "CART_REMINDER_LIST",
    "Campaign",
    "CampaignText",
    "Cart",
    "CartItem",
    "Customer",
    "FieldChange",
    "InlineImage",
    "LineItem",
    "Money",
    "NewsletterReport",
    "Order",
    "PasswordChanged",
    "Payment",
    "Product",
    "Shipment",
    "ShipmentStatus",
    "Shop",
    "build_account_created",
    "build_account_details_updated",
    "build_cart_reminder",
    "build_newsletter",
    "build_order_confirmation",
    "build_password_changed",
    "build_shipping_notification",
    "carts_to_remind",
    "compose",
    "list_unsubscribe_headers",
    "mask_email",
    "mask_phone",
    "masked",
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
    "send_newsletter",
    "unsubscribe_token",
]
