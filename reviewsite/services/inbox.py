"""The business inbox and the reviewer's list: reviews as their parties see them."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Business, BusinessClaim, Membership, Review, ReviewStatus, User


def _member_reviews(user: User, status: ReviewStatus, order_by, limit: int) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review)
            .join(Membership, Membership.business_id == Review.business_id)
            .options(joinedload(Review.business))
            .where(Membership.user_id == user.id, Review.status == status)
            .order_by(order_by)
            .limit(limit)
        )
    )


def held_for_member(user: User, *, limit: int = 200) -> list[Review]:
    """Held reviews of every business the user acts for, soonest release first."""
    return _member_reviews(user, ReviewStatus.HELD, Review.publish_at, limit)


def recent_for_member(user: User, *, limit: int = 20) -> list[Review]:
    return _member_reviews(user, ReviewStatus.PUBLISHED, Review.published_at.desc(), limit)


def roles_of(user: User) -> dict[int, str]:
    """The user's role for each business they are a verified member of."""
    return {business_id: role.value for business_id, role in db.session.execute(
        select(Membership.business_id, Membership.role).where(Membership.user_id == user.id))}


def reviews_by_author(user: User) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review).options(joinedload(Review.business)).where(Review.author_id == user.id)
            .order_by(Review.created_at.desc())
        )
    )


def review_by(user: User | None, business: Business) -> Review | None:
    """The person's own review of this business, if they wrote one (whatever became of it), so
    the page can lead them to it instead of a form they may not send."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Review).where(Review.business_id == business.id, Review.author_id == user.id))


def acts_for_business(user: User) -> bool:
    """A verified member of some business, or someone with a claim (the inbox shows their claims)."""
    return bool(db.session.scalar(select(
        exists().where(Membership.user_id == user.id) | exists().where(BusinessClaim.claimant_id == user.id))))
