"""The publication sweep's batch on PostgreSQL: one statement instead of one per step.

:func:`reviewsite.services.reviews.publish_due` calls this when the database is PostgreSQL; on
SQLite it keeps its portable path (a few statements and the outbox rows built in Python). Both
must write exactly the same rows; ``tests/services/test_sweep_postgres.py`` and the model test
hold them to it. The statement, with data-modifying CTEs (each runs exactly once, on one
snapshot, whether or not the final SELECT reads it)::

    WITH due AS (              -- claim: the oldest due held rows, skipping rows another sweep
        SELECT id FROM review  --   (or a service) has locked; a CTE is evaluated exactly once,
        WHERE status = 'held' AND publish_at <= :now        -- so it never claims more than n
        ORDER BY publish_at LIMIT :n FOR UPDATE SKIP LOCKED),
    published AS (             -- publish: the WHERE repeats the rules of services.reviews.publish
        UPDATE review SET status = 'published', published_at = :now, released_by = 'system',
               reminder_due_at = NULL
        FROM due WHERE review.id = due.id AND status = 'held' AND publish_at <= :now
        RETURNING review.id, business_id, author_id, stars, publish_at),
    events AS (                -- the audit trail, as lifecycle.record writes it
        INSERT INTO review_event (...) SELECT ... FROM published ORDER BY publish_at, id),
    recipients AS (            -- the author, then every member in membership order
        SELECT published.*, author_id AS recipient_id, 0 AS position FROM published
        UNION ALL
        SELECT published.*, membership.user_id, membership.id FROM published JOIN membership ...),
    notes AS (                 -- outbox.notify_from_select: preference, dedupe key, facts in SQL
        INSERT INTO notification (...) SELECT ... FROM recipients
        ORDER BY publish_at, review_id, position
        ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)
    SELECT (SELECT array_agg(id ORDER BY publish_at, id) FROM published),
           (SELECT array_agg(id ORDER BY id) FROM notes),
           (SELECT array_agg(DISTINCT business_id) FROM published)

The caller bumps the listing versions of the returned businesses with ``listings.changed`` (one
place for that rule, and it locks business rows in id order, as every other service does).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Select, String, bindparam, func, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert

from reviewsite.extensions import db
from reviewsite.models import Membership, Review, ReviewEvent, ReviewStatus, Side
from reviewsite.services.due import publish_due_statement
from reviewsite.services.outbox import notify_from_select, review_facts_sql

# What lifecycle.record writes for a publication by the system (details is the same dict, so
# the ORM's JSON text for it is the same too).
EVENT_DETAILS = {"released_by": Side.SYSTEM.value}


@dataclass(frozen=True)
class Batch:
    published_ids: list[int]  # in publish_at order (then id), as the sweep returns them
    notification_ids: list[int]  # the outbox rows really inserted, for after-commit dispatch
    business_ids: list[int]  # whose public page changed


def publish_batch(*, now: datetime, limit: int) -> Batch:
    published_ids, notification_ids, business_ids = db.session.execute(
        _statement(), {"now": now, "limit": limit}
    ).one()
    return Batch(published_ids or [], notification_ids or [], business_ids or [])


@functools.cache
def _statement() -> Select:
    """Built once (a sweep runs every few seconds; building this costs more than running it
    idle), with ``now`` and ``limit`` as parameters."""
    now = bindparam("now", type_=Review.publish_at.type)
    limit = bindparam("limit", type_=Integer)
    published = publish_due_statement(now, limit).cte("published")
    p = published.c
    events = insert(ReviewEvent).from_select(
        ["review_id", "actor_id", "action", "from_status", "to_status", "details", "at"],
        select(
            p.id,
            null(),
            literal("published", String),
            literal(ReviewStatus.HELD.value, String),
            literal(ReviewStatus.PUBLISHED.value, String),
            literal(EVENT_DETAILS, ReviewEvent.details.type),
            now,
        ).order_by(p.publish_at, p.id),
    )
    # "review_published" goes to the author and every member of the business (membership order),
    # as services.reviews.publish tells them; the facts are the review's at this moment.
    recipients = union_all(
        select(p.id.label("review_id"), p.publish_at, p.stars, p.author_id.label("recipient_id"),
               literal(0, Integer).label("position")),
        select(p.id, p.publish_at, p.stars, Membership.user_id, Membership.id)
        .join(Membership, Membership.business_id == p.business_id),
    ).cte("recipients")
    r = recipients.c
    rows = select(
        r.review_id.label("subject"),
        r.review_id,
        r.recipient_id,
        review_facts_sql(r.stars, r.publish_at).label("facts"),
        r.publish_at,
        r.position,
    ).subquery("rows")
    notes = notify_from_select(
        "review_published", rows, order_by=[rows.c.publish_at, rows.c.review_id, rows.c.position], now=now
    ).cte("notes")
    return select(
        select(func.array_agg(aggregate_order_by(p.id, p.publish_at, p.id))).scalar_subquery(),
        select(func.array_agg(aggregate_order_by(notes.c.id, notes.c.id))).scalar_subquery(),
        select(func.array_agg(p.business_id.distinct())).scalar_subquery(),
    ).add_cte(events.cte("events"))
