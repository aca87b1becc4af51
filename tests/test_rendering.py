"""Specification of mimekit.shop.rendering: catalogs complete, locales honoured, CSS inlined."""

from __future__ import annotations

import re
from pathlib import Path
from importlib.resources import files

import pytest
from babel.messages.extract import extract_from_dir

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
