"""Sign up, confirm through the emailed link, log in and out, reset a forgotten password."""

from __future__ import annotations

import re

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import DevMail, User
from reviewsite.notifications import delivery


def latest_mail_to(app, address: str) -> DevMail:
    with app.app_context():
        delivery.deliver_pending()
        mail = db.session.scalar(select(DevMail).where(DevMail.to_addr == address).order_by(DevMail.id.desc()))
        assert mail is not None, f"no mail to {address}"
        db.session.expunge(mail)
        return mail


def link_in(mail: DevMail) -> str:
    match = re.search(r"http://reviewsite\.test(/\S+)", mail.text_body)
    assert match, mail.text_body
    return match.group(1)


def signup(client, email="new@example.com", password="a long password"):
    return client.post("/signup", {"email": email, "display_name": "Newcomer",
                                   "password": password, "confirm": password})


def test_signup_confirm_login_logout(app, client):
    response = signup(client, email="New@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/signup/sent"
    page = client.get("/signup/sent").get_data(as_text=True)
    assert "Check your email" in page and "We sent an email to new@example.com" in page
    assert "Log in" in page, "signing up does not log in: the emailed link finishes it"
    # Not before the address is confirmed, with the same answer as a wrong password.
    refused = client.post("/login", {"email": "new@example.com", "password": "a long password"})
    assert refused.status_code == 422 and "do not match an account" in refused.get_data(as_text=True)

    mail = latest_mail_to(app, "new@example.com")
    assert "Confirm" in mail.subject
    confirmed = client.get(link_in(mail))
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/login"
    with app.app_context():
        assert db.session.scalar(select(User.email_confirmed_at).where(User.email == "new@example.com"))

    assert client.post("/login", {"email": "new@example.com", "password": "wrong password"}).status_code == 422
    client.login("new@example.com", "a long password")
    assert "Newcomer" in client.get("/").get_data(as_text=True)
    client.logout()
    assert "Log in" in client.get("/").get_data(as_text=True)


def test_a_tampered_confirmation_link_is_a_clear_400(app, client):
    signup(client)
    link = link_in(latest_mail_to(app, "new@example.com"))
    response = client.get(link[:-3] + "xyz")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_password_reset_works_once(app, client):
    signup(client)
    page = client.post("/password/forgot", {"email": "new@example.com"}).get_data(as_text=True)
    assert "If an account uses that address" in page
    link = link_in(latest_mail_to(app, "new@example.com"))
    assert "/password/reset/" in link
    assert client.post(link, {"password": "another password", "confirm": "another password"}).status_code == 302
    client.logout()
    client.login("new@example.com", "another password")
    client.logout()
    # The same link cannot be used again: the password it was issued for has changed.
    assert client.post(link, {"password": "third password!", "confirm": "third password!"}).status_code == 400


def test_reset_request_for_an_unknown_address_says_the_same_and_sends_nothing(app, client):
    page = client.post("/password/forgot", {"email": "nobody@example.com"}).get_data(as_text=True)
    assert "If an account uses that address" in page
    with app.app_context():
        delivery.deliver_pending()
        assert db.session.scalar(select(DevMail).where(DevMail.to_addr == "nobody@example.com")) is None


def test_passwords_are_stored_hashed(app, client):
    signup(client, password="plain text secret")
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.email == "new@example.com"))
    assert "plain text secret" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
