"""Bounded stalls (invariant 3): every PostgreSQL session carries server-side timeouts
(reviewsite/database.py), so a sweep that claimed rows with FOR UPDATE SKIP LOCKED and then
stopped (a paused VM, a SIGSTOP, a host cut off) loses its claim when the server ends its
session, and the other sweeper publishes those rows, each exactly once.

SKIP LOCKED and server-side session timeouts are PostgreSQL's; SQLite serialises its writers.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from reviewsite import create_app
from reviewsite.extensions import db
from reviewsite.models import Review, ReviewStatus
from reviewsite.services import publication
from reviewsite.unit_of_work import unit_of_work
from tests.helpers import START, app_config
from tests.services.sweeps import committed_due, published_counts, sweep_holding_its_claim

pytestmark = pytest.mark.postgresql_only

IDLE_TIMEOUT_SECONDS = 1


@pytest.fixture
def bounded_app(app, database_url, clock):
    """The site with a short idle-in-transaction bound (the schema comes from ``app``)."""
    application = create_app(app_config(database_url, clock, DISPATCH_AFTER_COMMIT=False,
                                        DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS=IDLE_TIMEOUT_SECONDS))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def due(bounded_app):
    """Twelve due reviews, committed for real: the oldest five of one business, the rest of
    another (a stalled sweep also holds the business rows it publishes for, so the other sweep
    would wait on that row rather than skip)."""
    with committed_due(bounded_app, reviews=12, first_business=5, members=1, slug="stalled-sweep") as made:
        yield made


def test_every_session_is_bounded_by_the_server_and_notices_a_dead_peer(app):
    """The production defaults (reviewsite/config.py) reach every pooled connection."""
    with app.app_context(), db.engine.connect() as connection:
        def show(name: str) -> str:
            return connection.exec_driver_sql(f"SHOW {name}").scalar_one()

        assert show("idle_in_transaction_session_timeout") == "10s"
        assert show("statement_timeout") == "30s"
        assert show("tcp_user_timeout") == "10000"  # ms; the server's end of this TCP connection
        assert show("tcp_keepalives_idle") == "3"
        client = connection.connection.driver_connection.info.get_parameters()
        assert (client["keepalives"], client["tcp_user_timeout"], client["connect_timeout"]) == ("1", "10000", "5")


def test_a_stalled_sweep_loses_its_claim_and_the_other_sweeper_publishes_the_rows(bounded_app, due):
    now = START + timedelta(hours=1)
    ids = due["reviews"]
    # Claims the oldest five, then stops without a word to the server (as a SIGSTOPped or
    # cut-off process would), and tries to commit once it is resumed.
    with sweep_holding_its_claim(bounded_app, now=now, limit=5) as stalled:
        assert stalled["claimed"] == ids[:5]
        with bounded_app.app_context():
            with unit_of_work():
                others = publication.publish_due(now=now, limit=500)  # skips the claimed rows at once
            with unit_of_work() as session:
                session.execute(sa.text("SET LOCAL lock_timeout = '10s'"))  # would fail, not hang
                started = time.monotonic()
                # Blocks on the stalled sweep's row locks until the server ends that session.
                session.execute(select(Review.id).where(Review.id.in_(ids[:5])).with_for_update()).all()
                waited = time.monotonic() - started
                rest = publication.publish_due(now=now, limit=500)
            db.session.remove()

    assert others == ids[5:]
    assert rest == ids[:5]
    assert IDLE_TIMEOUT_SECONDS * 0.5 <= waited < IDLE_TIMEOUT_SECONDS + 5
    # The stalled sweep's work is gone with its session: its commit fails, nothing of it stays.
    assert "idle-in-transaction timeout" in str(stalled.get("error"))
    events, notices, statuses = published_counts(bounded_app, ids)
    assert events == {review_id: 1 for review_id in ids}
    assert len(notices) == len(ids) * 2 and set(notices.values()) == {1}  # the author and the member
    assert statuses == {ReviewStatus.PUBLISHED}
