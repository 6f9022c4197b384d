"""Turn an outbox row into an email: text and HTML from ``templates/emails/``.

The Message-ID is derived from the row, so a copy re-sent after a crash carries the same id and
mail clients can drop it (invariant 5).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import select

from reviewsite.notifications.catalogue import KINDS, REMEDY_PHRASES, subject_for, summary_for, topic_of
from reviewsite.notifications.links import external_url
from reviewsite.models import Notification
from reviewsite.extensions import db
from reviewsite.services import inbox, tokens


def message_id_for(notification: Notification) -> str:
    digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:16]
    domain = urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"
    return f"<n{notification.id}.{digest}@{domain}>"


def _context(notification: Notification) -> dict[str, object]:
    user = notification.recipient
    context: dict[str, object] = {
        "user": user,
        "notification": notification,
        "site_name": current_app.config["SITE_NAME"],
        "site_url": external_url("public.home"),
        "notifications_url": external_url("account.notifications"),
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
        context["settings_url"] = external_url("account.settings")
    if notification.kind == "digest":
        ids = notification.facts.get("items", [])
        context["items"] = [(summary_for(item), item) for item in
                            db.session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id))]
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


def render_email(notification: Notification) -> EmailMessage:
    if notification.kind not in KINDS:
        raise ValueError(f"unknown notification kind {notification.kind!r}")
    context = _context(notification)
    message = EmailMessage()
    sender_name, sender_addr = parseaddr(current_app.config["MAIL_FROM"])
    message["From"] = formataddr((sender_name, sender_addr))
    message["To"] = notification.recipient.email
    message["Subject"] = subject_for(notification)
    message["Message-ID"] = message_id_for(notification)
    message["Auto-Submitted"] = "auto-generated"
    if "unsubscribe_url" in context:
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that works in one click.
        message["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = render_template(f"emails/{notification.kind}.txt", **context)
    footer = ""
    if "unsubscribe_url" in context:
        footer = (f"\n\n--\nStop these emails: {context['unsubscribe_url']}"
                  f"\nChoose what you get: {context['settings_url']}\n")
    message.set_content(text + footer)
    # The HTML part carries the same words (escaped) and the action as a button.
    message.add_alternative(render_template("emails/base.html", text=text, **context), subtype="html")
    return message
