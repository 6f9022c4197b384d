"""Accounts: sign-up, email confirmation, passwords. Passwords are stored only as hashes
(Werkzeug's scrypt); a reset request says the same thing whether or not the address exists."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from reviewsite.extensions import db
from reviewsite.models import User
from reviewsite.services import notification_centre
from reviewsite.services.errors import Conflict, Invalid
from reviewsite.services.outbox import notify
from reviewsite.services.persistence import insert_unique

PASSWORD_MIN = 8
EMAIL_TAKEN = "An account with this email address already exists. Log in instead."


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def _check_password(password: str) -> str:
    if len(password or "") < PASSWORD_MIN:
        raise Invalid(f"Choose a password of at least {PASSWORD_MIN} characters.")
    return password


def register(*, email: str, password: str, display_name: str, now: datetime) -> User:
    email = normalise_email(email)
    if find_by_email(email) is not None:
        raise Conflict(EMAIL_TAKEN)
    display_name = (display_name or "").strip()
    if not display_name:
        raise Invalid("Choose a name to show with your reviews.")
    user = insert_unique(
        User,
        {"email": email, "display_name": display_name,
         "password_hash": generate_password_hash(_check_password(password)), "created_at": now},
        unique=("email",),
        conflict_message=EMAIL_TAKEN,
    )
    send_confirmation(user, now=now)
    return user


def send_confirmation(user: User, *, now: datetime) -> None:
    """Queue a confirmation mail; repeated clicks within a second are one request."""
    notify("confirm_email", [user], now=now, fact=f"{user.id}.{int(now.timestamp())}")


def confirm_email(user: User, *, now: datetime) -> bool:
    """Returns whether this call confirmed it (a second click on the link is harmless). The
    "confirm your email address" notices are done with: they stop showing as new."""
    if user.email_confirmed_at is not None:
        return False
    user.email_confirmed_at = now
    db.session.flush()
    notification_centre.mark_done(user, "confirm_email", now=now)
    return True


def set_time_zone(user: User, zone: str | None, *, now: datetime) -> None:
    """The zone the site shows this person's dates in; None for their browser's. Only a zone
    the time-zone database knows is kept, so every page can rely on it."""
    zone = (zone or "").strip() or None
    if zone is not None and zone not in known_time_zones():
        raise Invalid(f"“{zone[:64]}” is not a time zone we know. Choose one from the list, such as Europe/London.")
    user.time_zone = zone
    db.session.flush()


@cache
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def request_password_reset(email: str, *, now: datetime) -> None:
    user = find_by_email(email)
    if user is not None:
        notify("password_reset", [user], now=now, fact=f"{user.id}.{int(now.timestamp())}")


def set_password(user: User, password: str, *, now: datetime) -> None:
    user.password_hash = generate_password_hash(_check_password(password))
    # Following a reset link proves the address too.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    db.session.flush()


def make_moderator(user: User) -> None:
    """An operator's decision (``flask create-moderator``); no page can grant it."""
    user.is_moderator = True
    db.session.flush()
