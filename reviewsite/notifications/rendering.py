"""Turn an outbox row into an email: text and HTML from ``templates/emails/``.

The Message-ID is derived from the row, so a copy re-sent after a crash carries the same id and
mail clients can drop it (invariant 5). What every mail of a delivery batch has in common (the
sender, the site's links, the compiled templates) is built once per batch (:class:`SharedParts`).
The MIME is written in ``mime.py``, imported only where mail is sent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import Template
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Notification, Review
from reviewsite.services.notification_kinds import (
    KINDS,
    REMEDY_PHRASES,
    STATEMENT_KINDS,
    subject_for,
    summary_for,
    topic_of,
)
from reviewsite.notifications import statements
from reviewsite.notifications import identity_links
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
        from reviewsite.notifications.mime import message_bytes  # only where mail is sent

        return message_bytes(self.headers, self.text, self.html, utf8=self.needs_smtputf8)


# -- rendering ------------------------------------------------------------------------------------


class SharedParts:
    """What every mail of one delivery batch shares: the sender, the site's links, and the
    compiled templates, rendered without Flask's per-call signals and context processors, which
    mail templates do not use."""

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


def _context(notification: Notification, batch: SharedParts) -> dict[str, object]:
    user = notification.recipient
    context: dict[str, object] = {
        "user": user,
        "notification": notification,
        "site_name": batch.site_name,
        "site_url": batch.site_url,
        "notifications_url": batch.notifications_url,
        "remedy_phrases": REMEDY_PHRASES,
        # Dates in the zone the recipient chose on the site (|when(zone)), else UTC.
        "zone": user.time_zone if user is not None else None,
    }
    if notification.kind == "confirm_email":
        context["action_url"] = external_url("auth.confirm", token=tokens.confirmation_token(user))
    elif notification.kind in ("password_reset", "signup_attempt"):
        context["action_url"] = external_url("auth.reset_password", token=tokens.reset_token(user))
    elif notification.kind in identity_links.LINKS:  # claims and invitations
        context["action_url"] = identity_links.LINKS[notification.kind](notification)
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
        context["stars"] = notification.review_stars or review.stars
        context["publish_at"] = notification.review_publish_at or review.publish_at
    if notification.kind in STATEMENT_KINDS:
        context.update(statements.links(notification.facts))
        context["facts"] = notification.facts
        context["at"] = lambda iso: datetime.fromisoformat(iso) if iso else None
    return context


def render_email(notification: Notification, batch: SharedParts | None = None) -> OutgoingMail:
    if notification.kind not in KINDS:
        raise ValueError(f"unknown notification kind {notification.kind!r}")
    batch = batch or SharedParts()
    context = _context(notification, batch)
    recipient = notification.to_address or notification.recipient.email
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
    from reviewsite.notifications.mime import header_value  # only where mail is sent; see as_bytes

    for name, value in headers:  # a header that cannot be written fails the render, not the send
        header_value(name, value, utf8=mail.needs_smtputf8)
    return mail
