"""The timer and the outbox with real processes: a Celery worker and beat, a real broker, a real
SMTP server. These prove invariants 2, 3, 5 and 6 of DESIGN.md end to end, where the unit tests
can only call the service functions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import Flask

from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification, Review, ReviewStatus, User
from reviewsite.task_names import DELIVER_NOTIFICATIONS as DELIVER_BATCH_TASK
from reviewsite.notifications.rendering import message_id_for
from reviewsite.services import accounts, businesses, publication, reviews
from reviewsite.unit_of_work import unit_of_work
from tests.processes.conftest import (
    SITE_URL,
    SWEEP_INTERVAL_SECONDS,
    CeleryProcesses,
    Deployment,
    wait_for,
)
from tests.helpers import verify_owner
from tests.smtp_sink import Mail, SmtpServer, free_port

pytestmark = pytest.mark.processes

HELD_SUBJECT = "is waiting for you"
PUBLISHED_SUBJECT = "is now public"
CONFIRM_SUBJECT = "Confirm your email address"
# Invariant 3: a held review leaves `held` by publish_at plus the sweep interval and a few seconds.
LATENESS_BOUND = timedelta(seconds=SWEEP_INTERVAL_SECONDS + 5)
# Generous, bounded waits for things that should take a second or two on a loaded 2-core machine.
MAIL_TIMEOUT = 30.0
# After the last expected mail: a few sweep intervals of silence to catch a duplicate.
QUIET_SECONDS = 3 * SWEEP_INTERVAL_SECONDS


@dataclass(frozen=True)
class Scene:
    reviewer_id: int
    reviewer_email: str
    owner_id: int
    owner_email: str
    review_id: int
    publish_at: datetime
    canary: str


def make_scene(*, stars: int = 2) -> Scene:
    """A confirmed reviewer, a business with its owner, and a low-star review: all committed,
    through the services, by the test process (the web process's part)."""
    tag = uuid.uuid4().hex[:10]
    canary = f"canary{tag}"
    now = now_utc()
    with unit_of_work():
        reviewer = accounts.register(email=f"reviewer-{tag}@example.com", password="correct horse battery",
                                     display_name="Rita Reviewer", now=now)
        accounts.confirm_email(reviewer, now=now)
        owner = accounts.register(email=f"owner-{tag}@example.com", password="correct horse battery",
                                  display_name="Oscar Owner", now=now)
        accounts.confirm_email(owner, now=now)
        business = businesses.create_business(owner, name=f"Corner Cafe {tag}", category="Cafe", city="Leeds",
                                              address="1 High Street", description="Soup.",
                                              website="https://example.com", despite_duplicates=True, now=now)
        # The claim's link goes to the owner's own address (at example.com): no extra recipient.
        verify_owner(business, owner, now=now, address=owner.email)
        ids = (reviewer.id, reviewer.email, owner.id, owner.email)
    with unit_of_work():
        review = reviews.submit_review(
            reviewer,
            business,
            stars=stars,
            title=f"Cold soup {canary}",
            body=f"We waited forty minutes and the soup was cold. {canary}",
            now=now_utc(),
        )
        assert review.status is ReviewStatus.HELD
        review_id, publish_at = review.id, review.publish_at
    assert publish_at is not None
    return Scene(*ids, review_id=review_id, publish_at=publish_at, canary=canary)


def review_state(review_id: int) -> sa.Row:
    """Read the row on a fresh connection: no identity map, no long transaction."""
    with db.engine.connect() as connection:
        return connection.execute(
            sa.select(Review.status, Review.publish_at, Review.published_at, Review.released_by)
            .where(Review.id == review_id)
        ).one()


def outbox(**filters: object) -> list[sa.Row]:
    statement = (
        sa.select(
            Notification.id, Notification.dedupe_key, Notification.kind, Notification.recipient_id,
            # Where the mail goes: the notice's own address if it has one, else the account's.
            sa.func.coalesce(Notification.to_address, User.email).label("recipient_email"), Notification.review_id,
            Notification.email_status, Notification.attempts, Notification.last_error, Notification.sent_at,
        )
        .outerjoin(User, User.id == Notification.recipient_id)
        .order_by(Notification.id)
    )
    for name, value in filters.items():
        statement = statement.where(getattr(Notification, name) == value)
    with db.engine.connect() as connection:
        return list(connection.execute(statement))


def report(record_property, name: str, seconds: float) -> None:
    """Keep a measured figure in the JUnit XML and in the captured output (``-rP``)."""
    record_property(name, round(seconds, 3))
    print(f"{name} = {seconds:.3f}")


def assert_links_to_review(mail: Mail, review_id: int) -> None:
    prefix = f"{SITE_URL}/reviews/{review_id}"
    links = [url for url in mail.urls if url == prefix or url.startswith(tuple(prefix + c for c in "/?#"))]
    assert links, f"no link to {prefix} in:\n{mail.text}"
    assert all(url.startswith(SITE_URL + "/") for url in mail.urls), mail.urls


def assert_no_review_words(mail: Mail, scene: Scene) -> None:
    for part in (mail.text, mail.html, mail.raw, mail.subject):
        assert scene.canary not in part, f"the held review's words reached {mail.to}: {mail.subject}"
    assert "Cold soup" not in mail.text and "forty minutes" not in mail.text


def wait_for_quiet_outbox(processes: CeleryProcesses, smtp: SmtpServer) -> None:
    """Nothing left to send, then a few sweep intervals of silence so that a duplicate would show."""
    wait_for(
        lambda: not [row for row in outbox() if row.email_status is EmailStatus.PENDING],
        timeout=MAIL_TIMEOUT,
        what="every outbox row to be sent",
        detail=lambda: f"{outbox()}\n{smtp.describe()}\n{processes.logs()}",
    )
    time.sleep(QUIET_SECONDS)
    # Still alive: a worker that crashed would also be quiet.
    assert all(p.alive() for p in processes.all), processes.logs()


def assert_each_row_mailed_once(smtp: SmtpServer, people: set[str]) -> None:
    """Invariant 5 on the wire: every outbox row that says "sent" arrived exactly once, under the
    Message-ID derived from it, to its recipient only; nothing else arrived, nobody else got mail.
    (Digest-folded rows would need a digest mail instead; these scenarios have none.)"""
    rows = outbox()
    assert not [row for row in rows if row.email_status is EmailStatus.DEAD], rows
    sent = {
        message_id_for(SimpleNamespace(id=row.id, dedupe_key=row.dedupe_key)): row  # type: ignore[arg-type]
        for row in rows
        if row.email_status is EmailStatus.SENT
    }
    received = Counter(mail.message_id for mail in smtp.mails)
    assert [mid for mid, n in received.items() if n > 1] == [], f"duplicates\n{smtp.describe()}"
    assert set(received) == set(sent), f"outbox {sorted(sent)} vs\n{smtp.describe()}"
    for mail in smtp.mails:
        row = sent[mail.message_id]
        assert mail.rcpt_tos == (row.recipient_email,) and mail.to == row.recipient_email, (mail.to, row)
    assert {row.recipient_email for row in sent.values()} <= people


def test_held_review_is_published_after_its_window_and_mail_arrives(
    deployment: Deployment, smtp: SmtpServer, start_celery, record_property
) -> None:
    mail_env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    processes = start_celery(deployment, **mail_env)
    app: Flask = deployment.app(**mail_env)

    with app.app_context():
        scene = make_scene()
        submitted = time.monotonic()

        # Every look at the review, from right after the submit until it is public.
        observations: list[tuple[datetime, ReviewStatus]] = []

        def observe() -> sa.Row:
            state = review_state(scene.review_id)
            observations.append((now_utc(), state.status))  # the read's snapshot is no later than this
            return state

        # The business hears of it promptly, by the after-commit message, without the words.
        def held_mail() -> list[Mail]:
            observe()
            return smtp.mails_with(HELD_SUBJECT, to=scene.owner_email)

        held = wait_for(held_mail, timeout=MAIL_TIMEOUT, what="the review-held mail to the owner",
                        detail=lambda: smtp.describe() + "\n" + processes.logs())[0]
        report(record_property, "held_mail_seconds", held.received_monotonic - submitted)
        assert held.rcpt_tos == (scene.owner_email,)
        assert "2-star" in held.subject
        assert_no_review_words(held, scene)
        assert_links_to_review(held, scene.review_id)

        # Held until publish_at, never published before it; then published within the bound.
        def published() -> sa.Row | None:
            state = observe()
            return state if state.status is ReviewStatus.PUBLISHED else None

        state = wait_for(
            published,
            timeout=(scene.publish_at - now_utc()).total_seconds() + MAIL_TIMEOUT,
            what="the sweep to publish the review",
            detail=lambda: f"{observations[-3:]}\n{processes.logs()}",
        )
        early = [at for at, status in observations if status is ReviewStatus.PUBLISHED and at < scene.publish_at]
        assert not early, f"published before publish_at {scene.publish_at}: seen at {early}"
        held_seen = [at for at, status in observations if status is ReviewStatus.HELD]
        assert held_seen and max(held_seen) >= scene.publish_at - timedelta(seconds=2), (
            "the review was not watched up to its publish_at", held_seen[-1:], scene.publish_at)
        assert state.published_at >= scene.publish_at
        assert state.released_by.value == "system"
        lateness = state.published_at - scene.publish_at
        report(record_property, "publish_lateness_seconds", lateness.total_seconds())
        report(record_property, "first_seen_published_after_seconds",
               (observations[-1][0] - scene.publish_at).total_seconds())
        assert lateness <= LATENESS_BOUND, f"published {lateness} after publish_at (bound {LATENESS_BOUND})"

        # The after-commit hooks really went through the broker: the worker got a batch delivery
        # message for the test's commit (confirmations and the held notice) and one for its own
        # publish_due commit (the published notices); the sweep may have delivered them first.
        wait_for(lambda: processes.received(DELIVER_BATCH_TASK) >= 2, timeout=MAIL_TIMEOUT,
                 what="the worker to receive the after-commit delivery messages", detail=processes.logs)

        # Reviewer and owner each hear of it once, with a link to the review, and nobody else hears.
        wait_for(
            lambda: smtp.mails_with(PUBLISHED_SUBJECT, to=scene.reviewer_email)
            and smtp.mails_with(PUBLISHED_SUBJECT, to=scene.owner_email),
            timeout=MAIL_TIMEOUT, what="the published mails",
            detail=lambda: smtp.describe() + "\n" + processes.logs(),
        )
        wait_for_quiet_outbox(processes, smtp)

        assert_each_row_mailed_once(smtp, {scene.reviewer_email, scene.owner_email})
        for person in (scene.reviewer_email, scene.owner_email):
            public = smtp.mails_with(PUBLISHED_SUBJECT, to=person)
            assert len(public) == 1, smtp.describe()
            assert public[0].rcpt_tos == (person,)
            assert_links_to_review(public[0], scene.review_id)
        assert "Your 2-star review" in smtp.mails_with(PUBLISHED_SUBJECT, to=scene.reviewer_email)[0].text
        assert len(smtp.mails_with(HELD_SUBJECT)) == 1, smtp.describe()
        assert len(smtp.mails_with(CONFIRM_SUBJECT, to=scene.reviewer_email)) == 1, smtp.describe()
        assert len(smtp.mails_with(CONFIRM_SUBJECT, to=scene.owner_email)) == 1, smtp.describe()
        published_rows = outbox(kind="review_published")
        assert sorted(row.recipient_id for row in published_rows) == sorted([scene.reviewer_id, scene.owner_id])
        assert review_state(scene.review_id).status is ReviewStatus.PUBLISHED


def test_mail_survives_an_smtp_outage(production: Deployment, smtp_factory, start_celery, record_property) -> None:
    port = free_port()  # nothing listens here until the outage ends
    # A short backoff keeps the test quick; production retries after 15 s, then 30 s, ...
    mail_env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_BACKOFF_BASE_SECONDS": "1",
                "WINDOW_SECONDS": "3600"}
    processes = start_celery(production, **mail_env)
    app: Flask = production.app(**mail_env)

    with app.app_context():
        scene = make_scene()

        def failed_attempt() -> sa.Row | None:
            rows = outbox(kind="review_held")
            return rows[0] if rows and rows[0].attempts >= 1 and rows[0].last_error else None

        row = wait_for(failed_attempt, timeout=MAIL_TIMEOUT, what="a failed delivery attempt",
                       detail=lambda: f"{outbox()}\n{processes.logs()}")
        assert row.email_status is EmailStatus.PENDING
        assert row.recipient_id == scene.owner_id
        assert row.sent_at is None
        assert row.last_error.startswith("ConnectionRefusedError"), row.last_error

        outage_ended = time.monotonic()
        smtp = smtp_factory(port)
        held = wait_for(lambda: smtp.mails_with(HELD_SUBJECT, to=scene.owner_email), timeout=MAIL_TIMEOUT,
                        what="the held mail after the outage",
                        detail=lambda: f"{outbox()}\n{smtp.describe()}\n{processes.logs()}")
        report(record_property, "mail_after_outage_seconds", held[0].received_monotonic - outage_ended)
        wait_for_quiet_outbox(processes, smtp)

        assert len(smtp.mails_with(HELD_SUBJECT)) == 1, smtp.describe()
        assert_each_row_mailed_once(smtp, {scene.reviewer_email, scene.owner_email})
        (row,) = outbox(kind="review_held")
        assert row.email_status is EmailStatus.SENT and row.attempts >= 2 and row.last_error is None
        assert_no_review_words(held[0], scene)


def test_submit_succeeds_while_the_broker_is_down(
    production: Deployment, smtp: SmtpServer, start_celery, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An in-process alembic upgrade earlier in the session (migrations/env.py's fileConfig) may
    # have disabled this logger; the warning is part of what this test checks.
    monkeypatch.setattr(logging.getLogger("reviewsite.notifications.dispatch"), "disabled", False)
    mail_env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "WINDOW_SECONDS": "3600"}
    broker_down = production.app(CELERY_BROKER_URL="redis://127.0.0.1:1/0", **mail_env)

    with broker_down.app_context(), caplog.at_level(logging.WARNING, logger="reviewsite.notifications.dispatch"):
        started = time.monotonic()
        scene = make_scene()
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"submitting took {elapsed:.1f}s with the broker down"
        assert "broker unavailable" in caplog.text

        # Committed: read back on fresh connections.
        assert review_state(scene.review_id).status is ReviewStatus.HELD
        held_rows = outbox(kind="review_held")
        assert [(r.recipient_id, r.email_status, r.attempts) for r in held_rows] == [
            (scene.owner_id, EmailStatus.PENDING, 0)
        ]

    # The broker is back (a worker and beat on the real Redis): the outbox sweep delivers the mail.
    processes = start_celery(production, **mail_env)
    app = production.app(**mail_env)
    with app.app_context():
        held = wait_for(lambda: smtp.mails_with(HELD_SUBJECT, to=scene.owner_email), timeout=MAIL_TIMEOUT,
                        what="the outbox sweep to deliver the held mail",
                        detail=lambda: f"{outbox()}\n{smtp.describe()}\n{processes.logs()}")
        wait_for_quiet_outbox(processes, smtp)
        assert len(smtp.mails_with(HELD_SUBJECT)) == 1, smtp.describe()
        assert_each_row_mailed_once(smtp, {scene.reviewer_email, scene.owner_email})
        assert {row.kind for row in outbox()} == {"confirm_email", "claim_link", "review_held"}
        assert processes.received(DELIVER_BATCH_TASK) == 0  # nothing was queued: the sweep did it all
        assert_no_review_words(held[0], scene)


def test_one_commits_many_notices_go_in_one_message_and_arrive_once_each(
    deployment: Deployment, smtp: SmtpServer, start_celery
) -> None:
    """A commit with more notices than one SMTP batch (a sweep's batch writes about a thousand)
    sends them in one message; the worker that takes it hands the other batches to its peers.
    No beat here, so no outbox sweep: every mail must come through the messages."""
    from tests.factories import MembershipFactory, UserFactory

    mail_env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "WINDOW_SECONDS": "3600"}
    processes = start_celery(deployment, beat=False, **mail_env)
    app: Flask = deployment.app(**mail_env)
    with app.app_context():
        scene = make_scene()
        wait_for_quiet_outbox(processes, smtp)  # the confirmations and the held notice
        before = processes.received(DELIVER_BATCH_TASK)
        with unit_of_work():
            business = db.session.get(Review, scene.review_id).business
            members = [
                MembershipFactory(business=business, user=UserFactory(email=f"member{i}-{scene.canary}@example.com")).user.email
                for i in range(119)
            ]
        with unit_of_work():
            owner = db.session.get(User, scene.owner_id)
            publication.release_now(db.session.get(Review, scene.review_id), owner, now=now_utc())
        people = {scene.reviewer_email, scene.owner_email, *members}

        wait_for(lambda: len(smtp.mails_with(PUBLISHED_SUBJECT)) >= len(people), timeout=MAIL_TIMEOUT,
                 what="121 published mails", detail=lambda: smtp.describe() + "\n" + processes.logs())
        wait_for_quiet_outbox(processes, smtp)
        # One message from the commit, two handed over (50 + 50 + 21).
        assert processes.received(DELIVER_BATCH_TASK) - before == 3, processes.logs()
        assert_each_row_mailed_once(smtp, people)
        assert {m.to for m in smtp.mails_with(PUBLISHED_SUBJECT)} == people
