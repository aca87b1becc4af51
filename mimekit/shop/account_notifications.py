"""Account notifications: account created, password changed, account details updated.

Each builds the same tree (see :func:`~mimekit.shop.compose.compose`)::

    multipart/alternative
    ├── text/plain                    what happened, when, and what to do if it wasn't you
    └── multipart/related; type="text/html"
        ├── text/html                 the same, logo at the top
        └── image/png                 the logo: inline, Content-ID <logo.SCOPE.UNIQUE@shop-domain>

SCOPE names the event and its time, e.g. ``password-changed-20261104T201200Z-…``,
followed by a short hash of the customer's address (never the address itself);
UNIQUE, from the Message-ID, makes every message's Content-IDs its own.

These e-mails are *security notices*: they tell the account holder that
something happened to the account, so that somebody else's doing is noticed
quickly. What never goes in one, because an e-mail is copied to servers,
phones and backups nobody controls:

* a password, old or new, in clear or "hinted" (the models carry none);
* a full card number, or a whole IBAN. PCI DSS v4.0 requires a card number
  to be masked when shown (requirement 3.4.1) and strong cryptography
  whenever it is sent by end-user messaging (requirement 4.2.2); ordinary
  e-mail is not end-to-end encrypted, so a shop never puts one in an e-mail;
* a password-reset or activation token that still works after it was used
  or after a short time: a link in a notice is to a page where the
  customer signs in, never one that signs them in;
* an e-mail address or phone number in clear when it is a changed value:
  :func:`masked` shows ``z•••@example.org`` and ``+•• ••• ••• •78``,
  enough for the owner to recognise, too little for anyone else to use.

Every notice ends with a "Wasn't you?" paragraph that fits what an intruder
would have done:

* account created: somebody opened an account with your address; write to
  support (named in the paragraph) and the shop closes it. There is no
  password of yours to change, so no security link;
* password changed: the intruder has the new password and you cannot sign
  in, so the first step is password recovery (``<base_url>/account/recover``)
  or support, and only then reviewing ``<base_url>/account/security``;
* details updated: you can still sign in, so secure the account at
  ``<base_url>/account/security``, then write to support.

When the e-mail address itself changes, :func:`build_account_details_updated`
writes To the customer's *current* (new) address, as every builder here
does. A real shop also sends the notice to the OLD address: if an attacker
changed it, the new address is the attacker's, and only the old one reaches
the real owner.

All three are transactional: no List-Unsubscribe, the customer cannot opt out
of security notices.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from email.mime.multipart import MIMEMultipart

from .compose import compose
from .models import AccountCreated, AccountDetailsUpdated, Customer, FieldChange, PasswordChanged, Shop

__all__ = [
    "build_account_created",
    "build_account_details_updated",
    "build_password_changed",
    "mask_email",
    "mask_phone",
    "masked",
]

_BULLET = "•"


def mask_email(address: str) -> str:
    """Return *address* with its local part hidden but for the first character: ``z•••@example.org``.

    The domain stays in clear, so the owner recognises which mailbox is meant;
    the ``•••`` is always three bullets, whatever the local part's length, so
    the mask tells little about it. A local part of fewer than 3 characters
    is hidden entirely (``•••@example.net``): its first character would be
    half of it or all of it. Text without ``@`` is hidden entirely
    (``•••``); an empty string stays empty.

    >>> mask_email("zoe.anderson@example.org")
    'z•••@example.org'
    >>> mask_email("a@example.net")
    '•••@example.net'
    >>> mask_email("not an address")
    '•••'
    >>> mask_email("")
    ''
    """
    address = address.strip()
    if not address:
        return ""
    local, at, domain = address.rpartition("@")
    if not at or not domain:
        return _BULLET * 3
    shown = local[:1] if len(local) >= 3 else ""
    return f"{shown}{_BULLET * 3}@{domain}"


def mask_phone(number: str) -> str:
    """Return *number* with every digit but the last 2 replaced by ``•``, separators kept.

    Spaces, ``+``, dashes and parentheses stay where they are, so the shape of
    the number is still readable. Any decimal digit counts, in any script. A
    number of fewer than 6 digits is masked entirely: its last 2 would give
    away too much of it.

    >>> mask_phone("+34 612 345 678")
    '+•• ••• ••• •78'
    >>> mask_phone("(555) 010-0199")
    '(•••) •••-••99'
    >>> mask_phone("112")
    '•••'
    """
    digits = sum(1 for char in number if char.isdecimal())
    keep = 2 if digits >= 6 else 0
    out = []
    seen = 0
    for char in number:
        if char.isdecimal():
            seen += 1
            out.append(char if seen > digits - keep else _BULLET)
        else:
            out.append(char)
    return "".join(out)


def masked(change: FieldChange) -> tuple[str, str]:
    """Return ``(old, new)`` of *change* as an e-mail may show them.

    A sensitive change is always masked, by what the value looks like: an
    address with ``@`` through :func:`mask_email`; a value with 6 or more
    digits (a phone, an IBAN) through :func:`mask_phone`; anything else (a
    street, a name) down to its first character and ``•••``. A field named
    like an e-mail address or a phone (``email``, ``e-mail``, ``phone``,
    ``telephone``, ``mobile``) is sensitive even when the flag was forgotten
    (:class:`~mimekit.shop.models.FieldChange` sees to it). A change that is
    not sensitive is returned as it is.

    >>> masked(FieldChange("email", "zoe.a@example.net", "zoe.anderson@example.org", sensitive=True))
    ('z•••@example.net', 'z•••@example.org')
    >>> masked(FieldChange("phone", "+34 612 345 678", "+34 699 876 543", sensitive=True))
    ('+•• ••• ••• •78', '+•• ••• ••• •43')
    >>> masked(FieldChange("address", "Calle Mayor 5, Madrid", "Avenida de América 10", sensitive=True))
    ('C•••', 'A•••')
    >>> masked(FieldChange("name", "Zoe Anderson", "Zoë Anderson"))
    ('Zoe Anderson', 'Zoë Anderson')
    >>> masked(FieldChange("Phone", "+34 612 345 678", "+34 699 876 543"))  # sensitive by its name
    ('+•• ••• ••• •78', '+•• ••• ••• •43')
    """
    if not change.sensitive:
        return change.old, change.new
    return _mask_value(change.old), _mask_value(change.new)


def _mask_value(value: str) -> str:
    if "@" in value:
        return mask_email(value)
    if sum(ch.isdigit() for ch in value) >= 6:
        return mask_phone(value)
    return (value.strip()[:1] + "•••") if value.strip() else ""


def _scope(kind: str, customer: Customer, when: _dt.datetime) -> str:
    """A Content-ID-safe scope: the event, its UTC time, a short hash of the address (never the address)."""
    digest = hashlib.sha256(customer.email.lower().encode("utf-8")).hexdigest()[:10]
    return f"{kind}-{when.astimezone(_dt.timezone.utc):%Y%m%dT%H%M%SZ}-{digest}"


def _security_links(shop: Shop) -> dict[str, str]:
    return {
        "account_url": shop.url("account"),
        "recover_url": shop.url("account", "recover"),
        "security_url": shop.url("account", "security"),
    }


def build_account_created(
    event: AccountCreated,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the welcome e-mail for a new account, ready to send.

    Templates ``account_created/subject.txt``, ``body.txt`` and ``body.html``
    in the customer's language: a welcome, the address the account uses, a
    link to sign in (``<base_url>/account``) and a "Wasn't you?" paragraph:
    an account opened in somebody's name is a security event, so it tells
    them to write to the support address (named there, a ``mailto:`` link in
    the HTML) and the shop will close the account. It has no security link:
    whoever did not open the account has no password to sign in with.
    Subject: "Welcome to Tienda Ñandú" ("Te damos la bienvenida a Tienda
    Ñandú").

    Never in this e-mail: the password, an activation or sign-in token, a
    link that signs the reader in. The sign-in link is the plain account
    page; the customer types the password there.

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers
    (RFC 5322 §3.6.4). Returns ``multipart/alternative`` (RFC 2046 §5.1.4)
    with the HTML and logo in ``multipart/related`` (RFC 2387); no
    List-Unsubscribe. Raises :class:`~mimekit.errors.MimeStructureError` if
    the shop has no logo.

    >>> from mimekit.shop import sample_account_created, sample_shop
    >>> str(build_account_created(sample_account_created(), sample_shop())["Subject"])
    'Te damos la bienvenida a Tienda Ñandú'
    """
    return compose(
        "account_created",
        shop,
        event.customer,
        {"event": event, **_security_links(shop)},
        scope=_scope("account-created", event.customer, event.created_at),
        date=date,
        message_id=message_id,
    )


def build_password_changed(
    event: PasswordChanged,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the notice that the account's password was changed, ready to send.

    Templates ``password_changed/subject.txt``, ``body.txt`` and ``body.html``
    in the customer's language: when it changed (date and time in the shop's
    time zone, ``|datetime``), from which device (when known), and a "Wasn't
    you?" paragraph. Whoever changed the password can sign in and the owner
    cannot, so the paragraph leads with account recovery
    (``<base_url>/account/recover``, the first button) and the support
    address, and only then asks to review the account's security at
    ``<base_url>/account/security``. Subject: "Your Tienda Ñandú password was changed" ("Se ha
    cambiado la contraseña de tu cuenta de Tienda Ñandú").

    Never in this e-mail: the new or the old password, any part or hint of
    it, a reset token, a link that signs the reader in or undoes the change
    without signing in. :class:`~mimekit.shop.models.PasswordChanged` carries
    no password, so none can leak.

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers
    (RFC 5322 §3.6.4). Returns ``multipart/alternative`` (RFC 2046 §5.1.4)
    with the HTML and logo in ``multipart/related`` (RFC 2387); no
    List-Unsubscribe. Raises :class:`~mimekit.errors.MimeStructureError` if
    the shop has no logo.

    >>> from mimekit.shop import sample_password_changed, sample_shop
    >>> str(build_password_changed(sample_password_changed(), sample_shop())["Subject"])
    'Se ha cambiado la contraseña de tu cuenta de Tienda Ñandú'
    """
    return compose(
        "password_changed",
        shop,
        event.customer,
        {"event": event, **_security_links(shop)},
        scope=_scope("password-changed", event.customer, event.changed_at),
        date=date,
        message_id=message_id,
    )


def build_account_details_updated(
    event: AccountDetailsUpdated,
    shop: Shop,
    *,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
) -> MIMEMultipart:
    """Build the notice listing which account details changed, old → new, ready to send.

    Templates ``account_details_updated/subject.txt``, ``body.txt`` and
    ``body.html`` in the customer's language: when the change happened, one
    row per :class:`~mimekit.shop.models.FieldChange` with a translated label
    (name, e-mail address, phone, address; any other field name as given),
    the old and the new value, sensitive values masked by :func:`masked` in
    both the text and the HTML; then a "Wasn't you?" paragraph linking to
    ``<base_url>/account/security`` with the support address. Subject: "Your
    Tienda Ñandú account details were changed" ("Se han cambiado los datos de
    tu cuenta de Tienda Ñandú").

    Never in this e-mail: a sensitive value in clear (old or new e-mail
    address, phone number), a password, a full card number or IBAN, a token
    that confirms or undoes the change without signing in.

    The message goes To the customer's current address. When the e-mail
    address is among the changes, a real shop also sends this notice to the
    old address (see the module docstring).

    *date* (timezone-aware) and *message_id* (``<…@…>``) fix those headers
    (RFC 5322 §3.6.4). Returns ``multipart/alternative`` (RFC 2046 §5.1.4)
    with the HTML and logo in ``multipart/related`` (RFC 2387); no
    List-Unsubscribe. Raises :class:`~mimekit.errors.MimeStructureError` if
    the shop has no logo.

    >>> from mimekit.shop import sample_account_details_updated, sample_shop
    >>> msg = build_account_details_updated(sample_account_details_updated(), sample_shop())
    >>> str(msg["Subject"])
    'Your Tienda Ñandú account details were changed'
    """
    rows = [(change.field, *masked(change)) for change in event.changes]
    return compose(
        "account_details_updated",
        shop,
        event.customer,
        {"event": event, "rows": rows, **_security_links(shop)},
        scope=_scope("details-updated", event.customer, event.updated_at),
        date=date,
        message_id=message_id,
    )
