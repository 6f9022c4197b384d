from __future__ import annotations

from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Notification
from reviewsite.services.outbox import notify
from tests.factories import ReviewFactory, UserFactory


def test_a_fact_produces_at_most_one_row_per_recipient(ctx, clock):
    review = ReviewFactory()
    person = UserFactory()
    first = notify("review_held", [person], now=clock.now(), review=review)
    second = notify("review_held", [person], now=clock.now(), review=review)
    assert len(first) == 1 and second == []
    assert db.session.scalar(select(func.count(Notification.id))) == 1
