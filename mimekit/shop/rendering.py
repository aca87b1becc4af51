"""Jinja2 templates for the shop's e-mails, shipped inside the package.

HTML templates (``*.html``) are autoescaped: a product called
``<b>Tom & Jerry</b>`` shows as those characters, not as bold text, and a
customer cannot inject markup or scripts into the e-mail. Text templates
(``*.txt``) are not escaped: there is no markup to break.

Filters available in every template:

``money(locale)``
    a :class:`~mimekit.shop.models.Money` formatted for the locale with Babel.
``date(locale)``
    a datetime as a medium date for the locale (``2 nov 2026`` / ``Nov 2, 2026``).
``percent(locale)``
    a Decimal rate as a percentage for the locale (``21 %`` / ``21%``).
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from typing import Any

import jinja2
from babel.dates import format_date
from babel.numbers import format_percent

from .models import Money

__all__ = ["render_template", "template_environment"]


@lru_cache(maxsize=None)
def template_environment() -> jinja2.Environment:
    """Return the shared Jinja2 environment: package templates, HTML autoescaped, undefined names fail."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mimekit.shop", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda value, locale: Money.format(value, locale)
    env.filters["date"] = lambda value, locale: format_date(
        value.date() if isinstance(value, _dt.datetime) else value, format="medium", locale=locale
    )
    env.filters["percent"] = lambda value, locale: format_percent(value, locale=locale)
    return env


def render_template(name: str, **context: Any) -> str:
    """Render the package template *name* (e.g. ``"order_confirmation.html"``) with *context*.

    Raises ``jinja2.TemplateNotFound`` for an unknown name and
    ``jinja2.UndefinedError`` when the template uses a name *context* lacks.
    """
    return template_environment().get_template(name).render(**context)
