"""The settings page and the one-click unsubscribe link from an email."""

from __future__ import annotations

import re

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Delivery, DevMail, NotificationPreference, User
from reviewsite.notifications import delivery
from reviewsite.services import tokens


def choices(app, email: str) -> dict[str, Delivery]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        return dict(db.session.execute(
            select(NotificationPreference.topic, NotificationPreference.delivery)
            .where(NotificationPreference.user_id == user_id)).all())


def held_mail_to_owner(app, world) -> DevMail:
    with app.app_context():
        delivery.deliver_pending()
        mail = db.session.scalar(select(DevMail).where(DevMail.to_addr == world.owner,
                                                       DevMail.subject.like("%waiting for you%")))
        db.session.expunge(mail)
        return mail


def test_a_member_chooses_digests_and_site_only(app, client, world):
    client.login(world.owner)
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "A review of my business is held" in page and "Daily digest" in page
    response = client.post("/settings/notifications", {
        "review_held": "digest", "thread_message": "site_only", "reminder": "email",
        "review_published": "email", "review_updates": "site_only"})
    assert response.status_code == 302
    assert choices(app, world.owner) == {
        "review_held": Delivery.DIGEST, "thread_message": Delivery.SITE_ONLY, "reminder": Delivery.EMAIL,
        "review_published": Delivery.EMAIL, "review_updates": Delivery.SITE_ONLY}


def test_settings_reject_unknown_choices(app, client, world):
    client.login(world.owner)
    response = client.post("/settings/notifications", {"review_held": "carrier pigeon"})
    assert response.status_code == 422
    assert choices(app, world.owner) == {}


def test_the_email_carries_one_click_unsubscribe_headers_and_link(app, world):
    mail = held_mail_to_owner(app, world)
    header = mail.headers["List-Unsubscribe"]
    assert re.fullmatch(r"<http://reviewsite\.test/unsubscribe/[\w.-]+>", header)
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header.strip("<>") in mail.text_body


def test_one_click_unsubscribe_works_without_logging_in(app, client, world):
    url = held_mail_to_owner(app, world).headers["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("http://reviewsite.test")
    # GET only asks (mail scanners follow links); nothing changes.
    assert "Stop these emails?" in client.get(path).get_data(as_text=True)
    assert choices(app, world.owner) == {}
    # RFC 8058: the mail client POSTs with no cookie and no CSRF token.
    response = client.http.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert choices(app, world.owner) == {"review_held": Delivery.SITE_ONLY}
    assert choices(app, world.reviewer) == {}


def test_a_forged_or_altered_token_unsubscribes_nobody(app, client, world):
    url = held_mail_to_owner(app, world).headers["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("http://reviewsite.test")
    assert client.http.post(path[:-4] + "AAAA").status_code == 400
    with app.test_request_context():
        app.config["SECRET_KEY"], real = "another-secret", app.config["SECRET_KEY"]
        try:
            forged = tokens.unsubscribe_token(1, "review_held")
        finally:
            app.config["SECRET_KEY"] = real
    assert client.http.post(f"/unsubscribe/{forged}").status_code == 400
    assert choices(app, world.owner) == {}
