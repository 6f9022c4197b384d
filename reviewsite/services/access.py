"""Who may see and do what with a review. Invariant 1 (private text reaches only the parties)
and invariant 4 (the business's powers are bounded) start here: every view asks these."""

from __future__ import annotations

from sqlalchemy import exists, select

from reviewsite.extensions import db
from reviewsite.models import Business, Membership, Review, Side, User


def is_member(user: User | None, business: Business | int) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    business_id = business if isinstance(business, int) else business.id
    return bool(
        db.session.scalar(
            select(
                exists().where(Membership.business_id == business_id, Membership.user_id == user.id)
            )
        )
    )


def side_of(user: User | None, review: Review) -> Side | None:
    """The party this user acts as for this review: reviewer, business, or none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if review.author_id == user.id:
        return Side.REVIEWER
    if is_member(user, review.business_id):
        return Side.BUSINESS
    return None


def can_see_private(user: User | None, review: Review) -> bool:
    """The thread, a held review's words and the draft response: parties and moderators only."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_moderator or side_of(user, review) is not None
