from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime
from reviewsite.extensions import db


class User(UserMixin, db.Model):
    """A person with an account. The email address is private: businesses never see it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_moderator: Mapped[bool] = mapped_column(default=False)
    # An IANA time zone the person chose for the dates the site shows them (None: their browser's).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    # The token of the login this object was loaded for (services.logins), not a column.
    login_token = None
    # UserMixin compares get_id(), which is a login's token here: the same account is the same
    # person whichever browser it was loaded for.
    __hash__ = object.__hash__

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def get_id(self) -> str:
        """Flask-Login's "alternative token": what the session and remember-me cookies hold is
        the token of one login, never the account's id, so ending that login (logout, a
        password change or reset elsewhere) makes both cookies worthless."""
        if not self.login_token:
            raise RuntimeError("no login: sign in through services.logins.open_login")
        return self.login_token

    def __eq__(self, other: object) -> bool:
        if isinstance(other, User):
            return self.id == other.id
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        return not self == other if isinstance(other, User) else NotImplemented

    def __repr__(self) -> str:
        return f"<User {self.id}>"
