"""The lifecycle rules that DESIGN.md promises, one behaviour per test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Business, Notification, Review, ReviewEvent, ReviewStatus, Side
from reviewsite.services import publication, reviews, thread
from reviewsite.services.errors import Conflict, Invalid, InvalidTransition, NotAllowed
from reviewsite.services.persistence import insert_unique
from tests.factories import BusinessFactory, MembershipFactory, ReviewFactory, UserFactory
from tests.helpers import START, submission_footprint


@pytest.fixture
def shop(ctx):
    business = BusinessFactory()
    owner = UserFactory()
    staff = UserFactory()
    MembershipFactory(business=business, user=owner)
    MembershipFactory(business=business, user=staff, role="staff")
    return business, owner, staff


def notifications(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


def submit(business, author, stars, clock, **kw):
    return reviews.submit_review(author, business, stars=stars, title=kw.get("title", "Title"),
                                 body=kw.get("body", "Body"), now=clock.now())


@pytest.mark.parametrize("stars", [1, 2, 3])
def test_low_star_review_is_held_for_the_window_and_members_are_told(shop, clock, stars):
    business, owner, staff = shop
    review = submit(business, UserFactory(), stars, clock)
    assert review.status is ReviewStatus.HELD
    assert review.publish_at == START + timedelta(hours=72)
    assert {n.recipient_id for n in notifications("review_held")} == {owner.id, staff.id}


@pytest.mark.parametrize("stars", [4, 5])
def test_high_star_review_is_published_at_once(shop, clock, stars):
    business, _, _ = shop
    review = submit(business, UserFactory(), stars, clock)
    assert review.status is ReviewStatus.PUBLISHED
    assert review.published_at == START
    assert notifications("review_held") == []


def test_held_stars_count_in_the_aggregate_at_once(shop, clock):
    business, _, _ = shop
    submit(business, UserFactory(), 5, clock)
    submit(business, UserFactory(), 1, clock)
    db.session.refresh(business)
    assert (business.rating_count, business.average_stars) == (2, 3.0)


def test_one_review_per_customer_per_business(shop, clock):
    business, _, _ = shop
    author = UserFactory()
    submit(business, author, 2, clock)
    with pytest.raises(Conflict):
        submit(business, author, 5, clock)
    assert db.session.scalar(select(Business.rating_count).where(Business.id == business.id)) == 1


def test_unconfirmed_and_members_cannot_review(shop, clock):
    business, owner, _ = shop
    with pytest.raises(NotAllowed):
        submit(business, UserFactory(unconfirmed=True), 2, clock)
    with pytest.raises(NotAllowed):
        submit(business, owner, 5, clock)


@pytest.mark.parametrize("stars", [0, 6, -1, True])
def test_stars_outside_one_to_five_are_refused(shop, clock, stars):
    business, _, _ = shop
    with pytest.raises(Invalid):
        submit(business, UserFactory(), stars, clock)


def test_sweep_publishes_nothing_before_publish_at_and_everything_after(shop, clock):
    business, owner, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    clock.set(review.publish_at - timedelta(seconds=1))
    assert publication.publish_due(now=clock.now()) == []
    assert review.status is ReviewStatus.HELD

    clock.set(review.publish_at)
    assert publication.publish_due(now=clock.now()) == [review.id]
    db.session.expire(review)
    assert (review.status, review.released_by, review.published_at) == (
        ReviewStatus.PUBLISHED, Side.SYSTEM, review.publish_at)
    assert {n.recipient_id for n in notifications("review_published")} == {review.author_id, *(
        m.user_id for m in business.memberships)}
    assert publication.publish_due(now=clock.now()) == []


def test_a_review_released_by_hand_is_not_published_again_by_the_sweep(shop, clock):
    business, _, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    stale = db.session.get(Review, review.id)
    publication.release_now(review, review.author, now=clock.now())
    clock.advance(hours=73)
    assert publication.publish_due(now=clock.now()) == []
    with pytest.raises(InvalidTransition):
        publication.release_now(stale, review.author, now=clock.now())
    assert len(notifications("review_published")) == 3


def test_only_the_reviewer_extends_and_only_up_to_the_cap(shop, clock):
    business, owner, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    with pytest.raises(NotAllowed):
        reviews.extend_window(review, owner, hours=24, now=clock.now())
    reviews.extend_window(review, review.author, hours=168, now=clock.now())
    assert review.publish_at == START + timedelta(hours=72 + 168)
    with pytest.raises(Invalid):
        reviews.extend_window(review, review.author, hours=1, now=clock.now())
    assert review.publish_at == START + timedelta(hours=72 + 168)


@pytest.mark.parametrize("action", ["withdraw", "revise", "extend", "remove"])
def test_the_business_cannot_suppress_edit_or_delay(shop, clock, action):
    business, owner, _ = shop
    review = submit(business, UserFactory(), 1, clock)
    calls = {
        "withdraw": lambda: reviews.withdraw(review, owner, now=clock.now()),
        "revise": lambda: reviews.revise(review, owner, stars=5, title="Great", body="Lovely", now=clock.now()),
        "extend": lambda: reviews.extend_window(review, owner, hours=24, now=clock.now()),
        "remove": lambda: reviews.remove(review, owner, reason="I do not like it", now=clock.now()),
    }
    with pytest.raises(NotAllowed):
        calls[action]()
    db.session.expire(review)
    assert (review.status, review.stars, review.publish_at) == (
        ReviewStatus.HELD, 1, START + timedelta(hours=72))


def test_raising_stars_above_the_line_publishes_at_once_with_history(shop, clock):
    business, _, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    clock.advance(hours=5)
    reviews.revise(review, review.author, stars=4, title="Sorted out", body="They refunded me.", now=clock.now())
    db.session.expire(review)
    assert review.status is ReviewStatus.PUBLISHED
    assert (review.original_stars, review.stars, review.released_by) == (2, 4, Side.REVIEWER)
    assert review.stars_changed_at == START + timedelta(hours=5)
    db.session.refresh(business)
    assert business.rating_sum == 4


def test_business_first_reply_is_recorded_and_reviewer_is_told(shop, clock):
    business, owner, staff = shop
    review = submit(business, UserFactory(), 2, clock)
    clock.advance(hours=2)
    thread.reply(review, staff, "So sorry, can we refund you?", now=clock.now())
    clock.advance(hours=1)
    thread.reply(review, owner, "Following up.", now=clock.now())
    db.session.expire(review)
    assert review.first_business_reply_at == START + timedelta(hours=2)
    assert [n.recipient_id for n in notifications("thread_message")] == [review.author_id] * 2


def test_a_stranger_cannot_reply_or_release(shop, clock):
    business, _, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    stranger = UserFactory()
    with pytest.raises(NotAllowed):
        thread.reply(review, stranger, "hi", now=clock.now())
    with pytest.raises(NotAllowed):
        publication.release_now(review, stranger, now=clock.now())


def test_withdrawal_takes_the_stars_out_of_the_aggregate(shop, clock):
    business, _, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    reviews.withdraw(review, review.author, now=clock.now())
    db.session.refresh(business)
    assert (business.rating_count, business.rating_sum) == (0, 0)
    clock.advance(days=4)
    assert publication.publish_due(now=clock.now()) == []


def test_sweep_takes_oldest_first_and_respects_its_batch(shop, clock):
    business, _, _ = shop
    made = [ReviewFactory(business=business, publish_at=START + timedelta(minutes=m)) for m in (3, 1, 2)]
    clock.set(START + timedelta(hours=1))
    first = publication.publish_due(now=clock.now(), limit=2)
    assert first == [made[1].id, made[2].id]
    assert publication.publish_due(now=clock.now(), limit=2) == [made[0].id]
    assert db.session.scalar(select(Review.status).where(Review.id == made[0].id)) is ReviewStatus.PUBLISHED


def test_the_business_offers_a_remedy_and_the_reviewer_accepts_once(shop, clock):
    from reviewsite.models import RemedyKind
    from reviewsite.services import thread

    business, owner, _ = shop
    review = submit(business, UserFactory(), 2, clock)
    with pytest.raises(NotAllowed):
        thread.offer_remedy(review, review.author, RemedyKind.REFUND, "refund myself?", now=clock.now())
    offer = thread.offer_remedy(review, owner, RemedyKind.REFUND, "Full refund of 24 GBP.", now=clock.now())
    assert [n.recipient_id for n in notifications("remedy_offer")] == [review.author_id]
    db.session.expire(review)
    assert review.first_business_reply_at == START and review.reminder_due_at is None
    with pytest.raises(NotAllowed):
        thread.accept_offer(offer, owner, now=clock.now())
    thread.accept_offer(offer, review.author, now=clock.now())
    with pytest.raises(InvalidTransition):
        thread.accept_offer(offer, review.author, now=clock.now())
    assert {n.recipient_id for n in notifications("offer_accepted")} == {m.user_id for m in business.memberships}
    # Accepting changes nothing about the review or its window.
    db.session.expire(review)
    assert (review.status, review.stars, review.publish_at) == (ReviewStatus.HELD, 2, START + timedelta(hours=72))


def test_release_times_within_the_next_interval_feed_the_sweeps_hints(shop, clock):
    business, _, _ = shop
    for seconds in (0, 1, 3, 7):
        ReviewFactory(business=business, publish_at=START + timedelta(seconds=seconds))
    found = publication.release_times_within(now=START, horizon=timedelta(seconds=5), limit=10)
    assert found == [START + timedelta(seconds=1), START + timedelta(seconds=3)]


def test_two_revisions_in_the_same_instant_are_two_notices(shop, clock):
    business, _, _ = shop
    review = submit(business, UserFactory(), 1, clock)
    reviews.revise(review, review.author, stars=3, title="t", body="b", now=clock.now())
    reviews.revise(review, review.author, stars=1, title="t", body="b", now=clock.now())
    assert sorted(n.review_stars for n in notifications("review_revised")) == [1, 1, 3, 3]


def written(business) -> dict[str, object]:
    return submission_footprint(business.id)


def test_a_repeated_submission_is_refused_clearly_writes_nothing_and_leaves_the_transaction_usable(shop, clock):
    business, _, _ = shop
    author = UserFactory()
    submit(business, author, 2, clock)
    before = written(business)
    with pytest.raises(Conflict, match="You have already reviewed this business."):
        submit(business, author, 1, clock)
    assert written(business) == before
    # No savepoint guards the insert any more: the refusal must not have poisoned the
    # transaction (PostgreSQL refuses every statement after a failed one).
    assert submit(BusinessFactory(), author, 5, clock).status is ReviewStatus.PUBLISHED


def test_a_refused_member_or_unconfirmed_author_writes_nothing(shop, clock):
    business, owner, staff = shop
    before = written(business)
    for author in (owner, staff, UserFactory(unconfirmed=True)):
        with pytest.raises(NotAllowed):
            submit(business, author, 1, clock)
    assert written(business) == before


@pytest.mark.parametrize("stars", [2, 5])
def test_the_returned_review_is_the_stored_row_with_its_event_and_aggregate(shop, clock, stars):
    business, _, _ = shop
    author = UserFactory()
    before = written(business)
    review = submit(business, author, stars, clock, title="  Cold soup ", body=" It was cold. ")
    columns = [column.key for column in Review.__table__.columns]
    returned = {key: getattr(review, key) for key in columns}
    db.session.expire(review)  # read the row back from the database
    assert returned == {key: getattr(review, key) for key in columns}
    assert (review.title, review.body) == ("Cold soup", "It was cold.")
    assert (review.extended_seconds, review.reminders_sent) == (0, 0)
    event = db.session.scalars(select(ReviewEvent).where(ReviewEvent.review_id == review.id)).one()
    assert (event.action, event.actor_id, event.from_status, event.to_status, event.details, event.at) == (
        "submitted", author.id, None, review.status.value, {"stars": stars}, START)
    count, total, version = before["aggregate"]
    assert written(business)["aggregate"] == (count + 1, total + stars, version + 1)
    assert written(business)["notices"] == (2 if review.status is ReviewStatus.HELD else 0)


def test_insert_unique_returns_a_persistent_row_and_refuses_a_second_one(shop, clock):
    business, _, _ = shop
    author = UserFactory()
    values = {"business_id": business.id, "author_id": author.id, "stars": 5, "title": "t", "body": "b",
              "status": ReviewStatus.PUBLISHED, "created_at": clock.now(), "published_at": clock.now()}
    review = insert_unique(Review, values, unique=("business_id", "author_id"), conflict_message="twice")
    assert review in db.session and review.id is not None
    assert review.extended_seconds == 0  # not given: the column default, read from the row
    with pytest.raises(Conflict, match="twice"):
        insert_unique(Review, {**values, "stars": 1}, unique=("business_id", "author_id"), conflict_message="twice")
    assert db.session.scalars(select(Review.stars).where(Review.author_id == author.id)).all() == [5]
