"""From templates and data to a finished MIME message: the assembly every shop e-mail shares.

:func:`compose` renders ``templates/<kind>/subject.txt``, ``body.txt`` and
``body.html`` in the customer's language, inlines the HTML's CSS, and builds::

    multipart/alternative
    ├── text/plain                       body.txt: written for reading
    └── multipart/related; type="text/html"
        ├── text/html                    body.html, CSS inlined
        ├── image/png                    the shop logo, inline, Content-ID <logo.SCOPE.UNIQUE@shop-domain>
        └── image/png …                  any other inline images (product photos): <KEY.SCOPE.UNIQUE@shop-domain>

Content-IDs must be world-unique (RFC 2045 §7), so the same logo gets a new
one in every message: UNIQUE is a short hash of the message's Message-ID. Give
a fixed ``message_id`` and the Content-IDs are fixed too.

Headers: From the shop, To the customer (display name RFC 2047-encoded),
Reply-To the support address, Subject, Date and Message-ID (RFC 5322 §3.6),
and Content-Language, the language the text is written in (RFC 3282).
Marketing mail comes From the shop's marketing address
(``Shop.marketing_email``, ``novedades@…``), so that spam reports and
filters aimed at promotions never touch the address that sends orders;
Reply-To stays the support address. It also names its mailing list
(RFC 2919) and gets the unsubscribe headers of RFC 2369 and RFC 8058::

    List-Id: <boletin.tienda.example.com>
    List-Unsubscribe: <https://tienda.example.com/baja?lista=boletin&t=…>,
     <mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20boletin>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

Transactional mail (orders, shipping, account) never carries them: a
customer cannot opt out of being told that their password changed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote

from ..errors import MimeStructureError
from ..headers import add_date_and_message_id, check_header_value, check_msg_id, set_header
from ..multipart import add_inline_image, cid_url, make_alternative
from .models import Customer, Shop, check_https_url
from .rendering import inline_css, template_environment

__all__ = ["InlineImage", "compose", "content_id_part", "list_unsubscribe_headers", "unsubscribe_token"]


@dataclass(frozen=True)
class InlineImage:
    """An image shown inside the HTML: the *key* templates use (``image_urls[key]``), raw PNG/JPEG bytes, a file name.

    :func:`compose` gives it its Content-ID; the key (a SKU, say) goes into it
    with every character outside ``A-Z a-z 0-9 -`` made ``-``.
    """

    key: str
    data: bytes
    filename: str


def content_id_part(text: str) -> str:
    """*text* made safe for the left part of a Content-ID: runs outside ``A-Z a-z 0-9 -`` become ``-``.

    What remains is a valid dot-atom piece (RFC 5322 §3.4.1, RFC 2045 §7): no
    spaces, slashes, ``@`` or double dots.

    >>> content_id_part("MR 2026/11-0042")
    'MR-2026-11-0042'
    """
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "x"


def unsubscribe_token(shop: Shop, customer: Customer, list_id: str) -> str:
    """Return the token that proves an unsubscribe link was made by the shop for this customer.

    An HMAC-SHA256 (RFC 2104) of ``list_id`` and the address under the shop's
    ``signing_key``, hex, first 32 characters: the unsubscribe page recomputes
    it to check a request, and nobody can forge one for another address.
    Raises ``ValueError`` when the shop has no signing key.
    """
    if not shop.signing_key:
        raise ValueError(
            "Shop.signing_key is empty: unsubscribe links must be signed so that nobody can unsubscribe "
            "someone else. Load a random key (secrets.token_bytes(32)) from configuration."
        )
    message = f"{list_id}\x00{customer.email.lower()}".encode("utf-8")
    return hmac.new(shop.signing_key, message, hashlib.sha256).hexdigest()[:32]


def list_unsubscribe_headers(https_url: str, mailto: str, *, list_id: str | None = None) -> dict[str, str]:
    """The two headers of one-click unsubscribe, as a dict ready to set on a message.

    ``List-Unsubscribe`` lists the https URL first and a ``mailto:`` second,
    each in angle brackets (RFC 2369 §3.2); ``List-Unsubscribe-Post`` tells the
    mailbox provider it may POST ``List-Unsubscribe=One-Click`` to the https URL
    without showing the reader a page (RFC 8058 §3.1). *mailto* is the bare
    address; the subject of the mail it asks for is ``unsubscribe <list_id>``
    (%-encoded, RFC 6068), so whoever handles that mailbox knows which list to
    leave, or ``unsubscribe`` without a *list_id*.

    *https_url* is checked by :func:`~mimekit.shop.models.check_https_url`
    (https, a host, no fragment, no spaces or ``<>"``): ``ValueError``
    otherwise.

    >>> list_unsubscribe_headers("https://tienda.example.com/baja?lista=boletin&t=9c1e",
    ...                          "unsubscribe@tienda.example.com", list_id="boletin")["List-Unsubscribe"]
    '<https://tienda.example.com/baja?lista=boletin&t=9c1e>, <mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20boletin>'
    """
    check_https_url(https_url, name="List-Unsubscribe URL")
    check_header_value("List-Unsubscribe", mailto)
    subject = "unsubscribe" if list_id is None else f"unsubscribe%20{quote(list_id, safe='')}"
    return {
        "List-Unsubscribe": f"<{https_url}>, <mailto:{mailto}?subject={subject}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def compose(
    kind: str,
    shop: Shop,
    customer: Customer,
    context: Mapping[str, Any],
    *,
    scope: str,
    images: Sequence[InlineImage] = (),
    unsubscribe_url: str | None = None,
    list_id: str | None = None,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the e-mail *kind* (a folder under ``templates/``) for *customer* from *shop*.

    *context* is passed to the templates together with ``shop``, ``customer``,
    ``logo_url``, ``unsubscribe_url`` and, for each image, its ``cid:`` URL
    under ``image_urls[image.key]``. *scope* names what the message is about
    (``order-1001``, ``cart-reminder``) inside every Content-ID, next to a hash of the
    Message-ID that makes each Content-ID unique to this message. Content-IDs
    are headers that anyone handling the message sees (and logs), so never put
    a secret in *scope* (a cart token, say).

    *unsubscribe_url* (checked by :func:`~mimekit.shop.models.check_https_url`)
    marks the e-mail as marketing, and then *list_id* (``"boletin"``) must name
    its mailing list: the message comes From ``shop.marketing_email``, shows
    the unsubscribe link in the footer, and carries ``List-Id:
    <LIST_ID.shop-domain>`` (RFC 2919) and the ``List-Unsubscribe`` headers,
    whose ``mailto:`` asks for the subject ``unsubscribe LIST_ID``. Without
    them the e-mail is transactional: From ``shop.email``, none of those
    headers. *date* / *message_id* fix those headers.

    Raises :class:`MimeStructureError` when the shop has no logo or the subject
    renders to more than one line; ``ValueError`` for a bad *unsubscribe_url*,
    a *list_id* that is not a slug, or one of the two without the other; and
    the errors of :func:`~mimekit.shop.rendering.render_template`.
    """
    if (unsubscribe_url is None) != (list_id is None):
        raise ValueError(
            "compose(): marketing mail needs both unsubscribe_url and list_id (the list the reader leaves); "
            "transactional mail takes neither."
        )
    if unsubscribe_url is not None:
        check_https_url(unsubscribe_url, name="unsubscribe_url")
    if list_id is not None and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", list_id):
        raise ValueError(f"list_id={list_id!r}: use lowercase ASCII letters, digits and '-', e.g. 'boletin'.")
    if not shop.logo_png:
        raise MimeStructureError(f"Shop {shop.name!r} has no logo_png; every e-mail shows it by Content-ID.")
    if message_id is None:
        message_id = make_msgid(domain=shop.domain)
    check_msg_id(message_id)
    unique = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:10]
    suffix = f"{content_id_part(scope)}.{unique}@{shop.domain}"
    logo_cid = f"<logo.{suffix}>"
    inline: list[tuple[str, InlineImage]] = [(logo_cid, InlineImage("logo", shop.logo_png, "logo.png"))]
    image_cids: dict[str, str] = {}  # key -> Content-ID
    for image in images:
        if image.key in image_cids:
            continue  # one part per key, however often the HTML shows it
        taken = {cid for cid, _ in inline}
        cid, n = f"<{content_id_part(image.key)}.{suffix}>", 2
        while cid in taken:  # keys that differ only in characters made safe ("A/1", "A 1"), or "logo"
            cid, n = f"<{content_id_part(image.key)}-{n}.{suffix}>", n + 1
        image_cids[image.key] = cid
        inline.append((cid, image))
    env = template_environment(customer.locale, shop.timezone)
    values = {
        **context,
        "shop": shop,
        "customer": customer,
        "logo_url": cid_url(logo_cid),
        "image_urls": {key: cid_url(cid) for key, cid in image_cids.items()},
        "unsubscribe_url": unsubscribe_url,
    }
    subject = env.get_template(f"{kind}/subject.txt").render(values).strip()
    if "\n" in subject:
        raise MimeStructureError(f"templates/{kind}/subject.txt rendered to several lines: {subject!r}.")
    values["subject"] = subject
    text = env.get_template(f"{kind}/body.txt").render(values)
    html = inline_css(env.get_template(f"{kind}/body.html").render(values))
    msg = make_alternative(text, html)
    for cid, image in inline:
        add_inline_image(msg, image.data, cid=cid, filename=image.filename)
    marketing = unsubscribe_url is not None
    set_header(msg, "From", (shop.name, shop.marketing_email if marketing else shop.email))
    set_header(msg, "To", (customer.name, customer.email))
    set_header(msg, "Reply-To", (shop.name, shop.support_email))
    set_header(msg, "Subject", subject)
    set_header(msg, "Content-Language", env.globals["language"])  # RFC 3282: for screen readers and filters
    if marketing:
        set_header(msg, "List-Id", f"<{list_id}.{shop.domain}>")  # RFC 2919 §2: list-label.namespace
        for name, value in list_unsubscribe_headers(unsubscribe_url, shop.unsubscribe_email, list_id=list_id).items():
            set_header(msg, name, value)
    add_date_and_message_id(msg, date=date, message_id=message_id)
    return msg
