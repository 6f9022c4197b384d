"""The make-it-right record: how a business used the window, worked out from its reviews' trail.

Every figure is defined here once, as a condition on the review rows the services keep (``held_at``,
``first_business_reply_at``, ``released_by``, ``resolved_at``, ``withdrawn_at``, the response)
and on the offers in the thread (``ThreadMessage.accepted_at``), and computed by one statement:
:func:`record` for the public business page (the last 12 months, one row) and :func:`weekly` for
the owner's view (the same figures per week). Both are the same SQL (:func:`_figures`) with or
without a week to group by, on PostgreSQL and SQLite alike, so the public page and the owner's
charts can never disagree about what a figure means.

A complaint is a review that went to the business privately first (it has ``held_at``), received
in the period, not removed by moderators (rating-neutral grounds: spam, personal data; it is no
longer on the page and no longer counts). Its window has ended when it is published or withdrawn,
or when its ``publish_at`` has passed (it reads as published then, invariant 8).

The public page is cached on what it shows (``public/caching.py``): everything here but the
period changes only through services that bump the listing's version, or at a ``publish_at`` (the
page's stamp counts those); the period moves once a day, and the page's key holds its first day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, and_, case, exists, func, literal, literal_column, or_, select

from reviewsite.database import seconds_between, whole_part
from reviewsite.db_types import UTCDateTime
from reviewsite.extensions import db
from reviewsite.models import Review, ReviewStatus, Side, ThreadMessage
from reviewsite.services.listings import reads_as_published

RECORD_DAYS = 365
WEEK = timedelta(days=7)


def period_start(now: datetime) -> datetime:
    """The first instant the public record counts: midnight (UTC) 365 days before today, so the
    period, and the cached page, move once a day rather than at every request."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=RECORD_DAYS)


@dataclass(frozen=True)
class Figures:
    """The record's figures for one period (see the module's docstring for what a complaint is)."""

    received: int = 0
    # Complaints whose window has ended, and of those, the ones the business answered in the
    # private thread before it ended.
    ended: int = 0
    answered: int = 0
    median_reply_seconds: float | None = None
    resolved: int = 0
    released_by_reviewer: int = 0
    released_by_business: int = 0
    withdrawn_after_remedy: int = 0
    published_with_response: int = 0
    # Of the complaints now public: the average stars they were given, and have now.
    stars_before: float | None = None
    stars_after: float | None = None

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.ended if self.ended else None

    @property
    def resolved_share(self) -> float | None:
        return self.resolved / self.received if self.received else None


@dataclass(frozen=True)
class Record:
    since: datetime
    figures: Figures


@dataclass(frozen=True)
class Week:
    starts: datetime
    figures: Figures = field(default_factory=Figures)

    @property
    def ends(self) -> datetime:
        return self.starts + WEEK


def record(business_id: int, *, now: datetime) -> Record:
    """The public record over the last 12 months: one query."""
    since = period_start(now)
    row = db.session.execute(_figures(business_id, since=since, now=now)).first()
    return Record(since=since, figures=_to_figures(row) if row is not None else Figures())


def weekly(business_id: int, *, now: datetime, weeks: int = 26) -> list[Week]:
    """The same figures per week (by the week each complaint was received), oldest first, the
    last week ending with today (UTC); weeks with no complaint are there with zeros. One query."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today + timedelta(days=1) - weeks * WEEK
    found = {row.bucket: _to_figures(row)
             for row in db.session.execute(_figures(business_id, since=since, now=now, by_week=True))}
    return [Week(starts=since + n * WEEK, figures=found.get(n, Figures())) for n in range(weeks)]


def _figures(business_id: int, *, since: datetime, now: datetime, by_week: bool = False):
    """The statement behind every figure: one row, or one row per week (column ``bucket``).

    An inner query turns each complaint into its facts (window ended, answered within it, now
    public, time to the first reply, its week); the outer ones count them. The week is computed
    once there, so PostgreSQL groups by a column rather than by an expression with parameters."""
    R = Review
    since_value = literal(since, UTCDateTime())
    ended = or_(R.status.in_([ReviewStatus.PUBLISHED, ReviewStatus.WITHDRAWN]),
                and_(R.status == ReviewStatus.HELD, R.publish_at <= now))
    # The thread closes when the window does, so a reply is within it unless it came after
    # publish_at and before the sweep (a few seconds): that one is not counted as within.
    answered = and_(ended, R.first_business_reply_at.is_not(None), R.first_business_reply_at <= R.publish_at)
    public = reads_as_published(now)
    remedy_accepted_before_withdrawal = exists().where(
        ThreadMessage.review_id == R.id, ThreadMessage.accepted_at.is_not(None),
        ThreadMessage.accepted_at <= R.withdrawn_at)

    def flag(condition):
        return case((condition, 1), else_=0)

    week = whole_part(seconds_between(R.held_at, since_value) / WEEK.total_seconds()) if by_week else literal_column("0", Integer)
    c = (
        select(
            week.label("bucket"),
            flag(ended).label("ended"),
            flag(answered).label("answered"),
            case((answered, seconds_between(R.first_business_reply_at, R.held_at))).label("reply_seconds"),
            flag(R.resolved_at.is_not(None)).label("resolved"),
            flag(R.released_by == Side.REVIEWER).label("by_reviewer"),
            flag(R.released_by == Side.BUSINESS).label("by_business"),
            flag(and_(R.status == ReviewStatus.WITHDRAWN, remedy_accepted_before_withdrawal)).label("withdrawn_after"),
            flag(and_(public, R.response_body.is_not(None))).label("with_response"),
            case((public, func.coalesce(R.original_stars, R.stars))).label("stars_before"),
            case((public, R.stars)).label("stars_after"),
        )
        .where(R.business_id == business_id, R.held_at.is_not(None), R.held_at >= since_value,
               R.status != ReviewStatus.REMOVED)
        .subquery("complaint")
    )
    # The median time to the first reply: the middle one or two of the answered complaints'
    # times, ranked per week, found with window functions that both backends have.
    ranked = (
        select(c.c.bucket, c.c.reply_seconds,
               func.row_number().over(partition_by=c.c.bucket, order_by=c.c.reply_seconds).label("rank"),
               func.count().over(partition_by=c.c.bucket).label("answered"))
        .where(c.c.reply_seconds.is_not(None))
        .subquery("ranked")
    )
    medians = (
        select(ranked.c.bucket, func.avg(ranked.c.reply_seconds).label("median_reply_seconds"))
        .where(or_(ranked.c.rank == (ranked.c.answered + 1) // 2, ranked.c.rank == (ranked.c.answered + 2) // 2))
        .group_by(ranked.c.bucket)
        .subquery("medians")
    )
    counts = (
        select(
            c.c.bucket,
            func.count().label("received"),
            func.sum(c.c.ended).label("ended"),
            func.sum(c.c.answered).label("answered"),
            func.sum(c.c.resolved).label("resolved"),
            func.sum(c.c.by_reviewer).label("released_by_reviewer"),
            func.sum(c.c.by_business).label("released_by_business"),
            func.sum(c.c.withdrawn_after).label("withdrawn_after_remedy"),
            func.sum(c.c.with_response).label("published_with_response"),
            func.avg(c.c.stars_before).label("stars_before"),
            func.avg(c.c.stars_after).label("stars_after"),
        )
        .group_by(c.c.bucket)
        .subquery("counts")
    )
    return (
        select(counts, medians.c.median_reply_seconds)
        .outerjoin(medians, medians.c.bucket == counts.c.bucket)
        .order_by(counts.c.bucket)
    )


def _to_figures(row) -> Figures:
    def number(value) -> float | None:
        return float(value) if value is not None else None

    return Figures(
        received=int(row.received), ended=int(row.ended), answered=int(row.answered),
        median_reply_seconds=number(row.median_reply_seconds), resolved=int(row.resolved),
        released_by_reviewer=int(row.released_by_reviewer), released_by_business=int(row.released_by_business),
        withdrawn_after_remedy=int(row.withdrawn_after_remedy),
        published_with_response=int(row.published_with_response),
        stars_before=number(row.stars_before), stars_after=number(row.stars_after),
    )
