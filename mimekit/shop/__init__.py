"""A small online shop and its e-mails: the models, the templates, one module per e-mail.

For now the shop sends the order confirmation
(:func:`~mimekit.shop.order_confirmation.build_order_confirmation`);
:mod:`mimekit.shop.sample` holds a Spanish sample shop, customer and order.
"""

from .models import Address, Customer, LineItem, Money, Order, Payment, Shop
from .order_confirmation import build_order_confirmation, order_confirmation_subject
from .sample import sample_customer, sample_order, sample_shop

__all__ = [
    "Address",
    "Customer",
    "LineItem",
    "Money",
    "Order",
    "Payment",
    "Shop",
    "build_order_confirmation",
    "order_confirmation_subject",
    "sample_customer",
    "sample_order",
    "sample_shop",
]
