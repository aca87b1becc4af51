"""Specification of mimekit.shop.newsletter: one message per consenting recipient, each with its own unsubscribe."""

from __future__ import annotations

import dataclasses
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.numbers import format_currency

from message_parts import content_id, html_elements, list_unsubscribe, tree_shape
from message_parts import readable_bodies as bodies
from mimekit import EmbeddedServer, as_smtp_bytes
from mimekit.sending import SMTPSession
from mimekit.shop import (
    Campaign,
    CampaignText,
    Customer,
    Money,
    Product,
    sample_campaign,
    sample_customers,
    unsubscribe_token,
)
from mimekit.shop.newsletter import NewsletterReport, build_newsletter, send_newsletter
from mimekit.shop.sample import NOW

JOSE, ZOE, INIGO, MARY = sample_customers()
SUBJECTS = {"es_ES": "Llega el otoño a Tienda Ñandú", "en_US": "Fall arrives at Tienda Ñandú"}
GREETINGS = {"es_ES": "Hola, José Núñez:", "en_US": "Hello Zoë Anderson,"}
UNSUBSCRIBE = {"es_ES": "Darte de baja:", "en_US": "Unsubscribe:"}
PRODUCT_LINKS = (
    "https://tienda.example.com/productos/bufanda-merina",
    "https://tienda.example.com/productos/taza-talavera",
)
LOCALES = pytest.mark.parametrize("customer", [JOSE, ZOE], ids=["es_ES", "en_US"])


def customers_on_example_domains(count: int) -> list[Customer]:
    """*count* customers on example.com/.org/.net: every 7th without consent, every 10th unsubscribed."""
    domains = ("example.com", "example.org", "example.net")
    return [
        Customer(
            f"Cliente Nº {n}",
            f"cliente{n}@{domains[n % 3]}",
            locale=("es_ES", "en_US")[n % 2],
            marketing_consent=n % 7 != 0,
            unsubscribed=n % 10 == 0,
        )
        for n in range(count)
    ]


# --------------------------------------------------------------------------- one recipient's message, both locales


@LOCALES
def test_newsletter_tree_is_alternative_of_plain_and_related_html_logo_and_photos(customer, shop, parse):
    assert tree_shape(parse(build_newsletter(sample_campaign(), customer, shop))) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
        (2, "image/png"),
        (2, "image/png"),
    ]


@LOCALES
def test_newsletter_photos_are_inline_and_referenced_from_the_html(customer, shop, parse, assert_cids_resolve):
    campaign = sample_campaign()
    wire = parse(build_newsletter(campaign, customer, shop))
    assert_cids_resolve(wire)
    html = wire.get_body(("html",)).get_content()
    _, logo, *photos = wire.get_payload()[1].get_payload()
    assert logo.get_filename() == "logo.png"
    assert len(photos) == len(campaign.featured)
    for product, photo in zip(campaign.featured, photos):
        assert content_id(product.sku, "otono-2026").fullmatch(photo["Content-ID"].strip())
        cid = photo["Content-ID"].strip().removeprefix("<").removesuffix(">")
        assert photo.get_content_disposition() == "inline"
        assert photo.get_filename() == f"{product.sku}.png"
        assert photo.get_payload(decode=True) == product.image_png
        assert f'src="cid:{cid}"' in html


@LOCALES
def test_newsletter_wire_is_crlf_only_within_998_octets(customer, shop, assert_valid_wire):
    assert_valid_wire(as_smtp_bytes(build_newsletter(sample_campaign(), customer, shop)))


@LOCALES
def test_newsletter_goes_to_its_one_recipient_with_the_localized_subject(customer, shop, parse):
    wire = parse(build_newsletter(sample_campaign(), customer, shop))
    assert wire["Subject"] == SUBJECTS[customer.locale]
    [recipient] = wire["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == (customer.name, customer.email)
    assert wire["Cc"] is None and wire["Bcc"] is None


@LOCALES
def test_newsletter_text_greets_and_shows_the_campaign_text_in_the_customers_locale(customer, shop, parse):
    campaign = sample_campaign()
    text = campaign.text_for(customer.locale)
    plain, html = bodies(parse(build_newsletter(campaign, customer, shop)))
    assert GREETINGS[customer.locale] in plain and GREETINGS[customer.locale] in html
    assert text.intro in plain and text.intro in html
    [preheader] = re.findall(r'<div class="preheader"[^>]*>(.*?)</div>', html)
    assert preheader == text.preheader
    assert f'<html lang="{customer.locale[:2]}">' in html


@LOCALES
def test_newsletter_shows_every_product_with_its_price_and_link(customer, shop, parse):
    campaign = sample_campaign()
    plain, html = bodies(parse(build_newsletter(campaign, customer, shop)))
    expected = {"es_ES": ["29,00\xa0€", "12,50\xa0€"], "en_US": ["€29.00", "€12.50"]}[customer.locale]
    for product, price, link in zip(campaign.featured, expected, PRODUCT_LINKS):
        assert format_currency(product.price.amount, "EUR", locale=customer.locale) == price
        assert f"{product.name}: {price}\n  {link}" in plain
        assert product.name in html and price in html
        assert f'href="{link}"' in html


@LOCALES
def test_newsletter_is_marketing_with_one_click_unsubscribe(customer, shop, parse):
    campaign = sample_campaign()
    wire = parse(build_newsletter(campaign, customer, shop))
    https, mailto = list_unsubscribe(wire)
    assert mailto == "mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20boletin"
    assert str(wire["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert str(wire["List-Id"]) == "<boletin.tienda.example.com>"  # RFC 2919: the list, not the campaign
    assert https.startswith("https://tienda.example.com/baja?")
    assert parse_qs(urlsplit(https).query) == {
        "lista": ["boletin"],
        "t": [unsubscribe_token(shop, customer, "boletin")],
    }
    assert "@" not in https and "%40" not in https.upper()
    assert customer.email.split("@")[0] not in https
    plain, html = bodies(wire)
    assert f"{UNSUBSCRIBE[customer.locale]} {https}" in plain
    assert f'href="{https}"' in html


def test_unsubscribe_url_keeps_a_query_the_campaign_url_already_has(shop, parse):
    campaign = dataclasses.replace(sample_campaign(), unsubscribe_url="https://tienda.example.com/baja?origen=correo")
    https, _ = list_unsubscribe(parse(build_newsletter(campaign, JOSE, shop)))
    assert parse_qs(urlsplit(https).query) == {
        "origen": ["correo"],
        "lista": ["boletin"],
        "t": [unsubscribe_token(shop, JOSE, "boletin")],
    }
    assert https.startswith("https://tienda.example.com/baja?origen=correo&lista=boletin&t=")


def test_each_message_has_its_own_content_ids(shop):
    def ids(msg):
        return {part["Content-ID"] for part in msg.walk() if part["Content-ID"]}

    first, second = (build_newsletter(sample_campaign(), JOSE, shop) for _ in range(2))
    assert not ids(first) & ids(second)


def test_fixed_message_id_gives_fixed_content_ids(shop):
    def ids():
        msg = build_newsletter(sample_campaign(), JOSE, shop, date=NOW, message_id="<n-1@tienda.example.com>")
        return [part["Content-ID"] for part in msg.walk() if part["Content-ID"]]

    assert ids() == ids()
    assert content_id("logo", "otono-2026").fullmatch(ids()[0])


@pytest.mark.parametrize(("customer", "reason"), [(INIGO, "unsubscribed"), (MARY, "no marketing consent")])
def test_newsletter_is_refused_for_a_customer_who_may_not_receive_marketing(customer, reason, shop):
    with pytest.raises(ValueError, match=reason) as info:
        build_newsletter(sample_campaign(), customer, shop)
    assert customer.email in str(info.value)


def test_newsletter_without_text_in_the_customers_locale_names_the_locales_it_has(shop):
    campaign = dataclasses.replace(sample_campaign(), texts={"es_ES": sample_campaign().text_for("es_ES")})
    with pytest.raises(KeyError, match="en_US"):
        build_newsletter(campaign, ZOE, shop)


def test_markup_in_names_and_campaign_text_is_escaped_in_html_and_literal_in_text(shop, parse):
    customer = Customer("<script>alert(1)</script> & Co", "ana.perez@example.org", "es_ES", marketing_consent=True)
    photo = sample_campaign().featured[0].image_png
    product = Product("TJ-01", "<b>Tom & Jerry</b>", Money("5.00"), photo, "tom&jerry")
    text = CampaignText("Ofertas <i>& más</i>", "Pre <u>& header</u>", "Intro <s>& más</s>")
    campaign = Campaign("tj", {"es_ES": text}, (product,), "https://tienda.example.com/baja")
    wire = parse(build_newsletter(campaign, customer, shop))
    plain = wire.get_body(("plain",)).get_content()
    html = wire.get_body(("html",)).get_content()
    for escaped in (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co",
        "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;",
        "Ofertas &lt;i&gt;&amp; más&lt;/i&gt;",
        "Pre &lt;u&gt;&amp; header&lt;/u&gt;",
        "Intro &lt;s&gt;&amp; más&lt;/s&gt;",
    ):
        assert escaped in html
    elements = html_elements(html)
    assert not {"b", "i", "u", "s", "script"} & {tag for tag, _ in elements}
    assert ("img", "<b>Tom & Jerry</b>") in [(tag, attrs.get("alt")) for tag, attrs in elements]
    assert ("a", "https://tienda.example.com/productos/tom%26jerry") in [(t, a.get("href")) for t, a in elements]
    assert "Hola, <script>alert(1)</script> & Co:" in plain
    assert "<b>Tom & Jerry</b>: 5,00\xa0€" in plain
    assert wire["Subject"] == "Ofertas <i>& más</i>"


def test_product_without_a_path_links_to_its_sku(shop, parse):
    product = Product("GIFT/10", "Tarjeta regalo", Money("10"))
    campaign = dataclasses.replace(sample_campaign(), featured=(product,))
    plain, _ = bodies(parse(build_newsletter(campaign, JOSE, shop)))
    assert "https://tienda.example.com/productos/GIFT%2F10" in plain


# --------------------------------------------------------------------------- the report


def test_report_summary_groups_skipped_addresses_by_reason():
    report = NewsletterReport(
        skipped={
            "a@example.com": "unsubscribed",
            "b@example.org": "no marketing consent",
            "c@example.net": "unsubscribed",
        },
        refused={"nobody@example.com": (550, "5.1.1 No such user")},
    )
    assert str(report) == (
        "0 sent, 3 skipped (unsubscribed: a@example.com, c@example.net; no marketing consent: b@example.org), "
        "1 refused (nobody@example.com: 550 5.1.1 No such user)"
    )
    assert not report.ok


def test_report_summary_shortens_long_lists():
    report = NewsletterReport(skipped={f"c{n}@example.com": "unsubscribed" for n in range(5)})
    assert str(report) == (
        "0 sent, 5 skipped (unsubscribed: c0@example.com, c1@example.com, c2@example.com and 2 more), 0 refused"
    )
    assert report.ok


# --------------------------------------------------------------------------- sending


def test_demo_customers_jose_and_zoe_are_sent_inigo_and_mary_skipped(shop, smtp_server):
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        report = send_newsletter(sample_campaign(), sample_customers(), shop, session, progress=False, date=NOW)
    assert [result.accepted for result in report.sent] == [["jose.nunez@example.com"], ["zoe.anderson@example.org"]]
    assert report.skipped == {
        "inigo.martinez@example.net": "unsubscribed",
        "mary.obrien@example.org": "no marketing consent",
    }
    assert report.refused == {} and report.unsent == [] and report.ok
    assert str(report) == (
        "2 sent, 2 skipped (unsubscribed: inigo.martinez@example.net; no marketing consent: mary.obrien@example.org), "
        "0 refused"
    )
    assert [(m.rcpt_tos, m.subject) for m in smtp_server.inbox] == [
        (("jose.nunez@example.com",), "Llega el otoño a Tienda Ñandú"),
        (("zoe.anderson@example.org",), "Fall arrives at Tienda Ñandú"),
    ]


def test_a_thousand_recipients_get_one_message_each_over_one_session(shop, smtp_server):
    customers = customers_on_example_domains(1000)
    consenting = {c.email: c for c in customers if c.marketing_consent and not c.unsubscribed}
    assert len(consenting) == 772  # 1000 - 143 without consent - 100 unsubscribed + 15 both
    started = time.perf_counter()
    with SMTPSession(port=smtp_server.port, timeout=10) as session:
        report = send_newsletter(sample_campaign(), customers, shop, session, progress=False)
    elapsed = time.perf_counter() - started
    inbox = smtp_server.inbox.messages()

    # exactly the consenting ones, nothing lost, nothing twice, one connection
    assert len(inbox) == len(report.sent) == len(consenting)
    assert sorted(m.rcpt_tos[0] for m in inbox) == sorted(consenting)
    assert len({m.message["Message-ID"] for m in inbox}) == len(inbox)
    assert [r.message_id for r in report.sent] == [m.message["Message-ID"] for m in inbox]
    assert len({m.peer for m in inbox}) == 1
    assert report.refused == {} and report.unsent == []

    # one recipient per message, each with its own signed unsubscribe link
    urls = set()
    for captured in inbox:
        [address] = captured.rcpt_tos
        [to] = captured.message["To"].addresses
        assert to.addr_spec == address
        assert captured.message["Cc"] is None and captured.message["Bcc"] is None
        https, _ = list_unsubscribe(captured.message)
        assert parse_qs(urlsplit(https).query)["t"] == [unsubscribe_token(shop, consenting[address], "boletin")]
        assert "@" not in https
        urls.add(https)
    assert len(urls) == len(inbox)

    # the others skipped, with the right reason
    assert report.skipped == {
        c.email: "unsubscribed" if c.unsubscribed else "no marketing consent"
        for c in customers
        if c.email not in consenting
    }
    assert elapsed < 20, f"sending {len(inbox)} newsletters took {elapsed:.1f} s"


def test_a_refused_recipient_is_reported_and_the_others_are_sent(shop, refusing_server):
    customers = [JOSE, Customer("Nadie", "nobody@example.com", "es_ES", marketing_consent=True), ZOE]
    with SMTPSession(port=refusing_server.port, timeout=5) as session:
        report = send_newsletter(sample_campaign(), customers, shop, session, progress=False)
    assert report.refused == {"nobody@example.com": (550, "5.1.1 No such user")}
    assert [r.accepted for r in report.sent] == [["jose.nunez@example.com"], ["zoe.anderson@example.org"]]
    assert [m.rcpt_tos for m in refusing_server.inbox] == [("jose.nunez@example.com",), ("zoe.anderson@example.org",)]
    assert not report.ok


class HangingUpHandler:
    """Around the server's own handler: answers 421 (closing the channel, RFC 5321 §3.8) to ``RCPT TO:<bye@…>``."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("bye@"):
            return "421 4.3.2 Service shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return await self.inner.handle_DATA(server, session, envelope)


def test_a_lost_connection_stops_sending_and_reports_who_was_not_tried(shop):
    server = EmbeddedServer()
    server.handler = HangingUpHandler(server.handler)
    customers = [JOSE, Customer("Adiós", "bye@example.net", "es_ES", marketing_consent=True), ZOE, INIGO]
    with server, SMTPSession(port=server.port, timeout=5) as session:
        report = send_newsletter(sample_campaign(), customers, shop, session, progress=False)
        assert [m.rcpt_tos for m in server.inbox] == [("jose.nunez@example.com",)]
    assert [r.accepted for r in report.sent] == [["jose.nunez@example.com"]]
    assert report.refused == {"bye@example.net": (421, "4.3.2 Service shutting down")}
    assert report.unsent == ["zoe.anderson@example.org"]
    assert report.skipped == {"inigo.martinez@example.net": "unsubscribed"}
    assert str(report).endswith("1 not sent (connection lost: zoe.anderson@example.org)")


def test_duplicate_addresses_get_one_message_and_a_stale_record_never_undoes_an_unsubscribe(shop, smtp_server):
    customers = [
        JOSE,
        dataclasses.replace(JOSE, email="Jose.Nunez@example.com"),
        INIGO,
        dataclasses.replace(INIGO, unsubscribed=False),  # a stale second record does not undo the unsubscribe
    ]
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        report = send_newsletter(sample_campaign(), customers, shop, session, progress=False)
    assert [m.rcpt_tos for m in smtp_server.inbox] == [("jose.nunez@example.com",)]
    assert len(report.sent) == 1
    assert report.skipped == {"inigo.martinez@example.net": "unsubscribed"}
    assert report.duplicates == ["Jose.Nunez@example.com"]
    assert "1 duplicate records merged (Jose.Nunez@example.com)" in str(report)


@pytest.mark.parametrize(
    ("later", "reason"),
    [
        ({"unsubscribed": True}, "unsubscribed"),
        ({"marketing_consent": False}, "no marketing consent"),
        ({"marketing_consent": False, "unsubscribed": True}, "unsubscribed"),
    ],
    ids=["later-unsubscribed", "later-no-consent", "later-both"],
)
def test_any_record_that_refuses_marketing_wins_over_an_earlier_one_that_allows_it(later, reason, shop, smtp_server):
    refusing = dataclasses.replace(JOSE, email="JOSE.NUNEZ@example.com", **later)
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        report = send_newsletter(sample_campaign(), [JOSE, ZOE, refusing], shop, session, progress=False)
    assert [m.rcpt_tos for m in smtp_server.inbox] == [("zoe.anderson@example.org",)]
    assert report.skipped == {"jose.nunez@example.com": reason}
    sent = {address.lower() for result in report.sent for address in result.accepted}
    skipped = {address.lower() for address in report.skipped}
    assert sent == {"zoe.anderson@example.org"}
    assert not sent & skipped  # never both sent and skipped
    assert report.duplicates == []


def test_a_recipient_whose_language_the_campaign_lacks_stops_the_send_before_anything_is_sent(shop, smtp_server):
    campaign = dataclasses.replace(sample_campaign(), texts={"es_ES": sample_campaign().text_for("es_ES")})
    with SMTPSession(port=smtp_server.port, timeout=5) as session, pytest.raises(ValueError) as info:
        send_newsletter(campaign, [JOSE, ZOE, MARY], shop, session, progress=False)
    assert len(smtp_server.inbox) == 0
    message = str(info.value)
    assert "zoe.anderson@example.org (en_US)" in message
    assert "mary.obrien@example.org" not in message  # she may not receive it anyway: no consent
    assert "nothing was sent" in message


def test_sending_needs_an_open_session(shop, smtp_server):
    with pytest.raises(RuntimeError, match="not open"):
        send_newsletter(sample_campaign(), [JOSE], shop, SMTPSession(port=smtp_server.port), progress=False)
    assert len(smtp_server.inbox) == 0


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_is_drawn_only_when_asked(progress, shop, smtp_server, capsys):
    with SMTPSession(port=smtp_server.port, timeout=5) as session:
        send_newsletter(sample_campaign(), sample_customers(), shop, session, progress=progress)
    err = capsys.readouterr().err
    assert ("otono-2026" in err and "2/2" in err) is progress
    assert bool(err) is progress


# --------------------------------------------------------------------------- translations



# --------------------------------------------------------------------------- sender, list and links


@LOCALES
def test_newsletter_comes_from_the_marketing_address_with_replies_to_support(customer, shop, parse):
    wire = parse(build_newsletter(sample_campaign(), customer, shop))
    [sender] = wire["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Tienda Ñandú", "novedades@tienda.example.com")
    assert wire["Reply-To"].addresses[0].addr_spec == "ayuda@tienda.example.com"


def test_a_shop_may_choose_its_marketing_address(shop, parse):
    shop = dataclasses.replace(shop, marketing_email="boletin@tienda.example.com")
    wire = parse(build_newsletter(sample_campaign(), JOSE, shop))
    assert wire["From"].addresses[0].addr_spec == "boletin@tienda.example.com"


def test_unsubscribe_link_and_token_stay_the_same_from_one_campaign_to_the_next(shop, parse):
    autumn = sample_campaign()
    winter = dataclasses.replace(autumn, slug="invierno-2026")
    assert autumn.list_id == winter.list_id == "boletin"
    links = {list_unsubscribe(parse(build_newsletter(c, JOSE, shop)))[0] for c in (autumn, winter)}
    assert len(links) == 1


def test_another_list_has_its_own_list_id_link_and_token(shop, parse):
    campaign = dataclasses.replace(sample_campaign(), list_id="ofertas-vip")
    wire = parse(build_newsletter(campaign, JOSE, shop))
    https, mailto = list_unsubscribe(wire)
    assert str(wire["List-Id"]) == "<ofertas-vip.tienda.example.com>"
    assert mailto == "mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20ofertas-vip"
    assert parse_qs(urlsplit(https).query) == {"lista": ["ofertas-vip"], "t": [unsubscribe_token(shop, JOSE, "ofertas-vip")]}
    assert unsubscribe_token(shop, JOSE, "ofertas-vip") != unsubscribe_token(shop, JOSE, "boletin")


@pytest.mark.parametrize("list_id", ["", "Boletín", "boletin 2026", "boletin.es", "-boletin", "boletin-"])
def test_list_id_must_be_an_ascii_slug(list_id):
    with pytest.raises(ValueError, match="list_id"):
        dataclasses.replace(sample_campaign(), list_id=list_id)


@pytest.mark.parametrize("locale", ["es-ES", "fr_FR", "es", "EN_us"])
def test_campaign_texts_must_be_keyed_by_supported_locales(locale):
    text = sample_campaign().text_for("es_ES")
    with pytest.raises(ValueError, match=re.escape(repr(locale))) as info:
        dataclasses.replace(sample_campaign(), texts={"es_ES": text, locale: text})
    assert "en_US" in str(info.value) and "es_ES" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://tienda.example.com/baja",
        "https:///baja",
        "https://tienda.example.com/baja#pie",
        "https://tienda.example.com/ba ja",
        "https://tienda.example.com/baja?x=<y>",
        'https://tienda.example.com/baja?x="y"',
        "https://tienda.example.com/baja\r\nBcc: x@example.net",
        "mailto:unsubscribe@tienda.example.com",
        "tienda.example.com/baja",
    ],
)
def test_campaign_unsubscribe_url_must_be_a_plain_https_url(url):
    with pytest.raises(ValueError, match="unsubscribe_url"):
        dataclasses.replace(sample_campaign(), unsubscribe_url=url)


def test_consent_wording_names_the_soft_opt_in_and_calls_explicit_consent_the_safe_default(shop):
    import mimekit.shop.newsletter as module

    doc = " ".join(module.__doc__.split())
    assert "soft opt-in" in doc and "art. 13(2)" in doc and "LSSI art. 21.2" in doc
    assert "safe default" in doc
    with pytest.raises(ValueError, match="explicit consent.*safe"):
        build_newsletter(sample_campaign(), MARY, shop)
