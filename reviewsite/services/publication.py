"""Publication: how a held review becomes public.

Either party may end the window early (:func:`release_now`); otherwise the system publishes the
review once its ``publish_at`` has come (:func:`publish_due`, the sweep) and never before
(invariant 2). Nobody can delay or suppress it. Publishing twice is impossible: every path is a
compare-and-set on a row that must still be held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Update, insert, literal, null, select, update

from reviewsite.extensions import db
from reviewsite.models import Review, ReviewEvent, ReviewStatus, Side, User
from reviewsite.services import access, listings, members
from reviewsite.services.lifecycle import ALLOWED_FROM, Action, audit, compare_and_set
from reviewsite.services.outbox import notify, notify_published


def release_now(review: Review, actor: User, *, now: datetime) -> None:
    """Either party may end the window early; it is the only way to shorten it. The review is
    published with the business's response if it wrote one."""
    side = access.require_side(actor, review, Side.REVIEWER, Side.BUSINESS)
    compare_and_set(review, Action.RELEASE, status=ReviewStatus.PUBLISHED, published_at=now, released_by=side,
                    reminder_due_at=None)
    audit(review, "published", actor_id=actor.id, now=now, from_status=ReviewStatus.HELD,
          to_status=ReviewStatus.PUBLISHED, released_by=side.value)
    listings.changed([review.business_id])
    notify("review_published", [review.author_id, *members.member_ids(review.business_id)], now=now, review=review)


def publish_due(*, now: datetime, limit: int = 500) -> list[int]:
    """The sweep's step: publish the oldest ``limit`` held reviews whose time has come, writing
    for each what :func:`release_now` writes (an audit event, the listing's version, a notice to
    the author and every member), in a few set-based statements whatever the batch size.
    Returns their ids in ``publish_at`` order."""
    published = sorted(
        db.session.execute(_claim_and_publish(now, limit).execution_options(synchronize_session=False)).all(),
        key=lambda row: (row.publish_at, row.id),
    )
    if not published:
        return []
    ids = [row.id for row in published]
    db.session.execute(
        insert(ReviewEvent).from_select(
            ["review_id", "actor_id", "action", "from_status", "to_status", "details", "at"],
            select(Review.id, null(), literal("published"), literal(ReviewStatus.HELD.value),
                   literal(ReviewStatus.PUBLISHED.value),
                   literal({"released_by": Side.SYSTEM.value}, ReviewEvent.details.type),
                   literal(now, ReviewEvent.at.type))
            .where(Review.id.in_(ids))
            .order_by(Review.publish_at, Review.id),
        )
    )
    notify_published(ids, now=now)
    # Last, as in submission: the businesses' rows are locked only from here to the commit.
    listings.changed(row.business_id for row in published)
    # The rows changed behind the ORM's back: objects already loaded must read them again.
    for review in [obj for obj in db.session.identity_map.values() if isinstance(obj, Review) and obj.id in ids]:
        db.session.expire(review)
    return ids


def _claim_and_publish(now: datetime, limit: int) -> Update:
    """``UPDATE ... RETURNING`` the oldest ``limit`` held reviews due at ``now``.

    The claim is a CTE, evaluated exactly once (PostgreSQL may rescan a ``LIMIT ... FOR UPDATE``
    subquery inside a semi-join and claim more rows than the batch). ``SKIP LOCKED`` lets several
    sweeps share a backlog on PostgreSQL; SQLite's write transactions serialise them. The WHERE
    repeats the transition table's rule (still held) and invariant 2's (its time has come)."""
    allowed = Review.status.in_(ALLOWED_FROM[Action.PUBLISH_DUE])
    due = (
        select(Review.id)
        .where(allowed, Review.publish_at <= now)
        .order_by(Review.publish_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    return (
        update(Review)
        .where(Review.id == due.c.id, allowed, Review.publish_at <= now)
        .values(status=ReviewStatus.PUBLISHED, published_at=now, released_by=Side.SYSTEM, reminder_due_at=None)
        .returning(Review.id, Review.business_id, Review.author_id, Review.stars, Review.publish_at)
    )


def release_times_within(*, now: datetime, horizon: timedelta, limit: int) -> list[datetime]:
    """When the next held reviews fall due, up to ``horizon`` ahead (read from the sweep's index)."""
    return list(
        db.session.scalars(
            select(Review.publish_at)
            .where(Review.status == ReviewStatus.HELD, Review.publish_at > now, Review.publish_at <= now + horizon)
            .order_by(Review.publish_at)
            .limit(limit)
        )
    )
