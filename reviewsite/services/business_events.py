"""The audit trail of who the business is: every claim, verification, invitation, team change
and listing edit writes one entry here, in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import BusinessEvent


def audit(business_id: int, action: str, *, actor_id: int | None, now: datetime,
          subject_id: int | None = None, **details: Any) -> BusinessEvent:
    event = BusinessEvent(business_id=business_id, actor_id=actor_id, subject_id=subject_id, action=action,
                          details=details, at=now)
    db.session.add(event)
    db.session.flush()
    return event


def lister_id(business_id: int) -> int | None:
    """Who added the listing (adding it made them nobody)."""
    return db.session.scalar(
        select(BusinessEvent.actor_id).where(BusinessEvent.business_id == business_id, BusinessEvent.action == "listed")
        .order_by(BusinessEvent.id).limit(1)
    )


def events_of(business_id: int, *, limit: int = 200) -> list[BusinessEvent]:
    return list(db.session.scalars(
        select(BusinessEvent).where(BusinessEvent.business_id == business_id)
        .order_by(BusinessEvent.at.desc(), BusinessEvent.id.desc()).limit(limit)
    ))
