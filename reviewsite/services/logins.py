"""Logins (``models.Login``): opened at log-in, looked up on every signed-in request, ended by
logging out, and ended everywhere else by a password change or reset.

Why: a session cookie is signed, not stored, so without a record on the server it stays good
after logout and after a password change; someone who stole one (or a remember-me cookie) kept
the account. Now a cookie is good only while its login is open and younger than
``config.LOGIN_DAYS``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from reviewsite.config import LOGIN_DAYS
from reviewsite.extensions import db
from reviewsite.models import Login, User

TOKEN_BYTES = 32

# Every signed-in request runs this: built once (docs/architecture.md, "One implementation per operation").
_USER_OF_OPEN_LOGIN = (
    select(User)
    .join(Login, Login.user_id == User.id)
    .where(Login.token_hash == bindparam("token_hash"), Login.ended_at.is_(None),
           Login.expires_at > bindparam("now"))
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_login(user: User, *, now: datetime) -> str:
    """A new login for ``user``; returns its token (also left on ``user.login_token`` for
    Flask-Login's ``login_user``). Only its digest is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(Login(user_id=user.id, token_hash=_digest(token), created_at=now,
                         expires_at=now + timedelta(days=LOGIN_DAYS)))
    db.session.flush()
    user.login_token = token
    return token


def user_for(token: str, *, now: datetime) -> User | None:
    """The person whose open, unexpired login has this token, or None."""
    user = db.session.scalar(_USER_OF_OPEN_LOGIN, {"token_hash": _digest(token), "now": now})
    if user is not None:
        user.login_token = token
    return user


def end(token: str, *, now: datetime) -> None:
    """Logging out: only this browser's login ends (another device stays signed in)."""
    db.session.execute(update(Login).where(Login.token_hash == _digest(token), Login.ended_at.is_(None))
                       .values(ended_at=now))


def end_all(user: User, *, now: datetime, keep: str | None = None) -> int:
    """After a password change or reset: every login of the account ends but ``keep`` (the
    browser that changed it), so whoever knew the old password, or held a cookie, is out.
    Returns how many ended."""
    statement = update(Login).where(Login.user_id == user.id, Login.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(Login.token_hash != _digest(keep))
    return db.session.execute(statement.values(ended_at=now)).rowcount
