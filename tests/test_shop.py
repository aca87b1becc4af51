"""Specification of mimekit.shop: the models, and the order confirmation as a recipient receives it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re
from decimal import ROUND_HALF_UP, Decimal
from html import unescape

import pytest

from message_parts import bodies, content_id, html_elements, tree_shape
from mimekit import (
    CardNumberError,
    HeaderInjectionError,
    InvalidAddressError,
    MimeStructureError,
    as_smtp_bytes,
    send_message,
)
from mimekit.shop import (
    Address,
    Customer,
    LineItem,
    Money,
    Order,
    Payment,
    build_order_confirmation,
    sample_order,
    sample_shop,
)

NBSP = "\u00a0"
CENT = Decimal("0.01")
MADRID = dt.timezone(dt.timedelta(hours=1))


def es_eur(amount: Decimal) -> str:
    """Euros as Spain writes them, formatted here by hand: ``1.234,50 €`` with a no-break space."""
    whole, cents = f"{amount.quantize(CENT):.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + f",{cents}{NBSP}€"


def us_eur(amount: Decimal) -> str:
    """Euros as the United States write them: ``€1,234.50``."""
    return f"€{amount.quantize(CENT):,.2f}"


def hand_made_order(*, customer: Customer | None = None, items=None) -> Order:
    customer = customer or Customer("Ana Pérez", "ana.perez@example.org", "es_ES")
    return Order(
        number="A-77",
        customer=customer,
        items=items
        or (
            LineItem("TJ-01", "Tom & Jerry, la colección", Money("3.50"), 3),
            LineItem("CAF-02", "Café de Colombia 250 g", Money("0"), 1),
        ),
        shipping_address=Address(customer.name, "Calle Mayor 1", "28013", "Madrid", "España"),
        payment=Payment("Mastercard", "4444"),
        placed_at=dt.datetime(2026, 3, 1, 9, 0, tzinfo=MADRID),
        shipping=Money("0"),
        tax_rate=Decimal("0.21"),
    )


def expected_totals(order: Order) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, total) computed here with Decimal: prices include VAT, so the total is subtotal +
    shipping and the tax is the VAT it contains, total - total / (1 + rate), rounded half up to cents."""
    subtotal = sum((item.unit_price.amount * item.quantity for item in order.items), Decimal("0"))
    total = subtotal + order.shipping.amount
    tax = (total - total / (1 + order.tax_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return subtotal, tax, total


# --------------------------------------------------------------------------- Money


def test_money_refuses_float():
    with pytest.raises(TypeError, match="Money\\('19.95'\\)"):
        Money(19.95)


@pytest.mark.parametrize("amount", ["19.95", Decimal("19.95"), 19])
def test_money_takes_str_decimal_and_int_exactly(amount):
    assert Money(amount).amount == Decimal(str(amount))
    assert isinstance(Money(amount).amount, Decimal)


def test_money_adds_within_one_currency_exactly():
    assert Money("0.10") + Money("0.20") == Money("0.30")
    assert (Money("19.95") * 2).amount == Decimal("39.90")
    assert (3 * Money("0.10")).amount == Decimal("0.30")


def test_money_refuses_to_add_another_currency():
    with pytest.raises(ValueError, match="USD.*EUR"):
        Money("1", "EUR") + Money("1", "USD")


@pytest.mark.parametrize("factor", [1.5, Decimal("2"), True])
def test_money_multiplies_only_by_whole_quantities(factor):
    with pytest.raises(TypeError):
        Money("1") * factor


@pytest.mark.parametrize("currency", ["eur", "EURO", "€", ""])
def test_money_refuses_a_currency_that_is_not_an_iso_4217_code(currency):
    with pytest.raises(ValueError, match="ISO 4217"):
        Money("1", currency)


def test_money_formats_per_locale():
    assert Money("1234.5").format("es_ES") == f"1.234,50{NBSP}€"
    assert Money("1234.5").format("en_US") == "€1,234.50"
    assert Money("1234.5", "USD").format("en_US") == "$1,234.50"


@pytest.mark.parametrize(("amount", "cents"), [("0.125", "0.13"), ("0.135", "0.14"), ("2.205", "2.21"), ("0.124", "0.12")])
def test_money_rounds_half_up_to_cents(amount, cents):
    assert Money(amount).rounded().amount == Decimal(cents)


# --------------------------------------------------------------------------- Payment


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "4242.4242.4242.4242",
        4242424242424242,
        "378282246310005",
    ],
    ids=["plain", "spaces", "dashes", "dots", "int", "amex-15"],
)
def test_payment_refuses_a_full_card_number_without_repeating_it(number):
    with pytest.raises(CardNumberError) as info:
        Payment("Visa", number)
    error = info.value
    assert isinstance(error, ValueError)
    digits = "".join(c for c in str(number) if c.isdigit())
    assert digits not in str(error)
    assert str(number) not in str(error)
    assert repr(digits[-4:]) in str(error)  # the fix: pass only the last 4
    assert "PCI DSS" in str(error)


@pytest.mark.parametrize("last4", ["42", "42424", "abcd", "", " 4242"])
def test_payment_refuses_anything_but_four_digits(last4):
    with pytest.raises(ValueError, match="last 4 digits") as info:
        Payment("Visa", last4)
    assert not isinstance(info.value, CardNumberError)


def test_payment_is_shown_masked():
    assert Payment("Visa", "4242").masked == "Visa •••• 4242"


# --------------------------------------------------------------------------- the other models


def test_customer_name_with_a_line_break_is_refused():
    with pytest.raises(HeaderInjectionError):
        Customer("José\r\nBcc: spy@example.net", "jose.nunez@example.com")


def test_customer_address_is_validated():
    with pytest.raises(InvalidAddressError):
        Customer("José Núñez", "jose.nunez@")


def test_shop_links_must_use_https():
    with pytest.raises(ValueError, match="https://"):
        dataclasses.replace(sample_shop(), base_url="http://tienda.example.com")


def test_shop_domain_is_the_domain_of_its_from_address():
    assert sample_shop().domain == "tienda.example.com"


@pytest.mark.parametrize("quantity", [0, -1, 1.5])
def test_line_item_needs_a_whole_quantity_of_at_least_one(quantity):
    with pytest.raises(ValueError, match="quantity"):
        LineItem("SKU", "Taza", Money("1"), quantity)


def test_order_refuses_mixed_currencies_naive_dates_float_rates_and_no_items():
    order = hand_made_order()
    with pytest.raises(ValueError, match="currencies"):
        dataclasses.replace(order, shipping=Money("1", "USD"))
    with pytest.raises(ValueError, match="timezone"):
        dataclasses.replace(order, placed_at=dt.datetime(2026, 3, 1, 9, 0))
    with pytest.raises(TypeError, match="Decimal"):
        dataclasses.replace(order, tax_rate=0.21)
    with pytest.raises(ValueError, match="no items"):
        dataclasses.replace(order, items=())


# --------------------------------------------------------------------------- order totals


def test_sample_order_totals_add_up(order):
    subtotal, tax, total = expected_totals(order)
    assert (order.subtotal.amount, order.tax.amount, order.total.amount) == (subtotal, tax, total)
    # 63.30 + 4.95 = 68.25, VAT included: 68.25 - 68.25 / 1.21 = 11.845… → 11.85
    assert (subtotal, tax, total) == (Decimal("63.30"), Decimal("11.85"), Decimal("68.25"))
    assert {order.subtotal.currency, order.tax.currency, order.total.currency} == {"EUR"}


def test_prices_include_vat_so_the_total_is_subtotal_plus_shipping():
    order = hand_made_order()  # 3 × 3.50 = 10.50, VAT included
    assert order.subtotal.amount == Decimal("10.50")
    assert order.total.amount == Decimal("10.50")  # nothing added on top
    assert order.tax.amount == Decimal("1.82")  # 10.50 - 10.50 / 1.21 = 1.8223…
    assert (order.subtotal.amount, order.tax.amount, order.total.amount) == expected_totals(order)


def test_vat_included_is_rounded_half_up_not_to_even():
    # A book at 10.53 with Spain's super-reduced 4 % IVA: 10.53 / 1.04 = 10.125 exactly, so the VAT is 0.405.
    book = (LineItem("LIB-01", "Libro", Money("10.53"), 1),)
    order = dataclasses.replace(hand_made_order(items=book), tax_rate=Decimal("0.04"))
    assert order.tax.amount == Decimal("0.41")  # banker's rounding would give 0.40
    assert order.total.amount == Decimal("10.53")
    assert (order.subtotal.amount, order.tax.amount, order.total.amount) == expected_totals(order)


def test_vat_included_covers_shipping_too():
    order = dataclasses.replace(hand_made_order(), shipping=Money("4.95"))
    assert order.total.amount == Decimal("15.45")  # 10.50 + 4.95
    assert order.tax.amount == Decimal("2.68")  # 15.45 - 15.45 / 1.21 = 2.6814…


# --------------------------------------------------------------------------- the order confirmation


def test_confirmation_tree_is_alternative_of_plain_and_related_html_with_logo(order, shop, parse):
    assert tree_shape(parse(build_order_confirmation(order, shop))) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
    ]


def test_confirmation_headers_read_back_decoded(order, shop, parse):
    wire = parse(build_order_confirmation(order, shop))
    [sender] = wire["From"].addresses
    [recipient] = wire["To"].addresses
    [reply_to] = wire["Reply-To"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Tienda Ñandú", "pedidos@tienda.example.com")
    assert (recipient.display_name, recipient.addr_spec) == ("José Núñez", "jose.nunez@example.com")
    assert (reply_to.display_name, reply_to.addr_spec) == ("Tienda Ñandú", "ayuda@tienda.example.com")
    assert wire["Subject"] == "Tu pedido 1001 está confirmado"
    assert email.utils.parsedate_to_datetime(str(wire["Date"])).tzinfo is not None
    assert str(wire["Message-ID"]).endswith("@tienda.example.com>")
    assert wire["List-Unsubscribe"] is None  # transactional, not marketing


def test_confirmation_takes_a_fixed_date_and_message_id(order, shop, parse):
    when = dt.datetime(2026, 11, 2, 10, 31, tzinfo=MADRID)
    wire = parse(build_order_confirmation(order, shop, date=when, message_id="<order-1001@tienda.example.com>"))
    assert email.utils.parsedate_to_datetime(str(wire["Date"])) == when
    assert wire["Message-ID"] == "<order-1001@tienda.example.com>"


def test_confirmation_wire_is_crlf_only_within_998_octets(order, shop, assert_valid_wire):
    assert_valid_wire(as_smtp_bytes(build_order_confirmation(order, shop)))


def test_confirmation_text_lists_items_amounts_payment_and_order_url(order, shop, parse):
    plain, _ = bodies(parse(build_order_confirmation(order, shop)))
    subtotal, tax, total = expected_totals(order)
    for item in order.items:
        assert item.name in plain
        assert f"{item.quantity} x {item.name}" in plain
        assert es_eur(item.unit_price.amount) in plain
        assert es_eur(item.unit_price.amount * item.quantity) in plain
    for amount in (subtotal, order.shipping.amount, tax, total):
        assert es_eur(amount) in plain
    assert "Visa •••• 4242" in plain
    assert "https://tienda.example.com/orders/1001" in plain
    assert "ayuda@tienda.example.com" in plain
    assert "4242424242424242" not in plain


def test_confirmation_html_shows_the_same_amounts_and_links(order, shop, parse):
    _, html = bodies(parse(build_order_confirmation(order, shop)))
    subtotal, tax, total = expected_totals(order)
    text = unescape(html)  # the CSS inliner writes the no-break space as &nbsp;
    for amount in (subtotal, order.shipping.amount, tax, total):
        assert es_eur(amount) in text
    assert 'href="https://tienda.example.com/orders/1001"' in html
    assert 'href="mailto:ayuda@tienda.example.com"' in html
    assert "Visa •••• 4242" in html


def test_confirmation_html_refers_to_the_logo_by_a_cid_that_resolves(order, shop, parse, assert_cids_resolve):
    wire = parse(build_order_confirmation(order, shop))
    assert_cids_resolve(wire)
    logo = wire.get_payload()[1].get_payload()[1]
    assert logo.get_content_disposition() == "inline"
    assert logo.get_filename() == "logo.png"
    assert logo.get_payload(decode=True) == shop.logo_png
    assert content_id("logo", "order-1001").fullmatch(logo["Content-ID"])


def test_confirmation_amounts_follow_an_english_customer_locale(shop, parse):
    customer = Customer("Jane Doe", "jane.doe@example.net", "en_US")
    order = sample_order(customer)
    plain, html = bodies(parse(build_order_confirmation(order, shop)))
    subtotal, tax, total = expected_totals(order)
    for amount in (subtotal, tax, total):
        assert us_eur(amount) in plain
        assert us_eur(amount) in html
    assert '<html lang="en">' in html


def test_markup_in_product_and_customer_names_is_escaped_in_html_and_literal_in_text(shop, parse):
    customer = Customer("<script>alert(1)</script> Núñez", "jose.nunez@example.com")
    items = (LineItem("TJ-01", "<b>Tom & Jerry</b>", Money("5.00"), 2),)
    msg = build_order_confirmation(hand_made_order(customer=customer, items=items), shop)
    wire = parse(msg)
    plain, html = bodies(wire)
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Núñez" in html
    assert "<b>Tom" not in html
    assert "<script>" not in html
    assert "<b>Tom & Jerry</b>" in plain
    assert "Hola, <script>alert(1)</script> Núñez:" in plain
    assert wire["To"].addresses[0].display_name == "<script>alert(1)</script> Núñez"


def test_order_number_is_url_quoted_in_the_link(shop, parse):
    order = dataclasses.replace(hand_made_order(), number="A/77 B")
    plain, html = bodies(parse(build_order_confirmation(order, shop)))
    assert "https://tienda.example.com/orders/A%2F77%20B" in plain
    assert 'href="https://tienda.example.com/orders/A%2F77%20B"' in html


def test_confirmation_needs_a_shop_logo(order, shop):
    with pytest.raises(MimeStructureError, match="logo"):
        build_order_confirmation(order, dataclasses.replace(shop, logo_png=b""))


def test_confirmation_sent_to_the_embedded_server_reads_back_the_same(order, shop, smtp_server):
    msg = build_order_confirmation(order, shop)
    result = send_message(msg, port=smtp_server.port, timeout=5)
    assert result.accepted == ["jose.nunez@example.com"]
    [captured] = smtp_server.inbox.filter(rcpt_to="jose.nunez@example.com")
    received = captured.message
    assert captured.raw == as_smtp_bytes(msg)
    assert received["Subject"] == "Tu pedido 1001 está confirmado"
    assert received["To"].addresses[0].display_name == "José Núñez"
    assert received["Message-ID"] == msg["Message-ID"]
    logo = next(p for p in received.walk() if p.get_content_type() == "image/png")
    assert logo.get_payload(decode=True) == shop.logo_png


def test_payment_takes_last4_given_as_an_int_as_text():
    assert Payment("Visa", 4242).last4 == "4242"


def test_payment_error_for_too_many_digits_never_echoes_them():
    with pytest.raises(ValueError) as info:
        Payment("Visa", "42424242424")  # 11 digits: not a card number, not 4 digits either
    assert "42424242424" not in str(info.value)
    assert "11 digits" in str(info.value)


# --------------------------------------------------------------------------- bad model values fail where they enter


@pytest.mark.parametrize("amount", ["19,95", "1.234,56"])
def test_money_with_a_decimal_comma_says_to_write_a_dot(amount):
    with pytest.raises(ValueError, match="with a dot"):
        Money(amount)


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity", "-Infinity"])
def test_money_that_is_not_a_finite_number_is_refused(amount):
    with pytest.raises(ValueError, match="Money"):
        Money(amount)


def test_money_refuses_a_bool():
    with pytest.raises(TypeError):
        Money(True)


@pytest.mark.parametrize("price", [19.95, Decimal("19.95"), "19.95"])
def test_line_item_price_must_be_money(price):
    with pytest.raises(TypeError, match="Money"):
        LineItem("CAM-ALG-M", "Camiseta", price, 1)


@pytest.mark.parametrize(("rate", "error"), [(Decimal("21"), ValueError), ("0.21", TypeError), (0.21, TypeError)])
def test_tax_rate_must_be_a_decimal_fraction(rate, error):
    with pytest.raises(error, match="tax_rate"):
        dataclasses.replace(sample_order(), tax_rate=rate)


def test_unknown_customer_locale_is_refused_when_the_customer_is_made():
    with pytest.raises(ValueError, match="xx_YY"):
        Customer("José Núñez", "jose.nunez@example.com", locale="xx_YY")


def test_card_number_in_the_brand_field_is_refused_without_echoing_it():
    with pytest.raises(CardNumberError) as info:
        Payment("4242424242424242", "4242")
    assert "4242424242424242" not in str(info.value)


def test_last4_in_other_scripts_digits_is_refused():
    with pytest.raises(ValueError, match="last 4"):
        Payment("Visa", "٤٢٤٢")  # Arabic-Indic digits


@pytest.mark.parametrize(
    ("locale", "subject", "greeting", "date", "language"),
    [
        ("es_ES", "Tu pedido 1001 está confirmado", "Hola, José Núñez:", "2 de noviembre de 2026", "es"),
        ("en_US", "Your order 1001 is confirmed", "Hello José Núñez,", "November 2, 2026", "en"),
    ],
)
def test_confirmation_is_written_in_the_customers_language(shop, parse, locale, subject, greeting, date, language):
    order = sample_order(Customer("José Núñez", "jose.nunez@example.com", locale))
    wire = parse(build_order_confirmation(order, shop))
    plain, html = bodies(wire)
    assert wire["Subject"] == subject
    assert wire["Content-Language"] == language
    assert greeting in plain
    assert date in plain  # a date in running text is written long
    assert f'<html lang="{language}">' in html


@pytest.mark.parametrize(
    ("locale", "sentence"),
    [
        ("es_ES", "Gracias por tu pedido 1001 del 2 de noviembre de 2026."),
        ("en_US", "Thank you for order 1001, placed on November 2, 2026."),
    ],
)
def test_confirmation_thanks_for_the_order_with_its_long_date(shop, parse, locale, sentence):
    order = sample_order(Customer("José Núñez", "jose.nunez@example.com", locale))
    plain, html = bodies(parse(build_order_confirmation(order, shop)))
    assert sentence in plain
    assert sentence.replace("1001", "<strong>1001</strong>") in unescape(html)


# --------------------------------------------------------------------------- VAT included, totals aligned

VAT_LABEL = {"es_ES": "IVA incluido (21\xa0%)", "en_US": "VAT included (21%)"}


def totals_block(plain: str, locale: str) -> list[str]:
    """The lines of the totals block: from the subtotal line to the VAT line."""
    lines = plain.splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith(("Subtotal:",)))
    last = next(n for n, line in enumerate(lines) if line.startswith(VAT_LABEL[locale]))
    return lines[first : last + 1]


@pytest.mark.parametrize("locale", ["es_ES", "en_US"])
def test_confirmation_text_shows_the_vat_the_total_includes_after_the_total(shop, parse, locale):
    order = sample_order(Customer("José Núñez", "jose.nunez@example.com", locale))
    plain, _ = bodies(parse(build_order_confirmation(order, shop)))
    subtotal, tax, total = expected_totals(order)
    money = es_eur if locale == "es_ES" else us_eur
    block = totals_block(plain, locale)
    assert [line.split()[0] for line in block[:3]] == {
        "es_ES": ["Subtotal:", "Envío:", "Total:"],
        "en_US": ["Subtotal:", "Shipping:", "Total:"],
    }[locale]
    assert block[2].endswith(money(total)) and block[3].endswith(money(tax))
    assert block[3].startswith(VAT_LABEL[locale] + ":")
    assert total == subtotal + order.shipping.amount  # not added on top
    assert "VAT (" not in plain and "IVA (" not in plain


@pytest.mark.parametrize("locale", ["es_ES", "en_US"])
def test_confirmation_text_totals_are_right_aligned_so_the_decimals_line_up(shop, parse, locale):
    order = sample_order(Customer("José Núñez", "jose.nunez@example.com", locale))
    order = dataclasses.replace(order, items=(LineItem("CAF-01", "Cafetera", Money("1234.50"), 1),))
    plain, _ = bodies(parse(build_order_confirmation(order, shop)))
    block = totals_block(plain, locale)
    assert len(block) == 4
    separator = "," if locale == "es_ES" else "."
    assert len({len(line) for line in block}) == 1, block  # the amounts end in one column
    assert len({line.rindex(separator) for line in block}) == 1, block  # and so do their decimal marks
    assert all(re.fullmatch(r"[^:]+:\s{2,}\S.*", line) for line in block), block  # label, 2+ spaces, amount


def html_rows(html: str) -> list[str]:
    """The text of every table row of *html*, tags removed, entities decoded, spaces collapsed."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.DOTALL)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


@pytest.mark.parametrize("locale", ["es_ES", "en_US"])
def test_confirmation_html_shows_the_vat_included_in_a_row_after_the_total(shop, parse, locale):
    order = sample_order(Customer("José Núñez", "jose.nunez@example.com", locale))
    _, html = bodies(parse(build_order_confirmation(order, shop)))
    _, tax, total = expected_totals(order)
    money = es_eur if locale == "es_ES" else us_eur
    rows = html_rows(html)
    label = VAT_LABEL[locale].replace("\xa0", " ")
    [total_row] = [n for n, row in enumerate(rows) if row == f"Total {money(total)}".replace(NBSP, " ")]
    assert rows[total_row + 1] == f"{label} {money(tax)}".replace(NBSP, " ")


def test_numeric_column_headings_are_right_aligned_in_the_inlined_html(order, shop, parse):
    _, html = bodies(parse(build_order_confirmation(order, shop)))
    headings = [attrs for tag, attrs in html_elements(html) if tag == "th" and "num" in (attrs.get("class") or "").split()]
    assert len(headings) == 3  # Qty, Price, Total
    for attrs in headings:
        declarations = [d.strip() for d in (attrs.get("style") or "").split(";") if d.strip()]
        aligns = [d.split(":", 1)[1].strip() for d in declarations if d.split(":", 1)[0].strip() == "text-align"]
        assert aligns == ["right"], attrs.get("style")


# --------------------------------------------------------------------------- what the models refuse


def test_card_number_error_says_pci_dss_requires_strong_cryptography_not_that_it_forbids():
    import mimekit.errors

    with pytest.raises(CardNumberError) as info:
        Payment("Visa", "4242 4242 4242 4242")
    message = str(info.value)
    assert "PCI DSS" in message
    assert "forbid" not in message.lower()
    assert "3.4.1" in message and "4.2.2" in message
    assert "strong cryptography" in message
    doc = " ".join(mimekit.errors.CardNumberError.__doc__.split())
    assert "strong cryptography" in doc and "forbid" not in doc.lower()


@pytest.mark.parametrize("flag", ["marketing_consent", "unsubscribed"])
@pytest.mark.parametrize("value", ["no", "yes", "", 0, 1, None])
def test_customer_flags_must_be_bool(flag, value):
    with pytest.raises(TypeError, match=flag) as info:
        Customer("José Núñez", "jose.nunez@example.com", "es_ES", **{flag: value})
    assert "True or False" in str(info.value)


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_customer_name_must_not_be_blank(name):
    with pytest.raises(ValueError, match="blank"):
        Customer(name, "jose.nunez@example.com")


@pytest.mark.parametrize("locale", ["es-ES", "fr_FR", "es", "en_GB"])
def test_customer_locale_must_be_one_the_shop_writes_in(locale):
    from mimekit.shop.rendering import SUPPORTED_LOCALES

    with pytest.raises(ValueError) as info:
        Customer("José Núñez", "jose.nunez@example.com", locale=locale)
    message = str(info.value)
    assert repr(locale) in message
    for supported in SUPPORTED_LOCALES:
        assert supported in message
    assert "'es-ES' is written 'es_ES'" in message


def test_supported_locales_live_in_the_models_and_rendering_re_exports_them():
    from mimekit.shop import models, rendering

    assert rendering.SUPPORTED_LOCALES is models.SUPPORTED_LOCALES == ("en_US", "es_ES")


@pytest.mark.parametrize("currency", ["XYZ", "EUX", "AAA"])
def test_money_refuses_a_currency_code_iso_4217_does_not_have(currency):
    with pytest.raises(ValueError, match="ISO 4217"):
        Money("1", currency)


@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "JPY", "MXN"])
def test_money_takes_real_currency_codes(currency):
    assert Money("1", currency).currency == currency


@pytest.mark.parametrize("shipping", [4.95, "4.95", Decimal("4.95")])
def test_order_shipping_must_be_money_before_any_other_check(shipping):
    with pytest.raises(TypeError, match="Money"):
        dataclasses.replace(hand_made_order(), shipping=shipping, items=())  # no items either: Money is said first


def test_shop_time_zone_is_checked_when_the_shop_is_made():
    with pytest.raises(ValueError, match="Europe/Nowhere"):
        dataclasses.replace(sample_shop(), timezone="Europe/Nowhere")
    assert dataclasses.replace(sample_shop(), timezone="America/New_York").timezone == "America/New_York"


def test_shop_marketing_address_defaults_to_novedades_at_its_domain_and_is_validated():
    shop = sample_shop()
    assert shop.marketing_email == "novedades@tienda.example.com"
    assert dataclasses.replace(shop, marketing_email="boletin@tienda.example.com").marketing_email == (
        "boletin@tienda.example.com"
    )
    with pytest.raises(InvalidAddressError):
        dataclasses.replace(shop, marketing_email="novedades@")
    with pytest.raises(HeaderInjectionError):
        dataclasses.replace(shop, marketing_email="novedades@tienda.example.com\r\nBcc: x@example.net")
