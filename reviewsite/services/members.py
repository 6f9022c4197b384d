"""Who acts for a business: the people who see its held reviews and answer them."""

from __future__ import annotations

from sqlalchemy import bindparam, exists, select

from reviewsite.extensions import db
from reviewsite.models import MemberRole, Membership


def member_ids(business_id: int) -> list[int]:
    """The business's members, oldest membership first (the order notices are written in)."""
    return list(db.session.scalars(_MEMBER_IDS, {"business_id": business_id}))


# Built once (a submission and every change to a review ask it), on the table: see
# listings._ADJUST_RATING.
_memberships = Membership.__table__
_MEMBER_IDS = (
    select(_memberships.c.user_id).where(_memberships.c.business_id == bindparam("business_id"))
    .order_by(_memberships.c.id)
)


def is_member(user_id: int, business_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where(Membership.business_id == business_id, Membership.user_id == user_id))
        )
    )


def role_of(user_id: int, business_id: int) -> MemberRole | None:
    return db.session.scalar(
        select(Membership.role).where(Membership.business_id == business_id, Membership.user_id == user_id)
    )
