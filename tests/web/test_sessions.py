"""Sessions end when they should, proved by replaying the old cookies in a fresh browser: after
logout, after a password change (every other session and remember-me cookie of the account),
after a reset (all of them), and after the login's weeks are up."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from reviewsite.config import LOGIN_DAYS
from reviewsite.extensions import db
from reviewsite.models import Login
from tests.helpers import PASSWORD, WebClient
from tests.web.test_auth_flow import latest_mail_to, link_in

NEW_PASSWORD = "a brand new password"


def cookies_of(client: WebClient) -> dict[str, str]:
    return {name: cookie.value for name in ("session", "remember_token")
            if (cookie := client.http.get_cookie(name)) is not None}


def replay(make_client, cookies: dict[str, str]) -> WebClient:
    """A browser that has only these cookies."""
    thief = make_client()
    for name, value in cookies.items():
        thief.http.set_cookie(name, value)
    return thief


def signed_in(client: WebClient) -> bool:
    """A private page answers (a 302 to the login page otherwise)."""
    return client.get("/me/reviews").status_code == 200


def log_in(make_client, email: str, *, remember: bool = False, password: str = PASSWORD) -> WebClient:
    client = make_client()
    form = {"email": email, "password": password}
    if remember:
        form["remember"] = "y"
    assert client.post("/login", form).status_code == 302
    assert signed_in(client)
    return client


def test_logout_ends_that_session_and_its_remember_me_cookie(world, make_client):
    browser = log_in(make_client, world.reviewer, remember=True)
    stolen = cookies_of(browser)
    assert set(stolen) == {"session", "remember_token"}
    assert signed_in(replay(make_client, stolen)), "the copy works while the login is open"
    browser.logout()
    assert not signed_in(browser)
    assert not signed_in(replay(make_client, stolen))
    assert not signed_in(replay(make_client, {"session": stolen["session"]}))
    assert not signed_in(replay(make_client, {"remember_token": stolen["remember_token"]}))


def test_logout_leaves_the_persons_other_devices_signed_in(world, make_client):
    phone = log_in(make_client, world.reviewer)
    laptop = log_in(make_client, world.reviewer)
    laptop.logout()
    assert signed_in(phone)


def test_a_password_change_ends_every_other_session_and_remember_me_cookie(world, make_client):
    elsewhere = log_in(make_client, world.reviewer, remember=True)
    stolen = cookies_of(elsewhere)
    here = log_in(make_client, world.reviewer)
    response = here.post("/settings/password", {"current": PASSWORD, "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert "logged out everywhere else" in here.get(response.headers["Location"]).get_data(as_text=True)
    assert signed_in(here), "the browser that changed it stays signed in"
    assert not signed_in(elsewhere)
    assert not signed_in(replay(make_client, {"session": stolen["session"]}))
    assert not signed_in(replay(make_client, {"remember_token": stolen["remember_token"]}))
    log_in(make_client, world.reviewer, password=NEW_PASSWORD)


def test_a_password_change_needs_the_current_password(world, make_client):
    here = log_in(make_client, world.reviewer)
    other = log_in(make_client, world.reviewer)
    response = here.post("/settings/password", {"current": "not my password", "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    assert signed_in(other)


def test_a_reset_ends_every_session_of_the_account(app, world, make_client):
    thief = log_in(make_client, world.reviewer, remember=True)
    stolen = cookies_of(thief)
    owner = make_client()
    assert owner.post("/password/forgot", {"email": world.reviewer}).status_code == 200
    link = link_in(latest_mail_to(app, world.reviewer))
    assert owner.post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert signed_in(owner)
    assert not signed_in(thief)
    assert not signed_in(replay(make_client, {"remember_token": stolen["remember_token"]}))


def test_the_remember_me_cookie_is_same_site_http_only_and_lasts_weeks(world, make_client):
    client = make_client()
    response = client.post("/login", {"email": world.reviewer, "password": PASSWORD, "remember": "y"})
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("remember_token="))
    assert "SameSite=Lax" in header and "HttpOnly" in header
    # Flask-Login dates the cookie by the wall clock, not the site's clock.
    lifetime = client.http.get_cookie("remember_token").expires - datetime.now(UTC)
    assert timedelta(days=7) < lifetime <= timedelta(days=LOGIN_DAYS)


def test_a_login_ends_after_its_weeks_even_with_the_remember_me_cookie(world, make_client, clock):
    browser = log_in(make_client, world.reviewer, remember=True)
    kept = cookies_of(browser)
    clock.advance(timedelta(days=LOGIN_DAYS - 1))
    assert signed_in(replay(make_client, kept))
    clock.advance(timedelta(days=1, seconds=1))
    assert not signed_in(replay(make_client, kept))


def test_the_cookies_hold_a_login_token_that_is_stored_only_as_its_digest(app, world, make_client):
    browser = log_in(make_client, world.reviewer)
    with app.test_request_context():  # decode the browser's cookie as Flask does
        serializer = app.session_interface.get_signing_serializer(app)
        token = serializer.loads(browser.http.get_cookie("session").value)["_user_id"]
    assert not re.fullmatch(r"\d+", token), "never the account's id"
    with app.app_context():
        stored = db.session.scalars(select(Login.token_hash)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in stored


def test_a_session_cookie_naming_an_account_id_signs_nobody_in(app, world, make_client):
    """What the cookie held before logins existed: a forged or old one is a visitor's."""
    with app.test_request_context():
        forged = app.session_interface.get_signing_serializer(app).dumps({"_user_id": "1", "_fresh": True})
    assert not signed_in(replay(make_client, {"session": forged}))


def test_a_new_secret_key_ends_every_session_and_the_old_one_kept_as_a_fallback_keeps_them(app, world, make_client):
    """The signer is made once per set of keys (reviewsite/session_cookies.py): a new key must
    still take effect at once, and a key among SECRET_KEY_FALLBACKS must still be honoured."""
    cookies = cookies_of(log_in(make_client, world.reviewer))
    assert signed_in(replay(make_client, cookies))
    key, fallbacks = app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"]
    try:
        app.config["SECRET_KEY"] = "a different secret key, as long as the production one"
        assert not signed_in(replay(make_client, cookies))
        app.config["SECRET_KEY_FALLBACKS"] = [key]
        assert signed_in(replay(make_client, cookies))
    finally:
        app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = key, fallbacks
    assert signed_in(replay(make_client, cookies))
