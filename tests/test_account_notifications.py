"""Specification of mimekit.shop.account_notifications: the masks, and the three security notices on the wire.

Account created, password changed, account details updated: each is checked
in Spanish and English, read back from the bytes ``as_smtp_bytes`` produces.
Expected subjects are written here word for word; dates are formatted here with
Babel directly. What must never be in these e-mails (passwords, sensitive
values in clear) is checked on the decoded text and HTML and on the raw bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest
from babel.dates import format_date, format_time, get_timezone

import mimekit.shop
from message_parts import bodies, hrefs, html_elements, tree_shape
from mimekit import as_smtp_bytes, send_message
from mimekit.shop import (
    AccountDetailsUpdated,
    Customer,
    FieldChange,
    PasswordChanged,
    sample_account_created,
    sample_account_details_updated,
    sample_customers,
    sample_password_changed,
)
from mimekit.shop.account_notifications import (
    build_account_created,
    build_account_details_updated,
    build_password_changed,
    mask_email,
    mask_phone,
    masked,
)

LOCALES = ["es_ES", "en_US"]
MADRID = get_timezone("Europe/Madrid")
ACCOUNT_URL = "https://tienda.example.com/account"
SECURITY_URL = "https://tienda.example.com/account/security"
RECOVER_URL = "https://tienda.example.com/account/recover"
SUPPORT = "ayuda@tienda.example.com"

#: Which sample event each notice is built from, and by which builder.
NOTICES = {
    "account_created": (sample_account_created, build_account_created),
    "password_changed": (sample_password_changed, build_password_changed),
    "account_details_updated": (sample_account_details_updated, build_account_details_updated),
}

#: The subjects, word for word.
SUBJECTS = {
    ("account_created", "es_ES"): "Te damos la bienvenida a Tienda Ñandú",
    ("account_created", "en_US"): "Welcome to Tienda Ñandú",
    ("password_changed", "es_ES"): "Se ha cambiado la contraseña de tu cuenta de Tienda Ñandú",
    ("password_changed", "en_US"): "Your Tienda Ñandú password was changed",
    ("account_details_updated", "es_ES"): "Se han cambiado los datos de tu cuenta de Tienda Ñandú",
    ("account_details_updated", "en_US"): "Your Tienda Ñandú account details were changed",
}

#: "password: …", "contraseña = …": the shape a leaked password would take.
PASSWORD_LIKE = re.compile(r"(password|passwort|contraseña|clave|pwd)\s*[:=]", re.IGNORECASE)


def customer_in(locale: str) -> Customer:
    """Zoë Anderson, reading *locale*."""
    return dataclasses.replace(sample_customers()[1], locale=locale)


def build(kind: str, locale: str, shop, **changes):
    make_event, builder = NOTICES[kind]
    event = dataclasses.replace(make_event(customer_in(locale)), **changes)
    return builder(event, shop)


def when(moment: dt.datetime, locale: str) -> str:
    """A moment as the customer reads it, in the shop's time zone (Europe/Madrid): long date, hour and
    minute (no seconds), and the zone's abbreviation at that instant: ``4 de noviembre de 2026, 21:12 (CET)``."""
    local = moment.astimezone(MADRID)
    return f"{format_date(local, 'long', locale=locale)}, {format_time(local, 'short', locale=locale)} ({local:%Z})"


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("es_ES", "4 de noviembre de 2026, 21:12 (CET)"), ("en_US", "November 4, 2026, 9:12\u202fPM (CET)")],
)
def test_the_moment_of_a_change_reads_as_date_hour_minute_and_zone(locale, shown, shop, parse):
    assert when(dt.datetime(2026, 11, 4, 21, 12, tzinfo=dt.timezone(dt.timedelta(hours=1))), locale) == shown
    plain, html = bodies(parse(build("password_changed", locale, shop)))
    assert shown in plain
    assert shown in unescape(html)
    assert "21:12:00" not in plain and "9:12:00" not in plain  # no seconds


both = pytest.mark.parametrize("locale", LOCALES)
every_notice = pytest.mark.parametrize("kind", list(NOTICES))


# --------------------------------------------------------------------------- the masks


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("zoe.anderson@example.org", "z•••@example.org"),
        ("zoe.a@example.net", "z•••@example.net"),
        ("j@example.com", "•••@example.com"),  # a 1- or 2-character local part shows nothing of it
        ("jo@example.com", "•••@example.com"),
        ("joe@example.com", "j•••@example.com"),
        ("Íñigo@example.net", "Í•••@example.net"),
        ("no address here", "•••"),
        ("", ""),
    ],
)
def test_mask_email_keeps_the_first_character_and_the_domain(address, shown):
    assert mask_email(address) == shown


def test_mask_email_does_not_reveal_the_length_of_the_local_part():
    assert mask_email("abc@example.org") == mask_email("abcdefghijklmnop@example.org") == "a•••@example.org"


def test_mask_email_does_not_reveal_a_one_letter_local_part():
    assert mask_email("a@example.net") == "•••@example.net"
    assert "a" not in mask_email("a@example.net").split("@")[0]


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("+34 612 345 678", "+•• ••• ••• •78"),
        ("+34 699 876 543", "+•• ••• ••• •43"),
        ("612-345-678", "•••-•••-•78"),
        ("(555) 010-0199", "(•••) •••-••99"),
        ("+34612345678", "+•••••••••78"),
        ("112", "•••"),  # too short: the last 2 would give most of it away
        ("", ""),
    ],
)
def test_mask_phone_hides_all_digits_but_the_last_two_and_keeps_separators(number, shown):
    assert mask_phone(number) == shown


def test_mask_phone_hides_digits_of_any_script():
    assert mask_phone("٦١٢٣٤٥٦٧٨") == "•••••••٧٨"  # Arabic-Indic digits


def test_masked_uses_the_email_mask_for_email_and_the_phone_mask_for_other_sensitive_fields():
    assert masked(FieldChange("email", "zoe.a@example.net", "zoe.anderson@example.org", sensitive=True)) == (
        "z•••@example.net",
        "z•••@example.org",
    )
    assert masked(FieldChange("phone", "+34 612 345 678", "+34 699 876 543", sensitive=True)) == (
        "+•• ••• ••• •78",
        "+•• ••• ••• •43",
    )
    assert masked(FieldChange("iban", "ES91 2100 0418 4502 0005 1332", "", sensitive=True)) == (
        "ES•• •••• •••• •••• •••• ••32",
        "",
    )


def test_masked_shows_non_sensitive_values_as_they_are():
    assert masked(FieldChange("name", "Zoe Anderson", "Zoë Anderson")) == ("Zoe Anderson", "Zoë Anderson")
    assert masked(FieldChange("nickname", "zoe", "zoë")) == ("zoe", "zoë")


@pytest.mark.parametrize("field", ["email", "EMAIL", "e-mail", "E-Mail", "email_address", "phone", "Phone", "telephone", "mobile"])
def test_email_and_phone_fields_are_always_masked_whatever_the_sensitive_flag_says(field):
    change = FieldChange(field, "zoe.a@example.net", "+34 699 876 543", sensitive=False)
    assert change.sensitive is True
    assert masked(change) == ("z•••@example.net", "+•• ••• ••• •43")


@pytest.mark.parametrize(("old", "new"), [(None, "a"), ("a", None), (612345678, "a"), ("a", b"b")])
def test_field_change_values_must_be_text(old, new):
    with pytest.raises(TypeError, match="must be a str"):
        FieldChange("phone", old, new)


# --------------------------------------------------------------------------- every notice: structure and headers


@every_notice
@both
def test_tree_is_alternative_of_plain_and_related_html_with_logo(kind, locale, shop, parse):
    assert tree_shape(parse(build(kind, locale, shop))) == [
        (0, "multipart/alternative"),
        (1, "text/plain"),
        (1, "multipart/related"),
        (2, "text/html"),
        (2, "image/png"),
    ]


@every_notice
@both
def test_every_cid_resolves_and_the_logo_is_inline(kind, locale, shop, parse, assert_cids_resolve):
    wire = parse(build(kind, locale, shop))
    assert_cids_resolve(wire)
    logo = wire.get_payload()[1].get_payload()[1]
    assert logo.get_content_disposition() == "inline"
    assert logo.get_payload(decode=True) == shop.logo_png
    assert str(logo["Content-ID"]).endswith("@tienda.example.com>")
    assert "zoe" not in str(logo["Content-ID"]).lower()  # the scope hashes the address, never shows it


@every_notice
@both
def test_wire_is_crlf_only_within_998_octets(kind, locale, shop, assert_valid_wire):
    assert_valid_wire(as_smtp_bytes(build(kind, locale, shop)))


@every_notice
@both
def test_subject_is_the_localized_text(kind, locale, shop, parse):
    assert parse(build(kind, locale, shop))["Subject"] == SUBJECTS[(kind, locale)]


@every_notice
@both
def test_transactional_notice_has_no_unsubscribe_headers(kind, locale, shop, parse):
    wire = parse(build(kind, locale, shop))
    assert wire["List-Unsubscribe"] is None
    assert wire["List-Unsubscribe-Post"] is None
    [recipient] = wire["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == ("Zoë Anderson", "zoe.anderson@example.org")
    assert wire["Reply-To"].addresses[0].addr_spec == SUPPORT


@every_notice
@both
def test_notice_holds_nothing_shaped_like_a_password_and_no_link_with_a_token(kind, locale, shop, parse):
    wire = parse(build(kind, locale, shop))
    plain, html = bodies(wire)
    for text in (plain, unescape(html), str(wire["Subject"])):
        assert not PASSWORD_LIKE.search(text), PASSWORD_LIKE.search(text)
        assert "token" not in text.lower()
    for link in [*re.findall(r"https://\S+", plain), *hrefs(html)]:
        assert "?" not in link, f"a link with a query string (a token?) in a security notice: {link}"


@every_notice
@both
def test_sent_to_the_embedded_server_reads_back_the_same_subject_and_recipient(kind, locale, shop, smtp_server):
    msg = build(kind, locale, shop)
    result = send_message(msg, port=smtp_server.port, timeout=5)
    assert result.accepted == ["zoe.anderson@example.org"]
    [captured] = smtp_server.inbox.filter(rcpt_to="zoe.anderson@example.org")
    received = captured.message
    assert captured.raw == as_smtp_bytes(msg)
    assert received["Subject"] == SUBJECTS[(kind, locale)]
    assert received["To"].addresses[0].display_name == "Zoë Anderson"


# --------------------------------------------------------------------------- account created


@both
def test_account_created_links_to_sign_in_and_names_support(locale, shop, parse):
    plain, html = bodies(parse(build("account_created", locale, shop)))
    assert ACCOUNT_URL in plain
    assert ACCOUNT_URL in hrefs(html)
    assert SUPPORT in plain
    assert f"mailto:{SUPPORT}" in hrefs(html)
    assert {"es_ES": "¿No has sido tú?", "en_US": "Wasn't you?"}[locale] in plain


@both
def test_account_created_wasnt_you_paragraph_itself_tells_to_contact_support(locale, shop, parse):
    """An account opened in your name is a security event: the paragraph, not only the footer, names support."""
    plain, html = bodies(parse(build("account_created", locale, shop)))
    heading = {"es_ES": "¿No has sido tú?", "en_US": "Wasn't you?"}[locale]
    section = plain.split(heading, 1)[1].split("\n-- \n", 1)[0]
    assert SUPPORT in section
    [paragraph] = [p for p in re.findall(r"<p[^>]*>(.*?)</p>", html, re.DOTALL) if heading in unescape(p)]
    assert f'href="mailto:{SUPPORT}"' in paragraph
    assert {"es_ES": "la cerraremos", "en_US": "we will close it"}[locale] in unescape(paragraph)


def test_account_created_docstring_promises_no_security_link_it_does_not_have():
    doc = " ".join(build_account_created.__doc__.split())
    assert "security link" not in doc.replace("no security link", "")


# --------------------------------------------------------------------------- password changed


def test_password_changed_event_has_no_field_that_could_hold_a_secret():
    names = {field.name for field in dataclasses.fields(PasswordChanged)}
    assert names == {"customer", "changed_at", "device"}


@both
def test_password_changed_shows_date_time_device_and_the_security_link(locale, shop, parse):
    event = sample_password_changed(customer_in(locale))
    plain, html = bodies(parse(build_password_changed(event, shop)))
    text = unescape(html)
    expected_when = when(dt.datetime(2026, 11, 4, 21, 12, tzinfo=dt.timezone(dt.timedelta(hours=1))), locale)
    for body in (plain, text):
        assert expected_when in body
        assert "Firefox, Linux" in body
        assert SUPPORT in body
        assert {"es_ES": "¿No has sido tú?", "en_US": "Wasn't you?"}[locale] in body
    assert SECURITY_URL in plain
    assert SECURITY_URL in hrefs(html)


@both
def test_password_changed_wasnt_you_leads_with_recovery_and_support_then_the_security_review(locale, shop, parse):
    """Whoever changed the password can sign in and the owner cannot: recover first, review security later."""
    plain, html = bodies(parse(build("password_changed", locale, shop)))
    heading = {"es_ES": "¿No has sido tú?", "en_US": "Wasn't you?"}[locale]
    section = plain.split(heading, 1)[1].split("\n-- \n", 1)[0]
    assert RECOVER_URL in section and SUPPORT in section and SECURITY_URL in section
    assert section.index(RECOVER_URL) < section.index(SUPPORT) < section.index(SECURITY_URL)
    links = hrefs(html)
    assert links.index(RECOVER_URL) < links.index(f"mailto:{SUPPORT}") < links.index(SECURITY_URL)
    [button] = [attrs["href"] for tag, attrs in html_elements(html) if tag == "a" and attrs.get("class") == "button"]
    assert button == RECOVER_URL
    recover = {"es_ES": "Recuperar tu cuenta", "en_US": "Recover your account"}[locale]
    assert f"{recover}: {RECOVER_URL}" in plain
    assert {"es_ES": "Protege tu cuenta ahora", "en_US": "Secure your account now"}[locale] not in plain


@both
def test_password_changed_without_a_known_device_leaves_the_line_out(locale, shop, parse):
    plain, html = bodies(parse(build("password_changed", locale, shop, device="")))
    label = {"es_ES": "Dispositivo", "en_US": "Device"}[locale]
    assert label not in plain
    assert label not in unescape(html)


def test_device_string_with_markup_is_escaped_in_html_and_literal_in_text(shop, parse):
    plain, html = bodies(parse(build("password_changed", "es_ES", shop, device="<script>alert(1)</script> & co")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<script>" not in html
    assert "<script>alert(1)</script> & co" in plain


# --------------------------------------------------------------------------- account details updated


SENSITIVE_IN_CLEAR = [
    "zoe.a@example.net",
    "+34 612 345 678",
    "612 345 678",
    "+34612345678",
    "+34 699 876 543",
    "699 876 543",
    "+34699876543",
]


@both
def test_changed_email_and_phone_never_appear_in_clear_but_masked(locale, shop, parse):
    msg = build("account_details_updated", locale, shop)
    raw = as_smtp_bytes(msg)
    plain, html = bodies(parse(msg))
    text = unescape(html)
    for value in SENSITIVE_IN_CLEAR:
        assert value not in plain
        assert value not in text
        assert value.encode() not in raw
    # The new address is the customer's current one: it may appear only in the To header.
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"zoe.anderson@example.org" in head
    assert b"zoe.anderson@example.org" not in body
    assert "zoe.anderson@example.org" not in plain
    assert "zoe.anderson@example.org" not in text
    for shown in ("z•••@example.net", "z•••@example.org", "+•• ••• ••• •78", "+•• ••• ••• •43"):
        assert shown in plain
        assert shown in text


@both
def test_non_sensitive_change_is_shown_in_clear_with_old_and_new(locale, shop, parse):
    plain, html = bodies(parse(build("account_details_updated", locale, shop)))
    name = {"es_ES": "Nombre", "en_US": "Name"}[locale]
    assert f"{name}: Zoe Anderson → Zoë Anderson" in plain
    assert "Zoe Anderson" in unescape(html)
    assert "Zoë Anderson" in unescape(html)


LABELS = {
    "es_ES": {"name": "Nombre", "email": "Correo electrónico", "phone": "Teléfono", "address": "Dirección"},
    "en_US": {"name": "Name", "email": "Email address", "phone": "Phone", "address": "Address"},
}


@both
def test_field_labels_are_translated_and_unknown_fields_shown_as_given(locale, shop, parse):
    event = AccountDetailsUpdated(
        customer_in(locale),
        dt.datetime(2026, 11, 4, 12, 40, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        (
            FieldChange("name", "Zoe Anderson", "Zoë Anderson"),
            FieldChange("email", "zoe.a@example.net", "zoe.anderson@example.org", sensitive=True),
            FieldChange("phone", "", "+34 699 876 543", sensitive=True),
            FieldChange("address", "Calle Mayor 1", "Calle de la Montaña 12"),
            FieldChange("nickname", "zoe", "zoë"),
        ),
    )
    plain, html = bodies(parse(build_account_details_updated(event, shop)))
    text = unescape(html)
    labels = LABELS[locale]
    assert f"* {labels['name']}: Zoe Anderson → Zoë Anderson" in plain
    assert f"* {labels['email']}: z•••@example.net → z•••@example.org" in plain
    empty = {"es_ES": "(vacío)", "en_US": "(empty)"}[locale]
    assert f"* {labels['phone']}: {empty} → +•• ••• ••• •43" in plain
    assert f"* {labels['address']}: Calle Mayor 1 → Calle de la Montaña 12" in plain
    assert "* nickname: zoe → zoë" in plain
    for label in (*labels.values(), "nickname"):
        assert label in text


@both
def test_details_updated_shows_when_and_the_security_link(locale, shop, parse):
    plain, html = bodies(parse(build("account_details_updated", locale, shop)))
    expected_when = when(dt.datetime(2026, 11, 4, 12, 40, tzinfo=dt.timezone(dt.timedelta(hours=1))), locale)
    assert expected_when in plain
    assert expected_when in unescape(html)
    assert SECURITY_URL in plain
    assert SECURITY_URL in hrefs(html)
    assert SUPPORT in plain


def test_markup_in_customer_name_field_name_and_values_is_escaped_in_html_and_literal_in_text(shop, parse):
    customer = dataclasses.replace(customer_in("es_ES"), name="<script>alert(1)</script> Zoë")
    event = AccountDetailsUpdated(
        customer,
        dt.datetime(2026, 11, 4, 12, 40, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        (FieldChange("name", "Tom & Jerry", "<b>Zoë</b>"), FieldChange("<i>alias</i>", "a", "b")),
    )
    wire = parse(build_account_details_updated(event, shop))
    plain, html = bodies(wire)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Zoë" in html
    assert "Tom &amp; Jerry" in html
    assert "&lt;b&gt;Zoë&lt;/b&gt;" in html
    assert "&lt;i&gt;alias&lt;/i&gt;" in html
    assert "<script>" not in html
    assert "<b>Zoë" not in html
    assert "<i>alias" not in html
    assert "Hola, <script>alert(1)</script> Zoë:" in plain
    assert "* Nombre: Tom & Jerry → <b>Zoë</b>" in plain
    assert "* <i>alias</i>: a → b" in plain


def test_markup_in_customer_name_is_escaped_in_the_welcome(shop, parse):
    customer = dataclasses.replace(customer_in("en_US"), name="<script>alert(1)</script> & Zoë")
    plain, html = bodies(parse(build_account_created(sample_account_created(customer), shop)))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zoë" in html
    assert "<script>" not in html
    assert "Hello <script>alert(1)</script> & Zoë," in plain


# --------------------------------------------------------------------------- the Spanish catalog

#: msgids whose Spanish is the same word.
SAME_IN_SPANISH = frozenset({"Total"})
TEMPLATES = Path(mimekit.shop.__file__).parent / "templates"


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("address", "Calle Mayor 5, Madrid", "Avenida de América 10, Madrid"),
        ("e-mail", "ana.lopez@example.org", "ana@example.net"),
        ("iban", "ES91 2100 0418 4502 0005 1332", "ES79 2100 0813 6101 2345 6789"),
    ],
)
def test_every_sensitive_field_is_masked_whatever_its_name_or_shape(field, old, new):
    shown_old, shown_new = masked(FieldChange(field, old, new, sensitive=True))
    for clear, shown in ((old, shown_old), (new, shown_new)):
        assert clear not in shown
        assert "•" in shown
        assert len(clear.split()[0]) < 4 or clear.split()[0] not in shown  # no whole word of it survives


@pytest.mark.parametrize(
    "event",
    [
        lambda: dataclasses.replace(sample_account_created(), created_at=dt.datetime(2026, 11, 1, 18, 5)),
        lambda: dataclasses.replace(sample_password_changed(), changed_at=dt.datetime(2026, 11, 4, 21, 12)),
        lambda: dataclasses.replace(sample_account_details_updated(), updated_at=dt.datetime(2026, 11, 4, 12, 40)),
    ],
    ids=["created", "password", "details"],
)
def test_account_events_refuse_naive_times(event):
    with pytest.raises(ValueError, match="timezone-aware"):
        event()


def test_module_says_pci_dss_requires_strong_cryptography_and_never_that_it_forbids():
    import mimekit.shop.account_notifications as module
    from mimekit.shop import models

    for doc in (module.__doc__, models.__doc__, models.Payment.__doc__):
        text = " ".join(doc.split())
        assert "PCI DSS" in text
        assert "strong cryptography" in text and "4.2.2" in text
        assert "forbid" not in text.lower()
