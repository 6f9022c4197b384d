from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime, str_enum
from reviewsite.extensions import db
from reviewsite.models.business import Business
from reviewsite.models.user import User


class ClaimStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class ClaimMethod(enum.StrEnum):
    """How the claimant proves they run the business."""

    WEBSITE_EMAIL = "website_email"  # a one-time link to an address at the website's domain
    CONTACT_EMAIL = "contact_email"  # a one-time link to the listing's public contact address
    MODERATOR = "moderator"  # the claimant's statement, decided by a moderator
    MIGRATED = "migrated"  # an owner from before claims existed (migration 0007)


class BusinessClaim(db.Model):
    """Someone says they run a business. Only ``reviewsite.services.claims`` changes ``status``
    (its transition table); the constraints mirror it. Until a claim is verified the claimant is
    no member and sees nothing private."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    claimant_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    method: Mapped[ClaimMethod] = mapped_column(str_enum(ClaimMethod, length=20))
    status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus))
    # Where the one-time link goes (link methods only).
    email: Mapped[str | None] = mapped_column(String(254))
    # What the claimant says about it (for the moderators).
    statement: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # A link claim is good until then; a pending one past it reads as expired.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    links_sent: Mapped[int] = mapped_column(default=1)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The moderator's statement of reasons (approval or rejection).
    reason: Mapped[str | None] = mapped_column(Text)

    business: Mapped[Business] = relationship()
    claimant: Mapped[User] = relationship(foreign_keys=[claimant_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        # "A second pending claim by the same person" is refused by the service, and by this
        # index when two requests race.
        Index("uq_business_claim_pending", "business_id", "claimant_id", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        # The moderators' queue: pending moderator claims, oldest first.
        Index("ix_business_claim_queue", "created_at",
              postgresql_where=text("status = 'pending' AND method = 'moderator'"),
              sqlite_where=text("status = 'pending' AND method = 'moderator'")),
        CheckConstraint("method NOT IN ('website_email', 'contact_email') OR "
                        "(email IS NOT NULL AND expires_at IS NOT NULL)", name="link_has_address"),
        CheckConstraint("status NOT IN ('verified', 'rejected') OR decided_at IS NOT NULL",
                        name="decided_has_decided_at"),
        CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name="rejected_has_reason"),
    )

    @property
    def by_link(self) -> bool:
        return self.method in (ClaimMethod.WEBSITE_EMAIL, ClaimMethod.CONTACT_EMAIL)

    def status_at(self, now: datetime) -> ClaimStatus:
        """The status as a person should read it: a pending link claim past its time is expired
        even before the sweep writes so."""
        if self.status is ClaimStatus.PENDING and self.expires_at is not None and self.expires_at <= now:
            return ClaimStatus.EXPIRED
        return self.status

    def __repr__(self) -> str:
        return f"<BusinessClaim {self.id} {self.status}>"
