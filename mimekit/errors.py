"""The exceptions mimekit raises, in one tree.

Every exception also inherits the builtin it is closest to, so student code that
catches ``ValueError`` or ``OSError`` keeps working (the pattern of
``email.errors.MultipartConversionError``, which is also a ``TypeError``)::

    MimekitError
    ├── HeaderError (ValueError)             a header value cannot be used
    │   ├── HeaderInjectionError             CR or LF inside a header value
    │   └── InvalidAddressError              not a valid RFC 5322 mailbox
    ├── MimeStructureError (ValueError)      the MIME tree cannot take this part here
    ├── AttachmentNotFoundError (FileNotFoundError)
    ├── CardNumberError (ValueError)         a full card number where only the last 4 belong
    ├── SMTPDeliveryError                    the SMTP server accepted nobody, or hung up
    ├── ServerStartError (OSError)           the embedded server could not start
    ├── InboxTimeout (TimeoutError)          fewer messages arrived than awaited
    ├── CheckFailed (AssertionError)         a check of mimekit.checks failed (defined there)
    └── ExerciseFormatError (ValueError)     an exercise notebook breaks nbgrader's format
                                             (defined in mimekit.exercises.cells)

Messages say what was wrong, why, and what to do, naming the RFC where it helps.
"""

from __future__ import annotations

__all__ = [
    "AttachmentNotFoundError",
    "CardNumberError",
    "HeaderError",
    "HeaderInjectionError",
    "InboxTimeout",
    "InvalidAddressError",
    "MimeStructureError",
    "MimekitError",
    "SMTPDeliveryError",
    "ServerStartError",
]


class MimekitError(Exception):
    """Base class of every error mimekit raises on purpose."""


class HeaderError(MimekitError, ValueError):
    """A header value cannot be put on a message as given.

    ``header`` names the header (``"Subject"``, ``"To"`` …).
    """

    def __init__(self, message: str, *, header: str) -> None:
        super().__init__(message)
        self.header = header


class HeaderInjectionError(HeaderError):
    """A header value contains a carriage return or a line feed.

    CR and LF end a header line on the wire (RFC 5322 §2.2), so a value holding
    one could smuggle in a header of its own (``Bcc:``) or start the body early.
    """


class InvalidAddressError(HeaderError):
    """An e-mail address is not a valid RFC 5322 §3.4 mailbox.

    ``address`` is the offending text as given.
    """

    def __init__(self, message: str, *, header: str, address: str) -> None:
        super().__init__(message, header=header)
        self.address = address


class MimeStructureError(MimekitError, ValueError):
    """The requested part does not fit the MIME tree as it stands."""


class AttachmentNotFoundError(MimekitError, FileNotFoundError):
    """An attachment was given as a path that does not exist or is not a file."""


class CardNumberError(MimekitError, ValueError):
    """A whole payment card number was passed where only its last 4 digits belong.

    PCI DSS v4.0 requires a card number to be masked wherever it is shown
    (requirement 3.4.1: at most the first 6 and last 4 digits) and strong
    cryptography whenever it is sent by end-user messaging such as e-mail
    (requirement 4.2.2). Ordinary e-mail is not end-to-end encrypted and is
    copied to many places, so a shop never puts a card number in one: it
    shows the last 4 and nothing more.
    """


class SMTPDeliveryError(MimekitError):
    """The SMTP exchange ended without the message being accepted for anyone.

    ``code`` and ``text`` are the server's last reply (RFC 5321 §4.2), or
    ``None`` when the server dropped the connection without one. The smtplib
    exception is kept as ``__cause__``.
    """

    def __init__(self, message: str, *, code: int | None = None, text: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.text = text


class ServerStartError(MimekitError, OSError):
    """The embedded SMTP server could not start (port busy, address not local …)."""


class InboxTimeout(MimekitError, TimeoutError):
    """Fewer messages arrived in the inbox than were awaited before the timeout."""
