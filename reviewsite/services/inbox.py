"""The business inbox: held reviews of the businesses a member acts for, soonest release first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Membership, Review, ReviewStatus, User


def held_for_member(user: User, *, limit: int = 200) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review)
            .join(Membership, Membership.business_id == Review.business_id)
            .options(joinedload(Review.business))
            .where(Membership.user_id == user.id, Review.status == ReviewStatus.HELD)
            .order_by(Review.publish_at)
            .limit(limit)
        )
    )


def recent_for_member(user: User, *, limit: int = 20) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review)
            .join(Membership, Membership.business_id == Review.business_id)
            .options(joinedload(Review.business))
            .where(Membership.user_id == user.id, Review.status == ReviewStatus.PUBLISHED)
            .order_by(Review.published_at.desc())
            .limit(limit)
        )
    )


def reviews_by_author(user: User) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review).options(joinedload(Review.business)).where(Review.author_id == user.id)
            .order_by(Review.created_at.desc())
        )
    )
