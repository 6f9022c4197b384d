"""The statement that publishes held reviews whose time has come: both sweep paths build on it
(:func:`reviewsite.services.reviews.publish_due` on SQLite runs it as it is; on PostgreSQL
:mod:`reviewsite.services.sweep_postgres` makes it the first step of one statement), so the rules
of publication by the system are written once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Update, select, update

from reviewsite.models import Review, ReviewStatus, Side


def publish_due_statement(now: datetime | ColumnElement, limit: int | ColumnElement) -> Update:
    """UPDATE ... RETURNING the oldest ``limit`` held reviews due at ``now``.

    The claim is a CTE, not "id IN (subquery)": PostgreSQL may rescan a LIMIT ... FOR UPDATE
    subquery inside a semi-join and so claim more rows than the batch; a CTE is evaluated exactly
    once. SKIP LOCKED lets several sweeps share a backlog (SQLite's BEGIN IMMEDIATE serialises
    them). The WHERE repeats the rules of ``reviews.publish``: still held, and ``publish_at`` has
    come (invariant 2)."""
    due = (
        select(Review.id)
        .where(Review.status == ReviewStatus.HELD, Review.publish_at <= now)
        .order_by(Review.publish_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    return (
        update(Review)
        .where(Review.id == due.c.id, Review.status == ReviewStatus.HELD, Review.publish_at <= now)
        .values(status=ReviewStatus.PUBLISHED, published_at=now, released_by=Side.SYSTEM, reminder_due_at=None)
        .returning(Review.id, Review.business_id, Review.author_id, Review.stars, Review.publish_at)
    )
