"""Specification of mimekit.shop.shipping_notification: the shipping e-mail as a recipient receives it.

Every check reads the wire (``parse`` serialises with ``as_smtp_bytes`` and
parses the bytes back). Expected subjects, links and dates are written or
computed here, independently of the templates: they are the specification.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from babel.dates import format_date

import mimekit.shop
from message_parts import bodies, content_id, hrefs, tree_shape
from mimekit import as_smtp_bytes, send_message
from mimekit.shop import (
    Customer,
    LineItem,
    Money,
    ShipmentStatus,
    sample_customer,
    sample_order,
    sample_shipment,
)
from mimekit.shop.shipping_notification import build_shipping_notification

LOCALES = ["es_ES", "en_US"]
MADRID = dt.timezone(dt.timedelta(hours=1))

#: The subjects, word for word, by (locale, delivered, partial): on its way (shipped, in transit, out for
#: delivery) or delivered; the whole order, or part of it when this parcel does not complete it.
SUBJECTS = {
    ("es_ES", False, False): "Tu pedido 1001 está en camino",
    ("en_US", False, False): "Your order 1001 is on its way",
    ("es_ES", True, False): "Tu pedido 1001 se ha entregado",
    ("en_US", True, False): "Your order 1001 has been delivered",
    ("es_ES", False, True): "Parte de tu pedido 1001 está en camino",
    ("en_US", False, True): "Part of your order 1001 is on its way",
    ("es_ES", True, True): "Parte de tu pedido 1001 se ha entregado",
    ("en_US", True, True): "Part of your order 1001 has been delivered",
}

#: The heading (text title and HTML <h1>) and the first sentence, by the same key.
HEADINGS = {
    ("es_ES", False, False): "Tu pedido está en camino",
    ("en_US", False, False): "Your order is on its way",
    ("es_ES", True, False): "Tu pedido se ha entregado",
    ("en_US", True, False): "Your order has been delivered",
    ("es_ES", False, True): "Parte de tu pedido está en camino",
    ("en_US", False, True): "Part of your order is on its way",
    ("es_ES", True, True): "Parte de tu pedido se ha entregado",
    ("en_US", True, True): "Part of your order has been delivered",
}
SENTENCES = {
    ("es_ES", False, False): "Tu pedido 1001 está en camino con Mensajería Rápida.",
    ("en_US", False, False): "Your order 1001 is on its way with Mensajería Rápida.",
    ("es_ES", True, False): "Mensajería Rápida ha entregado tu pedido 1001. Esperamos que lo disfrutes.",
    ("en_US", True, False): "Your order 1001 has been delivered by Mensajería Rápida. We hope you enjoy it.",
    ("es_ES", False, True): "Parte de tu pedido 1001 está en camino con Mensajería Rápida.",
    ("en_US", False, True): "Part of your order 1001 is on its way with Mensajería Rápida.",
    ("es_ES", True, True): "Mensajería Rápida ha entregado parte de tu pedido 1001. Esperamos que lo disfrutes.",
    ("en_US", True, True): "Part of your order 1001 has been delivered by Mensajería Rápida. We hope you enjoy it.",
}
#: The note under the items of a parcel that does not complete the order.
REST_FOLLOWS = {
    "es_ES": "El resto de tu pedido llegará en otro paquete.",
    "en_US": "The rest of your order will follow in another package.",
}

#: The status as the customer reads it.
STATUS_LABELS = {
    "es_ES": {
        ShipmentStatus.SHIPPED: "Enviado",
        ShipmentStatus.IN_TRANSIT: "En tránsito",
        ShipmentStatus.OUT_FOR_DELIVERY: "En reparto",
        ShipmentStatus.DELIVERED: "Entregado",
    },
    "en_US": {
        ShipmentStatus.SHIPPED: "Shipped",
        ShipmentStatus.IN_TRANSIT: "In transit",
        ShipmentStatus.OUT_FOR_DELIVERY: "Out for delivery",
        ShipmentStatus.DELIVERED: "Delivered",
    },
}

#: The sample parcel's tracking number and its link, %-encoded here by hand with urllib.
TRACKING_NUMBER = "MR 2026/11-0042"
TRACKING_URL = "https://envios.example.net/seguimiento?numero=" + quote(TRACKING_NUMBER, safe="")

TEMPLATES = Path(mimekit.shop.__file__).parent / "templates"


def customer_in(locale: str) -> Customer:
    """José Núñez, reading *locale*."""
    return dataclasses.replace(sample_customer(), locale=locale)


def shipment_for(locale: str, **changes):
    """The sample parcel of order 1001 for a customer reading *locale*, with *changes* applied."""
    return dataclasses.replace(sample_shipment(sample_order(customer_in(locale))), **changes)


@pytest.mark.parametrize("locale", LOCALES)
def test_tree_is_alternative_of_plain_and_related_html_with_logo(locale, shop, parse):
    assert tree_shape(parse(build_shipping_notification(shipment_for(locale), shop))) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_logo_cid_resolves_and_is_scoped_to_the_tracking_number(locale, shop, parse, assert_cids_resolve):
    wire = parse(build_shipping_notification(shipment_for(locale), shop))
    assert_cids_resolve(wire)
    logo = wire.get_payload()[1].get_payload()[1]
    assert content_id("logo", "shipment-MR-2026-11-0042").fullmatch(logo["Content-ID"])
    assert logo.get_content_disposition() == "inline"
    assert logo.get_payload(decode=True) == shop.logo_png


@pytest.mark.parametrize("locale", LOCALES)
def test_wire_is_crlf_only_within_998_octets(locale, shop, assert_valid_wire):
    assert_valid_wire(as_smtp_bytes(build_shipping_notification(shipment_for(locale), shop)))


@pytest.mark.parametrize("status", list(ShipmentStatus))
@pytest.mark.parametrize("locale", LOCALES)
def test_subject_reads_on_its_way_or_delivered_in_the_customer_language(locale, status, shop, parse):
    partial = shipment_for(locale, status=status)  # the sample parcel: 2 of the order's 3 lines
    assert not partial.completes_order
    wire = parse(build_shipping_notification(partial, shop))
    assert wire["Subject"] == SUBJECTS[(locale, status is ShipmentStatus.DELIVERED, True)]


@pytest.mark.parametrize("partial", [False, True], ids=["whole-order", "partial"])
@pytest.mark.parametrize("delivered", [False, True], ids=["on-its-way", "delivered"])
@pytest.mark.parametrize("locale", LOCALES)
def test_subject_heading_and_sentence_speak_of_part_of_the_order_when_the_parcel_does_not_complete_it(
    locale, delivered, partial, shop, parse
):
    status = ShipmentStatus.DELIVERED if delivered else ShipmentStatus.IN_TRANSIT
    shipment = shipment_for(locale, status=status)
    if not partial:
        shipment = dataclasses.replace(shipment, items=shipment.order.items)
    assert shipment.completes_order is not partial
    wire = parse(build_shipping_notification(shipment, shop))
    plain, html = bodies(wire)
    key = (locale, delivered, partial)
    assert wire["Subject"] == SUBJECTS[key]
    assert f"Tienda Ñandú: {HEADINGS[key]}\n" in plain.replace("\r\n", "\n")
    assert re.search(rf"<h1[^>]*>{re.escape(HEADINGS[key])}</h1>", html)
    assert SENTENCES[key] in plain
    assert SENTENCES[key].replace("1001", "<strong>1001</strong>") in unescape(html)
    assert (REST_FOLLOWS[locale] in plain) is partial


@pytest.mark.parametrize("locale", LOCALES)
def test_headers_name_shop_and_customer_and_carry_no_unsubscribe(locale, shop, parse):
    wire = parse(build_shipping_notification(shipment_for(locale), shop))
    [sender] = wire["From"].addresses
    [recipient] = wire["To"].addresses
    [reply_to] = wire["Reply-To"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Tienda Ñandú", "pedidos@tienda.example.com")
    assert (recipient.display_name, recipient.addr_spec) == ("José Núñez", "jose.nunez@example.com")
    assert reply_to.addr_spec == "ayuda@tienda.example.com"
    assert wire["List-Unsubscribe"] is None  # transactional, not marketing
    assert wire["List-Unsubscribe-Post"] is None


def test_fixed_date_and_message_id_are_kept(shop, parse):
    when = dt.datetime(2026, 11, 3, 16, 50, tzinfo=MADRID)
    msg = build_shipping_notification(shipment_for("es_ES"), shop, date=when, message_id="<ship-1001@tienda.example.com>")
    wire = parse(msg)
    assert email.utils.parsedate_to_datetime(str(wire["Date"])) == when
    assert wire["Message-ID"] == "<ship-1001@tienda.example.com>"


# --------------------------------------------------------------------------- what the customer reads


@pytest.mark.parametrize("locale", LOCALES)
def test_text_shows_tracking_number_link_estimated_date_items_and_order_link(locale, shop, parse):
    shipment = shipment_for(locale)
    plain, _ = bodies(parse(build_shipping_notification(shipment, shop)))
    assert TRACKING_NUMBER in plain
    assert TRACKING_URL in plain
    assert format_date(dt.date(2026, 11, 6), format="medium", locale=locale) in plain
    assert "Mensajería Rápida" in plain
    for item in shipment.items:
        assert f"{item.quantity} x {item.name}" in plain
    assert "Cien años de soledad" not in plain  # ordered, but not in this parcel
    assert "https://tienda.example.com/orders/1001" in plain
    assert "ayuda@tienda.example.com" in plain


@pytest.mark.parametrize("locale", LOCALES)
def test_html_shows_the_same_with_tracking_and_order_links(locale, shop, parse):
    shipment = shipment_for(locale)
    _, html = bodies(parse(build_shipping_notification(shipment, shop)))
    text = unescape(html)
    assert TRACKING_NUMBER in text
    assert format_date(dt.date(2026, 11, 6), format="medium", locale=locale) in text
    for item in shipment.items:
        assert item.name in text
    links = hrefs(html)
    assert TRACKING_URL in links
    assert "https://tienda.example.com/orders/1001" in links
    assert f'<html lang="{locale[:2]}">' in html


@pytest.mark.parametrize("status", list(ShipmentStatus))
@pytest.mark.parametrize("locale", LOCALES)
def test_status_label_is_translated_in_text_and_html(locale, status, shop, parse):
    plain, html = bodies(parse(build_shipping_notification(shipment_for(locale, status=status), shop)))
    label = STATUS_LABELS[locale][status]
    assert label in plain
    assert label in unescape(html)


@pytest.mark.parametrize("locale", LOCALES)
def test_delivered_parcel_no_longer_shows_an_estimated_date(locale, shop, parse):
    shipment = shipment_for(locale, status=ShipmentStatus.DELIVERED)
    plain, html = bodies(parse(build_shipping_notification(shipment, shop)))
    estimated = format_date(dt.date(2026, 11, 6), format="medium", locale=locale)
    assert estimated not in plain
    assert estimated not in unescape(html)
    assert TRACKING_URL in plain  # still trackable


@pytest.mark.parametrize("locale", LOCALES)
def test_partial_parcel_says_the_rest_follows_and_a_whole_order_does_not(locale, shop, parse):
    note = REST_FOLLOWS[locale]
    partial_plain, _ = bodies(parse(build_shipping_notification(shipment_for(locale), shop)))
    assert note in partial_plain
    whole = shipment_for(locale)
    whole = dataclasses.replace(whole, items=whole.order.items)
    whole_plain, whole_html = bodies(parse(build_shipping_notification(whole, shop)))
    assert note not in whole_plain
    assert note not in unescape(whole_html)


# --------------------------------------------------------------------------- links and escaping


def test_tracking_number_with_reserved_characters_is_percent_encoded_and_href_html_escaped(shop, parse, assert_cids_resolve):
    number = "A&B/C?D E"
    shipment = shipment_for(
        "es_ES", tracking_number=number, tracking_url_template="https://envios.example.net/track?carrier=mr&n={number}"
    )
    expected = "https://envios.example.net/track?carrier=mr&n=" + quote(number, safe="")
    assert expected.endswith("n=A%26B%2FC%3FD%20E")
    wire = parse(build_shipping_notification(shipment, shop))
    plain, html = bodies(wire)
    assert expected in plain
    assert expected in hrefs(html)  # what a browser follows
    assert 'href="https://envios.example.net/track?carrier=mr&amp;n=A%26B%2FC%3FD%20E"' in html
    assert 'href="https://envios.example.net/track?carrier=mr&n=' not in html  # a bare & in an attribute
    assert "A&amp;B/C?D E" in html  # the number shown as text, escaped
    assert number in plain
    assert_cids_resolve(wire)
    assert content_id("logo", "shipment-A-B-C-D-E").fullmatch(wire.get_payload()[1].get_payload()[1]["Content-ID"])


def test_markup_in_customer_product_and_carrier_is_escaped_in_html_and_literal_in_text(shop, parse):
    customer = Customer("<script>alert(1)</script> Núñez", "jose.nunez@example.com", "es_ES")
    order = dataclasses.replace(
        sample_order(customer), items=(LineItem("TJ-01", "<b>Tom & Jerry</b>", Money("5.00"), 2),)
    )
    shipment = dataclasses.replace(
        sample_shipment(order), items=order.items, carrier="<script>steal()</script> & Hijos"
    )
    wire = parse(build_shipping_notification(shipment, shop))
    plain, html = bodies(wire)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Núñez" in html
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in html
    assert "&lt;script&gt;steal()&lt;/script&gt; &amp; Hijos" in html
    assert "<script>" not in html
    assert "<b>Tom" not in html
    assert "Hola, <script>alert(1)</script> Núñez:" in plain
    assert "2 x <b>Tom & Jerry</b>" in plain
    assert "<script>steal()</script> & Hijos" in plain
    assert wire["To"].addresses[0].display_name == "<script>alert(1)</script> Núñez"


# --------------------------------------------------------------------------- through a real server


@pytest.mark.parametrize("locale", LOCALES)
def test_sent_to_the_embedded_server_reads_back_the_same_subject_and_recipient(locale, shop, smtp_server):
    msg = build_shipping_notification(shipment_for(locale), shop)
    result = send_message(msg, port=smtp_server.port, timeout=5)
    assert result.accepted == ["jose.nunez@example.com"]
    [captured] = smtp_server.inbox.filter(rcpt_to="jose.nunez@example.com")
    received = captured.message
    assert captured.raw == as_smtp_bytes(msg)
    assert received["Subject"] == SUBJECTS[(locale, False, True)]  # the sample parcel is partial
    assert received["To"].addresses[0].display_name == "José Núñez"
    assert received["List-Unsubscribe"] is None


# --------------------------------------------------------------------------- the Spanish catalog

#: msgids whose Spanish is the same word.
SAME_IN_SPANISH = frozenset({"Total"})


@pytest.mark.parametrize("locale", LOCALES)
def test_last_parcel_of_a_split_order_does_not_say_more_is_coming(locale, shop, parse):
    note = REST_FOLLOWS[locale]
    first = shipment_for(locale)
    last = dataclasses.replace(
        first, items=first.order.items[2:], previously_shipped=first.items, tracking_number="MR 2026/11-0043"
    )
    assert last.completes_order and not first.completes_order
    plain, _ = bodies(parse(build_shipping_notification(last, shop)))
    assert note not in plain


@pytest.mark.parametrize("number", ["", "   ", "MR 1\r\nBcc: x@example.net"])
def test_shipment_needs_a_tracking_number_on_one_line(number):
    with pytest.raises(ValueError, match="tracking_number"):
        dataclasses.replace(sample_shipment(), tracking_number=number)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_date_in_a_sentence_is_long_and_in_the_table_medium(locale, shop, parse):
    plain, html = bodies(parse(build_shipping_notification(shipment_for(locale), shop)))
    [preheader] = re.findall(r'<div class="preheader"[^>]*>(.*?)</div>', html)
    long = format_date(dt.date(2026, 11, 6), format="long", locale=locale)
    assert long == {"es_ES": "6 de noviembre de 2026", "en_US": "November 6, 2026"}[locale]
    assert unescape(preheader) == {
        "es_ES": f"Parte de tu pedido 1001 está en camino: entrega prevista el {long}.",
        "en_US": f"Part of your order 1001 is on its way: estimated delivery on {long}.",
    }[locale]
    medium = format_date(dt.date(2026, 11, 6), format="medium", locale=locale)
    label = {"es_ES": "Entrega prevista:", "en_US": "Estimated delivery:"}[locale]
    assert re.search(rf"^{label} +{re.escape(medium)}$", plain.replace("\r\n", "\n"), re.MULTILINE)


# --------------------------------------------------------------------------- what a Shipment refuses


def test_estimated_delivery_must_be_a_date_not_a_datetime():
    with pytest.raises(TypeError, match="estimated_delivery must be a date"):
        dataclasses.replace(sample_shipment(), estimated_delivery=dt.datetime(2026, 11, 6, 12, 0, tzinfo=MADRID))
    with pytest.raises(TypeError, match="estimated_delivery must be a date"):
        dataclasses.replace(sample_shipment(), estimated_delivery="2026-11-06")


def test_estimated_delivery_cannot_be_before_the_day_it_shipped():
    shipment = sample_shipment()  # shipped 3 November 2026, 16:45 in Madrid
    assert dataclasses.replace(shipment, estimated_delivery=dt.date(2026, 11, 3)).estimated_delivery == dt.date(2026, 11, 3)
    with pytest.raises(ValueError, match="2026-11-02.*2026-11-03"):
        dataclasses.replace(shipment, estimated_delivery=dt.date(2026, 11, 2))


def test_shipment_items_must_be_items_of_the_order():
    stranger = LineItem("BUF-LAN-02", "Bufanda de lana merina", Money("29.00"), 1)  # not in order 1001
    with pytest.raises(ValueError, match="BUF-LAN-02.*order 1001"):
        dataclasses.replace(sample_shipment(), items=(stranger,))
    with pytest.raises(ValueError, match="previously_shipped holds BUF-LAN-02"):
        dataclasses.replace(sample_shipment(), previously_shipped=(stranger,))
