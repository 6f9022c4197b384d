from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime
from reviewsite.extensions import db
from reviewsite.models.user import User


class BusinessEvent(db.Model):
    """The audit trail of who the business is: listed, claimed, verified, rejected, invited,
    joined, role changed, removed, details edited. One row per state change, written by the
    services (``services.business_events.record``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The person the event is about (the claimant, the member), when it is not the actor.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class ListingChange(db.Model):
    """The listing's history: one row per changed detail, old and new value. A listing that is
    renamed or moves city keeps its reviews and shows "formerly ..." from these rows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str] = mapped_column(Text)
    new_value: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_listing_change_business_at", "business_id", "at"),)
