"""Every review state x every action: allowed (and what it leads to) or a domain error that
changes nothing (invariant 7). The expected table is written out here from DESIGN.md, not
imported from the code it checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Review, ReviewEvent, ReviewStatus
from reviewsite.services import publication, reviews, thread
from reviewsite.services.errors import InvalidTransition
from tests.factories import MembershipFactory, ReviewFactory, UserFactory
from tests.helpers import START

HELD, PUBLISHED, WITHDRAWN, REMOVED = (
    ReviewStatus.HELD, ReviewStatus.PUBLISHED, ReviewStatus.WITHDRAWN, ReviewStatus.REMOVED)

# action -> {source state: resulting state}; a source state not listed must be refused.
EXPECTED = {
    "publish_due": {HELD: PUBLISHED},
    "release_by_reviewer": {HELD: PUBLISHED},
    "release_by_business": {HELD: PUBLISHED},
    "reply": {HELD: HELD},
    "respond": {HELD: HELD, PUBLISHED: PUBLISHED},
    "revise": {HELD: HELD, PUBLISHED: PUBLISHED},
    "extend": {HELD: HELD},
    "withdraw": {HELD: WITHDRAWN, PUBLISHED: WITHDRAWN},
    "remove": {HELD: REMOVED, PUBLISHED: REMOVED},
    # An appeal overturned the removal; this one was removed while held, its window still open.
    "restore": {REMOVED: HELD},
}

STATE_COLUMNS = {
    HELD: {},
    PUBLISHED: {"published_at": START + timedelta(hours=1)},
    WITHDRAWN: {"withdrawn_at": START + timedelta(hours=1)},
    REMOVED: {"removed_at": START + timedelta(hours=1), "removal_reason": "spam"},
}


def make_review_in(state: ReviewStatus):
    owner = UserFactory()
    review = ReviewFactory(status=state, **STATE_COLUMNS[state])
    MembershipFactory(business=review.business, user=owner)
    moderator = UserFactory(moderator=True)
    return review, owner, moderator


def perform(action: str, review: Review, owner, moderator, clock) -> None:
    author = review.author
    if action == "publish_due":
        # The sweep, once this review's time has come: it publishes only what the table allows,
        # and leaves anything else alone without a word (it reports what it did publish).
        clock.set(review.publish_at + timedelta(seconds=1) if review.publish_at else START + timedelta(days=4))
        if publication.publish_due(now=clock.now()) != [review.id]:
            raise InvalidTransition("the sweep left it alone")
    elif action == "release_by_reviewer":
        publication.release_now(review, author, now=clock.now())
    elif action == "release_by_business":
        publication.release_now(review, owner, now=clock.now())
    elif action == "reply":
        thread.reply(review, author, "Can we talk?", now=clock.now())
    elif action == "respond":
        reviews.save_response(review, owner, "We are sorry and have changed supplier.", now=clock.now())
    elif action == "revise":
        reviews.revise(review, author, stars=review.stars, title="Updated", body="Still cold.", now=clock.now())
    elif action == "extend":
        reviews.extend_window(review, author, hours=24, now=clock.now())
    elif action == "withdraw":
        reviews.withdraw(review, author, now=clock.now())
    elif action == "remove":
        reviews.remove(review, moderator, reason="Contains a phone number.", now=clock.now())
    elif action == "restore":
        reviews.restore(review, moderator, now=clock.now())
    else:  # pragma: no cover - the table names every action
        raise AssertionError(action)


def snapshot(review: Review) -> dict[str, object]:
    db.session.expire(review)
    columns = Review.__table__.columns.keys()
    return {name: getattr(review, name) for name in columns}


def event_count() -> int:
    return db.session.scalar(select(func.count(ReviewEvent.id)))


@pytest.mark.parametrize("state", [HELD, PUBLISHED, WITHDRAWN, REMOVED], ids=str)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_transition_table(ctx, clock, state, action):
    review, owner, moderator = make_review_in(state)
    if state is PUBLISHED:
        review.stars = 5
        db.session.flush()
    expected = EXPECTED[action].get(state)
    before, events_before = snapshot(review), event_count()

    if expected is None:
        with pytest.raises(InvalidTransition):
            perform(action, review, owner, moderator, clock)
        assert snapshot(review) == before, "a refused action must change nothing"
        assert event_count() == events_before
    else:
        perform(action, review, owner, moderator, clock)
        db.session.expire(review)
        assert review.status is expected
        assert event_count() >= events_before + (0 if action == "reply" else 1)
