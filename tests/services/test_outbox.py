from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Text, cast, func, select

from reviewsite.extensions import db
from reviewsite.models import Delivery, EmailStatus, Notification, NotificationPreference
from reviewsite.services import outbox
from reviewsite.services.outbox import PENDING_IDS_KEY, Fact, notify, notify_many
from tests.factories import ReviewFactory, UserFactory
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


# What notify_many writes, held to the same rows on both backends.


def written() -> list[tuple]:
    """Every notification, in id order, without the id; facts as the stored JSON text."""
    db.session.expire_all()
    return [
        tuple(row)
        for row in db.session.execute(
            select(Notification.dedupe_key, Notification.kind, Notification.recipient_id, Notification.review_id,
                   cast(Notification.facts, Text), Notification.created_at, Notification.next_attempt_at,
                   Notification.email_status, Notification.attempts, Notification.read_at,
                   Notification.lease_until, Notification.sent_at)
            .order_by(Notification.id)
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
    facts = json.dumps({"stars": 2, "publish_at": (START + timedelta(days=2, microseconds=250000)).isoformat()})
    assert written() == [
        (f"review_held:{review.id}:{person.id}", "review_held", person.id, review.id, facts, START,
         START + timedelta(seconds=30), status, 0, None, None, None)
        for person, status in zip(people, [EmailStatus.PENDING, EmailStatus.DIGEST, EmailStatus.SITE_ONLY,
                                           EmailStatus.PENDING], strict=True)
    ]
    assert len(set(ids)) == 4
    assert db.session.info[PENDING_IDS_KEY] == ids
    # The same fact again writes nothing and dispatches nothing more.
    assert notify("review_held", list(reversed(people)), now=clock.now(), review=review) == []
    assert len(written()) == 4 and db.session.info[PENDING_IDS_KEY] == ids


def test_account_mail_goes_whatever_the_preferences(people, clock):
    ids = notify("password_reset", people, now=clock.now(), fact="token-1", extra_facts={"site": "x", "n": None})
    assert [(row[0], row[3], row[4], row[7]) for row in written()] == [
        (f"password_reset:token-1:{person.id}", None, '{"site": "x", "n": null}', EmailStatus.PENDING)
        for person in people
    ]
    assert len(ids) == 4


def test_many_facts_in_fact_then_recipient_order_across_chunks(people, clock, monkeypatch):
    monkeypatch.setattr(outbox, "INSERT_CHUNK", 3)
    reviews = [ReviewFactory(stars=stars) for stars in (1, 5)]
    facts = [Fact(subject=review.id, review_id=review.id, recipient_ids=tuple(p.id for p in people),
                  facts={"stars": review.stars}) for review in reviews]
    ids = notify_many("review_held", facts, now=clock.now())
    assert len(ids) == 8
    assert [(row[0], row[4]) for row in written()] == [
        (f"review_held:{review.id}:{person.id}", f'{{"stars": {review.stars}}}') for review in reviews
        for person in people
    ]
    assert notify_many("review_held", facts, now=clock.now()) == []
    assert notify_many("review_held", [], now=clock.now()) == []
    assert notify_many("review_held", [Fact(subject=1, recipient_ids=())], now=clock.now()) == []


def test_facts_preferences_and_delay_are_written_as_given(people, clock):
    review = ReviewFactory(stars=3, publish_at=START + timedelta(days=1))
    facts = [
        Fact(subject=review.id, review_id=review.id, recipient_ids=tuple(p.id for p in people),
             facts=outbox.review_facts(review.stars, review.publish_at)),
        Fact(subject="", recipient_ids=(people[1].id, people[3].id), facts={"ünïcode": "é", "list": [1, 2.5]}),
    ]
    ids = notify_many("review_held", facts, now=clock.now(), delay=timedelta(minutes=1))
    assert notify_many("review_held", facts, now=clock.now()) == []
    rows = written()
    assert len(ids) == len(rows) == 6
    assert [row[7] for row in rows] == [EmailStatus.PENDING, EmailStatus.DIGEST, EmailStatus.SITE_ONLY,
                                        EmailStatus.PENDING, EmailStatus.DIGEST, EmailStatus.PENDING]
    assert [json.loads(row[4]) for row in rows] == (
        [{"stars": 3, "publish_at": (START + timedelta(days=1)).isoformat()}] * 4
        + [{"ünïcode": "é", "list": [1, 2.5]}] * 2)
    assert {row[6] for row in rows} == {clock.now() + timedelta(minutes=1)}
    assert db.session.info[PENDING_IDS_KEY] == ids


def test_a_choice_not_yet_flushed_counts(ctx, clock):
    person = UserFactory()
    db.session.add(NotificationPreference(user_id=person.id, topic="review_held", delivery=Delivery.SITE_ONLY,
                                          updated_at=START))
    notify("review_held", [person], now=clock.now(), fact="x")
    assert [row[7] for row in written()] == [EmailStatus.SITE_ONLY]
