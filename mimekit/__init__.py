"""mimekit: learn how an e-mail is really built and sent.

Annotated helpers over :mod:`email.mime` and :mod:`smtplib` that return plain
standard-library objects, an embedded SMTP server that captures every message,
and the e-mails of a small online shop. Each name below lives in the module
named for its concept:

=============  ==========================================================
headers        addresses with non-ASCII names, Subject, Date, Message-ID
parts          text parts (transfer encoding chosen and explained), binary parts
multipart      alternative, related + Content-ID, mixed + attachments, forward
tree           parse messages, draw and explain their MIME tree, write its shape in one line
preview        an e-mail's HTML in sandboxed frames (no scripts; remote images off until asked), desktop and phone
explorer       click through a message's MIME tree: headers, content and source of each part
inbox_view     the embedded server's inbox as a live table in JupyterLab
envelope       MAIL FROM / RCPT TO from headers; the bytes sent (Bcc removed)
sending        an smtplib session with a result per recipient; errors explained
retry          when and how long to wait before trying again (4xx, dropped connections)
bulk           many messages over one connection: reconnect, retry, resume, report
server         the embedded aiosmtpd server, its inbox, transcripts and Maildir
faults         scripted, repeatable SMTP faults (550, 451 greylisting, 421, 452, 552, 535 …)
tls            a throwaway local certificate authority for STARTTLS / SMTPS lessons
connection     SMTP targets as URLs (smtp://, smtp+starttls://, smtps://), passwords from the environment
checks         assertions for exercises and tests: what was expected, what was found (the tree), a hint with the RFC
pytest_plugin  pytest fixtures (mail_server, mail_inbox, mail_session): a private embedded server per test
exercises      nbgrader-format exercises: student copies, checking, batch grading (``mimekit exercises``)
shop           a small shop and its e-mails, in Spanish and English
errors         the exception tree
=============  ==========================================================
"""

from .connection import SMTPTarget
from .envelope import Envelope, as_smtp_bytes, envelope_from_headers
from .errors import (
    AttachmentNotFoundError,
    CardNumberError,
    HeaderError,
    HeaderInjectionError,
    InboxTimeout,
    InvalidAddressError,
    MimekitError,
    MimeStructureError,
    ServerStartError,
    SMTPDeliveryError,
)
from .faults import FaultPlan, FaultyHandler, inject_faults
from .headers import (
    add_date_and_message_id,
    check_header_value,
    check_headers,
    format_address,
    parse_addresses,
    set_header,
    validate_address,
)
from .multipart import (
    add_attachment,
    add_inline_image,
    cid_url,
    find_cid_references,
    make_alternative,
    make_content_id,
    make_forward,
    make_mixed,
    make_related,
)
from .parts import choose_cte, explain_cte, guess_mime_type, make_binary_part, make_html_part, make_text_part
from .preview import HTMLPreview, MailPreview, preview_html, preview_mail
from .explorer import MessageExplorer, PartNode, explore
from .inbox_view import InboxView, inbox_view
from .checks import CheckFailed
from .bulk import BulkReport, send_bulk
from .retry import RetryPolicy
from .sending import RecipientResult, SendResult, SMTPSession, explain_smtp_error, send_message
from .server import (
    CapturedMessage,
    CapturingHandler,
    EmbeddedServer,
    Inbox,
    Transcript,
    TranscriptLine,
    running_servers,
    start_server,
    stop_server,
)
from .tls import LocalCA
from .tree import explain, load_message, render_shape, render_tree, tree_shape

__version__ = "0.1.0"

__all__ = [
    "AttachmentNotFoundError",
    "BulkReport",
    "CapturedMessage",
    "CapturingHandler",
    "CardNumberError",
    "CheckFailed",
    "EmbeddedServer",
    "Envelope",
    "FaultPlan",
    "FaultyHandler",
    "HTMLPreview",
    "HeaderError",
    "HeaderInjectionError",
    "Inbox",
    "InboxTimeout",
    "InboxView",
    "InvalidAddressError",
    "LocalCA",
    "MailPreview",
    "MessageExplorer",
    "MimeStructureError",
    "MimekitError",
    "PartNode",
    "RecipientResult",
    "RetryPolicy",
    "SMTPDeliveryError",
    "SMTPSession",
    "SMTPTarget",
    "SendResult",
    "ServerStartError",
    "Transcript",
    "TranscriptLine",
    "add_attachment",
    "add_date_and_message_id",
    "add_inline_image",
    "as_smtp_bytes",
    "check_header_value",
    "check_headers",
    "choose_cte",
    "cid_url",
    "envelope_from_headers",
    "explain",
    "explain_cte",
    "explain_smtp_error",
    "explore",
    "find_cid_references",
    "format_address",
    "guess_mime_type",
    "inbox_view",
    "inject_faults",
    "load_message",
    "make_alternative",
    "make_binary_part",
    "make_content_id",
    "make_forward",
    "make_html_part",
    "make_mixed",
    "make_related",
    "make_text_part",
    "parse_addresses",
    "preview_html",
    "preview_mail",
    "render_shape",
    "render_tree",
    "running_servers",
    "send_bulk",
    "send_message",
    "set_header",
    "start_server",
    "stop_server",
    "tree_shape",
    "validate_address",
]
