"""Each event produces exactly the expected emails, to exactly the expected people, with working
links, through a real SMTP server on loopback; nobody else gets mail and nothing comes twice.
(The same pipeline with real Celery worker and beat processes is in tests/processes.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification
from reviewsite.notifications import delivery
from reviewsite.services import publication, reminders, reviews, thread
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START


class Mailroom:
    """Delivers what is due and hands back only the mail that arrived since the last look."""

    def __init__(self, smtp) -> None:
        self.smtp = smtp
        self.seen = 0

    def deliver(self) -> list[tuple[str, str]]:
        delivery.deliver_pending()
        mails = self.smtp.mails[self.seen:]
        self.seen = len(self.smtp.mails)
        return sorted((mail.to, mail.subject) for mail in mails)


@pytest.fixture
def people(ctx, clock):
    with unit_of_work():
        shop = BusinessFactory(name="Corner Cafe")
        owner, staff = UserFactory(email="owner@example.com"), UserFactory(email="staff@example.com")
        MembershipFactory(business=shop, user=owner)
        MembershipFactory(business=shop, user=staff, role="staff")
        reviewer, other = UserFactory(email="reviewer@example.com"), UserFactory(email="other@example.com")
        UserFactory(email="bystander@example.com")
    return shop, owner, staff, reviewer, other


def test_every_event_mails_exactly_the_right_people(smtp, people, clock):
    shop, owner, staff, reviewer, other = people
    room = Mailroom(smtp)
    members = ["owner@example.com", "staff@example.com"]

    with unit_of_work():
        review = reviews.submit_review(reviewer, shop, stars=2, title="Cold", body="Soup", now=clock.now())
        second = reviews.submit_review(other, shop, stars=1, title="Rude", body="Staff", now=clock.now())
    held_subjects = {"A 2-star review of Corner Cafe is waiting for you",
                     "A 1-star review of Corner Cafe is waiting for you"}
    got = room.deliver()
    assert sorted(got) == sorted((m, s) for m in members for s in held_subjects)

    # Two messages in a burst: nothing yet, then one email to the reviewer only.
    with unit_of_work():
        thread.reply(review, owner, "So sorry. Refund?", now=clock.now())
        clock.advance(seconds=40)
        thread.reply(review, staff, "We can also redo it.", now=clock.now())
    assert room.deliver() == []
    clock.advance(seconds=120)
    assert room.deliver() == [("reviewer@example.com", "2 new messages about the review of Corner Cafe")]

    # The reviewer answers: the business members hear of it.
    with unit_of_work():
        thread.reply(review, reviewer, "A refund would be fine.", now=clock.now())
    clock.advance(seconds=121)
    assert room.deliver() == [(m, "A new message about the review of Corner Cafe") for m in members]

    # Half-way: only the unanswered review reminds, and only its business.
    clock.set(START + timedelta(hours=36))
    with unit_of_work():
        assert reminders.send_due_reminders(now=clock.now()) == [second.id]
    got = room.deliver()
    assert [to for to, subject in got if subject.startswith("Reminder:")] == members, got

    with unit_of_work():
        reviews.extend_window(second, other, hours=24, now=clock.now())
    assert room.deliver() == [(m, "More time to make it right with a customer of Corner Cafe") for m in members]

    # The window ends for the first review: both sides are told, with the review's link.
    clock.set(review.publish_at)
    with unit_of_work():
        assert publication.publish_due(now=clock.now()) == [review.id]
    published = [(to, "The review of Corner Cafe is now public") for to in
                 ["owner@example.com", "reviewer@example.com", "staff@example.com"]]
    assert room.deliver() == published
    for mail in smtp.mails_with("is now public"):
        assert f"http://reviewsite.test/reviews/{review.id}" in mail.urls

    with unit_of_work():
        reviews.withdraw(second, other, now=clock.now())
    assert room.deliver() == [(m, "The review of Corner Cafe was withdrawn") for m in members]

    # Nothing twice, nothing to the bystander, every Message-ID distinct, the outbox empty.
    clock.advance(days=30)
    assert room.deliver() == []
    assert all("bystander@example.com" not in mail.rcpt_tos for mail in smtp.mails)
    assert len({mail.message_id for mail in smtp.mails}) == len(smtp.mails)
    assert db.session.scalar(select(Notification.id).where(Notification.email_status == EmailStatus.PENDING)) is None


def test_smtp_down_for_a_while_delays_mail_but_loses_and_doubles_none(smtp, people, clock):
    shop, owner, staff, reviewer, _ = people
    room = Mailroom(smtp)
    smtp.handler.refusing = True
    with unit_of_work():
        reviews.submit_review(reviewer, shop, stars=2, title="Cold", body="Soup", now=clock.now())
    for _ in range(3):
        assert room.deliver() == []
        clock.advance(minutes=5)  # past each backoff step (15 s, 30 s, 60 s ...)
    rows = list(db.session.scalars(select(Notification).where(Notification.kind == "review_held")))
    assert all(row.email_status is EmailStatus.PENDING and row.attempts == 3 and row.last_error for row in rows)
    assert smtp.handler.refused == 6

    smtp.handler.refusing = False
    assert room.deliver() == [(m, "A 2-star review of Corner Cafe is waiting for you")
                              for m in ("owner@example.com", "staff@example.com")]
    clock.advance(hours=1)
    assert room.deliver() == []


def test_backoff_waits_before_trying_again(app, smtp, people, clock):
    shop, _, _, reviewer, _ = people
    smtp.handler.refusing = True
    with unit_of_work():
        reviews.submit_review(reviewer, shop, stars=2, title="Cold", body="Soup", now=clock.now())
    delivery.deliver_pending()
    assert smtp.handler.refused == 2
    clock.advance(seconds=app.config["MAIL_BACKOFF_BASE_SECONDS"] - 1)
    delivery.deliver_pending()
    assert smtp.handler.refused == 2, "retried before its backoff"
    clock.advance(seconds=1)
    delivery.deliver_pending()
    assert smtp.handler.refused == 4


def test_a_notification_gives_up_after_the_configured_attempts(app, smtp, people, clock):
    shop, _, _, reviewer, _ = people
    smtp.handler.refusing = True
    with unit_of_work():
        reviews.submit_review(reviewer, shop, stars=2, title="Cold", body="Soup", now=clock.now())
    for _ in range(app.config["MAIL_MAX_ATTEMPTS"]):
        delivery.deliver_pending()
        clock.advance(hours=3)
    statuses = set(db.session.scalars(select(Notification.email_status).where(Notification.kind == "review_held")))
    assert statuses == {EmailStatus.DEAD}
