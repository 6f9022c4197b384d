"""Accounts: sign-up, email confirmation, passwords. Passwords are stored only as hashes
(Werkzeug's scrypt).

No one learns who has an account: sign-up, log-in and a reset request do the same work and give
the same answer whether or not an address has one. Sign-up never says "taken": it mails the
address, which is either the link to finish a new account or, for an address that has one, a
note to its owner. Both cost one password hash (a dummy one where no account's hash is checked),
so the time taken tells nothing either.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from reviewsite.extensions import db
from reviewsite.models import User
from reviewsite.services import logins, notification_centre
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


@cache
def _dummy_hash() -> str:
    """A hash to check a password against where there is no account's, costing the same."""
    return generate_password_hash("no account has this password")


def sign_up(*, email: str, password: str, display_name: str, now: datetime) -> None:
    """The sign-up form: for a new address, an account that logs in once the emailed link has
    confirmed the address; for an address that has an account (confirmed or not), a mail to it
    instead, saying someone tried and how to get in. The caller shows both the same page."""
    existing = find_by_email(email)
    if existing is None:
        try:
            register(email=email, password=password, display_name=display_name, now=now)
            return
        except Conflict:  # the same address signed up a moment ago, in another request
            return
    check_password_hash(_dummy_hash(), password or "")  # the time register's hash takes
    notify("signup_attempt", [existing], now=now, fact=f"{existing.id}.{int(now.timestamp())}")


def register(*, email: str, password: str, display_name: str, now: datetime) -> User:
    """An account, and its confirmation mail. For the operator's commands and tests; the
    sign-up form goes through :func:`sign_up`, which never says an address is taken."""
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
    """The account these credentials open, or None. Only a confirmed address logs in (sign-up
    does not log in, so that a new address and a taken one look alike), and an unknown address
    costs the same hash as a wrong password."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_confirmed:
        return None
    return user


def request_password_reset(email: str, *, now: datetime) -> None:
    user = find_by_email(email)
    if user is not None:
        notify("password_reset", [user], now=now, fact=f"{user.id}.{int(now.timestamp())}")


def set_password(user: User, password: str, *, now: datetime) -> None:
    """A reset through the emailed link: every login of the account ends (a thief's session
    included); the caller opens a new one for the person who reset it."""
    user.password_hash = generate_password_hash(_check_password(password))
    # Following a reset link proves the address too.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    db.session.flush()
    logins.end_all(user, now=now)


def change_password(user: User, current: str, new: str, *, now: datetime, keep_login: str | None) -> None:
    """The signed-in person changes their password: they must know the current one, and every
    other login of the account (other browsers, remember-me cookies) ends."""
    if not check_password_hash(user.password_hash, current or ""):
        raise Invalid("That is not your current password.")
    user.password_hash = generate_password_hash(_check_password(new))
    db.session.flush()
    logins.end_all(user, now=now, keep=keep_login)


def make_moderator(user: User) -> None:
    """An operator's decision (``flask create-moderator``); no page can grant it."""
    user.is_moderator = True
    db.session.flush()
