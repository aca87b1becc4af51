"""Specification of mimekit.shop.cart_reminder: which carts get a reminder, and the reminder as its recipient reads it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.numbers import format_currency

from message_parts import content_id, html_elements, list_unsubscribe, tree_shape
from message_parts import readable_bodies as bodies
from mimekit import MimeStructureError, as_smtp_bytes, send_message
from mimekit.shop import (
    Cart,
    CartItem,
    Customer,
    Money,
    Product,
    sample_cart,
    sample_carts,
    sample_customers,
    unsubscribe_token,
)
from mimekit.shop.cart_reminder import CART_REMINDER_LIST, build_cart_reminder, carts_to_remind
from mimekit.shop.sample import NOW, sample_products

DAY = dt.timedelta(hours=24)
JOSE, ZOE, INIGO, MARY = sample_customers()
SUBJECTS = {
    "es_ES": "Tu carrito en Tienda Ñandú te espera",
    "en_US": "Your cart at Tienda Ñandú is waiting for you",
}
GREETINGS = {"es_ES": "Hola, José Núñez:", "en_US": "Hello Zoë Anderson,"}
UNSUBSCRIBE = {"es_ES": "Darte de baja:", "en_US": "Unsubscribe:"}


def cart_for(customer: Customer, *, age: dt.timedelta = 2 * DAY, token: str = "Tk1-cart-token", **changes) -> Cart:
    """A one-mug cart of *customer*, last changed *age* before NOW."""
    mug = sample_products()["TAZ-CER-01"]
    return Cart(token, customer, (CartItem(mug, 1),), NOW - age, **changes)


def test_cart_exactly_at_the_threshold_is_reminded():
    cart = cart_for(JOSE, age=DAY)
    assert carts_to_remind([cart], NOW) == [cart]


def test_cart_one_second_before_the_threshold_is_not_reminded():
    assert carts_to_remind([cart_for(JOSE, age=DAY - dt.timedelta(seconds=1))], NOW) == []


def test_threshold_is_configurable():
    cart = cart_for(JOSE, age=dt.timedelta(hours=3))
    assert carts_to_remind([cart], NOW, abandoned_for=dt.timedelta(hours=3)) == [cart]
    assert carts_to_remind([cart], NOW, abandoned_for=dt.timedelta(hours=4)) == []


def test_now_in_another_time_zone_compares_the_same_instant():
    cart = cart_for(JOSE, age=DAY)
    assert carts_to_remind([cart], NOW.astimezone(dt.timezone.utc)) == [cart]


@pytest.mark.parametrize(
    "cart",
    [
        cart_for(JOSE, purchased=True),
        cart_for(JOSE, reminded_at=NOW - dt.timedelta(hours=1)),
        cart_for(MARY),
        cart_for(INIGO),
        Cart("Tk0-empty-cart", JOSE, (), NOW - 2 * DAY),
    ],
    ids=["purchased", "already-reminded", "no-consent", "unsubscribed", "empty"],
)
def test_cart_is_not_reminded(cart):
    assert carts_to_remind([cart], NOW) == []


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        carts_to_remind([cart_for(JOSE)], dt.datetime(2026, 11, 5, 9, 0))


def test_due_carts_keep_their_order():
    carts = [
        cart_for(ZOE, token="cart-aaaa"),
        cart_for(MARY, token="cart-bbbb"),
        cart_for(JOSE, token="cart-cccc"),
        cart_for(ZOE, token="cart-dddd"),
    ]
    assert [cart.token for cart in carts_to_remind(iter(carts), NOW)] == ["cart-aaaa", "cart-cccc", "cart-dddd"]


def test_sample_carts_at_sample_now_remind_exactly_zoe():
    assert carts_to_remind(sample_carts(), NOW) == [sample_cart()]
    assert sample_cart().customer.name == "Zoë Anderson"


# --------------------------------------------------------------------------- the e-mail, in both locales

LOCALES = pytest.mark.parametrize("customer", [JOSE, ZOE], ids=["es_ES", "en_US"])


@LOCALES
def test_reminder_tree_is_alternative_of_plain_and_related_html_logo_and_photos(customer, shop, parse):
    assert tree_shape(parse(build_cart_reminder(sample_cart(customer), shop))) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
        (2, "image/png"),
        (2, "image/png"),
    ]


@LOCALES
def test_reminder_photos_are_inline_and_referenced_from_the_html(customer, shop, parse, assert_cids_resolve):
    cart = sample_cart(customer)
    wire = parse(build_cart_reminder(cart, shop))
    assert_cids_resolve(wire)
    _, html = bodies(wire)
    html_part, logo, *photos = wire.get_payload()[1].get_payload()
    assert content_id("logo", "cart-reminder").fullmatch(logo["Content-ID"].strip())
    assert len(photos) == len(cart.items)
    for item, photo in zip(cart.items, photos):
        assert content_id(item.product.sku, "cart-reminder").fullmatch(photo["Content-ID"].strip())
        cid = photo["Content-ID"].strip()[1:-1]
        assert photo.get_content_disposition() == "inline"
        assert photo.get_filename() == f"{item.product.sku}.png"
        assert photo.get_payload(decode=True) == item.product.image_png
        assert f'src="cid:{cid}"' in html


@LOCALES
def test_reminder_wire_is_crlf_only_within_998_octets(customer, shop, assert_valid_wire):
    assert_valid_wire(as_smtp_bytes(build_cart_reminder(sample_cart(customer), shop)))


@LOCALES
def test_reminder_headers_and_localized_subject(customer, shop, parse):
    wire = parse(build_cart_reminder(sample_cart(customer), shop))
    assert wire["Subject"] == SUBJECTS[customer.locale]
    [recipient] = wire["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == (customer.name, customer.email)
    assert wire["Cc"] is None and wire["Bcc"] is None
    # marketing comes from the marketing address; replies still go to support
    assert wire["From"].addresses[0].addr_spec == "novedades@tienda.example.com"
    assert wire["Reply-To"].addresses[0].addr_spec == "ayuda@tienda.example.com"


@LOCALES
def test_reminder_lists_items_quantities_prices_and_subtotal_in_the_customers_locale(customer, shop, parse):
    cart = sample_cart(customer)
    plain, html = bodies(parse(build_cart_reminder(cart, shop)))
    assert GREETINGS[customer.locale] in plain
    assert GREETINGS[customer.locale] in html

    def money(amount):
        return format_currency(amount, "EUR", locale=customer.locale)

    subtotal = sum(item.product.price.amount * item.quantity for item in cart.items)
    assert money(subtotal) == {"es_ES": "54,00\xa0€", "en_US": "€54.00"}[customer.locale]
    for item in cart.items:
        assert f"{item.quantity} x {item.product.name}" in plain
        assert item.product.name in html
        for amount in (item.product.price.amount, item.product.price.amount * item.quantity):
            assert money(amount) in plain
            assert money(amount) in html
    assert money(subtotal) in plain
    assert money(subtotal) in html


@LOCALES
def test_reminder_links_back_to_the_cart_with_its_token(customer, shop, parse):
    plain, html = bodies(parse(build_cart_reminder(sample_cart(customer), shop)))
    assert "https://tienda.example.com/carrito?t=Vx3kQ9s2Lr7bT1" in plain
    assert 'href="https://tienda.example.com/carrito?t=Vx3kQ9s2Lr7bT1"' in html


def test_cart_token_travels_in_the_link_as_it_is(shop, parse):
    cart = dataclasses.replace(sample_cart(), token="a-B_c-D_e-F_0")
    plain, _ = bodies(parse(build_cart_reminder(cart, shop)))
    [link] = re.findall(r"https://tienda\.example\.com/carrito\?\S+", plain)
    assert link == "https://tienda.example.com/carrito?t=a-B_c-D_e-F_0"
    assert parse_qs(urlsplit(link).query) == {"t": ["a-B_c-D_e-F_0"]}


@pytest.mark.parametrize("token", ["", "short", "Vx3kQ9s", "a b&c/d+e=f", "Vx3kQ9s2Lr7bT1\r\n", "Vx3k.Q9s2", "Vx3kQ9s2Lr7bT1=="])
def test_cart_token_must_be_eight_or_more_url_safe_characters(token):
    with pytest.raises(ValueError, match="at least 8 characters of letters, digits"):
        cart_for(JOSE, token=token)


@LOCALES
def test_cart_token_is_in_no_header_only_in_the_resume_link(customer, shop, parse):
    cart = sample_cart(customer)
    msg = build_cart_reminder(cart, shop)
    raw = as_smtp_bytes(msg)
    wire = parse(msg)
    for part in wire.walk():  # every header of every part, Content-IDs included
        for name, value in part.items():
            assert cart.token not in str(value), f"the cart token is in {name}: {value}"
    head = raw.split(b"\r\n\r\n", 1)[0]  # the top-level header block, as bytes on the wire
    assert cart.token.encode() not in head
    plain, html = bodies(wire)
    assert [link for link in re.findall(r"https://\S+", plain) if cart.token in link] == [
        f"https://tienda.example.com/carrito?t={cart.token}"
    ]
    assert [h for h in re.findall(r'href="([^"]+)"', html) if cart.token in h] == [
        f"https://tienda.example.com/carrito?t={cart.token}"
    ]


@LOCALES
def test_reminder_is_marketing_with_one_click_unsubscribe(customer, shop, parse):
    wire = parse(build_cart_reminder(sample_cart(customer), shop))
    https, mailto = list_unsubscribe(wire)
    assert mailto == f"mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20{CART_REMINDER_LIST}"
    assert str(wire["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert CART_REMINDER_LIST == "recordatorios-carrito"
    assert str(wire["List-Id"]) == "<recordatorios-carrito.tienda.example.com>"  # RFC 2919
    query = parse_qs(urlsplit(https).query)
    assert https.startswith("https://tienda.example.com/baja?")
    assert query == {"lista": [CART_REMINDER_LIST], "t": [unsubscribe_token(shop, customer, CART_REMINDER_LIST)]}
    assert "@" not in https and "%40" not in https.upper()
    assert customer.email.split("@")[0] not in https
    plain, html = bodies(wire)
    assert f"{UNSUBSCRIBE[customer.locale]} {https}" in plain
    assert f'href="{https}"' in html


def test_unsubscribe_link_differs_per_recipient(shop, parse):
    urls = {list_unsubscribe(parse(build_cart_reminder(sample_cart(c), shop)))[0] for c in (JOSE, ZOE)}
    assert len(urls) == 2


def test_reminder_takes_a_fixed_date_and_message_id(shop, parse):
    wire = parse(build_cart_reminder(sample_cart(), shop, date=NOW, message_id="<cart-1@tienda.example.com>"))
    assert email.utils.parsedate_to_datetime(str(wire["Date"])) == NOW
    assert wire["Message-ID"] == "<cart-1@tienda.example.com>"


# --------------------------------------------------------------------------- refusals and odd data


@pytest.mark.parametrize(("customer", "reason"), [(MARY, "did not agree"), (INIGO, "unsubscribed")])
def test_reminder_is_refused_without_marketing_consent(customer, reason, shop):
    with pytest.raises(ValueError, match=reason) as info:
        build_cart_reminder(cart_for(customer), shop)
    assert customer.email in str(info.value)
    assert "carts_to_remind" in str(info.value)


def test_reminder_for_an_empty_cart_is_refused(shop):
    with pytest.raises(ValueError, match="empty"):
        build_cart_reminder(Cart("Tk0-empty-cart", JOSE, (), NOW - 2 * DAY), shop)


def test_reminder_needs_a_shop_logo(shop):
    with pytest.raises(MimeStructureError, match="logo"):
        build_cart_reminder(sample_cart(), dataclasses.replace(shop, logo_png=b""))


def test_markup_in_customer_and_product_names_is_escaped_in_html_and_literal_in_text(shop, parse):
    customer = Customer("<script>alert(1)</script> & Co", "ana.perez@example.org", "es_ES", marketing_consent=True)
    product = Product("TJ-01", "<b>Tom & Jerry</b>", Money("5.00"), sample_products()["TAZ-CER-01"].image_png)
    cart = Cart("Tk9-cart-token", customer, (CartItem(product, 2),), NOW - 2 * DAY)
    wire = parse(build_cart_reminder(cart, shop))
    plain = wire.get_body(("plain",)).get_content()
    html = wire.get_body(("html",)).get_content()
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    elements = html_elements(html)
    assert not {"b", "script"} & {tag for tag, _ in elements}
    # In an attribute the HTML5 serialiser of the CSS inliner escapes only & and ", which is enough there.
    assert ("img", "<b>Tom & Jerry</b>") in [(tag, attrs.get("alt")) for tag, attrs in elements]
    assert "2 x <b>Tom & Jerry</b>" in plain
    assert "Hola, <script>alert(1)</script> & Co:" in plain


def test_same_product_twice_in_a_cart_is_attached_once(shop, parse, assert_cids_resolve):
    mug = sample_products()["TAZ-CER-01"]
    cart = Cart("Tk2-cart-token", JOSE, (CartItem(mug, 1), CartItem(mug, 3)), NOW - 2 * DAY)
    wire = parse(build_cart_reminder(cart, shop))
    assert_cids_resolve(wire)
    images = [p.get_filename() for p in wire.walk() if p.get_content_type() == "image/png"]
    assert images == ["logo.png", "TAZ-CER-01.png"]
    [mug_part] = [p for p in wire.walk() if p.get_filename() == "TAZ-CER-01.png"]
    assert content_id("TAZ-CER-01", "cart-reminder").fullmatch(mug_part["Content-ID"])
    assert wire.get_body(("html",)).get_content().count(f'src="cid:{mug_part["Content-ID"][1:-1]}"') == 2


def test_skus_with_odd_characters_make_valid_distinct_content_ids(shop, parse, assert_cids_resolve):
    image = sample_products()["TAZ-CER-01"].image_png
    a, b = Product("TJ 01/B", "A", Money("1"), image), Product("TJ-01-B", "B", Money("2"), image)
    cart = Cart("x_y-z_cart", JOSE, (CartItem(a), CartItem(b)), NOW - 2 * DAY)
    wire = parse(build_cart_reminder(cart, shop))
    assert_cids_resolve(wire)
    ids = [p["Content-ID"].strip() for p in wire.walk() if p["Content-ID"]]
    assert len(set(ids)) == 3
    for key, cid in zip(["logo", "TJ-01-B", "TJ-01-B-2"], ids):
        assert content_id(key, "cart-reminder").fullmatch(cid), cid


def test_two_reminders_for_one_cart_get_different_content_ids(shop):
    first, second = (build_cart_reminder(sample_cart(), shop) for _ in range(2))
    ids = [{p["Content-ID"] for p in m.walk() if p["Content-ID"]} for m in (first, second)]
    assert not ids[0] & ids[1]  # world-unique, RFC 2045 §7


def test_product_without_a_photo_is_listed_without_one(shop, parse, assert_cids_resolve):
    cart = Cart(
        "Tk3-cart-token", JOSE, (CartItem(Product("NO-IMG", "Sin foto", Money("3"))), *sample_cart().items), NOW - 2 * DAY
    )
    wire = parse(build_cart_reminder(cart, shop))
    assert_cids_resolve(wire)
    assert len([p for p in wire.walk() if p.get_content_type() == "image/png"]) == 1 + 2
    assert "Sin foto" in wire.get_body(("plain",)).get_content()


def test_reminder_sent_to_the_embedded_server_reaches_only_the_customer(shop, smtp_server):
    msg = build_cart_reminder(sample_cart(), shop)
    result = send_message(msg, port=smtp_server.port, timeout=5)
    assert result.accepted == ["zoe.anderson@example.org"]
    [captured] = smtp_server.inbox.messages()
    assert captured.rcpt_tos == ("zoe.anderson@example.org",)
    assert captured.raw == as_smtp_bytes(msg)
    assert captured.subject == "Your cart at Tienda Ñandú is waiting for you"


# --------------------------------------------------------------------------- translations



# --------------------------------------------------------------------------- what the rule and the models refuse


@pytest.mark.parametrize("abandoned_for", [24, 24.0, "24h", None])
def test_abandoned_for_must_be_a_timedelta(abandoned_for):
    with pytest.raises(TypeError, match="abandoned_for=.*give a timedelta"):
        carts_to_remind([cart_for(JOSE)], NOW, abandoned_for=abandoned_for)


@pytest.mark.parametrize("abandoned_for", [dt.timedelta(0), dt.timedelta(hours=-24)])
def test_abandoned_for_must_be_positive(abandoned_for):
    with pytest.raises(ValueError, match="positive"):
        carts_to_remind([cart_for(JOSE)], NOW, abandoned_for=abandoned_for)


def test_cart_reminded_at_must_be_timezone_aware():
    with pytest.raises(ValueError, match="reminded_at must be timezone-aware"):
        cart_for(JOSE, reminded_at=dt.datetime(2026, 11, 4, 9, 0))


def test_cart_items_must_share_one_currency():
    mug = sample_products()["TAZ-CER-01"]
    dollar_mug = dataclasses.replace(mug, sku="TAZ-USD", price=Money("14.00", "USD"))
    with pytest.raises(ValueError, match="currencies.*EUR.*USD"):
        Cart("Tk5-cart-token", JOSE, (CartItem(mug), CartItem(dollar_mug)), NOW - 2 * DAY)


def test_refusal_without_consent_mentions_the_safe_default_not_an_absolute_rule(shop):
    with pytest.raises(ValueError) as info:
        build_cart_reminder(cart_for(MARY), shop)
    assert "explicit consent" in str(info.value) and "safe default" in str(info.value)


def test_consent_docstring_names_the_soft_opt_in_exception():
    import mimekit.shop.cart_reminder as module

    doc = " ".join(module.carts_to_remind.__doc__.split())
    assert "soft opt-in" in doc
    assert "art. 13(2)" in doc and "LSSI art. 21.2" in doc
