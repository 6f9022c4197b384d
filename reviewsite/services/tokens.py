"""Signed, expiring tokens for links sent by email (itsdangerous, keyed by SECRET_KEY).

A password-reset token also signs a fingerprint of the current password hash, so it stops
working the moment the password changes: a reset link is good for one use.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from reviewsite.extensions import db
from reviewsite.models import User

CONFIRM_SALT = "reviewsite.confirm-email"
RESET_SALT = "reviewsite.reset-password"
UNSUBSCRIBE_SALT = "reviewsite.unsubscribe"


class TokenError(Exception):
    """The link is broken, expired or used; the message says which, for the page."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def confirmation_token(user: User) -> str:
    return _serializer(CONFIRM_SALT).dumps({"user": user.id, "email": user.email})


def reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"user": user.id, "pw": _password_fingerprint(user)})


def _load(salt: str, token: str, max_age: int) -> dict:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError("This link has expired. Ask for a new one.") from exc
    except BadSignature as exc:
        raise TokenError("This link is not valid.") from exc
    if not isinstance(data, dict):
        raise TokenError("This link is not valid.")
    return data


def user_from_confirmation_token(token: str) -> User:
    data = _load(CONFIRM_SALT, token, current_app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"])
    user = db.session.get(User, data.get("user"))
    if user is None or user.email != data.get("email"):
        raise TokenError("This link is not valid.")
    return user


def user_from_reset_token(token: str) -> User:
    data = _load(RESET_SALT, token, current_app.config["RESET_TOKEN_MAX_AGE_SECONDS"])
    user = db.session.get(User, data.get("user"))
    if user is None or data.get("pw") != _password_fingerprint(user):
        raise TokenError("This link has already been used or is not valid.")
    return user


def unsubscribe_token(user_id: int, topic: str) -> str:
    """No expiry: an unsubscribe link in an old email must still work (RFC 8058)."""
    return _serializer(UNSUBSCRIBE_SALT).dumps({"user": user_id, "topic": topic})


def read_unsubscribe_token(token: str) -> tuple[User, str]:
    try:
        data = _serializer(UNSUBSCRIBE_SALT).loads(token)
    except BadSignature as exc:
        raise TokenError("This unsubscribe link is not valid.") from exc
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not isinstance(data.get("topic"), str):
        raise TokenError("This unsubscribe link is not valid.")
    return user, data["topic"]


# -- who the business is: a claim's one-time link and a team invitation --------------------------
# The token names the row and the address it was mailed to; the row's state makes it single-use
# (services.claims, services.team refuse a claim or invitation that is no longer pending) and its
# expires_at is the authority on time; the token's own max age is a second bound.

CLAIM_SALT = "reviewsite.claim-link"
INVITATION_SALT = "reviewsite.invitation"


def claim_token(claim_id: int, email: str) -> str:
    return _serializer(CLAIM_SALT).dumps({"claim": claim_id, "email": email})


def invitation_token(invitation_id: int, email: str) -> str:
    return _serializer(INVITATION_SALT).dumps({"invitation": invitation_id, "email": email})


def read_claim_token(token: str) -> tuple[int, str]:
    """(claim id, address) from a claim link; TokenError if forged, broken or too old."""
    return _read_row_token(CLAIM_SALT, "claim", token, current_app.config["CLAIM_LINK_MAX_AGE_SECONDS"])


def read_invitation_token(token: str) -> tuple[int, str]:
    """(invitation id, address) from an invitation link; TokenError if forged, broken or too old."""
    return _read_row_token(INVITATION_SALT, "invitation", token, current_app.config["INVITATION_MAX_AGE_SECONDS"])


def _read_row_token(salt: str, key: str, token: str, max_age: int) -> tuple[int, str]:
    data = _load(salt, token, max_age)
    row_id, email = data.get(key), data.get("email")
    if not isinstance(row_id, int) or isinstance(row_id, bool) or not isinstance(email, str):
        raise TokenError("This link is not valid.")
    return row_id, email
