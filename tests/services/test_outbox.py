from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Text, cast, func, select

from reviewsite.extensions import db
from reviewsite.models import Delivery, EmailStatus, Notification, NotificationPreference
from reviewsite.services.outbox import PENDING_IDS_KEY, notify, notify_published
from tests.factories import BusinessFactory, MembershipFactory, ReviewFactory, UserFactory
from tests.helpers import START


def test_a_fact_produces_at_most_one_row_per_recipient(ctx, clock):
    review = ReviewFactory()
    person = UserFactory()
    first = notify("review_held", [person], now=clock.now(), review=review)
    second = notify("review_held", [person], now=clock.now(), review=review)
    assert len(first) == 1 and second == []
    assert db.session.scalar(select(func.count(Notification.id))) == 1


def test_a_notice_keeps_the_facts_of_its_moment(ctx, clock):
    from reviewsite.services.notification_kinds import summary_for
    from reviewsite.services import reviews
    from tests.factories import BusinessFactory, MembershipFactory

    business = BusinessFactory(name="Corner Cafe")
    MembershipFactory(business=business)
    author = UserFactory()
    review = reviews.submit_review(author, business, stars=2, title="t", body="b", now=clock.now())
    reviews.revise(review, author, stars=4, title="t", body="b", now=clock.now())
    held = db.session.scalar(select(Notification).where(Notification.kind == "review_held"))
    assert summary_for(held) == "A 2-star review of Corner Cafe is in its make-it-right window"


# What the outbox writes, the same rows on both backends.


def written() -> list[tuple]:
    """Every notification, by dedupe key, without the id; facts as the stored JSON text."""
    db.session.expire_all()
    return [
        tuple(row)
        for row in db.session.execute(
            select(Notification.dedupe_key, Notification.kind, Notification.recipient_id, Notification.review_id,
                   cast(Notification.facts, Text), Notification.created_at, Notification.next_attempt_at,
                   Notification.email_status, Notification.attempts, Notification.read_at,
                   Notification.lease_until, Notification.sent_at, Notification.review_stars,
                   Notification.review_publish_at)
            .order_by(Notification.dedupe_key)
        )
    ]


@pytest.fixture
def people(ctx):
    """One person per preference for review_held: email, digest, site only, and no choice."""
    chosen = {Delivery.EMAIL: UserFactory(), Delivery.DIGEST: UserFactory(), Delivery.SITE_ONLY: UserFactory()}
    for delivery, user in chosen.items():
        db.session.add(NotificationPreference(user_id=user.id, topic="review_held", delivery=delivery,
                                              updated_at=START))
        # A choice for another topic must not count.
        db.session.add(NotificationPreference(user_id=user.id, topic="thread_message", delivery=Delivery.SITE_ONLY,
                                              updated_at=START))
    default = UserFactory()
    db.session.flush()
    return [chosen[Delivery.EMAIL], chosen[Delivery.DIGEST], chosen[Delivery.SITE_ONLY], default]


def test_the_rows_follow_each_preference(people, clock):
    review = ReviewFactory(stars=2, publish_at=START + timedelta(days=2, microseconds=250000))
    db.session.info.pop(PENDING_IDS_KEY, None)
    ids = notify("review_held", people, now=clock.now(), review=review, delay=timedelta(seconds=30))
    expected = [
        (f"review_held:{review.id}:{person.id}", "review_held", person.id, review.id, "{}", START,
         START + timedelta(seconds=30), status, 0, None, None, None, 2, START + timedelta(days=2, microseconds=250000))
        for person, status in zip(people, [EmailStatus.PENDING, EmailStatus.DIGEST, EmailStatus.SITE_ONLY,
                                           EmailStatus.PENDING], strict=True)
    ]
    assert written() == sorted(expected)
    assert len(set(ids)) == 4
    assert db.session.info[PENDING_IDS_KEY] == ids
    # The same fact again writes nothing and dispatches nothing more.
    assert notify("review_held", list(reversed(people)), now=clock.now(), review=review) == []
    assert len(written()) == 4 and db.session.info[PENDING_IDS_KEY] == ids


def test_account_mail_goes_whatever_the_preferences(people, clock):
    ids = notify("password_reset", people, now=clock.now(), fact="token-1", extra_facts={"site": "x", "n": None})
    assert [(row[0], row[3], json.loads(row[4]), row[7]) for row in written()] == sorted(
        (f"password_reset:token-1:{person.id}", None, {"site": "x", "n": None}, EmailStatus.PENDING)
        for person in people
    )
    assert len(ids) == 4


def test_extra_facts_are_kept_as_given(people, clock):
    notify("review_held", people[1:2], now=clock.now(), fact="f", extra_facts={"ünïcode": "é", "list": [1, 2.5]})
    assert [json.loads(row[4]) for row in written()] == [{"ünïcode": "é", "list": [1, 2.5]}]


def test_a_published_batch_tells_each_author_and_every_member_once_with_their_preferences(people, clock):
    shop, lonely = BusinessFactory(), BusinessFactory()
    for person in people:
        MembershipFactory(business=shop, user=person)
    first = ReviewFactory(business=shop, author=people[3], stars=1, publish_at=START + timedelta(minutes=1))
    second = ReviewFactory(business=lonely, stars=3, publish_at=START + timedelta(minutes=2))
    db.session.add(NotificationPreference(user_id=people[1].id, topic="review_published", delivery=Delivery.DIGEST,
                                          updated_at=START))
    db.session.flush()
    db.session.info.pop(PENDING_IDS_KEY, None)
    ids = notify_published([first.id, second.id], now=clock.now())
    rows = written()
    # The author of the first is a member too: told once.
    assert sorted((row[2], row[3]) for row in rows) == sorted(
        [(person.id, first.id) for person in people] + [(second.author_id, second.id)])
    assert {row[0] for row in rows} == {f"review_published:{row[3]}:{row[2]}" for row in rows}
    statuses = {(row[2], row[3]): row[7] for row in rows}
    assert statuses[(people[1].id, first.id)] is EmailStatus.DIGEST  # their choice for this topic
    assert statuses[(people[2].id, first.id)] is EmailStatus.PENDING  # a choice for another topic
    assert {(row[3], row[12], row[13]) for row in rows} == {
        (first.id, 1, START + timedelta(minutes=1)), (second.id, 3, START + timedelta(minutes=2))}
    assert sorted(db.session.info[PENDING_IDS_KEY]) == sorted(ids) and len(ids) == 5
    assert notify_published([first.id, second.id], now=clock.now()) == []


def test_a_choice_not_yet_flushed_counts(ctx, clock):
    person = UserFactory()
    db.session.add(NotificationPreference(user_id=person.id, topic="review_held", delivery=Delivery.SITE_ONLY,
                                          updated_at=START))
    notify("review_held", [person], now=clock.now(), fact="x")
    assert [row[7] for row in written()] == [EmailStatus.SITE_ONLY]
