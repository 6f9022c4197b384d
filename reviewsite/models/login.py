"""A login: one signed-in browser of a person, which the person or a password change can end.

Flask's session is a signed cookie, so only something the server keeps can make a cookie stop
working: the session cookie and the remember-me cookie hold a login's token (Flask-Login's
"alternative token", ``User.get_id``), and a request is signed in only while that login is open.
The token itself is never stored, only its SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reviewsite.db_types import UTCDateTime
from reviewsite.extensions import db


class Login(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A login lasts at most this long, "Keep me logged in" or not (config.LOGIN_DAYS).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by logging out, or by a password change or reset of its account.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Login {self.id} of user {self.user_id}>"
