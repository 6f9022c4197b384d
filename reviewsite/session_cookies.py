"""Flask's signed-cookie sessions, with the signer made once per set of secret keys.

Why: Flask's ``SecureCookieSessionInterface`` makes a new ``URLSafeTimedSerializer`` on every
request, before it even looks for a cookie, and making one serializes an empty session to learn
that its serializer writes text. Every request paid for it, a cached public page for a visitor
without cookies included (BENCHMARKS.md). The serializer keeps nothing of a request, so one
serves every request signed with the same keys; a change of ``SECRET_KEY`` or
``SECRET_KEY_FALLBACKS`` makes a new one. Everything else (what is signed, how, the cookie's
attributes) is Flask's own.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SignedCookieSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        try:
            return self._serializers[keys]
        except KeyError:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
            return serializer
