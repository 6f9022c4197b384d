from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime, str_enum
from reviewsite.extensions import db
from reviewsite.models.business import Business, MemberRole
from reviewsite.models.user import User


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Invitation(db.Model):
    """An owner asks someone, by email address, to join the team with a role. The address may
    have no account yet; whoever follows the mailed link signs up or logs in to accept. Only
    ``reviewsite.services.team`` changes ``status``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole))
    status: Mapped[InvitationStatus] = mapped_column(str_enum(InvitationStatus))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    business: Mapped[Business] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])

    __table_args__ = (
        Index("uq_invitation_pending", "business_id", "email", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        CheckConstraint("status <> 'accepted' OR (accepted_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                        name="accepted_has_member"),
    )

    def status_at(self, now: datetime) -> InvitationStatus:
        """A pending invitation past its time reads as expired even before the sweep writes so."""
        if self.status is InvitationStatus.PENDING and self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return self.status

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.status}>"
