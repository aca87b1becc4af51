"""Specification of mimekit.shop.rendering: catalogs complete, locales honoured, CSS inlined."""

from __future__ import annotations

import re
from email.message import Message
from functools import cache
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from message_parts import bodies, html_elements
from mimekit.shop.rendering import SUPPORTED_LOCALES, inline_css, template_environment, translations

TEMPLATES = files("mimekit.shop").joinpath("templates")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
SAME_IN_BOTH = {"Total", "Subtotal", "Subtotal:", "Total:"}  # Spanish writes these the English way


def template_msgids() -> dict[str, str]:
    """Every gettext msgid used in the templates, with the file it first appears in."""
    found: dict[str, str] = {}
    for filename, _, message, _, _ in extract_from_dir(
        str(TEMPLATES),
        method_map=[("**.html", "jinja2"), ("**.txt", "jinja2")],
        options_map={"**": {"extensions": "jinja2.ext.i18n"}},
    ):
        if isinstance(message, str):
            found.setdefault(message, filename)
    return found


def test_templates_use_gettext():
    assert len(template_msgids()) >= 20


@pytest.mark.parametrize("msgid", sorted(template_msgids()))
def test_every_template_string_has_a_spanish_translation_with_the_same_placeholders(msgid):
    spanish = translations("es_ES").gettext(msgid)
    if msgid not in SAME_IN_BOTH:
        assert spanish != msgid, f"{msgid!r} ({template_msgids()[msgid]}) has no Spanish translation"
    assert sorted(PLACEHOLDER.findall(spanish)) == sorted(PLACEHOLDER.findall(msgid))


def test_english_is_the_templates_own_language():
    assert translations("en_US").gettext("Your order %(number)s is confirmed") == "Your order %(number)s is confirmed"


@pytest.mark.parametrize("locale", ["fr_FR", "es", "xx"])
def test_unsupported_locale_is_refused_naming_the_supported_ones(locale):
    with pytest.raises(ValueError) as info:
        translations(locale)
    for supported in SUPPORTED_LOCALES:
        assert supported in str(info.value)


def test_filters_format_for_the_locale():
    from decimal import Decimal

    from mimekit.shop import Money

    page = "{{ price|money }} | {{ rate|percent }}"
    env_es = template_environment("es_ES")
    env_en = template_environment("en_US")
    values = {"price": Money(Decimal("1234.56")), "rate": Decimal("0.21")}
    assert env_es.from_string(page).render(values) == "1.234,56\xa0€ | 21\xa0%"
    assert env_en.from_string(page).render(values) == "€1,234.56 | 21%"


def test_inline_css_moves_rules_into_style_attributes_and_keeps_media_queries():
    html = (
        "<html><head><style>.num { text-align: right } @media (max-width: 620px) { .num { color: red } }</style>"
        '</head><body><table><tr><td class="num">1</td></tr></table></body></html>'
    )
    out = inline_css(html)
    assert 'style="text-align: right;"' in out
    assert "@media (max-width: 620px)" in out
    assert ".num { text-align: right }" not in out


def test_inline_css_never_fetches_remote_stylesheets():
    html = '<html><head><link rel="stylesheet" href="https://cdn.example.net/x.css"></head><body></body></html>'
    inline_css(html)  # would raise or hang if it tried: the machine has no network


def test_no_template_line_ends_with_endtrans():
    """trim_blocks drops the newline after a block tag, so "…{% endtrans %}⏎text" glues two words together."""
    offenders = []
    for path in sorted(Path(str(TEMPLATES)).rglob("*")):
        if path.suffix in (".html", ".txt"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.rstrip().endswith("{% endtrans %}"):
                    offenders.append(f"{path.relative_to(Path(str(TEMPLATES)))}:{number}")
    assert not offenders, f"put what follows on the same line: {offenders}"


def test_no_english_text_is_translated_two_ways_across_the_catalogs():
    from babel.messages.pofile import read_po

    folder = Path(str(files("mimekit.shop").joinpath("locale", "es", "LC_MESSAGES")))
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted(folder.glob("*.po")):
        with po.open(encoding="utf-8") as handle:
            for message in read_po(handle, locale="es"):
                if not message.id:
                    continue
                assert isinstance(message.id, str), f"{po.name}: plural forms need msgstr[0..2] in Spanish: {message.id!r}"
                earlier = seen.setdefault(message.id, (po.name, message.string))
                if earlier[1] != message.string:
                    clashes.append(f"{message.id!r}: {earlier} vs {(po.name, message.string)}")
    assert not clashes, "the merged catalog keeps only one of these: " + "; ".join(clashes)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("es_ES", "4 de noviembre de 2026, 21:12 (CET)"),
        ("en_US", "November 4, 2026, 9:12\u202fPM (CET)"),  # CLDR puts a narrow no-break space before PM
    ],
)
def test_datetime_filter_shows_date_hour_minute_and_zone_in_the_shops_time_zone(locale, expected):
    import datetime as dt

    moment = dt.datetime(2026, 11, 4, 20, 12, 59, tzinfo=dt.timezone.utc)  # 21:12:59 in Madrid: no seconds shown
    assert template_environment(locale).from_string("{{ t|datetime }}").render(t=moment) == expected


def test_datetime_filter_names_the_zone_in_force_at_that_instant():
    import datetime as dt

    summer = dt.datetime(2026, 7, 4, 18, 0, tzinfo=dt.timezone.utc)
    assert template_environment("es_ES").from_string("{{ t|datetime }}").render(t=summer) == (
        "4 de julio de 2026, 20:00 (CEST)"
    )
    assert template_environment("en_US", "America/New_York").from_string("{{ t|datetime }}").render(t=summer) == (
        "July 4, 2026, 2:00\u202fPM (EDT)"
    )


def test_datetime_filter_refuses_a_naive_time():
    import datetime as dt

    with pytest.raises(ValueError, match="naive"):
        template_environment("es_ES").from_string("{{ t|datetime }}").render(t=dt.datetime(2026, 11, 4, 21, 12))


@pytest.mark.parametrize(
    ("locale", "long", "medium"),
    [("es_ES", "2 de noviembre de 2026", "2 nov 2026"), ("en_US", "November 2, 2026", "Nov 2, 2026")],
)
def test_longdate_is_for_sentences_and_date_for_table_cells(locale, long, medium):
    import datetime as dt

    env = template_environment(locale)
    for value in (dt.date(2026, 11, 2), dt.datetime(2026, 11, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))):
        assert env.from_string("{{ d|longdate }} | {{ d|date }}").render(d=value) == f"{long} | {medium}"


# --------------------------------------------------------------------------- phone width (375 px and narrower)
#
# css-inline writes every rule into style="" and keeps only the @media block in <head>. An inline style
# beats a <style> rule, so the phone rules must be !important to apply at all; and because some clients
# ignore <style> altogether, the inline styles alone must already keep table columns apart.


@cache
def shop_emails() -> dict[str, Message]:
    """Every shop e-mail, built from the sample data, in Spanish and in English."""
    import mimekit.shop as s

    es, en = s.sample_customers()[0], s.sample_customers()[1]
    shop = s.sample_shop()
    return {
        "order_confirmation-es": s.build_order_confirmation(s.sample_order(es), shop),
        "order_confirmation-en": s.build_order_confirmation(s.sample_order(en), shop),
        "shipping_notification-es": s.build_shipping_notification(s.sample_shipment(s.sample_order(es)), shop),
        "shipping_notification-en": s.build_shipping_notification(s.sample_shipment(s.sample_order(en)), shop),
        "cart_reminder-es": s.build_cart_reminder(s.sample_cart(es), shop),
        "cart_reminder-en": s.build_cart_reminder(s.sample_cart(en), shop),
        "newsletter-es": s.build_newsletter(s.sample_campaign(), es, shop),
        "newsletter-en": s.build_newsletter(s.sample_campaign(), en, shop),
        "account_created-es": s.build_account_created(s.sample_account_created(es), shop),
        "password_changed-en": s.build_password_changed(s.sample_password_changed(en), shop),
        "account_details_updated-es": s.build_account_details_updated(s.sample_account_details_updated(es), shop),
        "account_details_updated-en": s.build_account_details_updated(s.sample_account_details_updated(en), shop),
    }


EMAILS = sorted(shop_emails())
WITH_TABLES = [name for name in EMAILS if not name.startswith("account_created")]
AMOUNT = re.compile(r"\d[\d.,]*\xa0€|€\d[\d.,]*")  # es_ES "1.234,56 €" (no-break space), en_US "€1,234.56"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def declarations(style: str | None) -> list[tuple[str, str]]:
    """``style="a: 1; b: 2"`` as ``[("a", "1"), ("b", "2")]``, in order: a later declaration wins, as in a browser."""
    found = []
    for declaration in (style or "").split(";"):
        if ":" in declaration:
            prop, value = declaration.split(":", 1)
            found.append((prop.strip().lower(), value.strip()))
    return found


def padding_left_px(style: list[tuple[str, str]]) -> float:
    """The left padding a browser applies for *style*, from ``padding-left`` or the ``padding`` shorthand."""
    left = "0"
    for prop, value in style:
        if prop == "padding":
            sides = value.split()
            left = sides[{1: 0, 2: 1, 3: 1, 4: 3}[len(sides)]]
        elif prop == "padding-left":
            left = value
    return 0.0 if left == "0" else float(left.removesuffix("px"))


class Cells(HTMLParser):
    """Read the inlined HTML as a browser's tokenizer does: table rows with their cells' inline styles,
    and every text node with the inline styles of the elements around it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        Style = list[tuple[str, str]]
        self.open: list[tuple[str, Style]] = []  # the elements around the parser's position, innermost last
        self.rows: list[list[Style]] = []
        self.row_stack: list[list[Style]] = []  # rows being read (a table can sit inside a cell)
        self.texts: list[tuple[str, list[tuple[str, Style]]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        style = declarations(dict(attrs).get("style"))
        if tag == "tr":
            self.row_stack.append([])
        elif tag in ("td", "th") and self.row_stack:
            self.row_stack[-1].append(style)
        if tag not in VOID:
            self.open.append((tag, style))

    def handle_endtag(self, tag):
        if tag == "tr" and self.row_stack:
            self.rows.append(self.row_stack.pop())
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if data.strip():
            self.texts.append((data, list(self.open)))


MEDIA_BLOCK = re.compile(r"@media([^{]*)\{((?:[^{}]*\{[^{}]*\})*)\s*\}")  # @media QUERY { SELECTOR { … } … }


def media_rules(html: str) -> list[tuple[str, str, str]]:
    """``(query, selector, declaration)`` for every declaration inside an ``@media`` block of a ``<style>``."""
    found = []
    for css in re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL):
        for query, body in MEDIA_BLOCK.findall(css):
            for selector, block in re.findall(r"([^{}]+)\{([^{}]*)\}", body):
                for declaration in block.split(";"):
                    if declaration.strip():
                        found.append((query.strip(), selector.strip(), declaration.strip()))
    return found


def test_inline_css_keeps_important_phone_rules_in_head_next_to_the_inlined_style():
    html = (
        "<html><head><style>.content { padding: 24px } @media (max-width: 620px) { .content { padding: 16px !important } }"
        '</style></head><body><div class="content">Hola</div></body></html>'
    )
    out = inline_css(html)
    assert '<div class="content" style="padding: 24px;">' in out
    assert media_rules(out) == [("(max-width: 620px)", ".content", "padding: 16px !important")]
    assert out.index("@media") < out.index("</head>")


@pytest.mark.parametrize("name", EMAILS)
def test_phone_rules_survive_inlining_and_are_all_important_so_they_beat_the_inline_styles(name, parse):
    _, html = bodies(parse(shop_emails()[name]))
    rules = media_rules(html)
    assert any(query == "(max-width: 620px)" for query, _, _ in rules), "the phone rules were lost in inlining"
    not_important = [f"{selector} {{ {declaration} }}" for _, selector, declaration in rules if not declaration.endswith("!important")]
    assert not not_important, f"an inline style beats these in every client: {not_important}"
    classes = {c for _, attrs in html_elements(html) for c in (attrs.get("class") or "").split()}
    tags = {tag for tag, _ in html_elements(html)}
    for _, selector, _ in rules:  # each rule reaches an element of this e-mail: none is dead weight
        assert (selector[1:] in classes) if selector.startswith(".") else (selector in tags), selector
    head = html[: html.index("<body")]
    left_in_head = [MEDIA_BLOCK.sub("", css).strip() for css in re.findall(r"<style[^>]*>(.*?)</style>", head, re.DOTALL)]
    assert left_in_head and not any(left_in_head), f"rules not inlined: {left_in_head}"


@pytest.mark.parametrize("name", WITH_TABLES)
def test_table_columns_are_kept_apart_by_inline_padding_even_without_media_queries(name, parse):
    _, html = bodies(parse(shop_emails()[name]))
    rows = [row for row in Cells(html).rows if len(row) > 1]
    assert rows, "expected a table with several columns"
    for row in rows:
        for cell in row[1:]:
            assert padding_left_px(cell) >= 8, f"this cell touches its left neighbour: style={cell}"


@pytest.mark.parametrize("name", [n for n in WITH_TABLES if n.split("-")[0] in ("order_confirmation", "cart_reminder", "newsletter")])
def test_amounts_in_table_cells_never_wrap(name, parse):
    _, html = bodies(parse(shop_emails()[name]))
    in_cells = [(text, around) for text, around in Cells(html).texts if AMOUNT.search(text) and any(t in ("td", "th") for t, _ in around)]
    assert len(in_cells) >= 2, "expected amounts in a table"
    for text, around in in_cells:
        cell = max(i for i, (tag, _) in enumerate(around) if tag in ("td", "th"))
        assert any(("white-space", "nowrap") in style for _, style in around[cell:]), f"{text!r} may break across lines"
