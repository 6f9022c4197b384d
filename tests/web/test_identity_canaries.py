"""Invariant 1, sharpened by issue 12: a held review's words reach only its reviewer, the
business's *verified* members and moderators. A pending or rejected claimant, a removed member
and the owner of a duplicate listing never get them, in any page or any email."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import DevMail, Notification, User
from reviewsite.notifications import delivery
from reviewsite.services import reviews, thread
from reviewsite.unit_of_work import unit_of_work
from tests.factories import UserFactory
from tests.web.conftest import CANARIES

LATE_TITLE = "CANARYLATE-3e9b"
LATE_MESSAGE = "CANARYLATEMSG-c41d"
OUTSIDERS = ("pending", "rejected", "removed", "rival")

PAGES = [
    "/", "/businesses", "/businesses?q=corner", "/b/{shop_slug}", "/b/{copy_slug}", "/b/{shop_slug}/history",
    "/b/{shop_slug}/claim", "/b/{shop_slug}/team", "/b/{shop_slug}/edit", "/reviews/{held_id}",
    "/reviews/{late_id}", "/inbox", "/me/reviews", "/notifications", "/claims", "/claims/{pending_claim}",
    "/claims/{rejected_claim}", "/claims/verify/{pending_token}", "/moderation/claims", "/dev/mailbox",
]


@pytest.fixture
def after_the_fact(app, identities, clock):
    """Later, with everyone in place: a second held review and more of the thread, so that mail
    to the business goes out after the claims and the removal; then every mail is delivered."""
    with app.app_context(), unit_of_work():
        from reviewsite.models import Business, Review

        shop = db.session.get(Business, identities.shop_id)
        late = reviews.submit_review(UserFactory(display_name="Lee"), shop, stars=1, title=LATE_TITLE,
                                     body=f"{LATE_TITLE} body", now=clock.now())
        thread.reply(late, db.session.get(User, identities.ids["owner"]), LATE_MESSAGE, now=clock.now())
        thread.reply(db.session.get(Review, identities.held_id), db.session.get(User, identities.ids["staff"]),
                     LATE_MESSAGE, now=clock.now())
        identities.late_id = late.id
    clock.advance(minutes=10)  # past the gathering of thread messages
    with app.app_context():
        delivery.deliver_pending()
    return identities


def _mail_to(app, addresses: set[str]) -> list[DevMail]:
    with app.app_context():
        return [m for m in db.session.scalars(select(DevMail)) if m.to_addr in addresses]


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_never_see_the_words_in_any_page(client, after_the_fact, outsider):
    w = after_the_fact
    client.sign_in_as(w.ids[outsider])
    for page in PAGES:
        url = page.format(**vars(w))
        body = client.get(url).get_data(as_text=True)
        for canary in (*CANARIES, LATE_TITLE, LATE_MESSAGE):
            assert canary not in body, f"{canary} reached the {outsider} on {url}"


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_never_get_the_words_or_the_held_notices_by_email(app, after_the_fact, outsider):
    w = after_the_fact
    addresses = {w.emails[outsider], "penny@cornercafe.example"} if outsider == "pending" else {w.emails[outsider]}
    for mail in _mail_to(app, addresses):
        text = mail.subject + mail.text_body
        for canary in (*CANARIES, LATE_TITLE, LATE_MESSAGE):
            assert canary not in text, f"{canary} mailed to the {outsider}"
    # No notice of a held review at all; the removed member had those of the first review while
    # on the team (which told of it, never its words), none since.
    reviews_told = {w.late_id} if outsider == "removed" else {w.late_id, w.held_id}
    with app.app_context():
        kinds = set(db.session.scalars(select(Notification.kind).where(
            Notification.recipient_id == w.ids[outsider], Notification.review_id.in_(reviews_told))))
    assert not kinds, (outsider, kinds)


def test_the_verified_team_does_hear_of_the_late_review(app, after_the_fact):
    """The control: the same mail reaches the owner and staff, so the checks above could fail."""
    w = after_the_fact
    with app.app_context():
        told = set(db.session.scalars(select(Notification.recipient_id).where(
            Notification.kind == "review_held", Notification.review_id == w.late_id)))
    assert told == {w.ids["owner"], w.ids["staff"]}
    assert {m.to_addr for m in _mail_to(app, {w.emails["owner"], w.emails["staff"]})
            if "1-star review of Corner Cafe" in m.subject} == {w.emails["owner"], w.emails["staff"]}


@pytest.mark.parametrize("party", ["owner", "staff", "reviewer", "moderator"])
def test_the_parties_do_see_the_words(client, after_the_fact, party):
    w = after_the_fact
    client.sign_in_as(w.ids[party])
    body = client.get(f"/reviews/{w.held_id}").get_data(as_text=True)
    assert all(canary in body for canary in CANARIES)


def test_what_a_removed_member_wrote_stays_under_their_name_and_the_business(client, after_the_fact):
    w = after_the_fact
    client.sign_in_as(w.ids["reviewer"])
    body = client.get(f"/reviews/{w.held_id}").get_data(as_text=True)
    assert "Remy here, looking into it." in body and "Remy" in body and "for <bdi>Corner Cafe</bdi>" in body
    for email in w.emails.values():
        assert email not in body, "the reviewer sees names, never addresses"
