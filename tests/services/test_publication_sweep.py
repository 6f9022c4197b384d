"""The publication sweep (services/publication.publish_due), on both databases: for a batch it
writes, review by review, exactly what a release writes (the review's new state, an audit event,
the listing's version, a notice to the author and every member with each one's preference), and
an idle sweep writes nothing. On PostgreSQL, sweeps running at the same time share a backlog
(SKIP LOCKED) and never publish a review twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Text, cast, func, select

from reviewsite.extensions import db
from reviewsite.models import (
    Business,
    Delivery,
    EmailStatus,
    Notification,
    NotificationPreference,
    Review,
    ReviewEvent,
    ReviewStatus,
    Side,
    User,
)
from reviewsite.services import publication
from reviewsite.services.outbox import PENDING_IDS_KEY, notify
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, ReviewFactory, UserFactory
from tests.helpers import START
from tests.services.sweeps import committed_due, published_counts, sweep_holding_its_claim


def prefer(user: User, topic: str, delivery: Delivery) -> None:
    db.session.add(NotificationPreference(user_id=user.id, topic=topic, delivery=delivery, updated_at=START))
    db.session.flush()


def written(review_ids: list[int], business_ids: list[int]) -> dict[str, object]:
    """Everything a sweep writes, without the ids sequences hand out (they differ per run);
    JSON as the stored text, so that a difference of one space shows."""
    db.session.expire_all()
    notes = db.session.execute(
        select(Notification.dedupe_key, Notification.kind, Notification.recipient_id, Notification.review_id,
               cast(Notification.facts, Text), Notification.created_at, Notification.next_attempt_at,
               Notification.email_status, Notification.attempts, Notification.read_at, Notification.lease_until,
               Notification.sent_at, Notification.id)
        .where(Notification.review_id.in_(review_ids))
        .order_by(Notification.id)
    ).all()
    pending = set(db.session.info.get(PENDING_IDS_KEY, []))
    return {
        "reviews": db.session.execute(
            select(Review.id, Review.status, Review.published_at, Review.released_by, Review.reminder_due_at,
                   Review.publish_at)
            .where(Review.id.in_(review_ids)).order_by(Review.id)
        ).all(),
        "events": db.session.execute(
            select(ReviewEvent.review_id, ReviewEvent.actor_id, ReviewEvent.action, ReviewEvent.from_status,
                   ReviewEvent.to_status, cast(ReviewEvent.details, Text), ReviewEvent.at)
            .where(ReviewEvent.review_id.in_(review_ids)).order_by(ReviewEvent.id)
        ).all(),
        # In id order: the author first, then the members in membership order, review by review.
        "notifications": [tuple(row[:-1]) for row in notes],
        "dispatched": [row.dedupe_key for row in notes if row.id in pending],
        "listing_versions": db.session.execute(
            select(Business.id, Business.listing_version).where(Business.id.in_(business_ids)).order_by(Business.id)
        ).all(),
    }


@dataclass
class World:
    due: list[Review]
    not_due: Review
    gone: Review
    review_ids: list[int]
    business_ids: list[int]
    lonely: Business
    cafe: Business
    bakery: Business
    people: dict[str, User]


def sweep_world() -> World:
    # Businesses with no member, one, and three; the members choose email, the digest, the site
    # only, or nothing (the default, email), some only for other topics.
    lonely = BusinessFactory()
    cafe, bakery = BusinessFactory(), BusinessFactory()
    owner, staff, helper, baker = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    for business, user in ((cafe, owner), (cafe, staff), (cafe, helper), (bakery, baker)):
        MembershipFactory(business=business, user=user)
    prefer(staff, "review_published", Delivery.DIGEST)
    prefer(helper, "review_published", Delivery.SITE_ONLY)
    prefer(helper, "review_held", Delivery.EMAIL)
    prefer(owner, "review_updates", Delivery.SITE_ONLY)  # another topic: review_published is email
    prefer(baker, "review_published", Delivery.EMAIL)
    site_only_author = UserFactory()
    prefer(site_only_author, "review_published", Delivery.SITE_ONLY)
    digest_author = UserFactory()
    prefer(digest_author, "review_published", Delivery.DIGEST)

    due = [
        # release times with and without a fraction of a second (isoformat drops ".000000")
        ReviewFactory(business=cafe, author=site_only_author, stars=1, publish_at=START + timedelta(minutes=5)),
        ReviewFactory(business=cafe, author=digest_author, stars=3,
                      publish_at=START + timedelta(minutes=1, microseconds=250000)),
        ReviewFactory(business=lonely, stars=2, publish_at=START + timedelta(minutes=2, microseconds=7)),
        ReviewFactory(business=bakery, stars=2, publish_at=START + timedelta(minutes=3)),
        ReviewFactory(business=bakery, stars=1, publish_at=START + timedelta(minutes=3)),  # same instant
        ReviewFactory(business=cafe, stars=3, publish_at=START + timedelta(minutes=4), reminder_due_at=START),
    ]
    # An author who joined the business later is one recipient, once.
    MembershipFactory(business=bakery, user=due[3].author)
    not_due = ReviewFactory(business=cafe, publish_at=START + timedelta(hours=2))
    gone = ReviewFactory(business=cafe, status=ReviewStatus.WITHDRAWN, withdrawn_at=START,
                         publish_at=START + timedelta(minutes=1))
    # A notice already written for one recipient (a retried sweep, say) is not written again.
    notify("review_published", [owner], now=START, review=due[0])
    db.session.info.pop(PENDING_IDS_KEY, None)

    review_ids = [r.id for r in (*due, not_due, gone)]
    business_ids = [lonely.id, cafe.id, bakery.id]
    return World(due, not_due, gone, review_ids, business_ids, lonely, cafe, bakery,
                 {"owner": owner, "staff": staff, "helper": helper, "baker": baker,
                  "site_only_author": site_only_author, "digest_author": digest_author})


def test_a_sweep_writes_for_each_review_what_a_release_writes(ctx, clock):
    world = sweep_world()
    due, not_due, gone, review_ids, business_ids = (world.due, world.not_due, world.gone, world.review_ids,
                                                    world.business_ids)
    lonely, cafe, bakery = world.lonely, world.cafe, world.bakery
    owner, staff, helper, baker = (world.people[name] for name in ("owner", "staff", "helper", "baker"))
    site_only_author, digest_author = world.people["site_only_author"], world.people["digest_author"]
    now = START + timedelta(hours=1)
    batches = (4, 4)  # two batches, the first one full

    versions = dict(db.session.execute(select(Business.id, Business.listing_version)).all())
    published = [publication.publish_due(now=now, limit=n) for n in batches]
    got = written(review_ids, business_ids)

    by_time = sorted(due, key=lambda r: (r.publish_at, r.id))
    assert published[0] + published[1] == [r.id for r in by_time]
    assert [row[0] for row in got["reviews"] if row[1] is ReviewStatus.PUBLISHED] == sorted(r.id for r in due)
    for review_id, status, published_at, released_by, reminder_due_at, _ in got["reviews"]:
        if review_id in (not_due.id, gone.id):
            assert status is not ReviewStatus.PUBLISHED and published_at is None
        else:
            assert (status, published_at, released_by, reminder_due_at) == (
                ReviewStatus.PUBLISHED, now, Side.SYSTEM, None)
    assert got["events"] == [(r.id, None, "published", "held", "published", '{"released_by": "system"}', now)
                             for r in by_time]
    # One bump per batch for each business it published for.
    assert dict(got["listing_versions"]) == {
        lonely.id: versions[lonely.id] + 1, cafe.id: versions[cafe.id] + 2, bakery.id: versions[bakery.id] + 1}

    # And what that is, spelled out for a few rows.
    statuses = {(n.recipient_id, n.review_id): n for n in db.session.scalars(
        select(Notification).where(Notification.review_id.in_(review_ids)))}
    assert statuses[(site_only_author.id, due[0].id)].email_status is EmailStatus.SITE_ONLY
    assert statuses[(digest_author.id, due[1].id)].email_status is EmailStatus.DIGEST
    assert statuses[(staff.id, due[1].id)].email_status is EmailStatus.DIGEST
    assert statuses[(helper.id, due[1].id)].email_status is EmailStatus.SITE_ONLY
    assert statuses[(owner.id, due[1].id)].email_status is EmailStatus.PENDING
    assert statuses[(baker.id, due[3].id)].email_status is EmailStatus.PENDING
    assert statuses[(due[2].author_id, due[2].id)].email_status is EmailStatus.PENDING
    note = statuses[(staff.id, due[1].id)]
    assert note.dedupe_key == f"review_published:{due[1].id}:{staff.id}"
    assert (note.review_stars, note.review_publish_at, note.facts) == (
        3, START + timedelta(minutes=1, microseconds=250000), {})
    assert (note.created_at, note.next_attempt_at, note.attempts) == (now, now, 0)
    recipients = [n.recipient_id for n in db.session.scalars(
        select(Notification).where(Notification.review_id == due[3].id))]
    assert sorted(recipients) == sorted([due[3].author_id, baker.id])
    # due[0], [1], [5]: author and 3 members; [2]: its author; [3]: author (a member too) and
    # the baker; [4]: author, baker, [3]'s author. The owner's for due[0] was there before.
    assert len(got["notifications"]) == 4 * 3 + 1 + 2 + 3
    assert len(got["dispatched"]) == len(got["notifications"]) - 1
    assert [e[0] for e in got["events"]] == [r.id for r in by_time]


@pytest.mark.postgresql_only
def test_the_batch_in_one_statement_writes_what_the_steps_write(ctx, clock):
    """PostgreSQL's one-statement batch (publication._publish_in_one_statement) against the
    portable steps, from the same state: the same reviews claimed and published, the same
    events, notices and preferences, the same notices handed to the dispatch."""
    world = sweep_world()
    now = START + timedelta(hours=1)
    before = written(world.review_ids, world.business_ids)
    results = []
    for batch in (publication._publish_in_steps, publication._publish_in_one_statement):
        savepoint = db.session.begin_nested()
        db.session.info.pop(PENDING_IDS_KEY, None)
        claimed = sorted(batch(now, 4))  # (publish_at, id); the businesses' versions are in written()
        results.append((claimed, written(world.review_ids, world.business_ids)))
        savepoint.rollback()
    steps, one_statement = results
    assert len(steps[0]) == 4 and len(steps[1]["events"]) == 4 and steps[1]["dispatched"]
    assert steps[1]["listing_versions"] != before["listing_versions"]
    assert one_statement == steps


def test_an_idle_sweep_writes_nothing(ctx, clock):
    review = ReviewFactory(publish_at=START + timedelta(hours=1))
    version = review.business.listing_version
    assert publication.publish_due(now=START) == []
    assert db.session.info.get(PENDING_IDS_KEY, []) == []
    db.session.refresh(review.business)
    assert review.business.listing_version == version
    assert db.session.scalar(select(func.count(ReviewEvent.id)).where(ReviewEvent.review_id == review.id)) == 0


# -- sweeps at the same time, on their own connections and transactions ------------------------


@pytest.fixture
def committed(app):
    """Sixty due reviews, committed for real (other connections must see them): the oldest ten
    of one business, the rest of another, two members each."""
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
    with committed_due(app, reviews=60, first_business=10, members=2, slug="concurrent-sweeps") as made:
        yield made


@pytest.mark.postgresql_only
def test_a_sweep_skips_the_rows_another_sweep_holds(app, committed):
    """Sweep A claims the oldest ten and keeps its transaction open; sweep B, meanwhile, takes the
    rest without waiting for A (SKIP LOCKED) and never touches A's rows."""
    now = START + timedelta(hours=1)
    results = {}
    with sweep_holding_its_claim(app, now=now, limit=10) as sweep_a:
        results["a"] = sweep_a["claimed"]
        with app.app_context():
            with unit_of_work() as session:
                session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a wait would fail, not hang
                results["b"] = publication.publish_due(now=now, limit=500)
            db.session.remove()
    assert "error" not in sweep_a
    ids = committed["reviews"]
    assert results["a"] == ids[:10]
    assert results["b"] == ids[10:]
    events, notes, statuses = published_counts(app, ids)
    assert events == {review_id: 1 for review_id in ids}
    assert len(notes) == len(ids) * 3 and set(notes.values()) == {1}
    assert statuses == {ReviewStatus.PUBLISHED}


@pytest.mark.postgresql_only
def test_racing_sweeps_publish_each_review_once(app, committed):
    now = START + timedelta(hours=1)
    published: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def sweep() -> None:
        with app.app_context():
            try:
                start.wait(10)
                while True:
                    with unit_of_work():
                        ids = publication.publish_due(now=now, limit=3)
                    published.extend(ids)
                    if not ids:
                        break
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = committed["reviews"]
    assert sorted(published) == ids  # every one, and none twice
    events, notes, statuses = published_counts(app, ids)
    assert events == {review_id: 1 for review_id in ids}
    assert len(notes) == len(ids) * 3 and set(notes.values()) == {1}
    assert statuses == {ReviewStatus.PUBLISHED}
