"""Public notices on the page of a business that was found to have pressed a reviewer (an offer
conditioned on the review, a demand, pressure, threats), for a set time (``NOTICE_SECONDS``).

Timers are data: ``ends_at`` is indexed over active notices and a beat sweep expires them. Every
change here bumps the business's ``listing_version`` in the same transaction, so a cached page
never shows a notice that ended, nor misses one just issued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Decision, NoticeStatus, PressureNotice, User
from reviewsite.services import listings, moderation


def notice_duration() -> timedelta:
    return timedelta(seconds=current_app.config["NOTICE_SECONDS"])


def issue(decision: Decision, moderator: User, *, now: datetime) -> PressureNotice:
    notice = PressureNotice(business_id=decision.business_id, decision_id=decision.id, rule=decision.rule,
                            issued_at=now, ends_at=now + notice_duration(), status=NoticeStatus.ACTIVE)
    db.session.add(notice)
    db.session.flush()
    listings.changed([decision.business_id])
    moderation.log("notice_issued", actor=moderator, now=now, business_id=decision.business_id,
                   target_key=decision.target_key, decision=decision, notice=notice, rule=decision.rule,
                   ends_at=notice.ends_at.isoformat())
    return notice


def for_decision(decision: Decision) -> PressureNotice | None:
    return db.session.scalar(select(PressureNotice).where(PressureNotice.decision_id == decision.id))


def lift(decision: Decision, moderator: User, *, now: datetime) -> None:
    """An appeal overturned the notice: it leaves the page at once. One that has already expired
    stays expired (the page does not show it either way)."""
    notice = for_decision(decision)
    if notice is None or notice.status is not NoticeStatus.ACTIVE:
        return
    moderation.NOTICES.compare_and_set(notice, moderation.Action.LIFT,
                               status=NoticeStatus.LIFTED, ended_at=now)
    listings.changed([notice.business_id])
    moderation.log("notice_lifted", actor=moderator, now=now, business_id=notice.business_id,
                   decision=decision, notice=notice, rule=notice.rule)


def expire_due(*, now: datetime, limit: int = 500) -> list[int]:
    """The sweep: end the notices whose time has come; returns their ids. Rows are claimed with
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two sweeps never end the same notice twice."""
    due = db.session.scalars(
        select(PressureNotice)
        .where(PressureNotice.status == NoticeStatus.ACTIVE, PressureNotice.ends_at <= now)
        .order_by(PressureNotice.ends_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for notice in due:
        moderation.NOTICES.compare_and_set(notice, moderation.Action.EXPIRE,
                                   PressureNotice.ends_at <= now, status=NoticeStatus.EXPIRED, ended_at=now)
        moderation.log("notice_expired", actor=None, now=now, business_id=notice.business_id, notice=notice,
                       rule=notice.rule)
    listings.changed(notice.business_id for notice in due)
    return [notice.id for notice in due]
