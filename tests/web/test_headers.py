"""Every route of the URL map, as a visitor and as a signed-in person: the security headers on
every answer, ``Cache-Control: no-store`` wherever private data may be, no inline script or
style in any page, and HSTS in production."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from reviewsite import create_app
from reviewsite.security import PUBLIC_ENDPOINTS
from tests.helpers import WebClient, app_config, use_memory_broker
from tests.web.conftest import every_route, sample_values

# Pages whose URL is a secret, or that hold mail: never kept by a cache, signed in or not.
TOKEN_ENDPOINTS = {"auth.confirm", "auth.reset_password", "account.unsubscribe", "claims.verify", "team.invitation",
                   "dev.mailbox", "dev.mail"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def check(response, *, endpoint: str, private: bool) -> None:
    headers = response.headers
    where = f"{endpoint} ({response.status_code})"
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert headers.get("Permissions-Policy") == "browsing-topics=()", where
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert len(headers.getlist(name)) == 1, f"{name} sent {len(headers.getlist(name))} times on {where}"
    if private:
        assert headers.get("Cache-Control") == "no-store", where
    if response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(page), f"inline script on {where}"
        assert not INLINE_STYLE.search(page), f"inline style or handler on {where}"


def test_every_route_has_the_headers(app, world, make_client):
    values = sample_values(app, world)
    visitor, person = make_client(), make_client()
    person.login(world.reviewer)
    seen = set()
    for endpoint, method, url in every_route(app, values):
        seen.add(endpoint)
        for client, signed_in in ((visitor, False), (person, True)):
            response = client.get(url) if method == "GET" else client.post(url)
            private = endpoint != "static" and (signed_in or endpoint not in PUBLIC_ENDPOINTS)
            check(response, endpoint=endpoint, private=private)
            if endpoint in TOKEN_ENDPOINTS:
                assert response.headers.get("Cache-Control") == "no-store", endpoint
        person.login(world.reviewer)  # logging out or a password change may have ended it
    assert {"public.business", "auth.logout", "dev.mailbox", "static", "reviews.post_message"} <= seen


@pytest.mark.parametrize("url", ["/", "/businesses?q=cafe", "/b/corner-cafe", "/static/site.css"])
def test_public_pages_stay_cacheable_for_visitors(world, client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_signed_in_persons_public_pages_are_not_stored(world, client):
    client.login(world.reviewer)
    assert client.get("/b/corner-cafe").headers["Cache-Control"] == "no-store"


def test_a_visitor_with_a_session_is_not_stored(world, client):
    """A visitor who opened a form has a session (its CSRF token) though nobody is signed in:
    the page rendered for them is theirs (it may show a flashed message), so no browser or
    proxy keeps it, as the page cache does not."""
    client.csrf_token()  # GET /login
    assert client.http.get_cookie("session") is not None
    response = client.get("/b/corner-cafe")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_errors_carry_the_headers_too(client):
    response = client.get("/reviews/" + "9" * 30)
    assert response.status_code == 404
    check(response, endpoint="reviews.show", private=True)


@pytest.fixture
def production_app(database_url, session_clock) -> Flask:
    application = create_app(app_config(
        database_url, session_clock, REVIEWSITE_ENV="production", SECRET_KEY="s" * 40,
        MAIL_SERVER="smtp.invalid", RATELIMIT_ENABLED=False))
    use_memory_broker(application)
    return application


def test_production_sends_hsts_on_https_and_secure_cookies(production_app, db_connection):
    client = WebClient(production_app)
    secure = client.http.get("/login", base_url="https://reviews.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in secure.headers["Set-Cookie"]
    check(secure, endpoint="auth.login", private=True)
    assert "Strict-Transport-Security" not in client.http.get("/login").headers  # only browsers on https keep it
    behind_proxy = client.http.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_development_sends_no_hsts_even_on_https(app, db_connection):
    """The local site runs on http://127.0.0.1; a year of HSTS there would outlive it."""
    assert "Strict-Transport-Security" not in WebClient(app).http.get("/login", base_url="https://localhost").headers
