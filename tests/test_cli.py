"""Operator commands, invoked as ``flask <command>`` would."""

from __future__ import annotations

from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, EmailStatus, Notification, Review, User
from reviewsite.unit_of_work import unit_of_work
from tests.factories import UserFactory


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_can_run_twice(app, db_connection):
    first = run(app, "seed-demo")
    assert "owner@example.com" in first
    run(app, "seed-demo")
    with app.app_context():
        assert db.session.scalar(select(func.count(Business.id))) == 2
        assert db.session.scalar(select(func.count(Review.id))) == 2


def test_create_moderator(app, db_connection):
    with app.app_context(), unit_of_work():
        UserFactory(email="mo@example.com")
    assert "now a moderator" in run(app, "create-moderator", "mo@example.com")
    with app.app_context():
        assert db.session.scalar(select(User.is_moderator).where(User.email == "mo@example.com"))
    result = app.test_cli_runner().invoke(args=["create-moderator", "nobody@example.com"])
    assert result.exit_code != 0 and "no account" in result.output


def test_operators_add_and_remove_moderators_and_the_log_says_so(app, db_connection):
    from reviewsite.models import ModerationEvent

    with app.app_context(), unit_of_work():
        user = UserFactory(email="mo@example.com")
        user_id = user.id
    run(app, "create-moderator", "mo@example.com")
    assert "no longer a moderator" in run(app, "remove-moderator", "mo@example.com")
    with app.app_context():
        assert not db.session.scalar(select(User.is_moderator).where(User.email == "mo@example.com"))
        log = [(e.action, e.actor_id, e.details) for e in db.session.scalars(select(ModerationEvent))]
        assert log == [("moderator_added", None, {"user_id": user_id}), ("moderator_removed", None, {"user_id": user_id})]
    for args, message in ((["remove-moderator", "mo@example.com"], "is not a moderator"),
                          (["remove-moderator", "nobody@example.com"], "no account")):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code != 0 and message in result.output


def test_dead_mail_is_listed_and_can_be_retried(app, db_connection, clock):
    with app.app_context(), unit_of_work():
        user = UserFactory()
        db.session.add(Notification(dedupe_key="confirm_email:x:1", kind="confirm_email", recipient_id=user.id,
                                    email_status=EmailStatus.DEAD, attempts=8, last_error="SMTP 554",
                                    next_attempt_at=clock.now(), created_at=clock.now(), facts={}))
    listing = run(app, "outbox", "dead")
    assert "confirm_email" in listing and "SMTP 554" in listing
    assert "requeued 1" in run(app, "outbox", "retry")
    with app.app_context():
        row = db.session.scalar(select(Notification))
        assert (row.email_status, row.attempts) == (EmailStatus.PENDING, 0)
    assert "sent" in run(app, "sweep")
