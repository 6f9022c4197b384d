"""On PostgreSQL a database transaction begins at the first statement that needs one
(reviewsite/database.py): a piece of work that only reads sends neither BEGIN nor ROLLBACK, and
one that writes is as atomic as ever: its reads after the first write see what it wrote, a
locking read holds its lock to the commit, and a rollback undoes every write."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from reviewsite.database import ALONE, configure_engine

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def engine(database_url):
    engine = sa.create_engine(database_url, pool_size=2)
    configure_engine(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS lazy_begin"))
        connection.execute(sa.text("CREATE TABLE lazy_begin (id int PRIMARY KEY, n int NOT NULL)"))
        connection.execute(sa.text("INSERT INTO lazy_begin VALUES (1, 0)"))
    yield engine
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE lazy_begin"))
    engine.dispose()


@pytest.fixture
def commands(engine, monkeypatch):
    """The transaction commands psycopg sends (BEGIN, COMMIT, ROLLBACK), in order."""
    import psycopg._connection_base as base

    sent: list[bytes] = []
    original = base.BaseConnection._exec_command

    def spy(self, command, result_format=0):
        sent.append(bytes(command) if isinstance(command, (bytes, bytearray)) else command.as_string(self).encode())
        return original(self, command, result_format)

    monkeypatch.setattr(base.BaseConnection, "_exec_command", spy)
    return sent


def test_a_piece_of_work_that_only_reads_sends_no_begin_and_no_rollback(engine, commands):
    with Session(engine) as session:
        assert session.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 0
        assert session.execute(sa.text("SELECT count(*) FROM lazy_begin")).scalar_one() == 1
        session.rollback()
    assert commands == []


def test_a_write_begins_the_transaction_and_later_reads_see_it(engine, commands):
    with Session(engine) as session:
        session.execute(sa.text("SELECT n FROM lazy_begin"))  # on its own
        session.execute(sa.text("UPDATE lazy_begin SET n = 1 WHERE id = 1"))
        assert session.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 1
        with engine.connect() as other:  # nobody else sees it before the commit
            assert other.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 0
        session.commit()
    assert commands == [b"BEGIN", b"COMMIT"]
    with engine.connect() as other:
        assert other.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 1


def test_the_only_statement_of_a_unit_of_work_runs_on_its_own(engine, commands):
    """unit_of_work.statement_by_statement: a write that is the whole unit commits by itself, with
    neither BEGIN nor COMMIT around it; the next unit on the connection begins as usual."""
    with Session(engine) as session:
        session.connection(execution_options={ALONE: True})
        session.execute(sa.text("UPDATE lazy_begin SET n = 3 WHERE id = 1"))
        with engine.connect() as other:  # committed already
            assert other.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 3
        session.commit()
    assert commands == []
    with Session(engine) as session:
        session.execute(sa.text("UPDATE lazy_begin SET n = 4 WHERE id = 1"))
        session.rollback()
    assert commands == [b"BEGIN", b"ROLLBACK"]
    with engine.connect() as other:
        assert other.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 3


def test_a_rollback_undoes_every_write_of_the_piece_of_work(engine):
    with Session(engine) as session:
        session.execute(sa.text("UPDATE lazy_begin SET n = 5 WHERE id = 1"))
        session.execute(sa.text("INSERT INTO lazy_begin VALUES (2, 2)"))
        session.rollback()
    with engine.connect() as other:
        assert other.execute(sa.text("SELECT id, n FROM lazy_begin")).all() == [(1, 0)]


def test_a_locking_read_begins_the_transaction_and_holds_its_lock_to_the_commit(engine):
    with Session(engine) as session:
        session.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1\nFOR UPDATE")).scalar_one()
        with engine.connect() as other:
            other.execute(sa.text("SET lock_timeout = '200ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                other.execute(sa.text("UPDATE lazy_begin SET n = 9 WHERE id = 1"))
        session.commit()


def test_a_savepoint_is_never_on_its_own(engine, commands):
    """A unit of one statement inside a joined transaction (the tests' sessions) takes a
    SAVEPOINT first: that begins the transaction as usual."""
    with Session(engine) as session:
        session.connection(execution_options={ALONE: True})
        session.begin_nested()
        session.execute(sa.text("UPDATE lazy_begin SET n = 7 WHERE id = 1"))
        session.rollback()
    assert commands[0] == b"BEGIN"
    with engine.connect() as other:
        assert other.execute(sa.text("SELECT n FROM lazy_begin WHERE id = 1")).scalar_one() == 0
