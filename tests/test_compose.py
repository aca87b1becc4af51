"""Specification of mimekit.shop.compose: the headers every shop e-mail shares, marketing or transactional."""

from __future__ import annotations

import dataclasses

import pytest

from message_parts import list_unsubscribe
from mimekit.shop import compose, list_unsubscribe_headers, sample_order, sample_shop
from mimekit.shop.compose import unsubscribe_token

UNSUBSCRIBE_URL = "https://tienda.example.com/baja?lista=boletin&t=0123456789abcdef"


def build(**marketing):
    """The order confirmation's templates composed for the sample customer, with *marketing* options."""
    shop, order = sample_shop(), sample_order()
    context = {"order": order, "order_url": shop.url("orders", order.number)}
    return compose("order_confirmation", shop, order.customer, context, scope="test", **marketing)


def test_transactional_mail_comes_from_the_shop_and_names_no_list(parse):
    wire = parse(build())
    assert wire["From"].addresses[0].addr_spec == "pedidos@tienda.example.com"
    assert wire["Reply-To"].addresses[0].addr_spec == "ayuda@tienda.example.com"
    for name in ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert wire[name] is None


def test_marketing_mail_comes_from_the_marketing_address_and_names_its_list(parse):
    wire = parse(build(unsubscribe_url=UNSUBSCRIBE_URL, list_id="boletin"))
    assert wire["From"].addresses[0].addr_spec == "novedades@tienda.example.com"
    assert wire["From"].addresses[0].display_name == "Tienda Ñandú"
    assert wire["Reply-To"].addresses[0].addr_spec == "ayuda@tienda.example.com"
    assert str(wire["List-Id"]) == "<boletin.tienda.example.com>"
    https, mailto = list_unsubscribe(wire)
    assert https == UNSUBSCRIBE_URL
    assert mailto == "mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20boletin"
    assert str(wire["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "options",
    [{"unsubscribe_url": UNSUBSCRIBE_URL}, {"list_id": "boletin"}],
    ids=["url-without-list", "list-without-url"],
)
def test_marketing_needs_both_the_unsubscribe_url_and_the_list_id(options):
    with pytest.raises(ValueError, match="both unsubscribe_url and list_id"):
        build(**options)


@pytest.mark.parametrize("list_id", ["Boletín", "boletin tienda", "boletin.es", ""])
def test_compose_refuses_a_list_id_that_is_not_a_slug(list_id):
    with pytest.raises(ValueError, match="list_id"):
        build(unsubscribe_url=UNSUBSCRIBE_URL, list_id=list_id)


BAD_URLS = [
    "http://tienda.example.com/baja",
    "https:///baja",
    "https://tienda.example.com/baja#pie",
    "https://tienda.example.com/baja?t=a b",
    "https://tienda.example.com/baja?t=<a>",
    'https://tienda.example.com/baja?t="a"',
    "https://tienda.example.com/baja\r\nBcc: x@example.net",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_compose_refuses_an_unsubscribe_url_that_is_not_a_plain_https_url(url):
    with pytest.raises(ValueError):
        build(unsubscribe_url=url, list_id="boletin")


@pytest.mark.parametrize("url", BAD_URLS)
def test_list_unsubscribe_headers_refuse_an_url_that_is_not_a_plain_https_url(url):
    with pytest.raises(ValueError):
        list_unsubscribe_headers(url, "unsubscribe@tienda.example.com", list_id="boletin")


def test_list_unsubscribe_headers_keep_an_existing_query_and_name_the_list_in_the_mailto():
    headers = list_unsubscribe_headers(UNSUBSCRIBE_URL, "unsubscribe@tienda.example.com", list_id="boletin")
    assert headers == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE_URL}>, <mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20boletin>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_unsubscribe_token_depends_on_the_list_and_the_address_not_on_the_case_of_the_address():
    shop, customer = sample_shop(), sample_order().customer
    assert unsubscribe_token(shop, customer, "boletin") != unsubscribe_token(shop, customer, "recordatorios-carrito")
    shouting = dataclasses.replace(customer, email=customer.email.upper())
    assert unsubscribe_token(shop, shouting, "boletin") == unsubscribe_token(shop, customer, "boletin")
