"""The moderators' queue: open reports grouped by what was reported, oldest first; open appeals;
and the business claims that only a moderator can verify.

A case is one reported item in its context: the item (a held review's words too, which
moderators may see), every open report with its note, the earlier decisions about the same
business and the same author, and how the reporters' earlier reports went. The rating is not part
of a case (invariant 9): the case shows no stars, so nothing in the decision can lean on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import Appeal, Decision, Report, ReportStatus, User
from reviewsite.services import access, appeals, businesses, claims, decisions, moderated_items
from reviewsite.services.errors import DomainError
from reviewsite.services.moderated_items import Item
from reviewsite.services.rules import RuleText, rule_text

QUEUE_LIMIT = 500


@dataclass(frozen=True)
class QueueEntry:
    """One piece of work another package offers the queue: what it is, since when it waits, and
    where a moderator handles it (an endpoint and its arguments, built into a link by the view)."""

    kind: str  # a short label shown as a tag, e.g. "Claim"
    title: str
    waiting_since: datetime
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def other_work(moderator: User) -> list[QueueEntry]:
    """The queue's other work, oldest first: claims of businesses that only a moderator can
    verify, leaving out the businesses this moderator belongs to (nobody decides their own)."""
    entries = [
        QueueEntry(kind="Claim", title=f"Claim of {claim.business.name}", waiting_since=claim.created_at,
                   endpoint="claims.decide", values={"claim_id": claim.id},
                   summary=f"{claim.claimant.display_name} says they run it")
        for claim in claims.pending_for_moderators()
        if not access.is_member(moderator, claim.business_id)
    ]
    return sorted(entries, key=lambda entry: entry.waiting_since)


@dataclass(frozen=True)
class Group:
    """The open reports about one item."""

    item: Item
    reports: list[Report]
    conflict: bool  # the moderator belongs to the business: they may look but not decide

    @property
    def waiting_since(self) -> datetime:
        return self.reports[0].created_at

    @property
    def reasons(self) -> list[tuple[RuleText, int]]:
        counts: dict[str, int] = {}
        for report in self.reports:
            counts[report.reason] = counts.get(report.reason, 0) + 1
        return sorted(((rule_text(rule), n) for rule, n in counts.items()), key=lambda pair: pair[0].number)

    @property
    def flagged(self) -> bool:
        return any(report.automatic for report in self.reports)


def open_groups(moderator: User, *, limit: int = QUEUE_LIMIT) -> list[Group]:
    reports = db.session.scalars(
        select(Report).options(joinedload(Report.reporter))
        .where(Report.status == ReportStatus.OPEN).order_by(Report.created_at, Report.id).limit(limit)
    ).all()
    by_key: dict[str, list[Report]] = {}
    for report in reports:
        by_key.setdefault(report.target_key, []).append(report)
    member_of = {business.id for business in businesses.businesses_of(moderator)}
    groups = []
    for key, grouped in by_key.items():
        item = moderated_items.load_key(key)
        if item is not None:
            groups.append(Group(item, grouped, conflict=item.business.id in member_of))
    return groups


@dataclass(frozen=True)
class ReporterRecord:
    reporter: User
    earlier: int
    upheld: int
    dismissed: int


@dataclass(frozen=True)
class Case:
    item: Item
    open_reports: list[Report]
    decisions: list[Decision]  # about this item, oldest first
    business_history: list[Decision]
    author_history: list[Decision]
    reporters: list[ReporterRecord]
    conflict: bool

    @property
    def default_rule(self) -> str | None:
        """The reason most reports give, to start the form with."""
        if not self.open_reports:
            return None
        counts: dict[str, int] = {}
        for report in self.open_reports:
            counts[report.reason] = counts.get(report.reason, 0) + 1
        return max(counts, key=lambda rule: (counts[rule], -rule_text(rule).number))


def case(item: Item, moderator: User) -> Case:
    reports = decisions.open_reports(item.key)
    reporter_ids = sorted({r.reporter_id for r in reports if r.reporter_id is not None})
    return Case(
        item=item,
        open_reports=reports,
        decisions=decisions.decisions_of_item(item.key),
        business_history=decisions.decisions_for_business(item.business.id, exclude_key=item.key),
        author_history=(decisions.decisions_about_author(item.author_id, exclude_key=item.key)
                        if item.author_id is not None else []),
        reporters=_reporter_records(reporter_ids, exclude_key=item.key),
        conflict=access.is_member(moderator, item.business),
    )


def _reporter_records(reporter_ids: list[int], *, exclude_key: str) -> list[ReporterRecord]:
    if not reporter_ids:
        return []
    counts: dict[int, dict[ReportStatus, int]] = {}
    for reporter_id, status, n in db.session.execute(
        select(Report.reporter_id, Report.status, func.count(Report.id))
        .where(Report.reporter_id.in_(reporter_ids), Report.target_key != exclude_key)
        .group_by(Report.reporter_id, Report.status)
    ):
        counts.setdefault(reporter_id, {})[status] = n
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(reporter_ids)))}
    return [
        ReporterRecord(users[uid], sum(counts.get(uid, {}).values()), counts.get(uid, {}).get(ReportStatus.UPHELD, 0),
                       counts.get(uid, {}).get(ReportStatus.DISMISSED, 0))
        for uid in reporter_ids
    ]


@dataclass(frozen=True)
class AppealEntry:
    appeal: Appeal
    item: Item | None
    blocked: str | None  # why this moderator may not decide it, if they may not


def open_appeals(moderator: User) -> list[AppealEntry]:
    entries = []
    for appeal in appeals.open_appeals():
        item = moderated_items.load_key(appeal.decision.target_key)
        entries.append(AppealEntry(appeal, item, _blocked(appeal, moderator)))
    return entries


def _blocked(appeal: Appeal, moderator: User) -> str | None:
    try:
        appeals.require_other_moderator(appeal, moderator)
    except DomainError as error:
        return str(error)
    return None


def appeal_entry(appeal: Appeal, moderator: User) -> AppealEntry:
    return AppealEntry(appeal, moderated_items.load_key(appeal.decision.target_key), _blocked(appeal, moderator))
