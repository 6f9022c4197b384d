"""Turn an outbox row into an email: text and HTML from ``templates/emails/``.

The Message-ID is derived from the row, so a copy re-sent after a crash carries the same id and
mail clients can drop it (invariant 5).

A delivery batch renders up to fifty of these, so the work is shared where it can be: the rows
come with their recipient, review and business already loaded (``delivery.load``), and what every
mail of the batch has in common (sender, site links, compiled templates) is built once per batch
(:class:`Batch`).

The MIME is the standard library's ``email`` package with its compat32 API (``MIMEMultipart``,
``MIMEText``, ``Header``, ``BytesGenerator``): about 0.5 ms a mail. Not ``EmailMessage`` and the
modern policy: its header registry parses every header value into a structured object when it is
set and refolds it when written, about 2 ms of CPU a mail (near 5 ms with ``send_message``, as
before 456b2fa), more than the database and the SMTP conversation together. What compat32 leaves to the caller is done in :func:`_header_value`: deciding which
values need RFC 2047 (or raw UTF-8 under SMTPUTF8), and refusing line breaks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, parseaddr
from io import BytesIO
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import Template
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Notification, Review
from reviewsite.notifications.catalogue import KINDS, REMEDY_PHRASES, subject_for, summary_for, topic_of
from reviewsite.notifications.links import external_url
from reviewsite.services import inbox, tokens


def message_id_for(notification: Notification) -> str:
    digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:16]
    domain = urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"
    return f"<n{notification.id}.{digest}@{domain}>"


# -- MIME -----------------------------------------------------------------------------------------

# Bodies in quoted-printable (the email package's default for UTF-8 is base64): 7-bit clean, so no
# 8BITMIME, and readable as it is in a raw message.
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP
# For an SMTPUTF8 mail, headers may carry raw UTF-8: compat32 writes a header holding escaped
# bytes as it is when the policy allows 8-bit data.
_SMTPUTF8_POLICY = compat32.clone(cte_type="8bit")


def _header_value(name: str, value: str, *, utf8: bool = False) -> str | Header:
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


@dataclass(frozen=True)
class OutgoingMail:
    """One rendered email: its envelope, its headers (unencoded, in order) and its two bodies.
    ``as_bytes`` writes the multipart/alternative message that goes to the SMTP server."""

    sender: str  # envelope sender: an address
    recipient: str  # envelope recipient: an address
    headers: tuple[tuple[str, str], ...]
    text: str
    html: str

    def __getitem__(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def items(self) -> list[tuple[str, str]]:
        return list(self.headers)

    @property
    def needs_smtputf8(self) -> bool:
        return not (self.sender.isascii() and self.recipient.isascii())

    def as_bytes(self) -> bytes:
        """The message with CRLF line ends, as ``smtplib.SMTP.sendmail`` wants bytes (it sends
        them as they are, adding only the dot-stuffing)."""
        utf8 = self.needs_smtputf8
        message = MIMEMultipart("alternative", None, [_text_part(self.text, "plain"), _text_part(self.html, "html")])
        for name, value in self.headers:
            message[name] = _header_value(name, value, utf8=utf8)
        out = BytesIO()
        BytesGenerator(out, mangle_from_=False, policy=_SMTPUTF8_POLICY if utf8 else compat32).flatten(
            message, linesep="\r\n")
        return out.getvalue()


# -- rendering ------------------------------------------------------------------------------------


class Batch:
    """What every mail of one delivery batch shares, built once: the sender, the site's links,
    the compiled templates (looked up in Jinja's cache once, rendered without Flask's per-call
    signals and context processors, which mail templates do not use)."""

    def __init__(self) -> None:
        config = current_app.config
        self.site_name: str = config["SITE_NAME"]
        sender_name, self.sender_addr = parseaddr(config["MAIL_FROM"])
        self.sender = formataddr((sender_name, self.sender_addr))
        self.site_url = external_url("public.home")
        self.notifications_url = external_url("account.notifications")
        self.settings_url = external_url("account.settings")
        self._templates: dict[str, Template] = {}

    def render(self, name: str, context: dict[str, object]) -> str:
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = current_app.jinja_env.get_template(name)
        return template.render(context)


def _context(notification: Notification, batch: Batch) -> dict[str, object]:
    user = notification.recipient
    context: dict[str, object] = {
        "user": user,
        "notification": notification,
        "site_name": batch.site_name,
        "site_url": batch.site_url,
        "notifications_url": batch.notifications_url,
        "remedy_phrases": REMEDY_PHRASES,
    }
    if notification.kind == "confirm_email":
        context["action_url"] = external_url("auth.confirm", token=tokens.confirmation_token(user))
    elif notification.kind == "password_reset":
        context["action_url"] = external_url("auth.reset_password", token=tokens.reset_token(user))
    topic = topic_of(notification.kind)
    if topic is not None:
        context["unsubscribe_url"] = external_url(
            "account.unsubscribe", token=tokens.unsubscribe_token(user.id, topic))
        context["settings_url"] = batch.settings_url
    if notification.kind == "digest":
        ids = notification.facts.get("items", [])
        items = db.session.scalars(
            select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
            .options(joinedload(Notification.review).joinedload(Review.business)))
        context["items"] = [(summary_for(item), item) for item in items]
        context["held"] = inbox.held_for_member(user)
        context["action_url"] = external_url("account.notifications")
        context["review_url"] = lambda review_id: external_url("reviews.show", review_id=review_id)
    review = notification.review
    if review is not None:
        context["review"] = review
        context["business"] = review.business
        context["action_url"] = external_url("reviews.show", review_id=review.id)
        context["is_reviewer"] = review.author_id == user.id
        # As at the moment of the fact, not as the review is now.
        context["stars"] = notification.facts.get("stars", review.stars)
        publish_at = notification.facts.get("publish_at")
        context["publish_at"] = datetime.fromisoformat(publish_at) if publish_at else review.publish_at
    return context


def render_email(notification: Notification, batch: Batch | None = None) -> OutgoingMail:
    if notification.kind not in KINDS:
        raise ValueError(f"unknown notification kind {notification.kind!r}")
    batch = batch or Batch()
    context = _context(notification, batch)
    recipient = notification.recipient.email
    headers = [
        ("From", batch.sender),
        ("To", recipient),
        ("Subject", subject_for(notification)),
        ("Message-ID", message_id_for(notification)),
        ("Auto-Submitted", "auto-generated"),
    ]
    if "unsubscribe_url" in context:
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that works in one click.
        headers.append(("List-Unsubscribe", f"<{context['unsubscribe_url']}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    text = batch.render(f"emails/{notification.kind}.txt", context)
    footer = ""
    if "unsubscribe_url" in context:
        footer = (f"\n\n--\nStop these emails: {context['unsubscribe_url']}"
                  f"\nChoose what you get: {context['settings_url']}\n")
    # The HTML part carries the same words (escaped) and the action as a button.
    html = batch.render("emails/base.html", {**context, "text": text})
    mail = OutgoingMail(sender=batch.sender_addr, recipient=recipient, headers=tuple(headers),
                        text=text + footer, html=html)
    for name, value in headers:  # a header that cannot be written fails the render, not the send
        _header_value(name, value, utf8=mail.needs_smtputf8)
    return mail
