"""Pooled PostgreSQL connections the server ended while they sat in the pool (a restart, an
administrator's ``pg_terminate_backend``) are replaced at checkout, without a round trip per
checkout (reviewsite/database.py): the next piece of work runs instead of failing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reviewsite.database import configure_engine

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def engine(database_url):
    engine = sa.create_engine(database_url, pool_size=2)
    configure_engine(engine)
    yield engine
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_ended_by_the_server_is_replaced_at_checkout(engine, database_url):
    first = backend_pid(engine)
    assert backend_pid(engine) == first  # pooled: the same session again
    with sa.create_engine(database_url).connect() as admin:
        # Waits (up to 5 s) until that backend has exited, so its farewell is on the socket.
        assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first}).scalar_one()
    second = backend_pid(engine)
    assert second != first
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1


def test_without_the_check_the_same_connection_would_fail(database_url):
    """The check is what makes the difference: a plain pool hands out the dead connection."""
    engine = sa.create_engine(database_url, pool_size=2)
    try:
        first = backend_pid(engine)
        with sa.create_engine(database_url).connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
        with pytest.raises(sa.exc.OperationalError):
            backend_pid(engine)
    finally:
        engine.dispose()
