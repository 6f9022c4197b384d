"""Publication: how a held review becomes public.

Either party may end the window early (:func:`release_now`); otherwise the system publishes the
review once its ``publish_at`` has come (:func:`publish_due`, the sweep) and never before
(invariant 2). Nobody can delay or suppress it. Publishing twice is impossible: every path is a
compare-and-set on a row that must still be held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Insert, Integer, Select, Update, and_, bindparam, func, insert, literal, null, select, update
from sqlalchemy.sql import FromClause

from reviewsite.database import built_once_per_database
from reviewsite.extensions import db
from reviewsite.models import Review, ReviewEvent, ReviewStatus, Side, User
from reviewsite.services import access, listings, members
from reviewsite.services.lifecycle import ALLOWED_FROM, Action, audit, compare_and_set
from reviewsite.services.outbox import notify, notify_published, published_notices, remember_new

# The sweep's statements are on the tables (Core), so that they can also go inside one statement.
_reviews, _events = Review.__table__, ReviewEvent.__table__


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
    Returns their ids in ``publish_at`` order.

    On PostgreSQL the same statements go as one (:func:`_publish_in_one_statement`); elsewhere
    they run one after the other (:func:`_publish_in_steps`)."""
    if db.session.get_bind().dialect.name == "postgresql":
        published = _publish_in_one_statement(now, limit) if _anything_due(now) else []
    else:
        published = _publish_in_steps(now, limit)
    if not published:
        return []
    ids = [review_id for _, review_id in sorted(published)]
    # The rows changed behind the ORM's back: objects already loaded must read them again.
    published_ids = set(ids)
    loaded = db.session.identity_map.values()
    for review in [obj for obj in loaded if isinstance(obj, Review) and obj.id in published_ids]:
        db.session.expire(review)
    return ids


# The sweep's statements are built once, with ``now`` and ``limit`` as parameters: a sweep runs
# every few seconds and a backlog in batches (docs/architecture.md, "One implementation per operation").
_NOW = bindparam("now", type_=_reviews.c.publish_at.type)
_LIMIT = bindparam("limit", type_=Integer)


def _publish_in_steps(now: datetime, limit: int) -> list[tuple[datetime, int]]:
    """The batch as four statements: the claim, then the events and the notices of the reviews
    it published, read back by id, and last the listing versions of their businesses (as in
    submission, the business rows are locked only from there to the commit). Returns the
    (publish_at, id) of each review published."""
    published = db.session.execute(_CLAIM_AND_PUBLISH, {"now": now, "limit": limit}).all()
    if published:
        ids = [row.id for row in published]
        published_rows = select(_reviews.c.id, _reviews.c.publish_at).where(_reviews.c.id.in_(ids))
        db.session.execute(_events_of(published_rows.subquery("published")), {"now": now})
        notify_published(ids, now=now)
        listings.changed(row.business_id for row in published)
    return [(row.publish_at, row.id) for row in published]


def _publish_in_one_statement(now: datetime, limit: int) -> list[tuple[datetime, int]]:
    """PostgreSQL: the same four statements as one, the events, the notices and the listing
    versions written from the claim's ``RETURNING`` (data-modifying ``WITH``), so the batch is
    one round trip, the published rows are never read back and no list of ids goes back and
    forth. What comes back is one row of three arrays (the reviews' ids and release times, the
    notices' ids), not a row per review and per notice to be read one by one through the
    result. The one PostgreSQL-only path of the services, kept because without it a batch took
    half as long again (BENCHMARKS.md, "The sweep"); ``tests/services/test_publication_sweep.py``
    holds it to :func:`_publish_in_steps`."""
    ids, publish_ats, notice_ids = db.session.execute(_one_statement(), {"now": now, "limit": limit}).one()
    remember_new(sorted(notice_ids or ()))
    return list(zip(publish_ats or (), ids or (), strict=True))


@built_once_per_database
def _one_statement() -> Select:
    published = _CLAIM_AND_PUBLISH.cte("published")
    notices = published_notices(published).cte("notices")
    # One aggregate over the claim, so the two arrays list the reviews in the same order.
    return (
        select(func.array_agg(published.c.id), func.array_agg(published.c.publish_at),
               select(func.array_agg(notices.c.id)).scalar_subquery())
        .select_from(published)
        .add_cte(_events_of(published).cte("events"),
                 listings.versions_bumped(select(published.c.business_id).scalar_subquery()).cte("versions"))
    )


def _events_of(published: FromClause) -> Insert:
    """The audit event of each review of ``published`` (its id and publish_at), in release
    order, at the parameter ``now``."""
    return insert(_events).from_select(
        ["review_id", "actor_id", "action", "from_status", "to_status", "details", "at"],
        select(published.c.id, null(), literal("published"), literal(ReviewStatus.HELD.value),
               literal(ReviewStatus.PUBLISHED.value), literal({"released_by": Side.SYSTEM.value}, _events.c.details.type),
               _NOW)
        .order_by(published.c.publish_at, published.c.id),
    )


def _anything_due(now: datetime) -> bool:
    """Whether a held review is due (one row from the sweep's index): most sweeps find nothing,
    and this read costs a fraction of planning the one statement for nothing."""
    return db.session.scalar(_ANYTHING_DUE, {"now": now}) is not None


def _due():
    """Still held (the transition table's rule) and its time has come (invariant 2)."""
    return and_(_reviews.c.status.in_(ALLOWED_FROM[Action.PUBLISH_DUE]), _reviews.c.publish_at <= _NOW)


# In publish_at order, so that the plan walks the sweep's own index from its start.
_ANYTHING_DUE = select(_reviews.c.id).where(_due()).order_by(_reviews.c.publish_at).limit(1)


def _claim_and_publish() -> Update:
    """``UPDATE ... RETURNING`` the oldest ``limit`` held reviews due at ``now`` (parameters).

    The claim is a CTE, evaluated exactly once (PostgreSQL may rescan a ``LIMIT ... FOR UPDATE``
    subquery inside a semi-join and claim more rows than the batch). ``SKIP LOCKED`` lets several
    sweeps share a backlog on PostgreSQL; SQLite's write transactions serialise them. The WHERE
    repeats the transition table's rule (still held) and invariant 2's (its time has come)."""
    due = (
        select(_reviews.c.id)
        .where(_due())
        .order_by(_reviews.c.publish_at)
        .limit(_LIMIT)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    return (
        update(_reviews)
        .where(_reviews.c.id == due.c.id, _due())
        .values(status=ReviewStatus.PUBLISHED, published_at=_NOW, released_by=Side.SYSTEM, reminder_due_at=None)
        .returning(_reviews.c.id, _reviews.c.business_id, _reviews.c.author_id, _reviews.c.stars,
                   _reviews.c.publish_at)
    )


_CLAIM_AND_PUBLISH = _claim_and_publish()


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
