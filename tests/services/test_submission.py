"""What a submission writes (services/submission.py). On PostgreSQL the review, its event, the
held notices and the rating go as one statement; here that statement is held to the portable
steps: from the same state, the same rows, the same notices handed to the dispatch, the same
review object returned, and the same refusal of a second review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Text, cast, select

from reviewsite.extensions import db
from reviewsite.models import (Business, Delivery, EmailStatus, HoldChoice, Notification, NotificationPreference, Review,
                               ReviewEvent, ReviewStatus)
from reviewsite.services import submission
from reviewsite.services.errors import Conflict
from reviewsite.services.notification_kinds import topic_of
from reviewsite.services.outbox import PENDING_IDS_KEY
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START

WAYS = (submission._in_steps, submission._in_one_statement)


def values(business, author, *, stars: int, held: bool, choice: HoldChoice | None = None) -> dict[str, object]:
    return {
        "business_id": business.id, "author_id": author.id, "stars": stars, "title": "Cold soup", "body": "It was cold.",
        "status": ReviewStatus.HELD if held else ReviewStatus.PUBLISHED, "created_at": START,
        "held_at": START if held else None, "publish_at": START + timedelta(days=14) if held else None,
        "reminder_due_at": START + timedelta(days=7) if held else None, "published_at": None if held else START,
        "extended_seconds": 0, "reminders_sent": 0, "hold_choice": choice,
    }


def written(review: Review) -> dict[str, object]:
    """Everything the submission wrote, the ids that sequences hand out replaced by names (they
    differ between the two runs); JSON as the stored text, so that a difference of a space shows."""
    columns = [c for c in Review.__table__.columns if c.key != "id"]
    returned = {c.key: getattr(review, c.key) for c in columns}
    review_id = review.id
    db.session.expire_all()
    notices = db.session.execute(
        select(Notification.dedupe_key, Notification.kind, Notification.recipient_id, Notification.to_address,
               Notification.review_stars, Notification.review_publish_at, cast(Notification.facts, Text),
               Notification.created_at, Notification.next_attempt_at, Notification.email_status,
               Notification.attempts, Notification.id)
        .where(Notification.review_id == review_id)
        .order_by(Notification.recipient_id)
    ).all()
    dispatched = set(db.session.info.get(PENDING_IDS_KEY, []))
    return {
        "review": tuple(db.session.execute(select(*columns).where(Review.id == review_id)).one()),
        "events": db.session.execute(
            select(ReviewEvent.actor_id, ReviewEvent.action, ReviewEvent.from_status, ReviewEvent.to_status,
                   cast(ReviewEvent.details, Text), ReviewEvent.at)
            .where(ReviewEvent.review_id == review_id)
        ).all(),
        "notices": [(key.replace(f":{review_id}:", ":R:"), *rest[:-1], rest[-1] in dispatched)
                    for key, *rest in notices],
        "dispatched": len(dispatched),
        "business": tuple(db.session.execute(
            select(Business.rating_count, Business.rating_sum, Business.listing_version)
            .where(Business.id == review.business_id)).one()),
        "returned": returned,
    }


def both_ways(write_values: dict[str, object], member_ids: list[int], details: dict[str, object]) -> list[dict]:
    """Each way from the same state (a savepoint rolled back between them)."""
    results = []
    for way in WAYS:
        savepoint = db.session.begin_nested()
        db.session.info.pop(PENDING_IDS_KEY, None)
        review = way(dict(write_values), member_ids=member_ids, details=details, now=START)
        results.append(written(review))
        savepoint.rollback()
    return results


@pytest.mark.postgresql_only
@pytest.mark.parametrize("case", ["held", "held, reviewer's choice", "held, no members", "published at once"])
def test_the_submission_in_one_statement_writes_what_the_steps_write(ctx, case):
    business = BusinessFactory()
    author = UserFactory()
    members = [] if case == "held, no members" else [UserFactory(), UserFactory(), UserFactory()]
    for user, delivery in zip(members, (None, Delivery.DIGEST, Delivery.SITE_ONLY)):
        MembershipFactory(business=business, user=user)
        if delivery is not None:
            db.session.add(NotificationPreference(user_id=user.id, topic=topic_of("review_held"), delivery=delivery,
                                                  updated_at=START))
    db.session.flush()
    held = case != "published at once"
    choice = HoldChoice.WINDOW if case == "held, reviewer's choice" else None
    stars = 5 if case in ("published at once", "held, reviewer's choice") else 2
    details = {"stars": stars, **({"choice": choice.value} if choice else {})}
    steps, one_statement = both_ways(values(business, author, stars=stars, held=held, choice=choice),
                                     [m.id for m in members], details)
    assert len(steps["events"]) == 1
    assert len(steps["notices"]) == (len(members) if held else 0)
    assert steps["business"][0] == 1 and steps["business"][1] == stars
    if held and members:  # each member's preference decides their email's status
        assert {notice[9] for notice in steps["notices"]} == {EmailStatus.PENDING, EmailStatus.DIGEST,
                                                              EmailStatus.SITE_ONLY}
        assert steps["dispatched"] == len(members)
    assert one_statement == steps


@pytest.mark.postgresql_only
def test_a_second_review_is_refused_both_ways_and_writes_nothing(ctx):
    business = BusinessFactory()
    author, member = UserFactory(), UserFactory()
    MembershipFactory(business=business, user=member)
    first = submission._in_steps(values(business, author, stars=2, held=True), member_ids=[member.id],
                                 details={"stars": 2}, now=START)
    before = written(first)
    for way in WAYS:
        with pytest.raises(Conflict, match="You have already reviewed this business."):
            way(values(business, author, stars=1, held=True), member_ids=[member.id], details={"stars": 1}, now=START)
        assert written(first) == before
        assert db.session.scalar(select(Review.id).where(Review.author_id == author.id)) == first.id
