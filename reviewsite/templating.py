"""Template filters and globals shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request
from flask_login import current_user
from sqlalchemy import func, select

from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import Notification
from reviewsite.security import is_loopback
from reviewsite.text import bdi, isolate


def format_when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d %b %Y, %H:%M UTC")


def stars_text(value: int) -> str:
    return "★" * value + "☆" * (5 - value)


def unread_count() -> int:
    if not current_user.is_authenticated:
        return 0
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.recipient_id == current_user.id, Notification.read_at.is_(None)
        )
    ) or 0


def init_app(app: Flask) -> None:
    app.add_template_filter(format_when, "when")
    app.add_template_filter(stars_text, "stars")
    app.add_template_filter(bdi, "bdi")
    app.add_template_filter(isolate, "isolate")
    app.add_template_global(now_utc, "now_utc")
    app.add_template_global(unread_count, "unread_count")
    app.add_template_global(
        lambda: "dev.mailbox" in app.view_functions and is_loopback(request.remote_addr), "dev_mailbox_enabled")
