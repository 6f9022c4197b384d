"""A model-based (stateful) test of the review lifecycle and the notification outbox.

Hypothesis drives the real services (``reviews.*``, ``delivery.*``) against the real database with
the fake clock, while a pure-Python model says what every review must look like (status, stars,
``publish_at``, who released it, its audit trail) and which notifications the events call for.
Every call the model calls illegal must raise a DomainError and change nothing (checked before the
edge rolls back); every legal one must succeed. After every step the promises of DESIGN.md are
checked against the database:

- invariant 2: the system never publishes before ``publish_at``; only the reviewer or the
  business releases early;
- invariant 3: a sweep leaves nothing held past its ``publish_at``; at the end, after a drain,
  nothing is held at all;
- invariant 5: every notification an event calls for is in the outbox and, after the drain,
  sent; the development mailbox holds exactly one mail per sent notification plus one per
  injected crash between the SMTP server's acceptance and ``mark_sent``, all with the row's
  Message-ID, and a lease must run out before a crashed send is retried;
- invariant 7: statuses move only along the lifecycle, withdrawn and removed are final, and the
  audit trail (ReviewEvent) tells the same story;
- the business's aggregate counts exactly its held and published reviews;
- reminders go only to a business that has not answered a held review, at most two, at the
  times the reminder rules give; remedy offers come only from the business, in the window, and
  accepting one (once) changes nothing about the review.

Crashes are simulated: a commit whose after-commit dispatch never happened (the row is simply not
delivered: the pending sweep must find it), a worker that died after its claim, a worker that died
after the SMTP server accepted the mail but before ``mark_sent``, and an SMTP server that is down
(the row backs off and stays pending).

It runs on both backends through the per-backend ``app``/``db_connection`` fixtures: each
Hypothesis example runs inside a SAVEPOINT of the test's outer transaction, rolled back in
``teardown()``, and resets the shared fake clock.

Environment: ``MODEL_EXAMPLES`` (default 300), ``MODEL_STEPS`` (default 50), ``MODEL_SEED``
(default random, printed with the test's output; set it to replay a run).
"""

from __future__ import annotations

import os
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Callable
from unittest import mock

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, event, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from reviewsite.clock import FrozenClock
from reviewsite.extensions import db
from reviewsite.models import (
    Business,
    DevMail,
    EmailStatus,
    MemberRole,
    Notification,
    RemedyKind,
    Review,
    ReviewEvent,
    ReviewStatus,
    Side,
    ThreadMessage,
    User,
)
from reviewsite.notifications import delivery, transport
from reviewsite.notifications.rendering import message_id_for, render_email
from reviewsite.services import mail_queue, publication, reminders, reviews, thread
from reviewsite.services.errors import DomainError
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START

# Budget: about four minutes for both backends on the 2-core CI machine. Measured with these
# defaults (300 examples of 50 steps, every invariant checked after every step): SQLite 32 s,
# PostgreSQL 58 s, 1 min 33 s for the whole run; 85 s + 105 s (3 min 15 s) while other suites
# shared the machine. A failure adds up to five minutes of shrinking per backend (Hypothesis's
# own limit); set MODEL_SEED to replay a run, lower MODEL_EXAMPLES for a quick local check.
EXAMPLES = int(os.environ.get("MODEL_EXAMPLES", "300"))
STEPS = int(os.environ.get("MODEL_STEPS", "50"))

H, P, W, R = ReviewStatus.HELD, ReviewStatus.PUBLISHED, ReviewStatus.WITHDRAWN, ReviewStatus.REMOVED
# The lifecycle of DESIGN.md, written out here rather than imported from the code under test.
ALLOWED_MOVES = {(H, P), (H, W), (H, R), (P, W), (P, R)}

# Kinds whose rows are one per event and recipient. Thread messages are gathered: a burst makes
# one row (``facts["messages"]`` counts them), never more rows than messages, never a lost count.
EXACT_KINDS = {"review_held", "review_published", "review_revised", "window_extended",
               "review_withdrawn", "review_removed", "reminder", "remedy_offer", "offer_accepted"}
GATHERED_KINDS = {"thread_message"}
FACT_KEYS = ("stars", "publish_at")
# Audit-trail actions this model knows; other engineers may add their own.
KNOWN_EVENTS = {"submitted", "published", "revised", "extended", "withdrawn", "removed",
                "response_saved", "response_removed", "remedy_offered", "remedy_accepted"}

# (title, body) by name, so that a failing example prints readably.
TEXT_CHOICES = {
    "plain": ("Cold soup", "Waited forty minutes."),
    "padded": ("  Sorted out  ", "  They refunded me.  "),
    "longest title": ("T" * 120, "b"),
    "longest body": ("t", "B" * 5000),
    "blank title": ("", "Body"),
    "blank body": ("Title", "   "),
    "title too long": ("T" * 121, "b"),
    "body too long": ("t", "B" * 5001),
}
VALID_TEXTS = ["plain", "padded", "longest title", "longest body"]
TEXTS = st.sampled_from(VALID_TEXTS * 3 + ["blank title", "blank body", "title too long", "body too long"])
MESSAGES = st.sampled_from(["Can we talk?", "  We can refund you.  ", "Thanks!", "   ", "m" * 3001])
RESPONSES = st.sampled_from(["We are sorry and have changed supplier.", "  Thank you.  ", "", "r" * 3001])
REASON = "Contains a phone number."

# Any index: reduced modulo the current number of reviews or notifications, so it shrinks to 0.
INDEX = st.integers(0, 255)
SECONDS = st.one_of(st.integers(1, 300), st.integers(301, 24 * 3600), st.integers(24 * 3600, 5 * 24 * 3600))
OFFSET = st.sampled_from([-1, 0, 1])


def _valid(text: str, maximum: int) -> bool:
    return 1 <= len(text.strip()) <= maximum


@dataclass
class ExpectedReview:
    id: int
    business_id: int
    author_id: int
    stars: int
    status: ReviewStatus
    held_at: datetime | None
    publish_at: datetime | None
    published_at: datetime | None
    released_by: Side | None = None
    withdrawn_at: datetime | None = None
    removed_at: datetime | None = None
    removal_reason: str | None = None
    original_stars: int | None = None
    stars_changed_at: datetime | None = None
    edited_at: datetime | None = None
    extended_seconds: int = 0
    first_business_reply_at: datetime | None = None
    reminder_due_at: datetime | None = None
    reminders_sent: int = 0
    response_body: str | None = None
    events: list[str] = field(default_factory=list)

    COMPARED = ("business_id", "author_id", "stars", "status", "held_at", "publish_at", "published_at",
                "released_by", "withdrawn_at", "removed_at", "removal_reason", "original_stars",
                "stars_changed_at", "edited_at", "extended_seconds", "first_business_reply_at",
                "reminder_due_at", "reminders_sent", "response_body")

    def facts(self) -> dict[str, object]:
        return {"stars": self.stars, "publish_at": self.publish_at.isoformat() if self.publish_at else None}


@dataclass
class ExpectedMail:
    id: int
    kind: str
    review_id: int | None
    recipient_id: int
    message_id: str
    next_attempt_at: datetime
    attempts: int = 0
    sent: bool = False
    lease_until: datetime | None = None
    crashes: int = 0  # mails the SMTP server accepted before the worker died, unmarked

    def claimable(self, now: datetime) -> bool:
        return (not self.sent and self.next_attempt_at <= now
                and (self.lease_until is None or self.lease_until <= now))


class LifecycleMachine(RuleBasedStateMachine):
    # Set by the test function for the backend at hand.
    app: Flask
    connection: sa.Connection
    clock: FrozenClock

    def __init__(self) -> None:
        super().__init__()
        self._ready = False
        self._dirty = True  # a step started and its invariants have not passed yet
        self._context = self.app.app_context()
        self._context.push()
        db.session.remove()
        self._savepoint = self.connection.begin_nested()
        self.clock.set(START)
        config = self.app.config
        self.low_star_max: int = config["LOW_STAR_MAX"]
        self.window = timedelta(seconds=config["WINDOW_SECONDS"])
        self.max_extension_seconds: int = config["MAX_EXTENSION_SECONDS"]
        self.max_attempts: int = config["MAIL_MAX_ATTEMPTS"]
        # Reminders (services/reminders.py docstring): half-way through the window, then a day
        # before release (a third of the window before, for windows shorter than three days).
        self.last_lead = min(timedelta(hours=24), self.window / 3)
        self.backoff_base: int = config["MAIL_BACKOFF_BASE_SECONDS"]
        self.lease = timedelta(seconds=config["MAIL_LEASE_SECONDS"])

        self.members: dict[int, list[int]] = {}
        self.customers: list[int] = []
        self.moderator = 0
        self.emails: dict[int, str] = {}
        self.reviews: dict[int, ExpectedReview] = {}
        self.observed: dict[int, list[ReviewStatus]] = {}
        self.mails: dict[int, ExpectedMail] = {}
        self.dispatch_queue: list[int] = []
        self.crashes = 0
        self.offers: dict[int, list[int | bool]] = {}  # message id -> [review id, accepted]
        # (kind, review, recipient) -> facts of each event that calls for a notification
        self.required: dict[tuple[str, int, int], list[dict[str, object]]] = defaultdict(list)

    # -- setup and teardown ---------------------------------------------------------------

    @initialize(businesses=st.integers(1, 2), staff=st.booleans(), customers=st.integers(2, 5))
    def setup(self, businesses: int, staff: bool, customers: int) -> None:
        self._dirty = True
        moderator = UserFactory(moderator=True)
        self.moderator = moderator.id
        people = [moderator]
        for number in range(businesses):
            business = BusinessFactory()
            owner = UserFactory()
            MembershipFactory(business=business, user=owner)
            people.append(owner)
            self.members[business.id] = [owner.id]
            if staff and number == 0:
                helper = UserFactory()
                MembershipFactory(business=business, user=helper, role=MemberRole.STAFF)
                people.append(helper)
                self.members[business.id].append(helper.id)
        for _ in range(customers):
            customer = UserFactory()
            people.append(customer)
            self.customers.append(customer.id)
        self.emails = {person.id: person.email for person in people}
        db.session.commit()
        self._ready = True

    def teardown(self) -> None:
        try:
            if self._ready and not self._dirty:
                self._drain()
        finally:
            db.session.remove()
            if self._savepoint.is_active:
                self._savepoint.rollback()
            self._context.pop()

    def _drain(self) -> None:
        """Past every deadline, lease and back-off: the sweeps must leave nothing held and
        nothing unsent (invariants 3 and 5)."""
        self._dirty = True
        now = self.clock.now()
        horizon = max(
            [now]
            + [r.publish_at for r in self.reviews.values() if r.status is H and r.publish_at]
            + [m.lease_until for m in self.mails.values() if m.lease_until]
            + [m.next_attempt_at for m in self.mails.values() if not m.sent]
        )
        self.clock.set(horizon + self.lease + timedelta(seconds=1))
        self._sweep()
        held = [r.id for r in self.reviews.values() if r.status is H]
        assert not held, f"still held after one sweep past every deadline: {held}"
        assert self._sweep() == [], "a second sweep found more to publish"
        for _ in range(5):
            if not self._deliver_pending():
                break
        else:
            raise AssertionError("deliver_pending never went quiet")
        self.check()
        unsent = [m.id for m in self.mails.values() if not m.sent]
        assert not unsent, f"notifications never sent: {unsent}"
        present = self._outbox_keys()
        missing = [key for key in self.required if key not in present]
        assert not missing, f"notifications called for but never written: {missing}"

    # -- helpers --------------------------------------------------------------------------

    def _begin(self) -> datetime:
        self._dirty = True
        return self.clock.now()

    def _pick_review(self, index: int) -> ExpectedReview:
        ids = sorted(self.reviews)
        return self.reviews[ids[index % len(ids)]]

    def _pick_mail(self, index: int) -> ExpectedMail:
        ids = sorted(self.mails)
        return self.mails[ids[index % len(ids)]]

    def _user(self, user_id: int) -> User:
        user = db.session.get(User, user_id)
        assert user is not None
        return user

    def _review(self, review_id: int) -> Review:
        review = db.session.get(Review, review_id)
        assert review is not None
        return review

    def _notify(self, kind: str, review: ExpectedReview, recipients: list[int]) -> None:
        for recipient in recipients:
            self.required[(kind, review.id, recipient)].append(review.facts())

    def _members_of(self, review: ExpectedReview) -> list[int]:
        return self.members[review.business_id]

    def _snapshot(self) -> dict[str, object]:
        return {
            "reviews": [tuple(row) for row in db.session.execute(
                select(*Review.__table__.columns).order_by(Review.id))],
            "businesses": [tuple(row) for row in db.session.execute(
                select(Business.id, Business.rating_count, Business.rating_sum).order_by(Business.id))],
            "events": db.session.scalar(select(func.count(ReviewEvent.id))),
            "messages": db.session.scalar(select(func.count(ThreadMessage.id))),
            "notifications": db.session.scalar(select(func.count(Notification.id))),
            "mails": db.session.scalar(select(func.count(DevMail.id))),
        }

    def _call(self, legal: bool, what: str, call: Callable[[], Any]) -> Any:
        """Run a service call as the edge would (one unit of work). A legal call must succeed; an
        illegal one must raise a DomainError having written nothing (checked before the edge's
        rollback, so the service itself, not the rollback, must keep the data intact)."""
        event(f"{what.split('(')[0].split(' by ')[0]}{' (wrong actor)' if ' by ' in what else ''}: "
              f"{'legal' if legal else 'refused'}")
        if legal:
            try:
                with unit_of_work():
                    result = call()
            except DomainError as exc:
                raise AssertionError(f"{what}: legal by the model, refused by the service: {exc!r}") from exc
            self._sync_outbox(dispatch=True)
            return result
        before = self._snapshot()
        try:
            call()
        except DomainError:
            after = self._snapshot()
            db.session.rollback()
            changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
            assert not changed, f"{what}: refused, but changed {changed}"
            return None
        db.session.rollback()
        raise AssertionError(f"{what}: illegal by the model, but the service reported success")

    def _publish(self, review: ExpectedReview, released_by: Side, now: datetime) -> None:
        review.status = P
        review.published_at = now
        review.released_by = released_by
        review.reminder_due_at = None
        review.events.append("published")
        self._notify("review_published", review, [review.author_id, *self._members_of(review)])

    def _sync_outbox(self, *, dispatch: bool) -> list[Any]:
        rows = db.session.execute(
            select(Notification.id, Notification.dedupe_key, Notification.kind, Notification.review_id,
                   Notification.recipient_id, Notification.email_status, Notification.lease_until,
                   Notification.next_attempt_at, Notification.attempts, Notification.facts,
                   Notification.review_stars, Notification.review_publish_at)
            .order_by(Notification.id)
        ).all()
        for row in rows:
            if row.id in self.mails:
                continue
            assert (row.email_status, row.lease_until, row.attempts) == (EmailStatus.PENDING, None, 0), row
            self.mails[row.id] = ExpectedMail(
                id=row.id, kind=row.kind, review_id=row.review_id, recipient_id=row.recipient_id,
                message_id=message_id_for(SimpleNamespace(id=row.id, dedupe_key=row.dedupe_key)),  # type: ignore[arg-type]
                next_attempt_at=row.next_attempt_at,
            )
            if dispatch:
                self.dispatch_queue.append(row.id)
        return rows

    def _outbox_keys(self) -> Counter[tuple[str, int, int]]:
        return Counter(
            (m.kind, m.review_id, m.recipient_id) for m in self.mails.values() if m.review_id is not None
        )

    def _deliver(self, mail: ExpectedMail) -> None:
        now = self.clock.now()
        expected = "sent" if mail.claimable(now) else "skipped"
        outcome = delivery.deliver_batch([mail.id])[mail.id]
        event(f"deliver: {outcome}")
        assert outcome == expected, f"deliver({mail.id}) at {now}: {outcome}, expected {expected} ({mail})"
        if outcome == "sent":
            mail.sent, mail.lease_until = True, None
            mail.attempts += 1

    def _deliver_pending(self) -> dict[str, int]:
        now = self.clock.now()
        claimable = [m for m in self.mails.values() if m.claimable(now)]
        outcomes = delivery.deliver_pending()
        if len(claimable) <= 200:  # deliver_pending's batch
            assert outcomes == ({"sent": len(claimable)} if claimable else {}), (outcomes, claimable)
            for mail in claimable:
                mail.sent, mail.lease_until = True, None
                mail.attempts += 1
        else:
            assert outcomes == {"sent": 200}, outcomes
            sent = set(db.session.scalars(select(Notification.id).where(
                Notification.email_status == EmailStatus.SENT)))
            for mail in claimable:
                if mail.id in sent:
                    mail.sent, mail.lease_until = True, None
                    mail.attempts += 1
        return outcomes

    def _sweep(self) -> list[int]:
        now = self.clock.now()
        due = {r.id for r in self.reviews.values() if r.status is H and r.publish_at <= now}
        with unit_of_work():
            published = publication.publish_due(now=now)
        assert set(published) == due and len(published) == len(due), (published, due)
        order = [self.reviews[i].publish_at for i in published]
        assert order == sorted(order), "the sweep must take the oldest first"
        event(f"sweep published {min(len(published), 2)}{'+' if len(published) > 1 else ''}")
        for review_id in published:
            self._publish(self.reviews[review_id], Side.SYSTEM, now)
        self._sync_outbox(dispatch=True)
        late = db.session.scalars(
            select(Review.id).where(Review.status == ReviewStatus.HELD, Review.publish_at <= now)).all()
        assert not late, f"held past publish_at after a sweep (invariant 3): {late}"
        return published

    # -- the lifecycle --------------------------------------------------------------------

    @rule(customer=INDEX, business=INDEX, stars=st.integers(1, 5), text=TEXTS)
    def submit(self, customer: int, business: int, stars: int, text: str) -> None:
        now = self._begin()
        author_id = self.customers[customer % len(self.customers)]
        business_ids = sorted(self.members)
        business_id = business_ids[business % len(business_ids)]
        title, body = TEXT_CHOICES[text]
        already = any(r.author_id == author_id and r.business_id == business_id for r in self.reviews.values())
        legal = not already and _valid(title, reviews.TITLE_MAX) and _valid(body, reviews.BODY_MAX)
        made = self._call(legal, "submit_review", lambda: reviews.submit_review(
            self._user(author_id), db.session.get(Business, business_id), stars=stars, title=title,
            body=body, now=now))
        if not legal:
            return
        held = stars <= self.low_star_max
        review = ExpectedReview(
            id=made.id, business_id=business_id, author_id=author_id, stars=stars,
            status=H if held else P, held_at=now if held else None,
            publish_at=now + self.window if held else None, published_at=None if held else now,
            reminder_due_at=now + self.window / 2 if held else None, events=["submitted"],
        )
        self.reviews[review.id] = review
        self.observed[review.id] = [review.status]
        if held:
            self._notify("review_held", review, self._members_of(review))

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, business_side=st.booleans(), member=INDEX, body=MESSAGES)
    def reply(self, review: int, business_side: bool, member: int, body: str) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        members = self._members_of(expected)
        actor_id = members[member % len(members)] if business_side else expected.author_id
        legal = expected.status is H and _valid(body, thread.MESSAGE_MAX)
        self._call(legal, "reply", lambda: thread.reply(
            self._review(expected.id), self._user(actor_id), body, now=now))
        if not legal:
            return
        if business_side:
            if expected.first_business_reply_at is None:
                expected.first_business_reply_at = now
                expected.reminder_due_at = None  # someone answered: no more reminders
            self._notify("thread_message", expected, [expected.author_id])
        else:
            self._notify("thread_message", expected, members)

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, member=INDEX, remedy=st.sampled_from(list(RemedyKind)), by_reviewer=st.booleans())
    def offer_remedy(self, review: int, member: int, remedy: RemedyKind, by_reviewer: bool) -> None:
        """Only the business offers, only in the window; an offer is the business's answer too."""
        now = self._begin()
        expected = self._pick_review(review)
        members = self._members_of(expected)
        actor_id = expected.author_id if by_reviewer else members[member % len(members)]
        legal = expected.status is H and not by_reviewer
        message = self._call(legal, "offer_remedy", lambda: thread.offer_remedy(
            self._review(expected.id), self._user(actor_id), remedy, "We will refund you in full.", now=now))
        if not legal:
            return
        self.offers[message.id] = [expected.id, False]
        if expected.first_business_reply_at is None:
            expected.first_business_reply_at = now
            expected.reminder_due_at = None
        expected.events.append("remedy_offered")
        self._notify("remedy_offer", expected, [expected.author_id])

    @precondition(lambda self: self.offers)
    @rule(offer=INDEX, by_business=st.booleans())
    def accept_offer(self, offer: int, by_business: bool) -> None:
        """The reviewer accepts once, in the window; it changes nothing about the review."""
        now = self._begin()
        message_id = sorted(self.offers)[offer % len(self.offers)]
        review_id, accepted = self.offers[message_id]
        expected = self.reviews[int(review_id)]
        actor_id = self._members_of(expected)[0] if by_business else expected.author_id
        legal = expected.status is H and not accepted and not by_business
        self._call(legal, "accept_offer", lambda: thread.accept_offer(
            db.session.get(ThreadMessage, message_id), self._user(actor_id), now=now))
        if legal:
            self.offers[message_id][1] = True
            expected.events.append("remedy_accepted")
            self._notify("offer_accepted", expected, self._members_of(expected))

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, member=INDEX, body=RESPONSES)
    def save_response(self, review: int, member: int, body: str) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        members = self._members_of(expected)
        actor_id = members[member % len(members)]
        legal = expected.status in (H, P) and len(body.strip()) <= reviews.RESPONSE_MAX
        self._call(legal, "save_response", lambda: reviews.save_response(
            self._review(expected.id), self._user(actor_id), body, now=now))
        if legal:
            expected.response_body = body.strip() or None
            expected.events.append("response_saved" if body.strip() else "response_removed")

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, stars=st.integers(1, 5), text=TEXTS)
    def revise(self, review: int, stars: int, text: str) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        title, body = TEXT_CHOICES[text]
        legal = (expected.status in (H, P) and _valid(title, reviews.TITLE_MAX)
                 and _valid(body, reviews.BODY_MAX))
        self._call(legal, "revise", lambda: reviews.revise(
            self._review(expected.id), self._user(expected.author_id), stars=stars, title=title,
            body=body, now=now))
        if not legal:
            return
        was = expected.status
        if stars != expected.stars:
            if expected.original_stars is None:
                expected.original_stars = expected.stars
            expected.stars_changed_at = now
            expected.stars = stars
        if was is P:
            expected.edited_at = now
        expected.events.append("revised")
        self._notify("review_revised", expected, self._members_of(expected))
        if was is H and stars > self.low_star_max:
            self._publish(expected, Side.REVIEWER, now)

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, hours=st.integers(1, 200))
    def extend(self, review: int, hours: int) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        legal = (expected.status is H and expected.publish_at > now
                 and expected.extended_seconds + hours * 3600 <= self.max_extension_seconds)
        self._call(legal, f"extend_window({hours}h)", lambda: reviews.extend_window(
            self._review(expected.id), self._user(expected.author_id), hours=hours, now=now))
        if legal:
            expected.publish_at += timedelta(hours=hours)
            expected.extended_seconds += hours * 3600
            # The "day before release" reminder moves with the release; the first stays put.
            if expected.first_business_reply_at is not None or expected.reminders_sent >= 2:
                expected.reminder_due_at = None
            elif expected.reminders_sent == 1:
                expected.reminder_due_at = expected.publish_at - self.last_lead
            expected.events.append("extended")
            self._notify("window_extended", expected, self._members_of(expected))

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX)
    def withdraw(self, review: int) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        legal = expected.status in (H, P)
        self._call(legal, "withdraw", lambda: reviews.withdraw(
            self._review(expected.id), self._user(expected.author_id), now=now))
        if legal:
            expected.status, expected.withdrawn_at, expected.reminder_due_at = W, now, None
            expected.events.append("withdrawn")
            self._notify("review_withdrawn", expected, self._members_of(expected))

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, business_side=st.booleans(), member=INDEX)
    def release_now(self, review: int, business_side: bool, member: int) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        members = self._members_of(expected)
        actor_id = members[member % len(members)] if business_side else expected.author_id
        legal = expected.status is H
        self._call(legal, "release_now", lambda: publication.release_now(
            self._review(expected.id), self._user(actor_id), now=now))
        if legal:
            self._publish(expected, Side.BUSINESS if business_side else Side.REVIEWER, now)

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX)
    def remove(self, review: int) -> None:
        now = self._begin()
        expected = self._pick_review(review)
        legal = expected.status in (H, P)
        self._call(legal, "remove", lambda: reviews.remove(
            self._review(expected.id), self._user(self.moderator), reason=REASON, now=now))
        if legal:
            expected.status, expected.removed_at, expected.removal_reason = R, now, REASON
            expected.reminder_due_at = None
            expected.events.append("removed")
            self._notify("review_removed", expected, [expected.author_id, *self._members_of(expected)])

    @precondition(lambda self: self.reviews)
    @rule(review=INDEX, action=st.sampled_from(
        ["reply", "save_response", "revise", "extend", "withdraw", "release_now", "remove"]), who=INDEX)
    def wrong_actor(self, review: int, action: str, who: int) -> None:
        """Someone without the power tries: always refused, whatever the state (invariant 4)."""
        now = self._begin()
        expected = self._pick_review(review)
        author, members = expected.author_id, self._members_of(expected)
        others = [c for c in self.customers if c != author]
        candidates = {
            "revise": members + others + [self.moderator],
            "extend": members + others + [self.moderator],
            "withdraw": members + others + [self.moderator],
            "reply": others + [self.moderator],
            "release_now": others + [self.moderator],
            "save_response": [author] + others + [self.moderator],
            "remove": [author] + members + others,
        }[action]
        actor_id = candidates[who % len(candidates)]

        def call() -> None:
            target, actor = self._review(expected.id), self._user(actor_id)
            if action == "reply":
                thread.reply(target, actor, "Let me in.", now=now)
            elif action == "save_response":
                reviews.save_response(target, actor, "Not mine to write.", now=now)
            elif action == "revise":
                reviews.revise(target, actor, stars=5, title="Great", body="Lovely", now=now)
            elif action == "extend":
                reviews.extend_window(target, actor, hours=24, now=now)
            elif action == "withdraw":
                reviews.withdraw(target, actor, now=now)
            elif action == "release_now":
                publication.release_now(target, actor, now=now)
            else:
                reviews.remove(target, actor, reason="I do not like it", now=now)

        self._call(False, f"{action} by user {actor_id}", call)

    # -- time and the sweep ---------------------------------------------------------------

    @rule(seconds=SECONDS)
    def advance(self, seconds: int) -> None:
        self._begin()
        self.clock.advance(seconds=seconds)

    @precondition(lambda self: any(r.status is H for r in self.reviews.values()))
    @rule(review=INDEX, offset=OFFSET)
    def advance_to_deadline(self, review: int, offset: int) -> None:
        """To a held review's publish_at, or a second either side: the boundaries that matter."""
        now = self._begin()
        held = sorted(r.id for r in self.reviews.values() if r.status is H)
        target = self.reviews[held[review % len(held)]].publish_at + timedelta(seconds=offset)
        if target > now:
            self.clock.set(target)

    @precondition(lambda self: any(m.lease_until for m in self.mails.values()))
    @rule(mail=INDEX, offset=OFFSET)
    def advance_to_lease_end(self, mail: int, offset: int) -> None:
        now = self._begin()
        leased = sorted(m.id for m in self.mails.values() if m.lease_until)
        lease_until = self.mails[leased[mail % len(leased)]].lease_until
        assert lease_until is not None
        target = lease_until + timedelta(seconds=offset)
        if target > now:
            self.clock.set(target)

    @rule()
    def sweep(self) -> None:
        self._begin()
        self._sweep()

    @rule()
    def send_reminders(self) -> None:
        """The reminder sweep: only held reviews nobody at the business has answered, at most two."""
        now = self._begin()
        due = {r.id for r in self.reviews.values()
               if r.status is H and r.reminder_due_at is not None and r.reminder_due_at <= now
               and r.first_business_reply_at is None}
        with unit_of_work():
            sent = reminders.send_due_reminders(now=now)
        assert set(sent) == due and len(sent) == len(due), (sent, due)
        event(f"reminders sent: {bool(sent)}")
        for review_id in sent:
            expected = self.reviews[review_id]
            expected.reminders_sent += 1
            following = expected.publish_at - self.last_lead if expected.reminders_sent == 1 else None
            # A late sweep that finds both due sends one reminder, not two at once.
            expected.reminder_due_at = following if following is not None and following > now else None
            self._notify("reminder", expected, self._members_of(expected))
        self._sync_outbox(dispatch=True)

    # -- notifications --------------------------------------------------------------------

    @precondition(lambda self: self.mails)
    @rule(mail=INDEX)
    def deliver(self, mail: int) -> None:
        """Any row, in any order, sent or not: the task may run late, early, or twice."""
        self._begin()
        self._deliver(self._pick_mail(mail))

    @precondition(lambda self: self.mails)
    @rule(mail=INDEX)
    def deliver_twice(self, mail: int) -> None:
        """A duplicated task message: the second run must find nothing to do."""
        self._begin()
        expected = self._pick_mail(mail)
        self._deliver(expected)
        assert delivery.deliver_batch([expected.id]) == {expected.id: "skipped"}

    @precondition(lambda self: self.dispatch_queue)
    @rule(reverse=st.booleans())
    def deliver_dispatched(self, reverse: bool) -> None:
        """The after-commit tasks of the commits so far, run (perhaps in reverse order)."""
        self._begin()
        queue = list(reversed(self.dispatch_queue)) if reverse else list(self.dispatch_queue)
        self.dispatch_queue.clear()
        for mail_id in queue:
            self._deliver(self.mails[mail_id])

    @precondition(lambda self: self.dispatch_queue)
    @rule()
    def crash_before_enqueue(self) -> None:
        """The process died after the commit and before the task was sent (or the broker lost
        it): only the pending sweep will deliver these rows."""
        self._begin()
        self.dispatch_queue.clear()

    @rule()
    def deliver_pending(self) -> None:
        self._begin()
        self._deliver_pending()

    def _claim(self, expected: ExpectedMail, now: datetime) -> bool:
        with unit_of_work():
            claimed = mail_queue.claim([expected.id], now=now) == [expected.id]
        assert claimed == expected.claimable(now), (claimed, expected, now)
        if claimed:
            expected.attempts += 1
            expected.lease_until = now + self.lease
        return claimed

    @precondition(lambda self: self.mails)
    @rule(mail=INDEX)
    def crash_after_claim(self, mail: int) -> None:
        """A worker claimed the row and died before sending: nobody may send it for a lease."""
        now = self._begin()
        self._claim(self._pick_mail(mail), now)

    @precondition(lambda self: self.mails)
    @rule(mail=INDEX)
    def crash_after_send(self, mail: int) -> None:
        """A worker claimed, rendered and sent (the SMTP server accepted the mail) and died
        before mark_sent: once the lease runs out the mail goes again, with the same Message-ID."""
        now = self._begin()
        expected = self._pick_mail(mail)
        if not self._claim(expected, now):
            return
        notification = db.session.get(Notification, expected.id)
        assert notification is not None
        message = render_email(notification)
        assert message["Message-ID"] == expected.message_id
        with unit_of_work(), transport.opened() as mail:
            mail.send(message)
        expected.crashes += 1
        self.crashes += 1
        event("crash after the SMTP server accepted a mail")

    @precondition(lambda self: self.mails)
    @rule(mail=INDEX)
    def deliver_while_smtp_is_down(self, mail: int) -> None:
        """The SMTP server refuses: the row stays pending and backs off; nothing is lost.
        (A row that would reach MAIL_MAX_ATTEMPTS and go dead is left alone: that is the
        operator's business and outside this model.)"""
        now = self._begin()
        expected = self._pick_mail(mail)
        if expected.attempts + 1 >= self.max_attempts:
            return
        claimable = expected.claimable(now)
        with mock.patch.object(transport.DevMailbox, "send", side_effect=ConnectionRefusedError("SMTP down")):
            outcome = delivery.deliver_batch([expected.id])[expected.id]
        assert outcome == ("failed" if claimable else "skipped"), (outcome, expected)
        if claimable:
            expected.attempts += 1
            expected.lease_until = None
            delay = timedelta(seconds=self.backoff_base * 2 ** (expected.attempts - 1))
            expected.next_attempt_at = now + min(delay, mail_queue.BACKOFF_MAX)

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def check(self) -> None:
        self._check_reviews()
        self._check_ratings()
        self._check_outbox()
        self._dirty = False

    def _check_reviews(self) -> None:
        rows = {row.id: row for row in db.session.execute(select(*Review.__table__.columns))}
        assert set(rows) == set(self.reviews), (sorted(rows), sorted(self.reviews))
        events: dict[int, list[Any]] = defaultdict(list)
        for event in db.session.execute(
            select(ReviewEvent.review_id, ReviewEvent.action, ReviewEvent.from_status, ReviewEvent.to_status)
            .order_by(ReviewEvent.id)
        ):
            events[event.review_id].append(event)
        for review_id, expected in self.reviews.items():
            row = rows[review_id]
            actual = {name: getattr(row, name) for name in ExpectedReview.COMPARED}
            wanted = {name: getattr(expected, name) for name in ExpectedReview.COMPARED}
            differences = {k: (actual[k], wanted[k]) for k in actual if actual[k] != wanted[k]}
            assert not differences, f"review {review_id} (database, model): {differences}"

            # Invariant 2: the system never publishes early.
            if row.released_by == Side.SYSTEM:
                assert row.published_at >= row.publish_at, f"review {review_id} published early"
            if row.held_at is not None and row.published_at is not None:
                assert row.published_at >= row.publish_at or row.released_by in (Side.REVIEWER, Side.BUSINESS)
            # Never published after a withdrawal or a removal.
            if row.withdrawn_at is not None and row.published_at is not None:
                assert row.published_at <= row.withdrawn_at, f"review {review_id} published after withdrawal"
            if row.removed_at is not None and row.published_at is not None:
                assert row.published_at <= row.removed_at, f"review {review_id} published after removal"

            # Only the lifecycle's moves, in the database as observed step by step...
            seen = self.observed[review_id]
            if row.status != seen[-1]:
                assert (seen[-1], row.status) in ALLOWED_MOVES, f"review {review_id}: {seen[-1]} -> {row.status}"
                seen.append(row.status)
            # ...and in the audit trail, which must tell the model's story.
            trail = events[review_id]
            assert [e.action for e in trail if e.action in KNOWN_EVENTS] == expected.events, (
                review_id, [e.action for e in trail], expected.events)
            status = None
            for event in trail:
                if event.to_status is None:
                    continue
                if event.action == "submitted":
                    assert status is None
                else:
                    assert event.from_status == status, (review_id, event, status)
                    assert (ReviewStatus(status), ReviewStatus(event.to_status)) in ALLOWED_MOVES, event
                status = event.to_status
            assert status == row.status.value, (review_id, status, row.status)

    def _check_ratings(self) -> None:
        totals: dict[int, list[int]] = {business_id: [0, 0] for business_id in self.members}
        for review in self.reviews.values():
            if review.status in (H, P):
                totals[review.business_id][0] += 1
                totals[review.business_id][1] += review.stars
        actual = {row.id: [row.rating_count, row.rating_sum] for row in db.session.execute(
            select(Business.id, Business.rating_count, Business.rating_sum))}
        assert actual == totals, f"aggregate (database {actual}, held + published {totals})"

    def _check_outbox(self) -> None:
        rows = self._sync_outbox(dispatch=False)
        by_key: dict[tuple[str, int, int], list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            expected = self.mails[row.id]
            assert row.email_status == (EmailStatus.SENT if expected.sent else EmailStatus.PENDING), (row, expected)
            assert (row.lease_until, row.next_attempt_at, row.attempts) == (
                expected.lease_until, expected.next_attempt_at, expected.attempts), (row, expected)
            if row.review_id is not None:
                kept = {"stars": row.review_stars,
                        "publish_at": row.review_publish_at.isoformat() if row.review_publish_at else None}
                by_key[(row.kind, row.review_id, row.recipient_id)].append({**row.facts, **kept})
        known = {key: [{k: f.get(k) for k in FACT_KEYS} for f in facts] for key, facts in by_key.items()}

        # What the events called for, with the facts of their moment (invariant 5).
        for key, facts in self.required.items():
            if key[0] in EXACT_KINDS:
                assert sorted(known.get(key, []), key=repr) == sorted(facts, key=repr), (
                    f"{key}: outbox {known.get(key)}, called for {facts}")
            else:
                rows_facts = by_key.get(key, [])
                assert 1 <= len(rows_facts) <= len(facts), (key, rows_facts, facts)
                assert sum(int(f.get("messages", 1)) for f in rows_facts) == len(facts), (
                    f"{key}: {len(facts)} messages, the outbox counts {rows_facts}")
                assert all(fact in facts for fact in known[key]), (key, rows_facts, facts)
        for key in by_key:
            if key[0] in EXACT_KINDS | GATHERED_KINDS:
                assert key in self.required, f"notification nobody called for: {key}"

        # The mailbox: one mail per sent row, one more per crash after the server accepted it.
        mails = Counter()
        by_message_id = {m.message_id: m for m in self.mails.values()}
        for message_id, to_addr in db.session.execute(select(DevMail.message_id, DevMail.to_addr)):
            expected = by_message_id.get(message_id)
            assert expected is not None, f"a mail for no notification: {message_id}"
            assert to_addr == self.emails[expected.recipient_id], (message_id, to_addr)
            mails[message_id] += 1
        for expected in self.mails.values():
            count = mails[expected.message_id]
            assert count == expected.crashes + (1 if expected.sent else 0), (
                f"{count} mails with Message-ID {expected.message_id}: {expected}")
        assert sum(mails.values()) <= len(self.mails) + self.crashes


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_lifecycle_machine(app: Flask, db_connection: sa.Connection, clock: FrozenClock) -> None:
    run_seed = int(os.environ.get("MODEL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"MODEL_SEED={run_seed} (MODEL_EXAMPLES={EXAMPLES}, MODEL_STEPS={STEPS})")
    machine = type("LifecycleMachine", (LifecycleMachine,),
                   {"app": app, "connection": db_connection, "clock": clock})
    run_state_machine_as_test(seed(run_seed)(machine), settings=SETTINGS)
