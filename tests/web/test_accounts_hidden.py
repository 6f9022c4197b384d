"""No one learns who has an account: sign-up, log-in and a reset request answer an address that
has an account exactly as one that has none (the owner of a taken address is mailed instead).
How long each takes is measured by ``bench/account_timing.py``, not asserted here."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import DevMail, Notification, User
from reviewsite.notifications import delivery
from reviewsite.unit_of_work import unit_of_work
from tests.factories import UserFactory
from tests.helpers import PASSWORD, WebClient
from tests.web.test_auth_flow import latest_mail_to, link_in

_VARYING = re.compile(r'name="csrf_token"[^>]*value="[^"]+"|value="[^"]+"[^>]*name="csrf_token"')


def answer(client: WebClient, url: str, form: dict[str, str]) -> tuple[int, str, tuple[str, ...], str]:
    """What a visitor can see of a POST: status, where it leads, which cookies it sets and the
    page it ends on, without the per-session CSRF token and with the address typed as EMAIL."""
    response = client.post(url, form)
    location = response.headers.get("Location", "")
    cookies = tuple(sorted(header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")))
    page = (client.get(location) if response.status_code == 302 else response).get_data(as_text=True)
    return response.status_code, location, cookies, _VARYING.sub("", page).replace(form["email"], "EMAIL")


def signup_form(email: str) -> dict[str, str]:
    return {"email": email, "display_name": "Someone", "password": "a long password", "confirm": "a long password"}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_signup_answers_a_taken_address_as_a_new_one_and_mails_its_owner(app, world, make_client):
    new = answer(make_client(), "/signup", signup_form("fresh@example.com"))
    users = count(app, User)
    taken = answer(make_client(), "/signup", signup_form(world.reviewer))
    assert taken == new
    assert count(app, User) == users, "nothing created for the taken address"

    owner_mail = latest_mail_to(app, world.reviewer)
    assert owner_mail.subject == "Someone tried to sign up with your address"
    assert "already has an account" in owner_mail.text_body
    assert "Confirm" in latest_mail_to(app, "fresh@example.com").subject


def test_the_owner_of_a_taken_address_can_get_in_from_that_mail(app, world, make_client):
    make_client().post("/signup", signup_form(world.reviewer))
    owner = make_client()
    link = link_in(latest_mail_to(app, world.reviewer))
    assert "/password/reset/" in link
    assert owner.post(link, {"password": "chosen again!", "confirm": "chosen again!"}).status_code == 302
    owner.login(world.reviewer, "chosen again!")


def test_an_address_that_signed_up_but_never_confirmed_is_also_taken(app, world, make_client, clock):
    with app.app_context(), unit_of_work():
        UserFactory(email="pending@example.com", unconfirmed=True)
    make_client().post("/signup", signup_form("pending@example.com"))
    mail = latest_mail_to(app, "pending@example.com")
    assert mail.subject == "Someone tried to sign up with your address"
    assert "never finished signing up" in mail.text_body


def test_login_answers_an_unknown_address_a_wrong_password_and_an_unconfirmed_one_alike(app, world, make_client):
    with app.app_context(), unit_of_work():
        UserFactory(email="pending@example.com", unconfirmed=True)
    answers = {
        email: answer(make_client(), "/login", {"email": email, "password": password})
        for email, password in (("nobody@example.com", PASSWORD), (world.reviewer, "not the password"),
                                ("pending@example.com", PASSWORD))
    }
    assert len(set(answers.values())) == 1, answers
    status, _, _, page = answers[world.reviewer]
    assert status == 422 and "do not match an account" in page


def test_a_reset_request_answers_alike_and_mails_only_an_account(app, world, make_client):
    with app.app_context():
        delivery.deliver_pending()
    mails = count(app, DevMail)
    known = answer(make_client(), "/password/forgot", {"email": world.reviewer})
    unknown = answer(make_client(), "/password/forgot", {"email": "nobody@example.com"})
    assert known == unknown
    with app.app_context():
        delivery.deliver_pending()
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "password_reset")) == 1
    assert count(app, DevMail) == mails + 1
