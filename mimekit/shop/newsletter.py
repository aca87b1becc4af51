"""The newsletter: one marketing e-mail, built and sent separately for every customer who agreed to it.

**Transactional or marketing?** A *transactional* e-mail tells a customer
about something they did or that concerns their account: the order
confirmation, the shipping notice, "your password changed". It goes to
everyone concerned and carries no unsubscribe: nobody can opt out of being told
their password changed. A *marketing* e-mail promotes: newsletters,
promotions, cart reminders. In the EU it needs the recipient's prior
consent (ePrivacy Directive art. 13(1); in Spain, LSSI art. 21.1), with one
exception, the "soft opt-in": a shop may e-mail its existing customers about
its own products similar to what they bought, if it offered them a clear way
to refuse when it collected the address and offers one in every message
(ePrivacy Directive art. 13(2); in Spain, LSSI art. 21.2). This kit asks for
explicit consent anyway, because it is the safe default: it covers every
recipient and every product. Marketing goes only to customers who agreed and
who have not unsubscribed since, and it must make leaving easy.

**Sender and list.** Marketing comes From the shop's marketing address
(``Shop.marketing_email``, ``novedades@…``), not the one that sends order
confirmations, so complaints about promotions never hurt the delivery of
orders; replies still go to support. Every campaign goes to one mailing list,
``Campaign.list_id`` (``boletin``), named in the ``List-Id`` header
(RFC 2919): campaigns change, the list stays, and an unsubscribe is from the
list.

**One-click unsubscribe.** Since February 2024 Gmail and Yahoo require bulk
senders (for Gmail: 5,000 or more messages a day to its users) to support
one-click unsubscribe, enforced from June 2024, and to honour an unsubscribe
within 2 days. Why: a reader who cannot find the way out presses "Report spam"
instead, and complaints sink the delivery of everybody's mail. With one-click
unsubscribe the mail program shows its own "Unsubscribe" button next to the
sender's name and, when pressed, POSTs to the sender's https URL by itself:
no web page to wade through, no login, no "are you sure?". Two headers ask for
it (RFC 2369 §3.2, RFC 8058 §3.1)::

    List-Unsubscribe: <https://tienda.example.com/baja?lista=boletin&t=9c1e…>,
     <mailto:unsubscribe@tienda.example.com?subject=unsubscribe%20boletin>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

The https URL is for the POST (body ``List-Unsubscribe=One-Click``); the
``mailto:`` serves older clients, its subject naming the list. The URL must
identify the recipient and the list without showing the address: it carries
``lista=<list_id>`` and a token signed for that list and address
(:func:`~mimekit.shop.compose.unsubscribe_token`), different for every
recipient and the same in every campaign of the list. The same link shows in
the footer, for people.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.mime.multipart import MIMEMultipart
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..bulk import send_bulk
from ..retry import RetryPolicy
from ..sending import SendResult, SMTPSession
from .compose import InlineImage, compose, unsubscribe_token
from .models import Campaign, Customer, Product, Shop

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

    Marketing: From ``shop.marketing_email``, Reply-To support; the footer
    shows the unsubscribe link and the message carries ``List-Id:
    <LIST_ID.shop-domain>`` (RFC 2919), ``List-Unsubscribe`` and
    ``List-Unsubscribe-Post`` (RFC 2369, RFC 8058). The link is
    ``campaign.unsubscribe_url`` with ``lista=<list_id>`` and ``t=<token>``
    added to its query (a query it already has is kept), the token being
    :func:`~mimekit.shop.compose.unsubscribe_token` ``(shop, customer,
    list_id)``: one per recipient and list, no address in it, the same in
    every campaign of the list.

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
    >>> envelope = envelope_from_headers(msg)  # From the marketing address, To this customer alone
    >>> envelope.mail_from, envelope.rcpt_tos
    ('novedades@tienda.example.com', ('jose.nunez@example.com',))
    >>> msg["List-Id"]
    '<boletin.tienda.example.com>'
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
                else "This kit sends marketing mail only with the customer's explicit consent (the safe "
                "default; ePrivacy Directive art. 13, LSSI art. 21 in Spain)."
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
        list_id=campaign.list_id,
        date=date,
        message_id=message_id,
    )


@dataclass
class NewsletterReport:
    """What :func:`send_newsletter` did, recipient by recipient.

    * ``sent``: a :class:`~mimekit.sending.SendResult` per message the server
      accepted, in sending order;
    * ``skipped``: address → why no message was built for it
      (``"no marketing consent"``, ``"unsubscribed"``); an address is either
      sent to or skipped, never both;
    * ``duplicates``: later records of an address already in the audience
      (case ignored), merged into the first one: no second message;
    * ``refused``: address → the server's ``(code, text)``, e.g.
      ``(550, "5.1.1 No such user")``; ``(None, reason)`` when the session
      failed without a reply code;
    * ``unsent``: addresses never tried because the connection was lost (and,
      without a retry policy, not reopened); send them again later.

    ``str(report)`` is a one-line summary:
    ``2 sent, 2 skipped (unsubscribed: inigo.martinez@example.net; …), 0 refused``.
    """

    sent: list[SendResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
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
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} duplicate records merged ({_some(self.duplicates)})")
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
    retry: RetryPolicy | None = None,
) -> NewsletterReport:
    """Send *campaign* to each of *customers* who may receive it, one message each, over *session*.

    First the audience is sorted out, address by address (case ignored):
    when an address appears in several records, they are merged, and if ANY
    of them refuses marketing (unsubscribed, or no consent) the address is
    skipped: a stale record must never undo an unsubscribe. Skipped addresses
    go into ``report.skipped`` with the reason (``"unsubscribed"`` wins over
    ``"no marketing consent"``); an address that may receive the campaign is
    sent one message, built from its first record, and the later records go
    into ``report.duplicates``. No address is both sent and skipped, and no
    mailbox gets two copies.

    Then, before anything is sent, every recipient's language must be one
    the campaign has: if not, ``ValueError`` lists the addresses and locales
    (a customer left without the newsletter by accident would never know).

    Then, for each
    remaining customer in the order given, :func:`build_newsletter` makes their
    message and :func:`~mimekit.bulk.send_bulk` hands it over: ``MAIL FROM``
    the shop, ``RCPT TO`` that customer alone (RFC 5321 §3.3). Never one
    message with everybody in ``To`` or ``Bcc``.

    *session* is an open :class:`~mimekit.sending.SMTPSession`: one connection
    and one EHLO for all the messages. A recipient the server refuses
    (``550 5.1.1 No such user``) or a message it refuses after ``DATA`` goes
    into ``report.refused`` with the reply, and sending goes on. *date*
    (timezone-aware) fixes every message's Date header. With *progress*, a
    ``tqdm`` bar counts the messages to send: a widget in Jupyter, a line of
    text in a terminal.

    *retry*: by default (``None``) nothing is retried and nothing reconnects:
    if the connection is lost (the server hung up, or replied ``421`` and
    closed the channel, RFC 5321 §3.8), sending stops: the recipient being
    sent to goes into ``refused`` (with the server's reply, or ``(None,
    reason)``), every later one into ``report.unsent``, and the report is
    returned, so you can resume with exactly those customers and send nobody
    anything twice. With a :class:`~mimekit.retry.RetryPolicy`, 4xx replies
    (451 greylisting) and lost connections are retried with backoff, the
    connection reopened on the same *session*, each message keeping its
    Message-ID; 5xx never (see :func:`~mimekit.bulk.send_bulk`). What it does
    not do: pace or batch the sending, or record unsubscribes.

    Returns a :class:`NewsletterReport`. Raises ``ValueError`` when the
    campaign lacks the language of a recipient, ``RuntimeError`` when
    *session* is not open, and ``ValueError`` for a broken shop (no logo, no
    signing key): all before the first message is sent.
    """
    report = NewsletterReport()
    records: dict[str, list[Customer]] = {}  # address (case ignored) -> its records, in the order given
    for customer in customers:
        records.setdefault(customer.email.lower(), []).append(customer)
    recipients: list[Customer] = []
    for first, *later in records.values():
        refusals = {record.marketing_refusal for record in (first, *later)} - {None}
        if refusals:  # any refusal wins: an unsubscribe or a missing consent is never undone by another record
            report.skipped[first.email] = "unsubscribed" if "unsubscribed" in refusals else "no marketing consent"
            continue
        recipients.append(first)
        report.duplicates.extend(record.email for record in later)
    missing = [customer for customer in recipients if customer.locale not in campaign.texts]
    if missing:
        raise ValueError(
            f"Campaign {campaign.slug!r} has texts in {', '.join(sorted(campaign.texts))} only, but "
            f"{len(missing)} recipient(s) who may receive it read another language: "
            + _some([f"{c.email} ({c.locale})" for c in missing], shown=10)
            + ". Add the missing CampaignText; nothing was sent."
        )
    if not session.is_open:
        raise RuntimeError(
            "The SMTP session is not open: send_newsletter() sends over the session you give it; "
            "use `with SMTPSession(...) as session:` around the call."
        )

    customers_by_id: dict[str, Customer] = {}

    def messages() -> Iterator[MIMEMultipart]:
        for customer in recipients:  # built one at a time, when its turn comes
            msg = build_newsletter(campaign, customer, shop, date=date)
            customers_by_id[msg["Message-ID"]] = customer
            yield msg

    bulk = send_bulk(
        messages(), session, retry=retry, progress=progress, desc=campaign.slug, total=len(recipients)
    )
    unsent = set(bulk.unsent)
    for message_id, customer in customers_by_id.items():  # in sending order
        if message_id in bulk.refused:
            report.refused.update(bulk.refused[message_id])
        elif message_id in bulk.failed:
            report.refused[customer.email] = (None, bulk.failed[message_id])
        elif message_id in unsent:
            report.unsent.append(customer.email)
    report.sent.extend(result for result in bulk.sent if result.ok)
    return report


def _unsubscribe_url(campaign: Campaign, customer: Customer, shop: Shop) -> str:
    """``campaign.unsubscribe_url`` with ``lista=<list_id>&t=<token>`` added to its query (an existing one kept)."""
    parts = urlsplit(campaign.unsubscribe_url)
    added = urlencode({"lista": campaign.list_id, "t": unsubscribe_token(shop, customer, campaign.list_id)})
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))


def _some(items: list[str], shown: int = 3) -> str:
    """The first *shown* items joined by ", ", then "and N more"."""
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")
