"""The reviewer's own account of how it ended (services/resolution.py), the offer states, and the
notices that go with them: who may, from which states, and that a refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, Notification, RemedyKind, Review, ReviewEvent, ThreadMessage
from reviewsite.notifications.rendering import render_email
from reviewsite.services import accounts, notification_centre, publication, resolution, reviews, thread
from reviewsite.services.errors import Invalid, InvalidTransition, NotAllowed
from reviewsite.services.notification_kinds import subject_for, summary_for
from tests.factories import BusinessFactory, MembershipFactory, UserFactory


@pytest.fixture
def held(ctx, clock):
    shop = BusinessFactory(name="Corner Cafe")
    owner = MembershipFactory(business=shop).user
    author = UserFactory()
    review = reviews.submit_review(author, shop, stars=2, title="Cold soup", body="It was cold.", now=clock.now())
    return review, owner, author


def footprint(review: Review) -> tuple:
    db.session.expire_all()
    version = db.session.get(Business, review.business_id).listing_version
    return (review.resolved_at, review.resolution_note, version,
            db.session.scalar(select(func.count(ReviewEvent.id))), db.session.scalar(select(func.count(Notification.id))),
            tuple(db.session.scalars(select(ThreadMessage.delivered_at).order_by(ThreadMessage.id))))


def test_the_reviewer_marks_it_resolved_once_with_a_public_note(held, clock):
    review, owner, author = held
    db.session.expire_all()
    version = db.session.get(Business, review.business_id).listing_version
    resolution.resolve(review, author, note="  They refunded me the same day.  ", now=clock.now())
    assert (review.resolved_at, review.resolution_note) == (clock.now(), "They refunded me the same day.")
    db.session.expire_all()
    assert db.session.get(Business, review.business_id).listing_version == version + 1  # the record moved
    told = db.session.scalar(select(Notification).where(Notification.kind == "review_resolved"))
    assert told.recipient_id == owner.id and summary_for(told) == "The reviewer marked the review of Corner Cafe resolved"
    before = footprint(review)
    with pytest.raises(InvalidTransition, match="already marked"):
        resolution.resolve(review, author, note="Again", now=clock.now())
    assert footprint(review) == before


@pytest.mark.parametrize("who", ["owner", "stranger", "moderator"])
def test_nobody_but_the_reviewer_marks_it_resolved(held, clock, who):
    review, owner, author = held
    actor = {"owner": owner, "stranger": UserFactory(), "moderator": UserFactory(moderator=True)}[who]
    before = footprint(review)
    with pytest.raises(NotAllowed):
        resolution.resolve(review, actor, note="Resolved!", now=clock.now())
    assert footprint(review) == before


def test_a_note_too_long_is_refused_with_its_length(held, clock):
    review, _, author = held
    before = footprint(review)
    with pytest.raises(Invalid, match="at most 500 characters; yours has 501"):
        resolution.resolve(review, author, note="x" * 501, now=clock.now())
    assert footprint(review) == before


def test_resolution_after_publication_but_not_after_withdrawal(held, clock):
    review, owner, author = held
    publication.release_now(review, owner, now=clock.now())
    resolution.resolve(review, author, note=None, now=clock.now())
    assert review.resolved_at == clock.now() and review.resolution_note is None
    other = reviews.submit_review(UserFactory(), review.business, stars=1, title="t", body="b", now=clock.now())
    reviews.withdraw(other, other.author, now=clock.now())
    with pytest.raises(InvalidTransition):
        resolution.resolve(other, other.author, note=None, now=clock.now())


def test_an_offer_goes_offered_accepted_then_done_only_when_the_reviewer_says(held, clock):
    review, owner, author = held
    offer = thread.offer_remedy(review, owner, RemedyKind.REDO, "We will redo the whole order.", now=clock.now())
    before = footprint(review)
    with pytest.raises(InvalidTransition, match="only confirm an offer you have accepted"):
        resolution.confirm_delivered(offer, author, now=clock.now())
    assert footprint(review) == before
    thread.accept_offer(offer, author, now=clock.now())
    with pytest.raises(NotAllowed):
        resolution.confirm_delivered(offer, owner, now=clock.now())  # the business's word is not enough
    clock.advance(timedelta(days=2))
    publication.release_now(review, author, now=clock.now())  # delivered after the window, still fine
    resolution.confirm_delivered(offer, author, now=clock.now())
    assert offer.delivered_at == clock.now()
    told = db.session.scalar(select(Notification).where(Notification.kind == "offer_delivered"))
    assert told.recipient_id == owner.id and "confirmed your offer was delivered (redo)" in subject_for(told)
    before = footprint(review)
    with pytest.raises(InvalidTransition, match="already confirmed"):
        resolution.confirm_delivered(offer, author, now=clock.now())
    assert footprint(review) == before


def test_a_message_that_is_not_an_offer_cannot_be_confirmed(held, clock):
    review, owner, author = held
    message = thread.reply(review, owner, "Sorry to hear that.", now=clock.now())
    with pytest.raises(InvalidTransition, match="not an offer"):
        resolution.confirm_delivered(message, author, now=clock.now())


def test_the_offer_mail_says_what_is_offered_not_that_the_review_be_redone(held, clock):
    review, owner, author = held
    thread.offer_remedy(review, owner, RemedyKind.REDO, "We will redo the whole order.", now=clock.now())
    offer = db.session.scalar(select(Notification).where(Notification.kind == "remedy_offer"))
    assert subject_for(offer) == "Corner Cafe offers to redo the work for you"
    assert summary_for(offer) == "Corner Cafe offers to redo the work for you, about your review"
    mail = render_email(offer)
    assert "offers you to" not in mail.text + mail["Subject"] and "redoing the work" in mail.text


def test_a_gathered_thread_email_shows_the_stars_and_date_of_its_last_message(held, clock, app):
    """The reviewer writes, then lowers the stars and extends the window, then writes again
    within the gathering time: the one email the business gets shows 1 star and the new date."""
    review, owner, author = held
    first_deadline = review.publish_at
    thread.reply(review, author, "Hello?", now=clock.now())
    reviews.revise(review, author, stars=1, title="Cold soup", body="It was cold.", now=clock.now())
    reviews.extend_window(review, author, hours=24, now=clock.now())
    clock.advance(timedelta(seconds=30))
    thread.reply(review, author, "Anyone there?", now=clock.now())
    gathered = db.session.scalars(select(Notification).where(Notification.kind == "thread_message")).all()
    assert len(gathered) == 1 and gathered[0].facts["messages"] == 2
    assert (gathered[0].review_stars, gathered[0].review_publish_at) == (1, first_deadline + timedelta(hours=24))
    mail = render_email(gathered[0])
    assert "1-star review" in mail.text and "2-star" not in mail.text
    assert f"{first_deadline + timedelta(hours=24):%d %b %Y, %H:%M} UTC" in mail.text


def test_confirming_the_address_marks_its_notice_read(ctx, clock):
    person = accounts.register(email="new@example.com", password="long enough password", display_name="New",
                               now=clock.now())
    assert notification_centre.unread_count(person) == 1
    accounts.confirm_email(person, now=clock.now())
    assert notification_centre.unread_count(person) == 0


def test_a_time_zone_must_be_one_the_database_knows(ctx, clock):
    person = UserFactory()
    accounts.set_time_zone(person, "Asia/Tokyo", now=clock.now())
    assert person.time_zone == "Asia/Tokyo"
    for wrong in ("Mars/Olympus_Mons", "../etc/passwd", "asia/tokyo", "x" * 300):
        with pytest.raises(Invalid, match="not a time zone we know"):
            accounts.set_time_zone(person, wrong, now=clock.now())
        assert person.time_zone == "Asia/Tokyo"
    accounts.set_time_zone(person, "", now=clock.now())
    assert person.time_zone is None


def test_mail_gives_dates_in_the_zone_the_recipient_chose(held, clock):
    review, owner, _ = held
    owner.time_zone = "Asia/Tokyo"
    db.session.flush()
    notice = db.session.scalar(select(Notification).where(Notification.kind == "review_held"))
    text = render_email(notice).text
    assert f"{review.publish_at + timedelta(hours=9):%d %b %Y, %H:%M} JST" in text and " UTC" not in text
