"""The public transparency report, per calendar month (UTC): reports received by reason, items
removed by rule, decisions by outcome, appeals and their outcomes, notices issued.

One implementation for PostgreSQL and SQLite: each figure is a GROUP BY over a half-open range
``[first instant of the month, first instant of the next)``, bound as parameters, so no date
function of either dialect is needed and the indexes on the time columns serve every query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Appeal, AppealStatus, Decision, Outcome, PressureNotice, Report
from reviewsite.services.errors import Invalid
from reviewsite.services.rules import RULES, RuleText

MONTHS_LISTED = 24


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM``; anything else is refused with a sentence."""
        try:
            year, month = (int(part) for part in text.split("-"))
            if not (2000 <= year <= 9999 and 1 <= month <= 12) or len(text) != 7:
                raise ValueError
        except ValueError:
            raise Invalid("Give a month as YYYY-MM, for example 2026-03.") from None
        return cls(year, month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        return self.start.strftime("%B %Y")


@dataclass(frozen=True)
class Count:
    rule: RuleText
    count: int


@dataclass(frozen=True)
class MonthReport:
    month: Month
    reports_by_reason: list[Count]
    reports_total: int
    flagged_automatically: int
    removed_by_rule: list[Count]
    removed_total: int
    dismissed: int
    appeals_filed: int
    appeals_upheld: int
    appeals_overturned: int
    appeals_open: int
    notices_by_rule: list[Count]
    notices_total: int


def _by_rule(rows: Iterable[tuple[object, int]]) -> list[Count]:
    counts = {rule: count for rule, count in rows}
    return [Count(text, counts[rule]) for rule, text in RULES.items() if counts.get(rule)]


def month_report(month: Month) -> MonthReport:
    start, end = month.start, month.end

    def in_month(column):
        return (column >= start, column < end)

    human = Report.reporter_id.is_not(None)
    reports = _by_rule(db.session.execute(
        select(Report.reason, func.count(Report.id)).where(*in_month(Report.created_at), human).group_by(Report.reason)
    ))
    flagged = db.session.scalar(
        select(func.count(Report.id)).where(*in_month(Report.created_at), Report.reporter_id.is_(None))) or 0
    outcomes = dict(db.session.execute(
        select(Decision.outcome, func.count(Decision.id)).where(*in_month(Decision.decided_at))
        .group_by(Decision.outcome)
    ).all())
    removed = _by_rule(db.session.execute(
        select(Decision.rule, func.count(Decision.id))
        .where(*in_month(Decision.decided_at), Decision.outcome == Outcome.REMOVED).group_by(Decision.rule)
    ))
    filed = db.session.scalar(select(func.count(Appeal.id)).where(*in_month(Appeal.created_at))) or 0
    decided = dict(db.session.execute(
        select(Appeal.status, func.count(Appeal.id)).where(*in_month(Appeal.decided_at)).group_by(Appeal.status)
    ).all())
    still_open = db.session.scalar(
        select(func.count(Appeal.id)).where(*in_month(Appeal.created_at), Appeal.status == AppealStatus.OPEN)) or 0
    notices = _by_rule(db.session.execute(
        select(PressureNotice.rule, func.count(PressureNotice.id)).where(*in_month(PressureNotice.issued_at))
        .group_by(PressureNotice.rule)
    ))
    return MonthReport(
        month=month,
        reports_by_reason=reports, reports_total=sum(c.count for c in reports), flagged_automatically=flagged,
        removed_by_rule=removed, removed_total=sum(c.count for c in removed),
        dismissed=outcomes.get(Outcome.DISMISSED, 0),
        appeals_filed=filed, appeals_upheld=decided.get(AppealStatus.UPHELD, 0),
        appeals_overturned=decided.get(AppealStatus.OVERTURNED, 0), appeals_open=still_open,
        notices_by_rule=notices, notices_total=sum(c.count for c in notices),
    )


def months(*, now: datetime) -> list[Month]:
    """The months to offer, newest first: from the first report (or this month) to now."""
    first = db.session.scalar(select(func.min(Report.created_at)))
    month, oldest = Month.of(now), Month.of(first) if first is not None else Month.of(now)
    listed = []
    while len(listed) < MONTHS_LISTED:
        listed.append(month)
        if month == oldest:
            break
        month = month.previous()
    return listed
