"""Log-in attempts are rate-limited per address, with the counters in Redis as in production
(so the limit holds across gunicorn workers and machines)."""

from __future__ import annotations

import os

import pytest
import redis

from reviewsite import create_app
from reviewsite.extensions import limiter
from tests.helpers import WebClient, app_config

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def limits_restored():
    """The limiter is one object for every app in the process and init_app switches it on for
    all of them; switch it back, or later tests that log in often would get 429s."""
    enabled = limiter.enabled
    yield
    limiter.enabled = enabled


def test_repeated_failed_logins_get_429(app, database_url, session_clock, limits_restored):
    del app  # only for its migrated schema
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app(app_config(database_url, session_clock, RATELIMIT_ENABLED=True,
                                 RATELIMIT_STORAGE_URI=REDIS_URL))
    client = WebClient(app)
    statuses = [client.post("/login", {"email": "x@example.com", "password": "wrong password"}).status_code
                for _ in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    assert "Too many attempts" in client.post("/login", {"email": "x@example.com", "password": "x"}).get_data(as_text=True)


def test_reports_are_limited_per_account_and_per_address(tmp_path, session_clock, limits_restored):
    """Reports (and thread posts) are rate-limited by account and by address, with the clear 429
    page; the counters are in Redis as in production. A database of its own: rows are written
    through a separate app, outside the tests' rolled-back transaction."""
    from flask_migrate import upgrade

    from reviewsite.services import reviews
    from reviewsite.unit_of_work import unit_of_work
    from tests.factories import BusinessFactory, UserFactory

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app(app_config(f"sqlite:///{tmp_path / 'limits.sqlite'}", session_clock, RATELIMIT_ENABLED=True,
                                RATELIMIT_STORAGE_URI=REDIS_URL))
    with app.app_context():
        upgrade()
        with unit_of_work():
            shop = BusinessFactory()
            review = reviews.submit_review(UserFactory(), shop, stars=5, title="Fine", body="Fine.",
                                           now=session_clock.now())
            UserFactory(email="first@example.com")
            UserFactory(email="second@example.com")
            review_id = review.id

    def client_for(email: str, address: str) -> WebClient:
        client = WebClient(app)
        client.http.environ_base["REMOTE_ADDR"] = address
        client.login(email)
        return client

    first = client_for("first@example.com", "10.0.0.1")
    statuses = [first.post(f"/report/review/{review_id}", {"reason": "spam"}).status_code for _ in range(11)]
    assert statuses[0] == 302 and statuses[1:10] == [422] * 9  # one report, then polite refusals
    assert statuses[10] == 429
    assert "Too many attempts" in first.post(f"/report/review/{review_id}", {"reason": "spam"}).get_data(as_text=True)
    # The same account from elsewhere, and someone else from the same address: both still limited.
    assert client_for("first@example.com", "10.0.0.2").post(f"/report/review/{review_id}",
                                                            {"reason": "spam"}).status_code == 429
    assert client_for("second@example.com", "10.0.0.1").post(f"/report/review/{review_id}",
                                                             {"reason": "spam"}).status_code == 429
    assert client_for("second@example.com", "10.0.0.3").post(f"/report/review/{review_id}",
                                                             {"reason": "spam"}).status_code == 302
