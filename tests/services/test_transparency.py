"""The monthly transparency report: one service, the same figures on SQLite and PostgreSQL (the
fixtures run every test on both), counted by the month each thing happened in (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reviewsite.models import RemedyKind
from reviewsite.services import appeals, decisions, thread, transparency
from reviewsite.services.errors import Invalid
from tests.factories import UserFactory
from tests.moderation_world import held_thread, item, people, published, report  # noqa: F401 - fixtures


def figures(month: str) -> dict[str, object]:
    r = transparency.month_report(transparency.Month.parse(month))
    return {
        "reports": [(c.rule.rule.value, c.count) for c in r.reports_by_reason], "reports_total": r.reports_total,
        "flagged": r.flagged_automatically,
        "removed": [(c.rule.rule.value, c.count) for c in r.removed_by_rule], "dismissed": r.dismissed,
        "appeals": (r.appeals_filed, r.appeals_upheld, r.appeals_overturned, r.appeals_open),
        "notices": [(c.rule.rule.value, c.count) for c in r.notices_by_rule],
    }


def test_a_month_counts_what_happened_in_it(people, held_thread, clock):
    review, message = held_thread
    clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))  # the last hour of March
    first = published(people.shop, UserFactory(), clock)
    second = published(people.shop, UserFactory(), clock)
    report(people.bystander, item("review", first.id), clock, reason="personal_info")
    report(people.other, item("review", first.id), clock, reason="personal_info")
    report(people.bystander, item("review", second.id), clock, reason="spam")
    thread.offer_remedy(review, people.owner, RemedyKind.REFUND, "Refund if you update your review.",
                        now=clock.now(), send_anyway=True)
    removal = decisions.decide(item("review", first.id), people.mod, outcome="removed", rule="personal_info",
                               facts="A name and a street.", now=clock.now())
    decisions.decide(item("review", second.id), people.mod, outcome="dismissed", rule="spam",
                     facts="No advertising in it.", now=clock.now())
    appeal = appeals.file_appeal(removal, removal.review.author, "That is my own name.", now=clock.now())

    clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))  # April
    appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="The name is the author's own.",
                          now=clock.now())
    report(people.reviewer, item("message", message.id), clock, reason="pressure")
    decisions.decide(item("message", message.id), people.mod, outcome="notice", rule="pressure",
                     facts="Repeated messages to change the review.", now=clock.now())

    assert figures("2026-03") == {
        "reports": [("personal_info", 2), ("spam", 1)], "reports_total": 3, "flagged": 1,
        "removed": [("personal_info", 1)], "dismissed": 1, "appeals": (1, 0, 0, 0), "notices": [],
    }
    assert figures("2026-04") == {
        "reports": [("pressure", 1)], "reports_total": 1, "flagged": 0,
        "removed": [], "dismissed": 0, "appeals": (0, 0, 1, 0), "notices": [("pressure", 1)],
    }
    assert figures("2026-05")["reports_total"] == 0
    assert [str(m) for m in transparency.months(now=clock.now())] == ["2026-04", "2026-03"]


@pytest.mark.parametrize("text", ["2026-13", "26-03", "2026-3", "march", "", "2026-03-01", "0999-01"])
def test_a_month_must_be_a_month(text):
    with pytest.raises(Invalid, match="YYYY-MM"):
        transparency.Month.parse(text)


def test_month_arithmetic():
    assert str(transparency.Month(2026, 12).next()) == "2027-01"
    assert str(transparency.Month(2026, 1).previous()) == "2025-12"
    assert transparency.Month(2026, 2).end == datetime(2026, 3, 1, tzinfo=UTC)
