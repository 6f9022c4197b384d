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
before 456b2fa), more than the database and the SMTP conversation together. It is written in
``mime.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr
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
        """The message with CRLF line ends, as ``smtplib.SMTP.sendmail`` wants bytes."""
        # Imported here: only workers build mail, and email.mime brings in email.policy's header
        # registry, about 3 MB in every web worker that never uses it.
        from reviewsite.notifications.mime import message_bytes

        return message_bytes(self.headers, self.text, self.html, utf8=self.needs_smtputf8)


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
    elif notification.kind in ("password_reset", "signup_attempt"):
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
    from reviewsite.notifications.mime import header_value  # only workers render mail; see as_bytes

    for name, value in headers:  # a header that cannot be written fails the render, not the send
        header_value(name, value, utf8=mail.needs_smtputf8)
    return mail
