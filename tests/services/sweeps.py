"""Due reviews committed for real, for sweeps that run on connections and transactions of their
own (tests/services/test_sweep_postgres.py, test_stalled_sweep.py), and what those sweeps wrote."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, Membership, Notification, Review, ReviewEvent, ReviewStatus, User
from reviewsite.services import publication
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, ReviewFactory
from tests.helpers import START


@contextmanager
def committed_due(app: Flask, *, reviews: int, first_business: int, members: int, slug: str) -> Iterator[dict]:
    """``reviews`` held reviews due one second apart from START, the oldest ``first_business`` of
    one business and the rest of another, each business with ``members`` members; all committed,
    deleted afterwards. (A sweep bumps the listing version of each business it publishes for, so
    two sweeps over the same business take turns on that row, as on any other write to it.)"""
    with app.app_context():
        with unit_of_work() as session:
            businesses = [BusinessFactory(slug=f"{slug}-{i}") for i in range(2)]
            member_ids = [MembershipFactory(business=b).user_id for b in businesses for _ in range(members)]
            rows = [ReviewFactory(business=businesses[i >= first_business], publish_at=START + timedelta(seconds=i))
                    for i in range(reviews)]
            session.flush()
            made = {"business": [b.id for b in businesses], "reviews": [r.id for r in rows],
                    "users": [r.author_id for r in rows] + member_ids}
        db.session.remove()
        try:
            yield made
        finally:
            db.session.remove()
            with db.engine.begin() as conn:
                ids = made["reviews"]
                conn.execute(sa.delete(Notification).where(Notification.review_id.in_(ids)))
                conn.execute(sa.delete(ReviewEvent).where(ReviewEvent.review_id.in_(ids)))
                conn.execute(sa.delete(Review).where(Review.id.in_(ids)))
                conn.execute(sa.delete(Membership).where(Membership.business_id.in_(made["business"])))
                conn.execute(sa.delete(Business).where(Business.id.in_(made["business"])))
                conn.execute(sa.delete(User).where(User.id.in_(made["users"])))


def published_counts(app: Flask, review_ids: list[int]) -> tuple[dict[int, int], dict[str, int], set[ReviewStatus]]:
    """'published' events per review, notifications per dedupe key, and the reviews' statuses."""
    with app.app_context():
        events = dict(db.session.execute(
            select(ReviewEvent.review_id, func.count()).where(
                ReviewEvent.review_id.in_(review_ids), ReviewEvent.action == "published")
            .group_by(ReviewEvent.review_id)).all())
        notes = dict(db.session.execute(
            select(Notification.dedupe_key, func.count()).where(Notification.review_id.in_(review_ids))
            .group_by(Notification.dedupe_key)).all())
        statuses = set(db.session.scalars(select(Review.status).where(Review.id.in_(review_ids))))
        db.session.remove()
    return events, notes, statuses


@contextmanager
def sweep_holding_its_claim(app: Flask, *, now: datetime, limit: int) -> Iterator[dict]:
    """A sweep in a thread of its own that claims up to ``limit`` due reviews and then sends
    nothing more (as a stopped or cut-off process would) until the block ends; then it commits.
    Yields ``{"claimed": ids}``; after the block, ``"error"`` holds what its commit raised, if
    anything (the server may have ended its session meanwhile)."""
    held: dict = {}
    claimed, resume = threading.Event(), threading.Event()

    def sweep() -> None:
        with app.app_context():
            try:
                with unit_of_work():
                    held["claimed"] = publication.publish_due(now=now, limit=limit)
                    claimed.set()
                    resume.wait(30)
            except sa.exc.DBAPIError as error:
                held["error"] = error
            finally:
                claimed.set()
                db.session.remove()

    thread = threading.Thread(target=sweep)
    thread.start()
    try:
        assert claimed.wait(30) and "claimed" in held, held
        yield held
    finally:
        resume.set()
        thread.join(30)
