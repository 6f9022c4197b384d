"""Test helpers: a start instant, a test client that carries the CSRF token like a browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class WebClient:
    """Drives the app like a person with a browser: GETs a form page for its CSRF token
    (CSRF stays on in tests), then POSTs with it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.http: FlaskClient = app.test_client()
        self._token: str | None = None

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.http.get(url, **kwargs)

    def csrf_token(self) -> str:
        if self._token is None:
            page = self.http.get("/login").get_data(as_text=True)
            match = _CSRF.search(page)
            assert match, "no CSRF token on the login page"
            self._token = match.group(1) or match.group(2)
        return self._token

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> TestResponse:
        payload = dict(data or {})
        if csrf:
            payload.setdefault("csrf_token", self.csrf_token())
        return self.http.post(url, data=payload, **kwargs)

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        self._token = None  # Flask-Login rotates nothing here, but a fresh token is cheap
        return response

    def sign_in_as(self, user_id: int) -> None:
        """Signed in as Flask-Login records it in the session (the token of a login opened
        through services.logins, as logging in does), without the password check (which is
        slow by design): for tests that need many people, each signed in once."""
        from reviewsite.clock import now_utc
        from reviewsite.extensions import db
        from reviewsite.models import User
        from reviewsite.services import logins
        from reviewsite.unit_of_work import unit_of_work

        with self.app.app_context(), unit_of_work():
            token = logins.open_login(db.session.get(User, user_id), now=now_utc())
        with self.http.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        self._token = None

    def logout(self) -> TestResponse:
        return self.post("/logout")


def app_config(database_url: str, clock: Any, **overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        # Asked for by name, as bin/run does: the development mailbox is where the tests read mail.
        "REVIEWSITE_ENV": "development",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CLOCK": clock,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": "",
        "SITE_URL": "http://reviewsite.test",
        "WINDOW_SECONDS": 72 * 3600,
        "MAX_EXTENSION_SECONDS": 7 * 24 * 3600,
        "LOW_STAR_MAX": 3,
    }
    config.update(overrides)
    return config


def use_memory_broker(app: Flask) -> None:
    """After-commit messages stay in this process's memory (the real brokers are tested with
    real workers in tests/processes)."""
    conf = app.extensions["celery"].conf
    conf.broker_url = "memory://"
    conf.broker_transport = None
    conf.broker_transport_options = {}


def submission_footprint(business_id: int) -> dict[str, object]:
    """Everything a submission to the business writes: its reviews, their audit events and
    notices, and the business's aggregate and listing version (read from the row)."""
    from sqlalchemy import func, select

    from reviewsite.extensions import db
    from reviewsite.models import Business, Notification, Review, ReviewEvent

    ids = select(Review.id).where(Review.business_id == business_id).scalar_subquery()
    row = db.session.execute(
        select(Business.rating_count, Business.rating_sum, Business.listing_version).where(Business.id == business_id)
    ).one()

    def count(model, condition) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(condition))

    return {
        "reviews": count(Review, Review.business_id == business_id),
        "events": count(ReviewEvent, ReviewEvent.review_id.in_(ids)),
        "notices": count(Notification, Notification.review_id.in_(ids)),
        "aggregate": tuple(row),
    }


def verify_owner(business: Any, user: Any, *, now: datetime, address: str | None = None) -> None:
    """Make ``user`` the verified owner of ``business`` the way a real owner becomes one: a claim
    by a link to an address at the listing's website domain (``address``, by default
    owner@ that domain), followed (the mail is not read). The business must have a website."""
    from reviewsite.models import ClaimMethod
    from reviewsite.services import claims

    address = address or f"owner@{business.website_domain}"
    claim = claims.start(business, user, method=ClaimMethod.WEBSITE_EMAIL, email=address, now=now)
    claims.verify_by_link(claim, user, email=address, now=now)
