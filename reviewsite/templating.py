"""Template filters and globals shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from reviewsite.clock import format_day, format_when, now_utc
from reviewsite.security import is_loopback
from reviewsite.services import inbox, notification_centre
from reviewsite.services.notification_kinds import REMEDY_PHRASES
from reviewsite.services.resolution import NOTE_MAX
from reviewsite.services.reviews import BODY_MAX, RESPONSE_MAX, TITLE_MAX
from reviewsite.services.thread import MESSAGE_MAX
from reviewsite.text import bdi, isolate

# What each text field may hold, for the counters (static/counter.js) and the hints.
LIMITS = {"title": TITLE_MAX, "body": BODY_MAX, "message": MESSAGE_MAX, "response": RESPONSE_MAX, "note": NOTE_MAX}


def stars_text(value: int) -> str:
    return "★" * value + "☆" * (5 - value)


def unread_count() -> int:
    return notification_centre.unread_count(current_user) if current_user.is_authenticated else 0


def viewer_time_zone() -> str | None:
    """The zone a signed-in person chose; None for everyone else (their browser's zone, applied by
    static/local-time.js). Pages for people who are not signed in are shared and cached, so they
    are always written in UTC."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.time_zone
    return None


def when(value: datetime | None, zone: str | None = None) -> str:
    """``|when``: an instant in text, in ``zone`` if given (emails pass the recipient's), else in
    the zone of the person the page is for."""
    return format_when(value, zone or viewer_time_zone())


def acts_for_business() -> bool:
    """Whether the signed-in person acts for a business or has claimed one: they get the inbox
    link and the business-side notification topics; customers see neither. Asked once a request."""
    if not current_user.is_authenticated:
        return False
    if "acts_for_business" not in g:
        g.acts_for_business = inbox.acts_for_business(current_user)
    return g.acts_for_business


def init_app(app: Flask) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(stars_text, "stars")
    app.add_template_filter(bdi, "bdi")
    app.add_template_filter(isolate, "isolate")
    app.add_template_global(now_utc, "now_utc")
    app.add_template_global(unread_count, "unread_count")
    app.add_template_global(viewer_time_zone, "viewer_time_zone")
    app.add_template_global(acts_for_business, "acts_for_business")
    app.add_template_global(REMEDY_PHRASES, "remedy_phrases")
    app.add_template_global(LIMITS, "limits")
    app.add_template_global(
        lambda: "dev.mailbox" in app.view_functions and is_loopback(request.remote_addr), "dev_mailbox_enabled")
