"""Readers for the parts of a parsed message, shared by the e-mail tests (not the code under test).

``tree_shape`` is the one reader the library also offers (exercises check trees with it); it is
specified in tests/test_tree.py and imported here from mimekit.tree.
"""

from __future__ import annotations

import re
from collections import Counter
from html import unescape
from html.parser import HTMLParser

from mimekit.tree import tree_shape  # noqa: F401  (the MIME tree as (depth, content type) pairs)


def bodies(wire) -> tuple[str, str]:
    """``(text/plain, text/html)`` of a message parsed with ``policy.default``, decoded, HTML as written."""
    return wire.get_body(("plain",)).get_content(), wire.get_body(("html",)).get_content()


def readable_bodies(wire) -> tuple[str, str]:
    """Like :func:`bodies`, with CRLF made ``\\n`` in the text and HTML entities (``&nbsp;``) made characters."""
    plain, html = bodies(wire)
    return plain.replace("\r\n", "\n"), unescape(html)


def html_elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag in *html* with its attributes, as a browser's tokenizer reads them."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


def hrefs(html: str) -> list[str]:
    """The ``href`` of every ``<a>`` in *html*, entities decoded."""
    return [attrs["href"] for tag, attrs in html_elements(html) if tag == "a" and attrs.get("href")]


def list_unsubscribe(wire) -> tuple[str, str]:
    """The https URL and the mailto: URL of List-Unsubscribe, asserting its exact shape (RFC 2369 §3.2)."""
    value = " ".join(str(wire["List-Unsubscribe"]).split())
    match = re.fullmatch(r"<(https://[^<>\s]+)>, <(mailto:[^<>\s]+)>", value)
    assert match, f"List-Unsubscribe is not <https://…>, <mailto:…>: {value!r}"
    return match.group(1), match.group(2)


def content_id(key: str, scope: str, domain: str = "tienda.example.com") -> re.Pattern[str]:
    """The Content-ID a shop e-mail gives image *key*: ``<KEY.SCOPE.UNIQUE@domain>``, UNIQUE 10 hex digits."""
    return re.compile(rf"<{re.escape(key)}\.{re.escape(scope)}\.[0-9a-f]{{10}}@{re.escape(domain)}>")


def delivered(server) -> Counter:
    """How many times each Message-ID arrived in *server*'s inbox."""
    return Counter(m.message["Message-ID"] for m in server.inbox)
