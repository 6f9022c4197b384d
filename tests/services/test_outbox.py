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


def test_a_notice_keeps_the_facts_of_its_moment(ctx, clock):
    from reviewsite.notifications.catalogue import summary_for
    from reviewsite.services import reviews
    from tests.factories import BusinessFactory, MembershipFactory

    business = BusinessFactory(name="Corner Cafe")
    MembershipFactory(business=business)
    author = UserFactory()
    review = reviews.submit_review(author, business, stars=2, title="t", body="b", now=clock.now())
    reviews.revise(review, author, stars=4, title="t", body="b", now=clock.now())
    held = db.session.scalar(select(Notification).where(Notification.kind == "review_held"))
    assert summary_for(held) == "A 2-star review of Corner Cafe is in its make-it-right window"
