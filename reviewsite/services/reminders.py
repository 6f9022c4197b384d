"""Reminders to a business that has not answered a held review yet.

Timers are data: ``Review.reminder_due_at`` holds the next one, swept like ``publish_at``. The
first comes half-way through the window; the second a day before release, or for short windows a
third of the window before (``window.WindowPolicy``): a 72-hour window gives 36 h and 48 h, a
60-second one 30 s and 40 s. A business reply, or the review leaving ``held``, clears the timer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Review, ReviewStatus
from reviewsite.services import members
from reviewsite.services.lifecycle import Action, compare_and_set
from reviewsite.services.outbox import notify
from reviewsite.services.window import window_policy


def next_after_extension(review: Review, new_publish_at: datetime) -> datetime | None:
    """An extension moves the "day before release" reminder with the release; a business that
    has replied, or has had both reminders, gets none."""
    if review.first_business_reply_at is not None or review.reminders_sent >= 2:
        return None
    if review.reminders_sent == 0:
        return review.reminder_due_at
    return new_publish_at - window_policy().last_reminder_lead


def send_due_reminders(*, now: datetime, limit: int = 500) -> list[int]:
    """Sweep: remind the members of every business with an unanswered, due reminder."""
    due = db.session.scalars(
        select(Review)
        .where(
            Review.status == ReviewStatus.HELD,
            Review.reminder_due_at <= now,
            Review.first_business_reply_at.is_(None),
        )
        .order_by(Review.reminder_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    lead = window_policy().last_reminder_lead
    for review in due:
        number = review.reminders_sent + 1
        assert review.publish_at is not None  # held rows always have one (CHECK constraint)
        following = review.publish_at - lead if number == 1 else None
        compare_and_set(
            review,
            Action.REMIND,
            Review.reminder_due_at == review.reminder_due_at,
            Review.first_business_reply_at.is_(None),
            reminders_sent=number,
            # A late sweep that finds both due sends one reminder, not two at once.
            reminder_due_at=following if following is not None and following > now else None,
        )
        notify("reminder", members.member_ids(review.business_id), now=now, review=review, fact=f"{review.id}.{number}")
    return [review.id for review in due]
