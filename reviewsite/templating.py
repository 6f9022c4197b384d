"""Template filters and globals shared by every page."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from reviewsite.clock import format_day, format_when, now_utc
from reviewsite.services import notification_centre


def stars_text(value: int) -> str:
    return "★" * value + "☆" * (5 - value)


def unread_count() -> int:
    return notification_centre.unread_count(current_user) if current_user.is_authenticated else 0


def init_app(app: Flask) -> None:
    app.add_template_filter(format_when, "when")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(stars_text, "stars")
    app.add_template_global(now_utc, "now_utc")
    app.add_template_global(unread_count, "unread_count")
    app.add_template_global(lambda: "dev.mailbox" in app.view_functions, "dev_mailbox_enabled")
