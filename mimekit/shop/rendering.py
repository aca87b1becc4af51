"""Templates, translations and CSS inlining for the shop's e-mails.

Every e-mail is three Jinja2 templates in ``templates/<kind>/``: ``subject.txt``,
``body.txt`` and ``body.html``, which extend the shared layouts ``base.txt`` and
``base.html`` (logo, footer with the shop's postal address and support contact,
unsubscribe link for marketing mail).

* **Escaping.** HTML templates are autoescaped: a product called
  ``<b>Tom & Jerry</b>`` shows as those characters, and a customer cannot
  inject markup into the e-mail. Text templates are not escaped: there is no
  markup to break.
* **Languages.** Templates are written in English (as written in the United
  States): HTML templates with ``{% trans %}`` blocks, text templates with
  ``{{ _("…", name=value) }}``; the Spanish text lives in gettext catalogs under
  ``locale/es/LC_MESSAGES/*.po``, read with Babel. The customer's locale
  (``es_ES``, ``en_US``) picks the catalog, and Babel formats money, dates and
  percentages the local way (CLDR): ``1.234,56 €`` / ``€1,234.56``.
* **CSS.** ``body.html`` styles its elements with classes in a ``<style>``
  block, which many mail clients drop; :func:`inline_css` moves every rule
  into ``style=""`` attributes with the ``css-inline`` package, keeping only
  ``@media`` rules (for phones) in the head.
* **Phones.** The layout must read at 320–375 px in two kinds of client.
  Where ``<style>`` is ignored, only the inline styles count, so tables
  never rely on a media query: every column after the first has a left
  padding, amounts never wrap (``white-space: nowrap``), and wide content
  is stacked (the cart shows "2 × 12,50 €" under the product name, account
  changes put the field's name on its own row). Where media queries work,
  the ``@media (max-width: 620px)`` rules in ``base.html`` narrow the
  margins; an inline style beats any ``<style>`` rule, so each of those
  declarations is ``!important``, or it would change nothing.

Filters available in every template, already bound to the e-mail's locale:

``money``     a :class:`~mimekit.shop.models.Money`: ``1.234,56 €`` / ``€1,234.56``
``date``      a date or datetime, medium format, for table cells: ``2 nov 2026`` / ``Nov 2, 2026``
``longdate``  a date or datetime, long format, for running text: ``2 de noviembre de 2026`` / ``November 2, 2026``
``datetime``  date, hour and minute, and the zone's abbreviation at that instant, in the shop's time zone:
              ``4 de noviembre de 2026, 21:12 (CET)`` / ``November 4, 2026, 9:12 PM (CET)``
``percent``   a Decimal rate: ``21 %`` / ``21%``

Dates and datetimes are shown in the shop's time zone (a datetime must be
timezone-aware; a naive one raises ``ValueError``).
"""

from __future__ import annotations

import datetime as _dt
import io
from functools import lru_cache
from importlib.resources import files
from typing import Any

import css_inline
import jinja2
from babel import Locale
from babel.dates import format_date, format_time, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_percent
from babel.support import NullTranslations, Translations

from .models import SUPPORTED_LOCALES, Money

__all__ = ["SUPPORTED_LOCALES", "inline_css", "render_template", "template_environment", "translations"]

_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@lru_cache(maxsize=None)
def translations(locale: str) -> NullTranslations:
    """Return the gettext translations for *locale*, read from the package's ``.po`` catalogs.

    English (``en_*``) needs none. Every ``*.po`` file under
    ``locale/<language>/LC_MESSAGES/`` is read and merged, so each e-mail can
    keep its own catalog. Raises ``ValueError`` for a locale outside
    :data:`SUPPORTED_LOCALES`.
    """
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(
            f"The shop writes e-mails in {', '.join(SUPPORTED_LOCALES)}, not {locale!r}; "
            "set Customer.locale to one of them."
        )
    language = Locale.parse(locale).language
    merged: NullTranslations = NullTranslations()
    if language == "en":
        return merged
    folder = files("mimekit.shop").joinpath("locale", language, "LC_MESSAGES")
    for po in sorted((p for p in folder.iterdir() if p.name.endswith(".po")), key=lambda p: p.name):
        catalog = read_po(io.StringIO(po.read_text(encoding="utf-8")), locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        loaded = Translations(compiled, domain="mimekit")
        if isinstance(merged, Translations):
            merged.merge(loaded)
        else:
            merged = loaded
    return merged


@lru_cache(maxsize=None)
def template_environment(locale: str, timezone: str = "Europe/Madrid") -> jinja2.Environment:
    """Return the Jinja2 environment for *locale*: package templates, HTML autoescaped, undefined names fail.

    *timezone* (an IANA name) is where the ``date``, ``longdate`` and
    ``datetime`` filters show dates and times.

    >>> import datetime as dt
    >>> moment = dt.datetime(2026, 11, 4, 20, 12, tzinfo=dt.timezone.utc)
    >>> template_environment("es_ES").from_string("{{ t|datetime }} · {{ t|longdate }}").render(t=moment)
    '4 de noviembre de 2026, 21:12 (CET) · 4 de noviembre de 2026'
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mimekit.shop", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    zone = get_timezone(timezone)

    def local(value: _dt.datetime) -> _dt.datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} is naive: e-mails show only timezone-aware times, in the shop's zone.")
        return value.astimezone(zone)

    def day(value: _dt.date | _dt.datetime) -> _dt.date:
        return local(value).date() if isinstance(value, _dt.datetime) else value

    def moment(value: _dt.datetime) -> str:
        here = local(value)
        when = f"{format_date(here.date(), format='long', locale=locale)}, {format_time(here, format='short', locale=locale)}"
        return f"{when} ({here.strftime('%Z')})"

    env.filters["money"] = lambda value: Money.format(value, locale)
    env.filters["date"] = lambda value: format_date(day(value), format="medium", locale=locale)
    env.filters["longdate"] = lambda value: format_date(day(value), format="long", locale=locale)
    env.filters["datetime"] = moment
    env.filters["percent"] = lambda value: format_percent(value, locale=locale)
    env.globals["locale"] = locale
    env.globals["language"] = Locale.parse(locale).language
    return env


def render_template(name: str, locale: str, **context: Any) -> str:
    """Render the package template *name* (e.g. ``"order_confirmation/body.html"``) in *locale*.

    Raises ``jinja2.TemplateNotFound`` for an unknown name, ``jinja2.UndefinedError``
    when the template uses a name *context* lacks, ``ValueError`` for an
    unsupported locale.
    """
    return template_environment(locale).get_template(name).render(**context)


def inline_css(html: str) -> str:
    """Move the CSS of ``<style>`` blocks into ``style=""`` attributes; keep ``@media`` rules.

    Gmail, Outlook and others drop or ignore ``<style>`` in many cases, so
    styles that must survive go inline. ``@media`` rules cannot be inlined:
    they stay, as written, in a ``<style>`` block in ``<head>``, where they
    lose to the inline styles unless their declarations are ``!important``.
    Remote stylesheets are never fetched.

    >>> inline_css('<html><head><style>p { color: red }</style></head><body><p>Hola</p></body></html>')
    '<html><head></head><body><p style="color: red;">Hola</p></body></html>'
    """
    return _INLINER.inline(html)
