"""The newsletter: one marketing e-mail, built and sent separately for every customer who agreed to it.

**Transactional or marketing?** A *transactional* e-mail tells a customer
about something they did or that concerns their account: the order
confirmation, the shipping notice, "your password changed". It goes to
everyone concerned and carries no unsubscribe: nobody can opt out of being told
their password changed. A *marketing* e-mail promotes: newsletters,
promotions, cart reminders. It goes only to customers who agreed to receive
it (in the EU the GDPR and the ePrivacy Directive art. 13 require prior
consent) and who have not unsubscribed since, and it must make leaving easy.

**One-click unsubscribe.** Since February 2024 Gmail and Yahoo require bulk
senders (for Gmail: 5,000 or more messages a day to its users) to support
one-click unsubscribe, enforced from June 2024, and to honour an unsubscribe
within 2 days. Why: a reader who cannot find the way out presses "Report spam"
instead, and complaints sink the delivery of everybody's mail. With one-click
unsubscribe the mail program shows its own "Unsubscribe" button next to the
sender's name and, when pressed, POSTs to the sender's https URL by itself:
no web page to wade through, no login, no "are you sure?". Two headers ask for
it (RFC 2369 §3.2, RFC 8058 §3.1)::

    List-Unsubscribe: <https://tienda.example.com/baja?lista=otono-2026&t=9c1e…>,
     <mailto:unsubscribe@tienda.example.com?subject=unsubscribe>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

The https URL is for the POST (body ``List-Unsubscribe=One-Click``); the
``mailto:`` serves older clients. The URL must identify the recipient without
showing the address: it carries a signed token
(:func:`~mimekit.shop.compose.unsubscribe_token`), different for every recipient.
The same link shows in the footer, for people.

**One message per recipient.** Each customer gets a message of their own:
``To`` is that customer alone, the greeting has their name, the text their
language, the unsubscribe link their token. A single message with everybody
in ``To`` shows every address to everyone (a personal-data breach under
the GDPR); with everybody in ``Bcc`` it cannot greet anyone by name nor carry
each recipient's own unsubscribe link, and one message to hundreds of
recipients is what spam filters look for.

The tree of each message (see :func:`~mimekit.shop.compose.compose`)::

    multipart/alternative
    ├── text/plain                    greeting, introduction, the products with prices and links
    └── multipart/related; type="text/html"
        ├── text/html                 the same, with the preheader and a photo per product
        ├── image/png                 the logo, inline
        └── image/png …               one photo per featured product, inline
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.mime.multipart import MIMEMultipart
from urllib.parse import urlencode

from tqdm.auto import tqdm

from ..errors import SMTPDeliveryError
from ..sending import SendResult, SMTPSession
from .compose import InlineImage, compose, unsubscribe_token
from .models import Campaign, Customer, Product, Shop
from .rendering import SUPPORTED_LOCALES

__all__ = ["NewsletterReport", "build_newsletter", "send_newsletter"]


@dataclass(frozen=True)
class _Featured:
    """A featured product as the templates show it: the product and its page."""

    product: Product
    url: str


def build_newsletter(
    campaign: Campaign,
    customer: Customer,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build *campaign*'s e-mail for one recipient, *customer*, from *shop*.

    ``To`` is *customer* alone. Templates ``newsletter/subject.txt``,
    ``body.txt`` and ``body.html``: the greeting names the customer; subject,
    preheader (the hidden first line of the HTML that mail clients show after
    the subject) and introduction are ``campaign.text_for(customer.locale)``;
    every featured product shows with its price in the customer's locale and
    a link to ``<base_url>/productos/<path>`` (the SKU when it has no path),
    %-encoded; in the HTML with its photo, an inline image with Content-ID
    ``<SKU.SLUG.UNIQUE@shop-domain>``, where UNIQUE is a short hash of this
    message's Message-ID (see :func:`~mimekit.shop.compose.compose`), so
    every message's Content-IDs are its own (RFC 2045 §7 asks for world-unique ones).

    Marketing: the footer shows the unsubscribe link and the message carries
    ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 2369, RFC 8058).
    The link is ``campaign.unsubscribe_url`` with ``lista=<slug>`` and
    ``t=<token>`` added to its query, the token being
    :func:`~mimekit.shop.compose.unsubscribe_token` ``(shop, customer, slug)``:
    one per recipient, no address in it.

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers;
    by default Date is now and the Message-ID fresh, on the shop's domain.

    Raises ``ValueError`` when *customer* may not receive marketing mail (no
    consent, or unsubscribed) or their locale is not one the shop writes in;
    ``KeyError`` when the campaign has no text in the customer's locale;
    :class:`~mimekit.errors.HeaderError` for a *message_id* that is not
    ``<left@right>``; :class:`~mimekit.errors.MimeStructureError` if the shop
    has no logo.

    >>> from mimekit import envelope_from_headers, render_tree
    >>> from mimekit.shop.sample import sample_campaign, sample_customer, sample_shop
    >>> msg = build_newsletter(sample_campaign(), sample_customer(), sample_shop(), message_id="<n-1@tienda.example.com>")
    >>> print(render_tree(msg))
    multipart/alternative
    ├── text/plain · charset=utf-8 · quoted-printable · ... bytes
    └── multipart/related · type=text/html
        ├── text/html · charset=utf-8 · quoted-printable · ... bytes
        ├── image/png · base64 · inline · filename="logo.png" · cid=<logo.otono-2026.2df1f5ca40@tienda.example.com> · ...
        ├── image/png · base64 · inline · filename="BUF-LAN-02.png" · cid=<BUF-LAN-02.otono-2026.2df1f5ca40@tienda.example.com> · ...
        └── image/png · base64 · inline · filename="TAZ-CER-01.png" · cid=<TAZ-CER-01.otono-2026.2df1f5ca40@tienda.example.com> · ...
    >>> envelope_from_headers(msg).rcpt_tos
    ('jose.nunez@example.com',)
    >>> msg["List-Unsubscribe-Post"]
    'List-Unsubscribe=One-Click'
    """
    refusal = customer.marketing_refusal
    if refusal is not None:
        raise ValueError(
            f"Not building the newsletter {campaign.slug!r} for {customer.email}: {refusal}. "
            + (
                "An unsubscribe must be honoured (RFC 8058; Gmail and Yahoo require it within 2 days)."
                if customer.unsubscribed
                else "Marketing mail needs the customer's prior consent (GDPR, ePrivacy Directive art. 13)."
            )
            + " send_newsletter() skips such customers and reports them."
        )
    text = campaign.text_for(customer.locale)
    featured = [_Featured(p, shop.url("productos", p.path or p.sku)) for p in campaign.featured]
    images = [InlineImage(p.sku, p.image_png, f"{p.sku}.png") for p in campaign.featured if p.image_png]
    return compose(
        "newsletter",
        shop,
        customer,
        {"campaign": campaign, "text": text, "featured": featured},
        scope=campaign.slug,
        images=images,
        unsubscribe_url=_unsubscribe_url(campaign, customer, shop),
        date=date,
        message_id=message_id,
    )


@dataclass
class NewsletterReport:
    """What :func:`send_newsletter` did, recipient by recipient.

    * ``sent``: a :class:`~mimekit.sending.SendResult` per message the server
      accepted, in sending order;
    * ``skipped``: address → why no message was built for it
      (``"no marketing consent"``, ``"unsubscribed"``, ``"duplicate address"``,
      ``"no campaign text in fr_FR"``, ``"the shop does not write in fr_FR"``);
    * ``refused``: address → the server's ``(code, text)``, e.g.
      ``(550, "5.1.1 No such user")``; ``(None, reason)`` when the session
      failed without a reply code;
    * ``unsent``: addresses never tried because the connection was lost;
      send them again later (nothing here retries).

    ``str(report)`` is a one-line summary:
    ``2 sent, 2 skipped (unsubscribed: inigo.martinez@example.net; …), 0 refused``.
    """

    sent: list[SendResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    refused: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)
    unsent: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every message that was to be sent was accepted (skipped ones do not count)."""
        return not self.refused and not self.unsent

    def __str__(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        by_reason: dict[str, list[str]] = {}
        for address, reason in self.skipped.items():
            by_reason.setdefault(reason, []).append(address)
        detail = "; ".join(f"{reason}: {_some(addresses)}" for reason, addresses in by_reason.items())
        parts.append(f"{len(self.skipped)} skipped" + (f" ({detail})" if detail else ""))
        refused = _some(
            [f"{address}: {code or ''} {text or ''}".strip() for address, (code, text) in self.refused.items()]
        )
        parts.append(f"{len(self.refused)} refused" + (f" ({refused})" if refused else ""))
        if self.unsent:
            parts.append(f"{len(self.unsent)} not sent (connection lost: {_some(self.unsent)})")
        return ", ".join(parts)


def send_newsletter(
    campaign: Campaign,
    customers: Iterable[Customer],
    shop: Shop,
    session: SMTPSession,
    *,
    progress: bool = True,
    date: _dt.datetime | None = None,
) -> NewsletterReport:
    """Send *campaign* to each of *customers* who may receive it, one message each, over *session*.

    First every customer is sorted out: those without marketing consent, those
    who unsubscribed, and those whose language the campaign or the shop does
    not have are skipped, with the reason, in ``report.skipped``; so is a
    customer whose address (case ignored) came earlier in *customers*: the
    first record of an address decides, and no mailbox gets two copies. Then, for each
    remaining customer in the order given, :func:`build_newsletter` makes their
    message and ``session.send()`` hands it over: ``MAIL FROM`` the shop,
    ``RCPT TO`` that customer alone (RFC 5321 §3.3). Never one message with
    everybody in ``To`` or ``Bcc``.

    *session* is an open :class:`~mimekit.sending.SMTPSession`: one connection
    and one EHLO for all the messages. A recipient the server refuses
    (``550 5.1.1 No such user``) or a message it refuses after ``DATA`` goes
    into ``report.refused`` with the reply, and sending goes on. *date*
    (timezone-aware) fixes every message's Date header. With *progress*, a
    ``tqdm`` bar counts the messages to send: a widget in Jupyter, a line of
    text in a terminal.

    What it does not do: retry a refused recipient or a temporary failure
    (``4xx``), reconnect, pace or batch the sending, or record unsubscribes.
    If the connection is lost (the server hung up, or replied ``421`` and
    closed the channel, RFC 5321 §3.8), it stops: the recipient being sent to
    goes into ``refused`` (with the server's reply, or ``(None, reason)``),
    every later one into ``report.unsent``, and the report is returned, so you
    can resume with exactly those customers and send nobody anything twice.

    Returns a :class:`NewsletterReport`. Raises ``RuntimeError`` when *session*
    is not open; ``KeyError`` / ``ValueError`` only for a broken campaign or shop
    (no logo, no signing key), before the first message is sent.
    """
    report = NewsletterReport()
    recipients: list[Customer] = []
    seen: set[str] = set()
    for customer in customers:
        address = customer.email.lower()
        if address in seen:  # the first record of an address decides; never two messages to one mailbox
            report.skipped.setdefault(customer.email, "duplicate address")
            continue
        seen.add(address)
        reason = customer.marketing_refusal
        if reason is None and customer.locale not in SUPPORTED_LOCALES:
            reason = f"the shop does not write in {customer.locale}"
        if reason is None and customer.locale not in campaign.texts:
            reason = f"no campaign text in {customer.locale}"
        if reason is not None:
            report.skipped[customer.email] = reason
            continue
        recipients.append(customer)
    if not session.is_open:
        raise RuntimeError(
            "The SMTP session is not open: send_newsletter() sends over the session you give it; "
            "use `with SMTPSession(...) as session:` around the call."
        )

    bar = tqdm(recipients, total=len(recipients), disable=not progress, desc=campaign.slug, unit="msg")
    try:
        for index, customer in enumerate(bar):
            msg = build_newsletter(campaign, customer, shop, date=date)
            try:
                result = session.send(msg, rcpt_tos=[customer.email])
            except SMTPDeliveryError as exc:
                report.refused[customer.email] = (exc.code, exc.text if exc.text is not None else str(exc))
            else:
                if result.ok:
                    report.sent.append(result)
                else:
                    report.refused.update(result.refused)
            if not session.is_open:  # stop, and say who was not tried
                report.unsent.extend(c.email for c in recipients[index + 1 :])
                break
    finally:
        bar.close()
    return report


def _unsubscribe_url(campaign: Campaign, customer: Customer, shop: Shop) -> str:
    """``campaign.unsubscribe_url`` plus ``lista=<slug>&t=<token>`` (``&`` if it already has a query)."""
    query = urlencode({"lista": campaign.slug, "t": unsubscribe_token(shop, customer, campaign.slug)})
    return f"{campaign.unsubscribe_url}{'&' if '?' in campaign.unsubscribe_url else '?'}{query}"


def _some(items: list[str], shown: int = 3) -> str:
    """The first *shown* items joined by ", ", then "and N more"."""
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")
