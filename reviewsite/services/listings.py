"""Read models for public pages: what anyone may see of a business and its reviews.

Held reviews appear here only as placeholders (stars and release date): their words are never
selected for a public page, so no template mistake can leak them (invariant 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, select, update
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Business, Review, ReviewStatus


@dataclass(frozen=True)
class HeldPlaceholder:
    id: int
    stars: int
    held_at: datetime
    publish_at: datetime


@dataclass(frozen=True)
class Record:
    """How the business handles complaints: held reviews published so far, and how many of
    them it answered in the private thread before publication."""

    held_published: int
    answered: int


@dataclass(frozen=True)
class HeldSummary:
    """How many reviews are in the window, and the ones released soonest."""

    total: int
    soonest: list[HeldPlaceholder]

    @property
    def more(self) -> int:
        return self.total - len(self.soonest)


def changed(business_ids: Iterable[int]) -> None:
    """A public business page will look different: bump ``listing_version`` in the caller's
    transaction, so a page cached under the old version is never served again."""
    ids = sorted(set(business_ids))
    if ids:
        postgresql = db.session.get_bind().dialect.name == "postgresql"
        db.session.execute(_BUMP_ANY if postgresql else _BUMP_IN, {"ids": ids})


# Built once. On PostgreSQL the ids go as one array (``= ANY``): the same statement text for any
# number of businesses, so it is prepared once, where an IN list of a sweep's 500 ids cost more
# to render and convert for each batch than the update itself.
_BUMP = update(Business).values(listing_version=Business.listing_version + 1).execution_options(
    synchronize_session=False
)
_BUMP_ANY = _BUMP.where(Business.id == any_(bindparam("ids", type_=ARRAY(Integer))))
_BUMP_IN = _BUMP.where(Business.id.in_(bindparam("ids", expanding=True)))


def held_summary(business: Business, *, show: int = 10) -> HeldSummary:
    """A popular business may have a thousand held reviews: count them all, list a few."""
    total = db.session.scalar(
        select(func.count(Review.id)).where(Review.business_id == business.id, Review.status == ReviewStatus.HELD)
    )
    rows = db.session.execute(
        select(Review.id, Review.stars, Review.held_at, Review.publish_at)
        .where(Review.business_id == business.id, Review.status == ReviewStatus.HELD)
        .order_by(Review.publish_at)
        .limit(show)
    ) if total else []
    return HeldSummary(total=total or 0, soonest=[HeldPlaceholder(*row) for row in rows])


def published_reviews_query(business: Business):
    return (
        select(Review)
        .options(joinedload(Review.author))
        .where(Review.business_id == business.id, Review.status == ReviewStatus.PUBLISHED)
        .order_by(Review.published_at.desc(), Review.id.desc())
    )


def record(business: Business) -> Record:
    held_published, answered = db.session.execute(
        select(func.count(Review.id), func.count(Review.first_business_reply_at)).where(
            Review.business_id == business.id,
            Review.status == ReviewStatus.PUBLISHED,
            Review.held_at.is_not(None),
        )
    ).one()
    return Record(held_published=held_published, answered=answered)

