"""Reports: anyone signed in says that a review, a response or a listing breaks a rule; either
party says it of a message or an offer in their private thread. And the automatic flag on a
business's message that ties an offer to the review and was sent anyway.

A report changes nothing about the item (DESIGN.md: "a reported item stays as it is until a
moderator decides"): however many reports a review gets, it stays on the page and in the average,
so a business cannot make a bad review vanish by reporting it. One person reports one item once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import (
    Decision,
    DecisionStatus,
    ItemKind,
    Outcome,
    Report,
    ReportStatus,
    Review,
    Rule,
    ThreadMessage,
    User,
)
from reviewsite.services import moderated_items, moderation
from reviewsite.services.conditions import Found
from reviewsite.services.errors import Conflict, Invalid, NotAllowed
from reviewsite.services.moderated_items import Item
from reviewsite.services.persistence import insert_unique
from reviewsite.services.rules import rule_text, rules_for

NOTE_MAX = 1000
ALREADY_REPORTED = ("You have already reported this. A moderator will look at it; you can follow it under "
                    "“My reports”.")
_OWN = {ItemKind.REVIEW: "your own review", ItemKind.RESPONSE: "your business’s own response",
        ItemKind.LISTING: "your business’s own listing", ItemKind.MESSAGE: "a message from your own side"}


def file_report(reporter: User, item: Item, reason: Rule | str, note: str, *, now: datetime) -> Report:
    """Checks, in this order: a confirmed account that can see the item; not one's own; a reason
    from the list for this kind of item; an item still there to report; a short note; and not a
    repeat of one's earlier report (while it is open, or once decided unless the item changed
    since). Refusals write nothing."""
    if not reporter.is_confirmed:
        raise NotAllowed("Confirm your email address before reporting.")
    if not moderated_items.can_see(reporter, item):
        raise NotAllowed("You cannot report this.")
    if moderated_items.is_own(reporter, item):
        raise Invalid(f"You cannot report {_OWN[item.kind]}.")
    try:
        rule = Rule(reason)
    except ValueError:
        raise Invalid("Choose a reason from the list.") from None
    if rule_text(rule) not in rules_for(item.kind):
        raise Invalid("That reason is for messages in a private thread; choose another.")
    moderated_items.check_reportable(item)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid(f"The note can be at most {NOTE_MAX} characters.")
    _refuse_repeat(reporter, item)
    # Two tabs at once: the unique index of open reports per person and item decides.
    report = insert_unique(
        Report, {"reporter_id": reporter.id, **item.columns, "reason": rule, "note": note,
                 "status": ReportStatus.OPEN, "created_at": now},
        unique=("reporter_id", "target_key"), where="status = 'open' AND reporter_id IS NOT NULL",
        conflict_message=ALREADY_REPORTED)
    moderation.log("report_filed", actor=reporter, now=now, business_id=item.business.id,
                   target_key=item.key, report=report, rule=rule)
    return report


def _refuse_repeat(reporter: User, item: Item) -> None:
    earlier = db.session.scalar(
        select(Report).where(Report.reporter_id == reporter.id, Report.target_key == item.key)
        .order_by(Report.id.desc()).limit(1)
    )
    if earlier is None:
        return
    if earlier.status is ReportStatus.OPEN:
        raise Conflict(ALREADY_REPORTED)
    if not _changed_since(item, earlier.decided_at):
        raise Conflict("You reported this before and a moderator decided. You can see the decision, and appeal "
                       "it if you disagree, under “My reports”.")


def _changed_since(item: Item, moment: datetime) -> bool:
    """Whether the item was edited after ``moment`` (then it may be reported again)."""
    review = item.review
    if item.kind is ItemKind.REVIEW:
        return any(t is not None and t > moment for t in (review.edited_at, review.stars_changed_at))
    if item.kind is ItemKind.RESPONSE:
        return review.response_updated_at is not None and review.response_updated_at > moment
    return False


def flag_condition(message: ThreadMessage, found: list[Found], *, now: datetime) -> Report:
    """The business sent a message that ties something to the review after being warned: it
    goes to the moderators' queue as an automatic report, and the thread marks it for the
    reviewer."""
    item = moderated_items.Item(ItemKind.MESSAGE, message.id, message.review.business,
                                review=message.review, message=message)
    quoted = "; ".join(f"“{f.sentence[:200]}”" for f in found[:3])
    report = Report(reporter_id=None, **item.columns, reason=Rule.CONDITIONED_OFFER,
                    note=f"Sent anyway after the warning about condition language: {quoted}",
                    status=ReportStatus.OPEN, created_at=now)
    db.session.add(report)
    db.session.flush()
    moderation.log("message_flagged", actor=None, now=now, business_id=item.business.id, target_key=item.key,
                   report=report, rule=Rule.CONDITIONED_OFFER, patterns=[f.pattern for f in found])
    return report


@dataclass(frozen=True)
class Mark:
    """What the thread shows about one message: flagged for condition language (and not
    dismissed), removed by moderators, reported by the person looking."""

    flagged: bool = False
    removed: Decision | None = None
    reported_by_viewer: bool = False


def thread_marks(review: Review, viewer: User | None) -> dict[int, Mark]:
    keys = {moderated_items.key_of(ItemKind.MESSAGE, m.id): m.id for m in review.messages}
    if not keys:
        return {}
    flagged, reported = set(), set()
    for target_key, reporter_id, status in db.session.execute(
        select(Report.target_key, Report.reporter_id, Report.status).where(Report.review_id == review.id,
                                                                           Report.kind == ItemKind.MESSAGE)
    ):
        if reporter_id is None and status is not ReportStatus.DISMISSED:
            flagged.add(keys[target_key])
        if viewer is not None and reporter_id == getattr(viewer, "id", None):
            reported.add(keys[target_key])
    removed = {
        keys[decision.target_key]: decision
        for decision in db.session.scalars(
            select(Decision).where(Decision.review_id == review.id, Decision.kind == ItemKind.MESSAGE,
                                   Decision.outcome == Outcome.REMOVED, Decision.status == DecisionStatus.IN_FORCE)
        )
    }
    return {
        message_id: Mark(flagged=message_id in flagged, removed=removed.get(message_id),
                         reported_by_viewer=message_id in reported)
        for message_id in keys.values()
        if message_id in flagged or message_id in removed or message_id in reported
    }


@dataclass(frozen=True)
class MyReport:
    report: Report
    label: str


def reports_by(user: User, *, limit: int = 200) -> list[MyReport]:
    """The reporter's own reports, newest first, with what became of them."""
    rows = db.session.scalars(
        select(Report).options(joinedload(Report.business), joinedload(Report.decision))
        .where(Report.reporter_id == user.id).order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
    ).all()
    out = []
    for report in rows:
        item = moderated_items.load_key(report.target_key)
        out.append(MyReport(report, item.label if item is not None else report.target_key))
    return out
