"""What the public sees of moderation on a business page: the notice while it lasts, and one line
for each review or response moderators removed ("removed by moderators on <date>: <rule>").

Read models for ``templates/public/business.html``: every service that changes what they return
bumps ``listing_version`` in the same transaction (decisions, appeals, the notice sweep), so the
page cache keyed on it is never stale. They hold no words of what was removed, and no stars: the
line is the same whatever the rating was (invariant 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Exists, String, bindparam, exists, func, literal_column, select

from reviewsite.extensions import db
from reviewsite.models import Business, Decision, DecisionStatus, ItemKind, NoticeStatus, Outcome, PressureNotice
from reviewsite.services.rules import RuleText, rule_text

SHOWN_REMOVALS = 20
_WHAT = {ItemKind.REVIEW: "A review", ItemKind.RESPONSE: "A response from the business"}


@dataclass(frozen=True)
class NoticeLine:
    issued_at: datetime
    ends_at: datetime
    rule: RuleText


@dataclass(frozen=True)
class RemovalLine:
    what: str
    removed_at: datetime
    rule: RuleText


@dataclass(frozen=True)
class PublicRecord:
    notices: list[NoticeLine]
    removals: list[RemovalLine]
    removals_total: int

    @property
    def more_removals(self) -> int:
        return self.removals_total - len(self.removals)


_decisions = Decision.__table__


def _removals_in_force(business_id: int | ColumnElement[int], kinds: tuple[ItemKind, ...]):
    """The decisions in force that removed these kinds of item of the business (a business id, or
    the column of one in a query on businesses). The kinds, outcome and status are constants in
    the SQL, not parameters, so that a search's stamp, read through the driver
    (``reviewsite/fast_reads.py``), can carry the condition."""
    c = _decisions.c
    return (c.business_id == business_id, c.kind.in_([_constant(kind) for kind in kinds]),
            c.outcome == _constant(Outcome.REMOVED), c.status == _constant(DecisionStatus.IN_FORCE))


def _constant(value: StrEnum) -> ColumnElement[str]:
    return literal_column(f"'{value.value}'", String)


def listing_removed(business_id: ColumnElement[int]) -> Exists:
    """Whether moderators removed the listing (a removal in force), as a condition of a query on
    businesses: a removed listing answers 410 and is left out of search and the home page."""
    return exists().where(*_removals_in_force(business_id, (ItemKind.LISTING,)))


def for_business(business: Business, *, now: datetime) -> PublicRecord:
    notices = [
        NoticeLine(issued_at, ends_at, rule_text(rule))
        for issued_at, ends_at, rule in db.session.execute(
            select(PressureNotice.issued_at, PressureNotice.ends_at, PressureNotice.rule)
            .where(PressureNotice.business_id == business.id, PressureNotice.status == NoticeStatus.ACTIVE,
                   PressureNotice.ends_at > now)
            .order_by(PressureNotice.issued_at.desc())
        )
    ]
    condition = _removals_in_force(business.id, tuple(_WHAT))
    total = db.session.scalar(select(func.count(Decision.id)).where(*condition)) or 0
    removals = [
        RemovalLine(_WHAT[kind], decided_at, rule_text(rule))
        for kind, decided_at, rule in db.session.execute(
            select(Decision.kind, Decision.decided_at, Decision.rule).where(*condition)
            .order_by(Decision.decided_at.desc(), Decision.id.desc()).limit(SHOWN_REMOVALS)
        )
    ] if total else []
    return PublicRecord(notices=notices, removals=removals, removals_total=total)


def with_removal(slug: str) -> tuple[Business, bool] | None:
    """The business at ``slug``, and whether moderators removed its listing (a removal in force),
    in one read: the review form and the business page ask both on every request."""
    row = db.session.execute(_WITH_REMOVAL, {"slug": slug}).first()
    return (row[0], bool(row[1])) if row else None


# Built once, the slug as a parameter (the review form and every business page render ask it):
# docs/architecture.md, "One implementation per operation". The entity, not the table: callers
# need the Business loaded.
_WITH_REMOVAL = select(Business, listing_removed(Business.id)).where(Business.slug == bindparam("slug"))


def listing_removal(business_id: int) -> RemovalLine | None:
    """The removal in force of the listing itself, if moderators removed it."""
    row = db.session.execute(
        select(Decision.decided_at, Decision.rule).where(*_removals_in_force(business_id, (ItemKind.LISTING,)))
        .order_by(Decision.id.desc()).limit(1)
    ).first()
    return RemovalLine("This listing", row.decided_at, rule_text(row.rule)) if row else None
