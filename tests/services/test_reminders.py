"""Reminders, with the clock moved instead of waiting: due times, never after a reply, never
after the review left the window, scaled down for short windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Notification
from reviewsite.services import publication, reminders, reviews, thread
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START


@pytest.fixture
def held(ctx, clock):
    business = BusinessFactory()
    MembershipFactory(business=business)
    MembershipFactory(business=business)
    return reviews.submit_review(UserFactory(), business, stars=1, title="t", body="b", now=clock.now())


def reminder_facts() -> list[str]:
    return sorted(db.session.scalars(select(Notification.dedupe_key).where(Notification.kind == "reminder")))


def sweep_at(clock, instant) -> list[int]:
    clock.set(instant)
    return reminders.send_due_reminders(now=clock.now())


def test_half_way_and_a_day_before_release(held, clock):
    assert sweep_at(clock, START + timedelta(hours=36) - timedelta(seconds=1)) == []
    assert sweep_at(clock, START + timedelta(hours=36)) == [held.id]
    assert len(reminder_facts()) == 2  # both members
    assert sweep_at(clock, START + timedelta(hours=48) - timedelta(seconds=1)) == []
    assert sweep_at(clock, START + timedelta(hours=48)) == [held.id]
    assert len(reminder_facts()) == 4
    assert sweep_at(clock, START + timedelta(hours=71)) == []


def test_no_reminder_once_the_business_replied(held, clock):
    member = held.business.memberships[0].user
    clock.advance(hours=1)
    thread.reply(held, member, "Sorry! Can we call you?", now=clock.now())
    assert sweep_at(clock, START + timedelta(hours=60)) == []
    assert reminder_facts() == []


def test_a_reviewer_message_does_not_stop_reminders(held, clock):
    thread.reply(held, held.author, "Hello?", now=clock.now())
    assert sweep_at(clock, START + timedelta(hours=36)) == [held.id]


@pytest.mark.parametrize("leave", ["publish", "withdraw", "release"])
def test_no_reminder_after_the_review_left_the_window(held, clock, leave):
    if leave == "publish":
        clock.set(held.publish_at)
        publication.publish_due(now=clock.now())
    elif leave == "withdraw":
        reviews.withdraw(held, held.author, now=clock.now())
    else:
        publication.release_now(held, held.author, now=clock.now())
    assert sweep_at(clock, START + timedelta(days=30)) == []
    assert reminder_facts() == []


def test_a_late_sweep_sends_one_reminder_not_two(held, clock):
    assert sweep_at(clock, START + timedelta(hours=50)) == [held.id]
    assert sweep_at(clock, START + timedelta(hours=51)) == []
    assert len(reminder_facts()) == 2


def test_an_extension_moves_the_last_reminder(held, clock):
    sweep_at(clock, START + timedelta(hours=36))
    reviews.extend_window(held, held.author, hours=24, now=clock.now())
    assert sweep_at(clock, START + timedelta(hours=48)) == []
    assert sweep_at(clock, START + timedelta(hours=72)) == [held.id]


def test_short_windows_scale_the_reminders_down(app, ctx, clock):
    app.config["WINDOW_SECONDS"] = 60
    try:
        business = BusinessFactory()
        MembershipFactory(business=business)
        review = reviews.submit_review(UserFactory(), business, stars=2, title="t", body="b", now=clock.now())
        assert sweep_at(clock, START + timedelta(seconds=29)) == []
        assert sweep_at(clock, START + timedelta(seconds=30)) == [review.id]
        assert sweep_at(clock, START + timedelta(seconds=39)) == []
        assert sweep_at(clock, START + timedelta(seconds=40)) == [review.id]
    finally:
        app.config["WINDOW_SECONDS"] = 72 * 3600
