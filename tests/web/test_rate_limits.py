"""Rate limits, counted in Redis as in production: per address and per account, on log-in,
sign-up, reset, thread messages, offers, listings and reports, with a clear 429 page; wrong passwords
slow down the account they target, whoever sends them. That the counts hold across two web
processes is tests/processes/test_limits_across_processes.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from flask import Flask

from reviewsite import create_app
from reviewsite.extensions import db, limiter
from reviewsite.unit_of_work import unit_of_work
from reviewsite.services import reviews
from tests.factories import BusinessFactory, UserFactory
from tests.helpers import PASSWORD, WebClient, app_config, use_memory_broker

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def post_from(make, n: int, url: str, form: dict[str, str]):
    """A POST from a browser of its own at address number ``n``."""
    client = make()
    data = {**form, "csrf_token": client.csrf_token()}
    return client.http.post(url, data=data, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})


@contextmanager
def app_with_limits(database_url: str, session_clock, db_connection, storage: str) -> Iterator[Flask]:
    """An app with the limits on, counting in ``storage``, on the test's transaction (where the
    world is; see db_connection). The limiter is one object for every app in the process and
    init_app switches it on for all of them: switched back afterwards."""
    enabled = limiter.enabled
    application = create_app(app_config(database_url, session_clock, RATELIMIT_ENABLED=True,
                                         RATELIMIT_STORAGE_URI=storage))
    use_memory_broker(application)
    # Flask-Limiter's init_app keeps the limiter's "the store is down" flag from the app before:
    # after the unreachable-store test, a new app counted in memory and switched to Redis once
    # the limiter's back-off ran out, in the middle of whichever test came next. Each app here
    # starts with its store taken as up, as a process's one app does.
    limiter._storage_dead = False
    with application.app_context():
        engine = db.engines[None]
        db.engines[None] = db_connection  # type: ignore[index]
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engines[None] = engine  # type: ignore[index]
            engine.dispose()
        limiter.enabled = enabled


@pytest.fixture
def limited(app, database_url, session_clock, db_connection):
    del app  # only for its migrated schema
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    with app_with_limits(database_url, session_clock, db_connection, REDIS_URL) as application:
        yield application
    store.flushdb()


@pytest.fixture
def make(limited):
    return lambda: WebClient(limited)


def test_wrong_passwords_slow_down_that_account_whoever_sends_them(make, world):
    for n in range(5):
        assert post_from(make, n, "/login", {"email": world.reviewer, "password": "wrong"}).status_code == 422
    blocked = post_from(make, 99, "/login", {"email": world.reviewer, "password": PASSWORD})
    assert blocked.status_code == 429, "even the right password waits"
    page = blocked.get_data(as_text=True)
    assert "Slow down" in page and "Wait a minute" in page
    assert int(blocked.headers["Retry-After"]) <= 60
    other = post_from(make, 0, "/login", {"email": world.owner, "password": PASSWORD})
    assert other.status_code == 302, "another account from the same address is not slowed"


def test_one_address_is_limited_whatever_accounts_it_tries(make):
    client = make()
    statuses = [client.post("/login", {"email": f"guess{n}@example.com", "password": "wrong"}).status_code
                for n in range(21)]
    assert statuses[:20] == [422] * 20
    assert statuses[20] == 429


def test_signing_up_one_address_again_and_again_is_limited(make, world):
    form = {"email": "target@example.com", "display_name": "X", "password": "long enough", "confirm": "long enough"}
    statuses = [post_from(make, n, "/signup", form).status_code for n in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_reset_requests_for_one_address_are_limited(make, world):
    statuses = [post_from(make, n, "/password/forgot", {"email": world.reviewer}).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_thread_messages_are_limited_per_account(make, world):
    reviewer = make()
    reviewer.login(world.reviewer)
    statuses = [reviewer.post(f"/reviews/{world.held_id}/messages", {"body": f"message {n}"}).status_code
                for n in range(31)]
    assert statuses[:30] == [302] * 30
    assert statuses[30] == 429
    owner = make()
    owner.login(world.owner)
    assert owner.post(f"/reviews/{world.held_id}/messages", {"body": "still here"}).status_code == 302


def test_offers_and_listings_are_limited_per_account(make, world):
    owner = make()
    owner.login(world.owner)
    offers = [owner.post(f"/reviews/{world.held_id}/offers", {"remedy": "apology", "note": f"Sorry {n}"}).status_code
              for n in range(11)]
    assert offers[-1] == 429 and 429 not in offers[:10]
    stranger = make()
    stranger.login(world.stranger)
    listings = [stranger.post("/businesses/new", {"name": f"Shop {n}", "category": "Cafe", "city": f"Town {n}",
                                                  "address": f"{n} St"}).status_code for n in range(6)]
    assert listings == [302] * 5 + [429]


def test_the_counters_are_in_the_shared_store(make, world):
    make().post("/login", {"email": world.reviewer, "password": "wrong"})
    keys = [key.decode() for key in redis.Redis.from_url(REDIS_URL).keys("*")]
    assert any("login-failures" in key and world.reviewer in key for key in keys), keys


def test_an_unreachable_store_falls_back_to_counting_in_memory(app, database_url, session_clock, db_connection, world):
    """Redis restarting must not turn every log-in into a 500: the limits go on per process."""
    with app_with_limits(database_url, session_clock, db_connection, "redis://127.0.0.1:1/0") as application:
        client = WebClient(application)
        statuses = [client.post("/login", {"email": world.reviewer, "password": "wrong"}).status_code
                    for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_reviews_are_limited_per_account(app, make, world):
    with app.app_context(), unit_of_work():
        slugs = [BusinessFactory(name=f"Place {n}", slug=f"place-{n}").slug for n in range(11)]
    reviewer = make()
    reviewer.login(world.stranger)
    statuses = [reviewer.post(f"/b/{slug}/review", {"stars": "5", "title": "Fine", "body": "Fine."}).status_code
                for slug in slugs]
    assert statuses == [302] * 10 + [429]


def test_reports_are_limited_per_account_and_per_address(app, make, world, clock):
    """One report, then polite refusals (already reported), then the 429 page: the per-account
    counter follows the person to another address."""
    with app.app_context(), unit_of_work():
        review_id = reviews.submit_review(UserFactory(), BusinessFactory(name="Reported", slug="reported"), stars=5,
                                          title="Fine", body="Fine.", now=clock.now()).id

    def client_for(email: str, address: str) -> WebClient:
        client = make()
        client.http.environ_base["REMOTE_ADDR"] = address
        client.login(email)
        return client

    url = f"/report/review/{review_id}"
    first = client_for(world.stranger, "10.0.0.1")
    statuses = [first.post(url, {"reason": "spam"}).status_code for _ in range(11)]
    assert statuses[0] == 302 and statuses[1:10] == [422] * 9
    assert statuses[10] == 429
    assert "Slow down" in first.post(url, {"reason": "spam"}).get_data(as_text=True)
    assert client_for(world.stranger, "10.0.0.2").post(url, {"reason": "spam"}).status_code == 429
    assert client_for(world.owner, "10.0.0.1").post(url, {"reason": "spam"}).status_code == 302
