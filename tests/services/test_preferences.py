"""Preferences decide how a notice travels; account mail always goes; digests fold once a day;
thread messages in a burst become one email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Delivery, EmailStatus, Notification
from reviewsite.services import accounts, digests, preferences, reviews, thread
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START


def rows(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


@pytest.fixture
def shop(ctx):
    business = BusinessFactory()
    owner = UserFactory()
    MembershipFactory(business=business, user=owner)
    return business, owner


@pytest.mark.parametrize("delivery,status", [(Delivery.EMAIL, EmailStatus.PENDING),
                                             (Delivery.DIGEST, EmailStatus.DIGEST),
                                             (Delivery.SITE_ONLY, EmailStatus.SITE_ONLY)])
def test_the_choice_decides_how_a_notice_travels(shop, clock, delivery, status):
    business, owner = shop
    preferences.choose(owner.id, "review_held", delivery, now=clock.now())
    reviews.submit_review(UserFactory(), business, stars=2, title="t", body="b", now=clock.now())
    assert [row.email_status for row in rows("review_held")] == [status]


def test_account_mail_cannot_be_turned_off(ctx, clock):
    user = UserFactory()
    for topic in ("review_held", "thread_message", "reminder", "review_published", "review_updates"):
        preferences.choose(user.id, topic, Delivery.SITE_ONLY, now=clock.now())
    accounts.request_password_reset(user.email, now=clock.now())
    assert [row.email_status for row in rows("password_reset")] == [EmailStatus.PENDING]


def test_unknown_topics_are_refused(ctx, clock):
    from reviewsite.services.errors import Invalid

    with pytest.raises(Invalid):
        preferences.choose(UserFactory().id, "everything", Delivery.SITE_ONLY, now=clock.now())


def test_digest_folds_waiting_notices_once_a_day(app, shop, clock):
    business, owner = shop
    preferences.choose(owner.id, "review_held", Delivery.DIGEST, now=clock.now())
    clock.set(START.replace(hour=6))
    for _ in range(2):
        reviews.submit_review(UserFactory(), business, stars=2, title="t", body="b", now=clock.now())
    assert digests.queue_digests(now=clock.now()) == [], "not before the digest hour"
    clock.set(START.replace(hour=app.config["DIGEST_HOUR_UTC"]))
    [digest_id] = digests.queue_digests(now=clock.now())
    digest = db.session.get(Notification, digest_id)
    assert digest.recipient_id == owner.id and digest.email_status is EmailStatus.PENDING
    assert digest.facts["items"] == [row.id for row in rows("review_held")]
    assert {row.email_status for row in rows("review_held")} == {EmailStatus.SENT}
    # A third notice later today waits for tomorrow's digest.
    reviews.submit_review(UserFactory(), business, stars=1, title="t", body="b", now=clock.now())
    clock.advance(hours=3)
    assert digests.queue_digests(now=clock.now()) == []
    clock.advance(days=1)
    assert len(digests.queue_digests(now=clock.now())) == 1


def test_a_burst_of_messages_is_one_email(app, shop, clock):
    business, owner = shop
    review = reviews.submit_review(UserFactory(), business, stars=2, title="t", body="b", now=clock.now())
    for seconds in (0, 30, 90):
        clock.set(START + timedelta(seconds=seconds))
        thread.reply(review, owner, f"message at {seconds}s", now=clock.now())
    [gathered] = rows("thread_message")
    assert gathered.facts["messages"] == 3
    assert gathered.next_attempt_at == START + timedelta(seconds=app.config["MESSAGE_GATHER_SECONDS"])
    clock.set(START + timedelta(seconds=app.config["MESSAGE_GATHER_SECONDS"] + 1))
    thread.reply(review, owner, "after the burst", now=clock.now())
    assert [row.facts["messages"] for row in rows("thread_message")] == [3, 1]
