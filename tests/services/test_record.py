"""The make-it-right record (services/record.py) over a hand-made history whose answers are
known, on both databases: every figure of the public record, the same figures per week for the
owner's view, and one statement each."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from reviewsite.extensions import db
from reviewsite.models import RemedyKind, ReviewStatus, Side, ThreadMessage
from reviewsite.services import record
from tests.factories import BusinessFactory, ReviewFactory, UserFactory
from tests.helpers import START

NOW = START + timedelta(days=30)  # 2026-04-01 09:00 UTC
H = timedelta(hours=1)


def complaint(business, held_ago: timedelta, *, status=ReviewStatus.HELD, stars=2, reply_after=None,
              released_by=None, released_after=None, window=72 * H, **columns):
    held_at = NOW - held_ago
    values = dict(business=business, stars=stars, status=status, held_at=held_at, created_at=held_at,
                  publish_at=held_at + window,
                  first_business_reply_at=held_at + reply_after if reply_after is not None else None)
    if status is ReviewStatus.PUBLISHED:
        values.update(released_by=released_by or Side.SYSTEM,
                      published_at=held_at + (released_after if released_after is not None else window))
    values.update(columns)
    return ReviewFactory(**values)


@pytest.fixture
def history(ctx):
    """The business's last year, review by review, with what each must count as."""
    shop, other = BusinessFactory(), BusinessFactory()
    # Published automatically at the end of its window, answered after 2 h, with a response.
    complaint(shop, 10 * 24 * H, status=ReviewStatus.PUBLISHED, reply_after=2 * H, response_body="Sorry.",
              response_updated_at=NOW - 9 * 24 * H)
    # Answered after 6 h, released early by the business, rated 1 then raised to 4, resolved.
    complaint(shop, 9 * 24 * H, status=ReviewStatus.PUBLISHED, stars=4, original_stars=1,
              stars_changed_at=NOW - 9 * 24 * H + 5 * H, reply_after=6 * H, released_by=Side.BUSINESS,
              released_after=7 * H, resolved_at=NOW - 8 * 24 * H, resolution_note="Put right.")
    # Never answered; the reviewer published it after an hour.
    complaint(shop, 8 * 24 * H, status=ReviewStatus.PUBLISHED, stars=3, released_by=Side.REVIEWER,
              released_after=H)
    # Answered after 10 h; the reviewer accepted a refund at 20 h and withdrew at 30 h.
    withdrawn = complaint(shop, 7 * 24 * H, status=ReviewStatus.WITHDRAWN, reply_after=10 * H,
                          withdrawn_at=NOW - 7 * 24 * H + 30 * H)
    db.session.add(ThreadMessage(review_id=withdrawn.id, author_id=UserFactory().id, side=Side.BUSINESS,
                                 body="A refund.", remedy=RemedyKind.REFUND, created_at=withdrawn.held_at + 12 * H,
                                 accepted_at=withdrawn.held_at + 20 * H))
    # Still in its window, answered after 30 minutes: its window has not ended, so it is not
    # counted among the answered (nor among the ended).
    complaint(shop, H, stars=1, reply_after=timedelta(minutes=30))
    # Its time came 28 h ago and no sweep ran: it reads as published, unanswered.
    complaint(shop, 100 * H)
    # A business reply after publish_at, before the sweep: not within the window.
    complaint(shop, 80 * H, stars=3, reply_after=72 * H + timedelta(seconds=10))
    # Not counted: removed by moderators, older than 12 months, never held, another business's.
    complaint(shop, 5 * 24 * H, status=ReviewStatus.REMOVED, removed_at=NOW - 4 * 24 * H, removal_reason="spam")
    complaint(shop, 400 * 24 * H, status=ReviewStatus.PUBLISHED, reply_after=H)
    ReviewFactory(business=shop, published=True, created_at=NOW - 24 * H, published_at=NOW - 24 * H)
    complaint(other, 2 * 24 * H, status=ReviewStatus.PUBLISHED, reply_after=H, released_by=Side.BUSINESS,
              released_after=2 * H, resolved_at=NOW - 24 * H)
    db.session.flush()
    return shop


def test_every_figure_of_the_public_record(history):
    found = record.record(history.id, now=NOW)
    assert found.since == START.replace(hour=0) + timedelta(days=30 - 365)
    assert found.figures == record.Figures(
        received=7, ended=6, answered=3, median_reply_seconds=6 * 3600, resolved=1, released_by_reviewer=1,
        released_by_business=1, withdrawn_after_remedy=1, published_with_response=1,
        # The five now public: given 2, 1, 3, 2, 3 stars; now 2, 4, 3, 2, 3.
        stars_before=pytest.approx(2.2), stars_after=pytest.approx(2.8))
    assert found.figures.answered_share == 0.5
    assert found.figures.resolved_share == pytest.approx(1 / 7)


def test_the_same_figures_week_by_week(history):
    weeks = record.weekly(history.id, now=NOW, weeks=2)
    assert [week.starts for week in weeks] == [START.replace(day=19, hour=0), START.replace(day=26, hour=0)]
    first, second = (week.figures for week in weeks)
    assert (first.received, first.ended, first.answered, first.median_reply_seconds, first.resolved,
            first.withdrawn_after_remedy) == (4, 4, 3, 6 * 3600, 1, 1)
    assert (second.received, second.ended, second.answered, second.median_reply_seconds) == (3, 2, 0, None)


def test_an_even_number_of_replies_has_the_mean_of_the_middle_two_as_median(ctx):
    shop = BusinessFactory()
    for hours in (1, 3, 5, 7):
        complaint(shop, 5 * 24 * H, status=ReviewStatus.PUBLISHED, reply_after=hours * H)
    assert record.record(shop.id, now=NOW).figures.median_reply_seconds == pytest.approx(4 * 3600)


def test_a_business_with_no_complaint_has_an_empty_record(ctx):
    shop = BusinessFactory()
    ReviewFactory(business=shop, published=True)
    assert record.record(shop.id, now=NOW).figures == record.Figures()
    assert all(week.figures == record.Figures() for week in record.weekly(shop.id, now=NOW, weeks=3))


def test_the_record_and_the_weeks_are_one_statement_each(history, db_connection):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if "SAVEPOINT" not in statement:
            seen.append(statement)

    sa.event.listen(db_connection, "before_cursor_execute", count)
    try:
        record.record(history.id, now=NOW)
        record.weekly(history.id, now=NOW)
    finally:
        sa.event.remove(db_connection, "before_cursor_execute", count)
    assert len(seen) == 2, seen


def test_the_period_moves_once_a_day():
    assert record.period_start(NOW) == record.period_start(NOW.replace(hour=23, minute=59))
    assert record.period_start(NOW + timedelta(days=1)) == record.period_start(NOW) + timedelta(days=1)
