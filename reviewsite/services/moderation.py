"""The transition tables of trust and safety (reports, decisions, appeals, notices), the
moderators' action log, and who is a moderator.

The same shape as the review lifecycle (``services/lifecycle.py``): an enum of states, one table
of allowed source states per action, and a compare-and-set write (``UPDATE ... WHERE status IN
allowed``) so that a second moderator deciding the same report, a double click or a retried
request changes nothing and raises instead of reporting a success that did not happen
(invariant 7).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import (
    Appeal,
    AppealStatus,
    Business,
    Decision,
    DecisionStatus,
    ModerationEvent,
    NoticeStatus,
    PressureNotice,
    Report,
    ReportStatus,
    User,
)
from reviewsite.services import access, accounts
from reviewsite.services.errors import Invalid, NotAllowed
from reviewsite.services.transitions import Transitions


class Action(enum.StrEnum):
    # reports
    DISMISS = "dismiss"
    UPHOLD = "uphold"
    # decisions
    REVERSE = "reverse"
    # appeals
    CONFIRM = "confirm"  # the decision stands
    OVERTURN = "overturn"
    # notices
    EXPIRE = "expire"
    LIFT = "lift"


REPORTS = Transitions(
    Report,
    {Action.DISMISS: frozenset({ReportStatus.OPEN}), Action.UPHOLD: frozenset({ReportStatus.OPEN})},
    {Action.DISMISS: "This report has already been decided.", Action.UPHOLD: "This report has already been decided."},
)
DECISIONS = Transitions(
    Decision,
    {Action.REVERSE: frozenset({DecisionStatus.IN_FORCE})},
    {Action.REVERSE: "This decision has already been reversed."},
)
APPEALS = Transitions(
    Appeal,
    {Action.CONFIRM: frozenset({AppealStatus.OPEN}), Action.OVERTURN: frozenset({AppealStatus.OPEN})},
    {Action.CONFIRM: "This appeal has already been decided; that decision is final.",
     Action.OVERTURN: "This appeal has already been decided; that decision is final."},
)
NOTICES = Transitions(
    PressureNotice,
    {Action.EXPIRE: frozenset({NoticeStatus.ACTIVE}), Action.LIFT: frozenset({NoticeStatus.ACTIVE})},
    {Action.EXPIRE: "This notice has already ended.", Action.LIFT: "This notice has already ended."},
)


def log(action: str, *, actor: User | None, now: datetime, business_id: int | None = None,
        target_key: str | None = None, report: Report | None = None, decision: Decision | None = None,
        appeal: Appeal | None = None, notice: PressureNotice | None = None, rule: str | None = None,
        **details: Any) -> ModerationEvent:
    """One line of the action log (who, when, what, which rule); flushed."""
    event = ModerationEvent(
        actor_id=actor.id if actor is not None else None, action=action, business_id=business_id,
        target_key=target_key, report_id=report.id if report else None,
        decision_id=decision.id if decision else None, appeal_id=appeal.id if appeal else None,
        notice_id=notice.id if notice else None, rule=str(rule) if rule else None, details=details, at=now,
    )
    db.session.add(event)
    db.session.flush()
    return event


def recent_log(*, limit: int = 300) -> list[ModerationEvent]:
    return list(db.session.scalars(select(ModerationEvent).order_by(ModerationEvent.id.desc()).limit(limit)))


def require_moderator_for(moderator: User, business: Business | int) -> None:
    """Only moderators decide, and never about a business they belong to: they would judge
    their own case."""
    if not getattr(moderator, "is_moderator", False):
        raise NotAllowed("Only a moderator can do that.")
    if access.is_member(moderator, business):
        raise NotAllowed("You belong to this business, so another moderator must decide.")


def appoint(user: User, *, now: datetime) -> None:
    """An operator's decision (``flask create-moderator``); no page can grant it."""
    if user.is_moderator:
        return
    accounts.make_moderator(user)
    log("moderator_added", actor=None, now=now, user_id=user.id)


def dismiss_moderator(user: User, *, now: datetime) -> None:
    """An operator's decision (``flask remove-moderator``). Decisions already made stay, with
    their name in the log."""
    if not user.is_moderator:
        raise Invalid("That account is not a moderator.")
    user.is_moderator = False
    db.session.flush()
    log("moderator_removed", actor=None, now=now, user_id=user.id)
