"""Every review state x every action, under both hold policies (HOLD_POLICY): allowed (and what
it leads to) or a domain error that changes nothing (invariant 7). The expected tables are
written out here from DESIGN.md, not imported from the code they check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import HoldChoice, RemedyKind, Review, ReviewEvent, ReviewStatus, Side, ThreadMessage
from reviewsite.services import publication, resolution, reviews, thread
from reviewsite.services.errors import Invalid, InvalidTransition
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
    # The reviewer's own account of how it ended, during the window or after (issue 14).
    "resolve": {HELD: HELD, PUBLISHED: PUBLISHED},
    "confirm_delivery": {HELD: HELD, PUBLISHED: PUBLISHED},
}

# Where the policies differ: a held review raised to 5 stars. By the stars it has left the
# low-star line and is published; by its author's choice it stays held until its date.
REVISE_UP = {
    "low_stars": {HELD: PUBLISHED, PUBLISHED: PUBLISHED},
    "reviewer_choice": {HELD: HELD, PUBLISHED: PUBLISHED},
}

STATE_COLUMNS = {
    HELD: {},
    PUBLISHED: {"published_at": START + timedelta(hours=1)},
    WITHDRAWN: {"withdrawn_at": START + timedelta(hours=1)},
    REMOVED: {"removed_at": START + timedelta(hours=1), "removal_reason": "spam"},
}


def make_review_in(state: ReviewStatus, policy: str = "low_stars"):
    """A review in ``state`` as the policy would have left it: in reviewer-choice mode a held
    review is one its author chose to hold, a published one one its author published at once.
    It has an offer its author accepted, for the actions on offers."""
    owner = UserFactory()
    choice = {HELD: HoldChoice.WINDOW}.get(state, HoldChoice.PUBLISH_NOW) if policy == "reviewer_choice" else None
    review = ReviewFactory(status=state, hold_choice=choice, **STATE_COLUMNS[state])
    MembershipFactory(business=review.business, user=owner)
    db.session.add(ThreadMessage(review_id=review.id, author_id=owner.id, side=Side.BUSINESS, body="A refund.",
                                 remedy=RemedyKind.REFUND, created_at=START, accepted_at=START))
    moderator = UserFactory(moderator=True)
    db.session.flush()
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
    elif action == "revise_up":
        reviews.revise(review, author, stars=5, title="Better now", body="They sorted it out.", now=clock.now())
    elif action == "resolve":
        resolution.resolve(review, author, note="Sorted.", now=clock.now())
    elif action == "confirm_delivery":
        offer = db.session.scalar(select(ThreadMessage).where(ThreadMessage.review_id == review.id))
        resolution.confirm_delivered(offer, author, now=clock.now())
    else:  # pragma: no cover - the table names every action
        raise AssertionError(action)


def snapshot(review: Review) -> dict[str, object]:
    db.session.expire(review)
    columns = Review.__table__.columns.keys()
    return {name: getattr(review, name) for name in columns}


def event_count() -> int:
    return db.session.scalar(select(func.count(ReviewEvent.id)))


@pytest.mark.parametrize("state", [HELD, PUBLISHED, WITHDRAWN, REMOVED], ids=str)
@pytest.mark.parametrize("action", sorted([*EXPECTED, "revise_up"]))
def test_transition_table(ctx, clock, hold_policy, state, action):
    review, owner, moderator = make_review_in(state, hold_policy)
    if state is PUBLISHED:
        review.stars = 5
        db.session.flush()
    expected = (REVISE_UP[hold_policy] if action == "revise_up" else EXPECTED[action]).get(state)
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


# Submission: (policy, stars, the author's choice) -> the state a new review starts in.
SUBMIT = {
    **{("low_stars", stars, None): HELD if stars <= 3 else PUBLISHED for stars in range(1, 6)},
    **{("reviewer_choice", stars, HoldChoice.WINDOW): HELD for stars in range(1, 6)},
    **{("reviewer_choice", stars, HoldChoice.PUBLISH_NOW): PUBLISHED for stars in range(1, 6)},
}


@pytest.mark.parametrize("stars", range(1, 6))
@pytest.mark.parametrize("choice", [None, HoldChoice.WINDOW, HoldChoice.PUBLISH_NOW], ids=str)
def test_submission_table(ctx, clock, hold_policy, stars, choice):
    """In low-stars mode the stars decide and no choice is stored (nobody was asked); in
    reviewer-choice mode the author must choose, the choice is stored, and a review published now
    by its author's choice is never held, whatever its stars."""
    author, business = UserFactory(), ReviewFactory.build().business
    db.session.add(business)
    db.session.flush()
    expected = SUBMIT.get((hold_policy, stars, choice if hold_policy == "reviewer_choice" else None))
    if hold_policy == "reviewer_choice" and choice is None:
        with pytest.raises(Invalid, match="Choose when your review is published"):
            reviews.submit_review(author, business, stars=stars, title="t", body="b", now=clock.now(), choice=choice)
        assert db.session.scalar(select(func.count(Review.id)).where(Review.business_id == business.id)) == 0
        return
    review = reviews.submit_review(author, business, stars=stars, title="t", body="b", now=clock.now(), choice=choice)
    assert review.status is expected
    assert review.hold_choice is (choice if hold_policy == "reviewer_choice" else None)
    assert (review.publish_at is not None) is (expected is HELD)
    submitted = db.session.scalar(select(ReviewEvent).where(ReviewEvent.review_id == review.id))
    assert submitted.details.get("choice") == (choice.value if hold_policy == "reviewer_choice" else None)
