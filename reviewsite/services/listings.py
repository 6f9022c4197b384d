"""A business's public listing: what anyone may see of it, and keeping that in step.

Reading. A held review appears here only as a placeholder (stars and dates): its words are never
selected for a public page, so no template mistake can leak them (invariant 1). Once its
``publish_at`` has passed it reads as published, with the business's response, even before the
sweep has made that durable (invariant 8): every read takes ``now`` for that.

Keeping in step. The services that change what a public page shows of a business (a review
submitted, published, revised, withdrawn or removed, a response, a window moved) call
:func:`changed` or :func:`adjust_rating` in the same transaction. Both bump
``business.listing_version``, which is what the public pages are cached on
(``reviewsite/public/caching.py``): once the change commits, no cached copy of the old page is
served again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (ColumnElement, DateTime, String, Update, and_, bindparam, case, func, literal_column, or_, select,
                        union_all, update)
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.fast_reads import key_rows
from reviewsite.models import Business, Review, ReviewStatus, ThreadMessage


def changed(business_ids: Iterable[int]) -> None:
    """The public pages of these businesses will look different: bump their ``listing_version``
    in the caller's transaction."""
    ids = sorted(set(business_ids))
    if ids:
        db.session.execute(_CHANGED, {"ids": ids})


def versions_bumped(business_ids: ColumnElement[Any]) -> Update:
    """The ``UPDATE`` behind :func:`changed`, for business ids given as an expanding list
    parameter or as a subquery (the sweep's one statement on PostgreSQL bumps the businesses of
    the reviews it publishes from its own ``RETURNING``). The rows are locked in id order first,
    as every writer locks business rows, so that two sweeps publishing reviews of the same
    businesses never wait for each other in a circle."""
    locked = (
        select(_businesses.c.id).where(_businesses.c.id.in_(business_ids)).order_by(_businesses.c.id)
        .with_for_update().cte("locked")
    )
    return (update(_businesses).where(_businesses.c.id == locked.c.id)
            .values(listing_version=_businesses.c.listing_version + 1))


def adjust_rating(business_id: int, *, count: int, stars: int) -> None:
    """Keep the business's kept aggregate in step with its reviews: held reviews count from the
    start (we delay words, never the fact of a complaint), withdrawn and removed ones stop
    counting. The page changes with it. A Business already loaded is not refreshed."""
    db.session.execute(_ADJUST_RATING, {"business_id": business_id, "count": count, "stars": stars})


# Built once, values as parameters: every submission runs the one and every sweep batch the
# other (docs/architecture.md, "One implementation per operation"). On the table, not the entity:
# no loaded object needs synchronising, and a statement on an entity would take the ORM's
# execution path (its compile state and synchronisation) for nothing.
_reviews, _businesses = Review.__table__, Business.__table__
_CHANGED = versions_bumped(bindparam("ids", expanding=True))
_ADJUST_RATING = (
    update(_businesses)
    .where(_businesses.c.id == bindparam("business_id"))
    .values(rating_count=_businesses.c.rating_count + bindparam("count"),
            rating_sum=_businesses.c.rating_sum + bindparam("stars"),
            listing_version=_businesses.c.listing_version + 1)
)


def reads_as_published(now: datetime):
    """The rule of invariant 8 as a condition: published, or held with its time come."""
    return or_(
        Review.status == ReviewStatus.PUBLISHED,
        and_(Review.status == ReviewStatus.HELD, Review.publish_at <= now),
    )


# -- the business page ------------------------------------------------------------------------


def stamp(slug: str, *, now: datetime) -> tuple | None:
    """What tells one state of the business's public page from another, in one small query:
    (id, created_at, listing_version, held reviews whose time has come). The last one changes
    the page at ``publish_at`` before any sweep has run, and the sweep's publication bumps the
    version, so a page cached under an older stamp is never served again. created_at too: ids
    can come back when a database is rebuilt under a shared cache."""
    rows = key_rows(_STAMP, {"slug": slug, "now": now})
    return tuple(rows[0]) if rows else None


# A Core statement on the tables, made once, read through the fast path: it runs on every view
# of a cached page (reviewsite/fast_reads.py).
_STAMP = select(
    _businesses.c.id,
    _businesses.c.created_at,
    _businesses.c.listing_version,
    select(func.count(_reviews.c.id))
    .where(
        _reviews.c.business_id == _businesses.c.id,
        # The stored text as a constant, not a parameter: the partial index on held reviews
        # matches only a constant, so with a parameter PostgreSQL would plan the statement
        # again on every execution instead of keeping one plan (BENCHMARKS.md).
        _reviews.c.status == literal_column(f"'{ReviewStatus.HELD.value}'", String),
        # A plain timestamp parameter (no conversion on the way: see fast_reads), given aware UTC.
        _reviews.c.publish_at <= bindparam("now", type_=DateTime(timezone=True)),
    )
    .scalar_subquery(),
).where(_businesses.c.slug == bindparam("slug"))


@dataclass(frozen=True)
class HeldPlaceholder:
    id: int
    stars: int
    held_at: datetime
    publish_at: datetime


@dataclass(frozen=True)
class HeldSummary:
    """How many reviews are still in the window, and the ones released soonest."""

    total: int
    soonest: list[HeldPlaceholder]

    @property
    def more(self) -> int:
        return self.total - len(self.soonest)


def held_summary(business: Business, *, now: datetime, show: int = 10) -> HeldSummary:
    """A popular business may have a thousand held reviews: count them all, list a few."""
    still_held = (Review.business_id == business.id, Review.status == ReviewStatus.HELD, Review.publish_at > now)
    total = db.session.scalar(select(func.count(Review.id)).where(*still_held)) or 0
    rows = db.session.execute(
        select(Review.id, Review.stars, Review.held_at, Review.publish_at)
        .where(*still_held)
        .order_by(Review.publish_at)
        .limit(show)
    ) if total else []
    return HeldSummary(total=total, soonest=[HeldPlaceholder(*row) for row in rows])


# How a visitor may order the reviews: newest first (by the day each became public), or by stars.
SORTS = ("newest", "lowest", "highest")


@dataclass(frozen=True)
class StarCount:
    """One bar of the histogram: reviews of these stars that read as published (and how many of
    them went through the window), and those still in their window."""

    stars: int
    public: int
    through_window: int
    held: int

    @property
    def total(self) -> int:
        return self.public + self.held


def histogram(business: Business, *, now: datetime) -> list[StarCount]:
    """Every review the kept rating counts, by stars, 5 to 1, in one query: published ones and
    held ones (marked), as the average counts both (we delay words, never the fact)."""
    public = reads_as_published(now)
    rows = {
        row.stars: row
        for row in db.session.execute(
            select(
                Review.stars,
                func.count(case((public, 1))).label("public"),
                func.count(case((and_(public, Review.held_at.is_not(None)), 1))).label("through_window"),
                func.count(case((and_(Review.status == ReviewStatus.HELD, Review.publish_at > now), 1))).label("held"),
            )
            .where(Review.business_id == business.id, Review.status.in_([ReviewStatus.HELD, ReviewStatus.PUBLISHED]))
            .group_by(Review.stars)
        )
    }
    return [StarCount(stars, *((rows[stars].public, rows[stars].through_window, rows[stars].held)
                               if stars in rows else (0, 0, 0))) for stars in range(5, 0, -1)]


def public_reviews(business: Business, *, now: datetime, limit: int, offset: int, sort: str = "newest",
                   stars: int | None = None, through_window: bool = False) -> list[Review]:
    """Reviews that read as published, in the order asked for (newest first by default), only
    those of ``stars`` and only those that went through the window if asked, with their authors.

    A review whose window ended a moment ago but which no sweep has published yet has no
    ``published_at``; it reads as published since its ``publish_at``. Each kind comes from its
    own partial index, in the page's order, and the two are merged: as fast as the published
    ones alone, however many reviews the business has."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")

    def ordered(query, public_at):
        newest = (public_at.desc(), Review.id.desc())
        by_stars = {"lowest": (Review.stars,), "highest": (Review.stars.desc(),)}.get(sort, ())
        return query.order_by(*by_stars, *newest)

    wanted = [Review.business_id == business.id]
    if stars is not None:
        wanted.append(Review.stars == stars)
    if through_window:
        wanted.append(Review.held_at.is_not(None))
    published = ordered(
        select(Review.id, Review.stars, Review.published_at.label("public_at"))
        .where(*wanted, Review.status == ReviewStatus.PUBLISHED), Review.published_at
    ).limit(limit + offset)
    due = ordered(
        select(Review.id, Review.stars, Review.publish_at.label("public_at"))
        .where(*wanted, Review.status == ReviewStatus.HELD, Review.publish_at <= now), Review.publish_at
    ).limit(limit + offset)
    both = union_all(published.subquery().select(), due.subquery().select()).subquery()
    by_stars = {"lowest": (both.c.stars,), "highest": (both.c.stars.desc(),)}.get(sort, ())
    page = (
        select(both.c.id)
        .order_by(*by_stars, both.c.public_at.desc(), both.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    ids = list(db.session.scalars(page))
    if not ids:
        return []
    found = {
        review.id: review
        for review in db.session.scalars(select(Review).options(joinedload(Review.author)).where(Review.id.in_(ids)))
    }
    return [found[review_id] for review_id in ids]


@dataclass(frozen=True)
class OfferFact:
    """What the public history tells of an accepted offer: its kind and dates, never its note
    (the thread is private)."""

    remedy: str
    offered_at: datetime
    accepted_at: datetime
    delivered_at: datetime | None


def accepted_offers(review_ids: Iterable[int]) -> dict[int, list[OfferFact]]:
    """The accepted offers of these (public) reviews, oldest first, in one query for a page."""
    ids = sorted(set(review_ids))
    found: dict[int, list[OfferFact]] = {}
    if not ids:
        return found
    for row in db.session.execute(
        select(ThreadMessage.review_id, ThreadMessage.remedy, ThreadMessage.created_at, ThreadMessage.accepted_at,
               ThreadMessage.delivered_at)
        .where(ThreadMessage.review_id.in_(ids), ThreadMessage.remedy.is_not(None),
               ThreadMessage.accepted_at.is_not(None))
        .order_by(ThreadMessage.id)
    ):
        found.setdefault(row.review_id, []).append(
            OfferFact(row.remedy.value, row.created_at, row.accepted_at, row.delivered_at))
    return found
