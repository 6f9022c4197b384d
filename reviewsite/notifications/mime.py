"""The bytes of an outgoing mail: multipart/alternative, text and HTML, written with the
standard library's ``email`` package and its compat32 API (``MIMEMultipart``, ``MIMEText``,
``Header``, ``BytesGenerator``); BENCHMARKS.md says why not the newer ``EmailMessage``. What
compat32 leaves to the caller is done in :func:`header_value`: deciding which values need RFC 2047
(or raw UTF-8 under SMTPUTF8), and refusing line breaks.

Imported only where mail is sent (``OutgoingMail.as_bytes``): web processes never need it.
"""

from __future__ import annotations

from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from io import BytesIO

# Bodies in quoted-printable (the email package's default for UTF-8 is base64): 7-bit clean, so no
# 8BITMIME, and readable as it is in a raw message.
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP
# For an SMTPUTF8 mail, headers may carry raw UTF-8: compat32 writes a header holding escaped
# bytes as it is when the policy allows 8-bit data.
_SMTPUTF8_POLICY = compat32.clone(cte_type="8bit")


def header_value(name: str, value: str, *, utf8: bool = False) -> str | Header:
    """What goes into the message for this header. Printable ASCII stays as it is (compat32 folds
    it at spaces only: a long URL in List-Unsubscribe may go to a continuation line but stays whole
    and unencoded, as RFC 2369 wants); anything
    else, and text that would read as an encoded word, is RFC 2047 encoded, or raw UTF-8 when the
    mail goes with SMTPUTF8 (an address with non-ASCII characters). A line break is refused: it
    would let the value write headers of its own."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {name} header may not contain a line break: {value!r}")
    if value.isprintable() and "=?" not in value:
        if value.isascii():
            return value
        if utf8:
            return value.encode("utf-8").decode("ascii", "surrogateescape")
    return Header(value, UTF8, header_name=name)


def _text_part(text: str, subtype: str) -> MIMEText:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):  # else the last line would run into the boundary's line break
        text += "\n"
    part = MIMEText(text, subtype, UTF8)
    del part["MIME-Version"]  # said once, for the whole message
    return part


def message_bytes(headers: tuple[tuple[str, str], ...], text: str, html: str, *, utf8: bool) -> bytes:
    """The message with CRLF line ends, as ``smtplib.SMTP.sendmail`` wants bytes (it sends them
    as they are, adding only the dot-stuffing)."""
    message = MIMEMultipart("alternative", None, [_text_part(text, "plain"), _text_part(html, "html")])
    for name, value in headers:
        message[name] = header_value(name, value, utf8=utf8)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_SMTPUTF8_POLICY if utf8 else compat32).flatten(
        message, linesep="\r\n")
    return out.getvalue()
