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
