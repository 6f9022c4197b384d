"""The in-site notification centre: a person's own notifications and whether they have read them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Notification, Review, User


def recent_for(user: User, *, limit: int = 100) -> list[Notification]:
    """Newest first, with the review and business each summary names, in one query."""
    return list(
        db.session.scalars(
            select(Notification)
            .options(joinedload(Notification.review).joinedload(Review.business))
            .where(Notification.recipient_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(user: User, notification_id: int, *, now: datetime) -> Notification | None:
    """Only the recipient's own rows; anyone else's id behaves as missing."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != user.id:
        return None
    if notification.read_at is None:
        notification.read_at = now
        db.session.flush()
    return notification


def mark_all_read(user: User, *, now: datetime) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_done(user: User, kind: str, *, now: datetime) -> None:
    """Notices that asked the person to do something they have now done (confirm their address)
    stop showing as new."""
    db.session.execute(
        update(Notification)
        .where(Notification.recipient_id == user.id, Notification.kind == kind, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    ) or 0
