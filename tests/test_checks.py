"""Specification of mimekit.checks: each check passes on a right message and explains a wrong one.

The right messages are the shop's own (order confirmation, cart reminder,
account notifications) and small ones built here; the wrong ones are built by
hand with the mistakes students make: HTML before plain text, a dangling
``cid:``, a missing attachment, a Bcc header left in, a 1000-octet line.
Every failure is checked for its feedback: what was expected, what the message
has (its tree), and a hint with the RFC.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr
from textwrap import indent

import pytest

import mimekit.checks
import mimekit.tree
from message_parts import content_id
from mimekit import (
    MimekitError,
    add_attachment,
    add_inline_image,
    as_smtp_bytes,
    make_alternative,
    make_mixed,
    make_related,
    make_text_part,
    render_tree,
    set_header,
)
from mimekit.checks import (
    CheckFailed,
    check_attachment,
    check_cids_resolve,
    check_delivered,
    check_header,
    check_line_lengths,
    check_no_secret,
    check_not_in_headers,
    check_one_click_unsubscribe,
    check_plain_before_html,
    check_tree_shape,
    render_shape,
    tree_shape,
)
from mimekit.shop import (
    build_account_details_updated,
    build_cart_reminder,
    build_order_confirmation,
    sample_account_details_updated,
    sample_cart,
)

CONFIRMATION_SHAPE = "multipart/alternative(text/plain, multipart/related(text/html, image/png))"


@pytest.fixture
def confirmation(order, shop):
    """The shop's order confirmation for José, as built (an email.mime object)."""
    return build_order_confirmation(order, shop)


def failure(check, *args, **kwargs) -> CheckFailed:
    """Run a check that must fail; return its CheckFailed."""
    with pytest.raises(CheckFailed) as caught:
        check(*args, **kwargs)
    return caught.value


def html_then_plain() -> MIMEMultipart:
    """The classic mistake: the HTML alternative first, the plain text last."""
    return MIMEMultipart(
        "alternative",
        _subparts=[MIMEText("<p>Hola <b>José</b></p>", "html", "utf-8"), MIMEText("Hola José", "plain", "utf-8")],
    )


# --------------------------------------------------------------------------- the failure and its feedback


def test_a_failure_is_an_assertion_error_and_a_mimekit_error_with_its_feedback_in_order():
    error = failure(check_plain_before_html, html_then_plain())
    assert isinstance(error, AssertionError) and isinstance(error, MimekitError)
    text = str(error)
    assert text.index("Expected:") < text.index("Found:") < text.index("Your message:") < text.index("Hint:")
    assert error.check == "plain_before_html"
    assert indent(error.tree, "    ") in text and error.hint in text and error.summary == text.splitlines()[0]


def test_a_failure_keeps_its_fields_through_pickling():
    error = failure(check_plain_before_html, html_then_plain())
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.check, copy.expected, copy.actual, copy.hint, copy.tree, str(copy)) == (
        error.check, error.expected, error.actual, error.hint, error.tree, str(error)
    )


def one_failure_of_each_check(mail_inbox) -> list:
    """A failing call of every check, as (check, args, kwargs); the inbox is empty."""
    plain = MIMEText("Hola", "plain", "utf-8")
    return [
        (check_tree_shape, (plain, "multipart/alternative(text/plain, text/html)"), {}),
        (check_plain_before_html, (html_then_plain(),), {}),
        (check_cids_resolve, (make_alternative("Hola", '<img src="cid:logo@tienda.example.com">'),), {}),
        (check_attachment, (plain, "factura.pdf"), {}),
        (check_header, (plain, "Subject", "Hola"), {}),
        (check_not_in_headers, (plain, "Content-Type"), {}),
        (check_one_click_unsubscribe, (plain,), {}),
        (check_line_lengths, (MIMEText("x" * 1000, "plain", "us-ascii"),), {}),
        (check_no_secret, (plain, "Hola"), {}),
        (check_delivered, (mail_inbox,), {"rcpt_tos": "jose.nunez@example.com"}),
    ]


def test_the_list_of_failures_covers_every_check(mail_inbox):
    checks = {check.__name__ for check, _, _ in one_failure_of_each_check(mail_inbox)}
    assert checks == {name for name in mimekit.checks.__all__ if name.startswith("check_")}


def test_every_check_names_the_message_given_as_what_on_the_first_line(mail_inbox):
    for check, args, kwargs in one_failure_of_each_check(mail_inbox):
        error = failure(check, *args, what="the notice for Zoë", **kwargs)
        assert error.what == "the notice for Zoë", check.__name__
        assert str(error).splitlines()[0] == f"In the notice for Zoë: {error.summary[0].lower()}{error.summary[1:]}"


def test_what_is_kept_on_the_failure_and_through_pickling(text_message):
    error = failure(check_header, text_message(), "Reply-To", "ayuda@tienda.example.com", what="the notice for Zoë")
    assert str(error).splitlines()[0] == "In the notice for Zoë: the message has no Reply-To header."
    assert (error.what, error.summary) == ("the notice for Zoë", "The message has no Reply-To header.")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.what, str(copy)) == (error.what, str(error))


def test_without_what_the_first_line_is_the_summary(text_message):
    error = failure(check_header, text_message(), "Reply-To", "ayuda@tienda.example.com")
    assert error.what is None and str(error).splitlines()[0] == "The message has no Reply-To header."


def test_what_keeps_the_capitals_of_a_summary_that_begins_with_a_name(text_message):
    msg = text_message()
    msg["List-Unsubscribe"] = "https://tienda.example.com/baja"
    error = failure(check_one_click_unsubscribe, msg, what="the newsletter for Mary")
    assert str(error).startswith("In the newsletter for Mary: List-Unsubscribe is not a list of URIs")


@pytest.mark.parametrize(
    ("what", "error_type"), [(42, TypeError), ("", ValueError), ("  ", ValueError), ("a\nb", ValueError)]
)
def test_a_what_that_cannot_name_a_message_is_refused_even_when_the_check_passes(confirmation, what, error_type):
    with pytest.raises(error_type, match="what= names the message checked"):
        check_tree_shape(confirmation, CONFIRMATION_SHAPE, what=what)


def test_checks_read_raw_bytes_and_captured_copies(confirmation, mail_session, mail_inbox):
    check_tree_shape(as_smtp_bytes(confirmation), CONFIRMATION_SHAPE)
    mail_session.send(confirmation)
    check_tree_shape(mail_inbox.latest(), CONFIRMATION_SHAPE)


def test_checks_refuse_str_and_say_to_pass_bytes(confirmation):
    with pytest.raises(TypeError, match=r"text\.encode\(\)"):
        check_tree_shape(as_smtp_bytes(confirmation).decode(), CONFIRMATION_SHAPE)


def test_a_message_object_is_judged_as_the_wire_reads_it():
    """The one-string From of email.mime encodes the address away: the object looks right, the wire is not."""
    msg = MIMEText("Hola", "plain", "utf-8")
    msg["From"] = "José Núñez <jose.nunez@example.com>"
    error = failure(check_header, msg, "From", "José Núñez <jose.nunez@example.com>")
    assert error.summary == "The From header does not hold a readable address."
    assert "RFC 2047 §5(3)" in error.hint and "set_header(msg, 'From', (name, address))" in error.hint
    assert "InvalidHeaderDefect" in error.tree


# --------------------------------------------------------------------------- tree shape


def test_tree_shape_of_the_order_confirmation_passes_with_and_without_wildcards(confirmation):
    check_tree_shape(confirmation, CONFIRMATION_SHAPE)
    check_tree_shape(confirmation, " multipart/alternative ( text/plain , multipart/related(text/*, image/*) ) ")


def test_tree_shape_names_the_first_different_part_and_explains_the_type_expected_there(confirmation, parse):
    expected = "multipart/mixed(multipart/alternative(text/plain, text/html), application/pdf)"
    error = failure(check_tree_shape, confirmation, expected)
    assert error.check == "tree_shape"
    assert "the message itself is multipart/alternative; the exercise expects multipart/mixed there" in error.summary
    assert error.expected == expected
    assert error.actual == CONFIRMATION_SHAPE
    assert "RFC 2046 §5.1.3" in error.hint
    assert error.tree == render_tree(parse(confirmation))


def test_tree_shape_counts_the_parts_of_a_multipart_so_a_missing_attachment_is_named(confirmation):
    without_pdf = make_mixed(confirmation)
    error = failure(
        check_tree_shape,
        without_pdf,
        "multipart/mixed(multipart/alternative(text/plain, multipart/related(text/html, image/png)), application/pdf)",
    )
    assert "multipart/mixed (the message itself) holds 1 part (multipart/alternative); the exercise expects 2" in (
        error.summary
    )


def test_tree_shape_points_into_the_tree_by_section_number(confirmation):
    error = failure(check_tree_shape, confirmation, "multipart/alternative(text/plain, multipart/related(text/html, image/gif))")
    assert "part 2.2 is image/png; the exercise expects image/gif there" in error.summary


@pytest.mark.parametrize(
    ("shape", "problem", "column"),
    [
        ("multipart/alternative(text/plain, text/html", "')' or ',' was expected here", 44),
        ("text/plain(text/html)", "text/plain cannot hold parts", 11),
        ("multipart/mixed(text/plain) text/html", "the shape should end here", 29),
        ("html", "'h' is not part of a MIME type", 1),
    ],
)
def test_an_unreadable_expected_shape_is_a_value_error_with_a_caret(confirmation, shape, problem, column):
    with pytest.raises(ValueError) as caught:
        check_tree_shape(confirmation, shape)
    message = str(caught.value)
    assert problem in message and f"(character {column})" in message
    assert "\n    " + " " * (column - 1) + "^\n" in message


def test_the_shape_readers_of_mimekit_tree_are_importable_from_here_too(confirmation):
    """Exercises and tests/message_parts.py import them from mimekit.checks; they live in mimekit.tree."""
    assert render_shape is mimekit.tree.render_shape and tree_shape is mimekit.tree.tree_shape
    assert render_shape(confirmation) == CONFIRMATION_SHAPE


# --------------------------------------------------------------------------- plain before HTML


def test_plain_before_html_passes_on_the_order_confirmation(confirmation):
    check_plain_before_html(confirmation)


def test_html_before_plain_fails_with_the_order_found_and_rfc_2046(confirmation):
    error = failure(check_plain_before_html, html_then_plain())
    assert error.summary.startswith("The HTML alternative comes before the plain-text one")
    assert error.expected == "text/plain first, the HTML last"
    assert error.actual == "text/html, text/plain"
    assert "RFC 2046 §5.1.4" in error.hint
    html_line, plain_line = error.tree.splitlines()[1:3]
    assert "text/html" in html_line and "text/plain" in plain_line


def test_a_lone_html_part_fails_for_want_of_an_alternative():
    error = failure(check_plain_before_html, MIMEText("<p>Hola</p>", "html", "utf-8"))
    assert error.summary.startswith("The message has no multipart/alternative")
    assert error.actual == "text/html"


def test_an_alternative_without_plain_text_fails():
    msg = MIMEMultipart("alternative", _subparts=[MIMEText("<p>Hola</p>", "html", "utf-8")])
    assert "has no text/plain alternative" in failure(check_plain_before_html, msg).summary


# --------------------------------------------------------------------------- cid: links


def test_the_order_confirmation_cids_resolve_to_its_logo(confirmation):
    [logo] = check_cids_resolve(confirmation)
    assert content_id("logo", "order-1001").fullmatch(logo)


def test_a_message_without_cid_links_resolves_nothing(text_message):
    assert check_cids_resolve(text_message()) == []


def test_a_dangling_cid_fails_naming_it_and_the_content_ids_there(png_bytes):
    msg = make_alternative("Hola", make_related('<p><img src="cid:logo@tienda.example.com"></p>'))
    add_inline_image(msg, png_bytes, cid="<logo2@tienda.example.com>", filename="logo.png")
    error = failure(check_cids_resolve, msg)
    assert error.check == "cids_resolve"
    assert "refers to cid:logo@tienda.example.com, but no part beside it has that Content-ID" in error.summary
    assert error.expected == "a part with Content-ID: <logo@tienda.example.com>"
    assert error.actual == "Content-IDs beside the HTML: <logo2@tienda.example.com>"
    assert "RFC 2392 §2" in error.hint and "cid=<logo2@tienda.example.com>" in error.tree


def test_a_content_id_without_angle_brackets_does_not_resolve_and_the_hint_says_why(png_bytes):
    image = MIMEImage(png_bytes, "png")
    image["Content-ID"] = "logo@tienda.example.com"
    related = MIMEMultipart(
        "related", _subparts=[MIMEText('<img src="cid:logo@tienda.example.com">', "html", "utf-8"), image]
    )
    error = failure(check_cids_resolve, related)
    assert "write Content-ID: <logo@tienda.example.com>, not logo@tienda.example.com" in error.hint


@pytest.mark.parametrize(
    ("src", "with_image", "there"),
    [
        ("cid:<logo@tienda.example.com>", True, "That part is there, beside the HTML: only the URL is wrong."),
        ("cid:&lt;logo@tienda.example.com&gt;", False, "No part beside the HTML has that Content-ID yet either"),
    ],
)
def test_a_cid_url_that_keeps_its_angle_brackets_gets_told_to_remove_them(png_bytes, src, with_image, there):
    msg = make_alternative("Hola", make_related(f'<p><img src="{src}"></p>'))
    if with_image:
        add_inline_image(msg, png_bytes, cid="<logo@tienda.example.com>", filename="logo.png")
    error = failure(check_cids_resolve, msg)
    written = "cid:<logo@tienda.example.com>" if with_image else src
    assert error.summary == f"The HTML (part 2.1) writes {written} with angle brackets; a cid: URL has none."
    assert error.expected == "cid:logo@tienda.example.com (the Content-ID without its angle brackets)"
    assert error.actual == written
    assert error.hint.startswith(
        'Remove the angle brackets from the cid: URL (RFC 2392 §2): write src="cid:logo@tienda.example.com" '
        "for the part with Content-ID: <logo@tienda.example.com>"
    )
    assert there in error.hint
    assert "<<" not in str(error) and "Content-ID: <&lt;" not in str(error)


def test_html_with_cid_links_outside_multipart_related_fails_with_rfc_2387():
    error = failure(check_cids_resolve, make_alternative("Hola", '<img src="cid:logo@tienda.example.com">'))
    assert "not inside a multipart/related" in error.summary
    assert error.actual == "the text/html part sits in multipart/alternative"
    assert "RFC 2387" in error.hint


def test_an_image_in_another_related_part_is_named_where_it_is(png_bytes):
    first = make_related('<img src="cid:logo@tienda.example.com">')
    second = make_related("<p>Firma</p>")
    add_inline_image(second, png_bytes, cid="<logo@tienda.example.com>", filename="logo.png")
    error = failure(check_cids_resolve, MIMEMultipart("mixed", _subparts=[first, second]))
    assert "<logo@tienda.example.com> is in part 2.2" in error.hint


# --------------------------------------------------------------------------- attachments


def test_an_attachment_with_a_non_ascii_name_is_found_decoded_from_rfc_2231():
    msg = make_mixed("Adjunto la factura.")
    add_attachment(msg, b"%PDF-1.7 factura", filename="factura-nº1001.pdf")
    assert b"filename*=utf-8''factura-n%C2%BA1001.pdf" in as_smtp_bytes(msg)
    part = check_attachment(msg, "factura-nº1001.pdf", "application/pdf")
    assert part.get_content() == b"%PDF-1.7 factura"
    check_attachment(msg, unicodedata.normalize("NFD", "factura-nº1001.pdf"))  # typed on macOS


def test_a_missing_attachment_fails_listing_the_files_there(confirmation):
    error = failure(check_attachment, confirmation, "pedido-1001.pdf", "application/pdf")
    assert error.check == "attachment"
    assert error.summary == "The message has no attachment named 'pedido-1001.pdf'."
    assert error.actual == "'logo.png' (image/png, inline, part 2.2)"
    assert "RFC 2183 §2.3" in error.hint and "RFC 2231 §4" in error.hint


def test_an_inline_file_is_not_an_attachment(confirmation):
    error = failure(check_attachment, confirmation, "logo.png")
    assert "is in the message (part 2.2) but not as an attachment: its disposition is inline" in error.summary
    assert error.expected == "Content-Disposition: attachment"
    assert "RFC 2183 §2.1, §2.2" in error.hint


def test_an_attachment_of_the_wrong_type_fails():
    msg = make_mixed("Adjunto la factura.")
    add_attachment(msg, b"%PDF-1.7", filename="factura.pdf", mime_type="application/octet-stream")
    error = failure(check_attachment, msg, "factura.pdf", "application/pdf")
    assert (error.expected, error.actual) == ("application/pdf", "application/octet-stream")


# --------------------------------------------------------------------------- headers


def test_headers_compare_decoded(confirmation):
    check_header(confirmation, "To", "José Núñez <jose.nunez@example.com>")
    check_header(confirmation, "From", ("Tienda Ñandú", "PEDIDOS@tienda.example.com"))
    check_header(confirmation, "Subject", "Tu pedido 1001 está confirmado")


def test_a_different_display_name_fails_showing_both_decoded(confirmation):
    error = failure(check_header, confirmation, "From", "Tienda Nandu <pedidos@tienda.example.com>")
    assert error.check == "header"
    assert error.expected == "From: Tienda Nandu <pedidos@tienda.example.com>"
    assert error.actual == "From: Tienda Ñandú <pedidos@tienda.example.com>"


def test_a_display_name_with_a_comma_left_unquoted_is_shown_quoted_where_expected():
    msg = MIMEText("Hola", "plain", "utf-8")
    msg["To"] = "Smith, John <john.smith@example.net>"  # the comma splits it: "Smith", then John <…>
    error = failure(check_header, msg, "To", ("Smith, John", "john.smith@example.net"))
    assert error.summary == "The To header does not hold a readable address."
    assert error.expected == 'To: "Smith, John" <john.smith@example.net>'
    assert error.actual == "To: Smith, John <john.smith@example.net>"
    assert "must be in double quotes" in error.hint and "RFC 5322 §3.2.3" in error.hint
    assert error.hint.index("email.utils.formataddr") < error.hint.index("mimekit.set_header")


def test_mailboxes_are_shown_as_formataddr_writes_them_names_decoded(text_message):
    msg = text_message(to=formataddr(("O'Brien, Mary", "mary.obrien@example.org")))
    error = failure(check_header, msg, "To", ("Mary O'Brien", "mary.obrien@example.org"))
    assert error.expected == "To: " + formataddr(("Mary O'Brien", "mary.obrien@example.org"))
    assert error.actual == "To: " + formataddr(("O'Brien, Mary", "mary.obrien@example.org"))
    assert error.actual == 'To: "O\'Brien, Mary" <mary.obrien@example.org>'


def test_names_that_look_alike_are_shown_as_python_strings():
    msg = EmailMessage()
    msg["To"] = Address("Ana\xa0Pérez", addr_spec="ana.perez@example.org")  # a no-break space
    error = failure(check_header, msg, "To", ("Ana Pérez", "ana.perez@example.org"))
    assert error.expected == "To: ('Ana Pérez', 'ana.perez@example.org')"
    assert error.actual == "To: ('Ana\\xa0Pérez', 'ana.perez@example.org')"


def test_a_header_with_another_value_is_said_to_be_set_to_it_not_missing(confirmation):
    error = failure(check_header, confirmation, "To", "José Núñez <jose.nunez@example.org>")
    assert error.hint.startswith(
        "The To header is set, but to another value. The address is <jose.nunez@example.com> where the exercise "
        "expects <jose.nunez@example.org>"
    )
    other_subject = failure(check_header, confirmation, "Subject", "Tu pedido 1002 está confirmado")
    assert other_subject.hint.startswith("The Subject header is set, but to another value.")
    assert "Set it with" not in error.hint and "Set it with" not in other_subject.hint


def test_a_missing_header_fails_listing_the_headers_there(text_message):
    error = failure(check_header, text_message(), "Reply-To", "ayuda@tienda.example.com")
    assert error.summary == "The message has no Reply-To header."
    assert "From, To, Subject" in error.actual and "RFC 5322 §3.6" in error.hint


@pytest.mark.parametrize(
    ("name", "value", "stdlib", "kit"),
    [
        ("Reply-To", "ayuda@tienda.example.com", "msg['Reply-To'] = email.utils.formataddr((name, address))",
         "mimekit.set_header(msg, 'Reply-To', value)"),
        ("Date", "Thu, 05 Nov 2026 09:00:00 +0100", "msg['Date'] = email.utils.format_datetime(dt)",
         "mimekit.add_date_and_message_id(msg)"),
        ("Message-ID", "<pedido-1001@tienda.example.com>", "msg['Message-ID'] = email.utils.make_msgid(",
         "mimekit.add_date_and_message_id(msg)"),
    ],
)
def test_a_missing_header_hint_gives_the_standard_library_way_first(text_message, name, value, stdlib, kit):
    hint = failure(check_header, text_message(), name, value).hint
    assert hint.startswith(f"Add it: {stdlib}") and hint.index(stdlib) < hint.index(kit)


def test_a_subject_added_twice_fails():
    msg = MIMEText("Hola", "plain", "utf-8")
    msg["Subject"] = "Tu pedido"
    msg["Subject"] = "Tu pedido nº 1001"
    error = failure(check_header, msg, "Subject", "Tu pedido nº 1001")
    assert "appears 2 times" in error.summary and "set_header()" in error.hint


def test_a_subject_encoded_twice_gets_the_hint_for_it():
    msg = MIMEText("Hola", "plain", "utf-8")
    msg["Subject"] = Header("=?utf-8?q?Tu_pedido?=", "utf-8")
    error = failure(check_header, msg, "Subject", "Tu pedido")
    assert error.actual == "Subject: '=?utf-8?q?Tu_pedido?='"
    assert "encoded twice" in error.hint


# --------------------------------------------------------------------------- hints: the standard library first

#: Builders of mimekit, named in a hint only as ``mimekit.name``; ``msg.add_attachment`` is EmailMessage's own.
KIT_BUILDER = re.compile(
    r"(?<![.\w])(make_alternative|make_related|make_mixed|add_inline_image|add_attachment|set_header|"
    r"make_text_part|make_html_part|add_date_and_message_id)\b"
)


def test_hints_name_a_mimekit_helper_only_as_mimekit_dot_name(mail_inbox, png_bytes):
    image = MIMEImage(png_bytes, "png")
    image["Content-ID"] = "<logo2@tienda.example.com>"
    dangling = MIMEMultipart("related", _subparts=[MIMEText('<img src="cid:logo@tienda.example.com">', "html"), image])
    twice = MIMEText("Hola", "plain", "utf-8")
    twice["Subject"], twice["Subject"] = "Hola", "Hola"
    failures = [failure(check, *args, **kwargs) for check, args, kwargs in one_failure_of_each_check(mail_inbox)]
    failures += [failure(check_cids_resolve, dangling), failure(check_header, twice, "Subject", "Hola")]
    for error in failures:
        assert not KIT_BUILDER.search(error.hint), f"{error.check}: {error.hint}"


@pytest.mark.parametrize(
    ("case", "stdlib", "kit"),
    [
        ("html first", "MIMEMultipart('alternative') with the text/plain part attached first", "mimekit.make_alt"),
        ("html first", "add_alternative(html, subtype='html')", "mimekit.make_alternative"),
        ("no related", "MIMEMultipart('related') holding the text/html part first", "mimekit.make_related"),
        ("dangling cid", "image.add_header('Content-ID', cid)", "mimekit.add_inline_image"),
        ("no attachment", "part.add_header('Content-Disposition', 'attachment', filename=name)", "mimekit.add_attach"),
        ("no attachment", "msg.add_attachment(data, maintype, subtype, filename=name)", "mimekit.add_attachment"),
        ("other To", "email.utils.formataddr((name, address))", "mimekit.set_header"),
        ("no unsubscribe", "msg['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click'", "mimekit.shop.list_"),
    ],
)
def test_hints_give_the_standard_library_way_first_and_the_mimekit_helper_second(
    confirmation, png_bytes, case, stdlib, kit
):
    make = {
        "html first": lambda: (check_plain_before_html, html_then_plain()),
        "no related": lambda: (check_cids_resolve, make_alternative("Hola", '<img src="cid:logo@tienda.example.com">')),
        "dangling cid": lambda: (check_cids_resolve, make_related('<img src="cid:logo@tienda.example.com">')),
        "no attachment": lambda: (check_attachment, confirmation, "factura.pdf"),
        "other To": lambda: (check_header, confirmation, "To", "ana@example.org"),
        "no unsubscribe": lambda: (check_one_click_unsubscribe, confirmation),
    }
    check, *args = make[case]()
    hint = failure(check, *args).hint
    assert stdlib in hint and kit in hint
    assert hint.index(stdlib) < hint.index(kit)


# --------------------------------------------------------------------------- headers that must not travel


def test_the_captured_copy_of_a_bcc_message_has_no_bcc_header(text_message, mail_session, mail_inbox):
    mail_session.send(text_message(bcc="archivo@tienda.example.com"))
    check_not_in_headers(mail_inbox.latest(), "Bcc")


def test_a_bcc_header_left_in_the_bytes_fails_with_rfc_5322(text_message):
    raw = text_message(bcc="archivo@tienda.example.com").as_bytes()  # what sendmail(msg.as_bytes()) would send
    error = failure(check_not_in_headers, raw, "Bcc")
    assert error.check == "not_in_headers"
    assert error.actual == "Bcc: archivo@tienda.example.com (in the headers of the message itself)"
    assert "RFC 5322 §3.6.3" in error.hint


def test_a_bcc_header_inside_a_forwarded_message_is_found(text_message):
    forwarded = MIMEMultipart("mixed", _subparts=[make_text_part("Te reenvío el pedido."),
                                                  MIMEMessage(text_message(bcc="archivo@tienda.example.com"))])
    error = failure(check_not_in_headers, forwarded, "Bcc")
    assert "(in the headers of part 2.1)" in error.actual


# --------------------------------------------------------------------------- one-click unsubscribe


def test_the_cart_reminder_offers_one_click_unsubscribe(shop):
    url = check_one_click_unsubscribe(build_cart_reminder(sample_cart(), shop))
    assert url.startswith("https://tienda.example.com/baja?lista=recordatorios-carrito&t=")


def test_a_transactional_message_has_no_unsubscribe_headers(confirmation):
    error = failure(check_one_click_unsubscribe, confirmation)
    assert error.check == "one_click_unsubscribe"
    assert error.summary == "The message has no List-Unsubscribe header."
    assert error.actual == "neither header" and "RFC 2369 §3.2" in error.hint


@pytest.mark.parametrize(
    ("unsubscribe", "post", "summary", "rfc"),
    [
        ("<http://tienda.example.com/baja>", "List-Unsubscribe=One-Click", "plain http URL", "RFC 8058 §3.1"),
        ("https://tienda.example.com/baja", "List-Unsubscribe=One-Click", "not a list of URIs in angle brackets", "RFC 2369 §2"),
        ("<mailto:baja@tienda.example.com>", "List-Unsubscribe=One-Click", "has no https URL", "RFC 8058 §3.1"),
        ("<https://tienda.example.com/baja>", None, "List-Unsubscribe-Post is missing", "RFC 8058 §3.1"),
        ("<https://tienda.example.com/baja>", "One-Click", "does not say List-Unsubscribe=One-Click", "RFC 8058 §3.1"),
    ],
)
def test_broken_unsubscribe_headers_fail_with_the_rule_broken(text_message, unsubscribe, post, summary, rfc):
    msg = text_message()
    msg["List-Unsubscribe"] = unsubscribe
    if post is not None:
        msg["List-Unsubscribe-Post"] = post
    error = failure(check_one_click_unsubscribe, msg)
    assert summary in error.summary and rfc in error.hint
    assert f"List-Unsubscribe: {unsubscribe}" in error.actual


# --------------------------------------------------------------------------- line lengths


def test_the_order_confirmation_keeps_to_998_octets(confirmation):
    check_line_lengths(as_smtp_bytes(confirmation))
    check_line_lengths(b"Subject: x\r\n\r\n" + b"x" * 998 + b"\r\n")


def test_a_1000_octet_body_line_fails_naming_the_line():
    msg = MIMEText("x" * 1000, "plain", "us-ascii")  # 7bit: nothing wraps the line
    error = failure(check_line_lengths, msg)
    assert error.check == "line_lengths"
    assert error.summary == "1 line is longer than 998 octets."
    assert error.actual.startswith("line 5 (body): 1,000 octets, starting 'xxxx")
    assert "RFC 5322 §2.1.1" in error.expected and "RFC 2045 §6.7" in error.hint


def test_line_lengths_count_octets_and_lf_only_lines_and_headers():
    raw = b"Subject: " + "ñ".encode() * 495 + b"\n\nHola\n"  # 9 + 990 octets, though 504 characters
    error = failure(check_line_lengths, raw)
    assert error.actual.startswith("line 1 (headers): 999 octets")


# --------------------------------------------------------------------------- secrets


def test_the_account_details_notice_masks_the_changed_values(shop):
    check_no_secret(
        build_account_details_updated(sample_account_details_updated(), shop),
        {"old e-mail": "zoe.a@example.net", "old phone": "+34 612 345 678", "new phone": "+34 699 876 543"},
    )


def test_a_leaked_password_and_card_number_are_found_and_not_repeated():
    password, card = "Ñandú&2026!", "4111111111111111"
    msg = make_alternative(f"Tu nueva contraseña es {password}", "<p>Tarjeta: 4111-1111-1111-1111</p>")
    set_header(msg, "Subject", f"Contraseña: {password}")
    error = failure(check_no_secret, msg, {"password": password, "card number": card})
    assert error.check == "no_secret"
    assert error.actual.splitlines() == [
        (
            "password (Ña…, 11 characters) is in the Subject header of the message itself, "
            "the text/plain part (part 1)"
        ),
        "card number (41…, 16 characters) is in the text/html part (part 2)",
    ]
    assert password not in str(error) and card not in str(error)
    assert "PCI DSS v4.0 req. 3.4.1" in error.hint


def test_a_secret_is_found_behind_html_entities_and_inside_attachments():
    html = make_alternative("Hola", "<p>Clave: Tom&amp;Jerry</p>")
    assert "text/html part (part 2)" in failure(check_no_secret, html, "Tom&Jerry").actual
    mixed = make_mixed("Adjunto tus datos.")
    add_attachment(mixed, "clave: Ñandú-2026".encode(), filename="datos.bin")
    assert "application/octet-stream part (part 2)" in failure(check_no_secret, mixed, ["Ñandú-2026"]).actual


def test_an_empty_secret_is_refused(text_message):
    with pytest.raises(ValueError, match="must be a non-empty str"):
        check_no_secret(text_message(), [""])


# --------------------------------------------------------------------------- delivery


def test_the_confirmation_is_delivered_to_jose_from_the_shop(confirmation, mail_server, mail_session, mail_inbox):
    mail_session.send(confirmation)
    [captured] = check_delivered(
        mail_inbox,
        rcpt_tos="jose.nunez@example.com",
        mail_from="pedidos@tienda.example.com",
        subject="Tu pedido 1001 está confirmado",
    )
    assert captured is mail_inbox.latest()
    assert check_delivered(mail_server, rcpt_tos=["JOSE.NUNEZ@example.com"]) == [captured]


def test_each_recipient_may_come_in_its_own_message(text_message, mail_session, mail_inbox):
    mail_session.send(text_message(to="ana@example.org"))
    mail_session.send(text_message(to="elena@example.net"))
    assert len(check_delivered(mail_inbox, rcpt_tos=["ana@example.org", "elena@example.net"])) == 2


def test_an_empty_inbox_fails_saying_nothing_arrived(mail_inbox):
    error = failure(check_delivered, mail_inbox, rcpt_tos="jose.nunez@example.com")
    assert error.check == "delivered"
    assert error.summary == "Nothing reached the server: its inbox is empty."
    assert error.actual == "an empty inbox" and error.tree is None
    assert error.expected == "a message with RCPT TO:<jose.nunez@example.com> in the inbox"


def test_an_empty_inbox_hint_is_about_the_server_the_student_started(mail_inbox):
    hint = failure(check_delivered, mail_inbox, rcpt_tos="jose.nunez@example.com").hint
    assert hint.startswith("Send to the embedded server itself, at its host and port: ")
    assert "smtplib.SMTP(server.host, server.port)" in hint
    assert "the addresses RCPT TO named: a Bcc recipient is in the envelope only" in hint
    assert "fixtures" not in hint and "mail_server" not in hint


def test_a_recipient_in_the_to_header_only_fails_with_the_envelope_explained(text_message, mail_session, mail_inbox):
    msg = text_message(to=["José Núñez <jose.nunez@example.com>", "ana@example.org"])
    mail_session.send(msg, rcpt_tos=["jose.nunez@example.com"])  # Ana is in To, not in RCPT TO
    error = failure(check_delivered, mail_inbox, rcpt_tos=["jose.nunez@example.com", "ana@example.org"])
    assert error.summary == "No message for <ana@example.org> reached the server."
    assert error.actual == (
        "MAIL FROM:<pedidos@tienda.example.com>  RCPT TO:<jose.nunez@example.com>  Subject: 'Tu pedido nº 1001'"
    )
    assert error.hint.startswith("<ana@example.org> is in a header of a message that arrived, but not in its envelope")
    assert "RFC 5321 §3.3" in error.hint and "A Bcc recipient is in the envelope only" in error.hint
    assert error.hint.index("sendmail(from_addr, to_addrs, msg)") < error.hint.index("mimekit's SMTPSession.send")


def test_another_envelope_sender_fails_with_mail_from_explained(text_message, mail_session, mail_inbox):
    mail_session.send(text_message(), mail_from="rebotes@tienda.example.com")
    error = failure(check_delivered, mail_inbox, rcpt_tos="jose.nunez@example.com", mail_from="pedidos@tienda.example.com")
    assert error.summary == (
        "No message for <jose.nunez@example.com> reached the server with MAIL FROM:<pedidos@tienda.example.com>."
    )
    assert "RFC 5321 §4.1.1.2" in error.hint


def test_check_delivered_takes_a_server_an_inbox_or_a_list(text_message):
    with pytest.raises(TypeError, match="EmbeddedServer, its Inbox, or a list of CapturedMessage"):
        check_delivered(text_message(), rcpt_tos="jose.nunez@example.com")

