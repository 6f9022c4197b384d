"""The models and the migrations describe the same schema, on both backends."""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from reviewsite import create_app
from reviewsite.extensions import db
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.helpers import app_config


def test_models_match_migrations(ctx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect the expression index
        context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def _scratch_database(backend: str, tmp_path) -> str:
    """A database of its own: the round trip drops every table, which the session's must keep."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    url = sa.make_url(POSTGRES_URL)
    scratch = url.set(database=f"{url.database}_migrations")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    admin.dispose()
    return scratch.render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_migration_downgrades_to_base_and_upgrades_again(backend, tmp_path, session_clock):
    """An operator can roll a release back: each downgrade undoes its upgrade on both backends."""
    application = create_app(app_config(_scratch_database(backend, tmp_path), session_clock))
    with application.app_context():
        upgrade()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert {"review", "business", "notification"} <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0006_moves_a_notice_s_review_facts_into_columns_and_back(backend, tmp_path, session_clock):
    application = create_app(app_config(_scratch_database(backend, tmp_path), session_clock))
    notification = sa.table("notification", sa.column("id"), sa.column("facts", sa.JSON),
                            sa.column("review_stars"), sa.column("review_publish_at", sa.DateTime(timezone=True)))
    with application.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO \"user\" (id, email, display_name, password_hash, is_moderator, created_at) "
                "VALUES (1, 'a@example.com', 'A', 'x', false, '2026-01-01 00:00:00+00')"))
            connection.execute(sa.text(
                "INSERT INTO notification (id, dedupe_key, kind, recipient_id, facts, created_at, email_status, "
                "attempts, next_attempt_at) VALUES "
                "(1, 'k1', 'remedy_offer', 1, :one, '2026-01-01 00:00:00+00', 'pending', 0, '2026-01-01 00:00:00+00'),"
                "(2, 'k2', 'digest', 1, :two, '2026-01-01 00:00:00+00', 'pending', 0, '2026-01-01 00:00:00+00')"),
                {"one": '{"stars": 2, "publish_at": "2026-01-04T00:00:00.250000+00:00", "remedy": "refund"}',
                 "two": '{"items": [1, 2]}'})
        upgrade(revision="0006")
        with db.engine.connect() as connection:
            rows = connection.execute(sa.select(notification).order_by(notification.c.id)).all()
        assert [(r.id, r.facts, r.review_stars) for r in rows] == [(1, {"remedy": "refund"}, 2), (2, {"items": [1, 2]}, None)]
        moved = rows[0].review_publish_at
        moved = moved if isinstance(moved, str) else moved.isoformat()
        assert moved.startswith("2026-01-04") and "00:00:00.25" in moved
        downgrade(revision="0005")
        with db.engine.connect() as connection:
            facts = dict(connection.execute(sa.select(notification.c.id, notification.c.facts)).all())
        assert facts == {1: {"stars": 2, "publish_at": "2026-01-04T00:00:00.250000+00:00", "remedy": "refund"},
                         2: {"items": [1, 2]}}
        db.engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0008_makes_todays_owners_verified_owners_and_rolls_back(backend, tmp_path, session_clock):
    """Migration 0008 on data: every owner gets a verified "migrated" claim, the listing is claimed
    from the owner's membership, staff stay verified staff; the downgrade keeps the memberships."""
    application = create_app(app_config(_scratch_database(backend, tmp_path), session_clock))
    with application.app_context():
        upgrade(revision="0005")
        at = "2026-01-02 10:00:00"
        with db.engine.begin() as connection:
            for sql in (
                "INSERT INTO \"user\" (id, email, display_name, password_hash, is_moderator, created_at) VALUES "
                f"(1, 'o@example.com', 'O', 'x', false, '{at}'), (2, 's@example.com', 'S', 'x', false, '{at}')",
                "INSERT INTO business (id, slug, name, category, city, address, description, rating_count, "
                f"rating_sum, created_at, listing_version) VALUES (1, 'a', 'A', 'Cafe', 'Leeds', '1 St', '', 0, 0, '{at}', 0),"
                f" (2, 'b', 'B', 'Cafe', 'Leeds', '2 St', '', 0, 0, '{at}', 0)",
                "INSERT INTO membership (business_id, user_id, role, created_at) VALUES "
                "(1, 1, 'owner', '2026-01-03 10:00:00'), (1, 2, 'staff', '2026-01-04 10:00:00')",
            ):
                connection.execute(sa.text(sql))
        upgrade()
        with db.engine.connect() as connection:
            claims = connection.execute(sa.text(
                "SELECT business_id, claimant_id, method, status FROM business_claim")).all()
            claimed = dict(connection.execute(sa.text("SELECT id, claimed_at FROM business")).all())
            events = connection.execute(sa.text(
                "SELECT subject_id, action FROM business_event ORDER BY subject_id")).all()
        assert [tuple(c) for c in claims] == [(1, 1, "migrated", "verified")]
        assert claimed[2] is None and str(claimed[1]).startswith("2026-01-03 10:00:00")
        assert [tuple(e) for e in events] == [(1, "member_migrated"), (2, "member_migrated")]
        downgrade(revision="0005")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM membership")).scalar() == 2
        assert "business_claim" not in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
