"""Units of one statement each (unit_of_work.statement_by_statement), on the app's own engine
rather than the tests' rolled-back transaction, since what they promise is about commits and
connections: each statement is committed when its unit ends, the connection is held between
units in no transaction (nobody waits on a lock it keeps), and a failed unit gives it back and
spoils none of the others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reviewsite.extensions import db
from reviewsite.unit_of_work import statement_by_statement, unit_of_work


@pytest.fixture
def probe(app) -> Iterator[sa.Engine]:
    """A table of one row on the app's real engine, and that engine; gone afterwards."""
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS uow_probe"))
            connection.execute(sa.text("CREATE TABLE uow_probe (id integer PRIMARY KEY, n integer NOT NULL)"))
            connection.execute(sa.text("INSERT INTO uow_probe VALUES (1, 0)"))
        try:
            yield engine
        finally:
            db.session.remove()
            with engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE uow_probe"))


def committed_n(engine: sa.Engine) -> int:
    """What another connection sees."""
    with engine.connect() as other:
        return other.execute(sa.text("SELECT n FROM uow_probe WHERE id = 1")).scalar_one()


def write_elsewhere(engine: sa.Engine, n: int) -> None:
    """Another writer takes the row's lock (PostgreSQL) or the database's (SQLite) and commits:
    it would wait, then fail on its timeout, if the held connection kept a transaction open."""
    with engine.connect() as other:
        if other.dialect.name == "postgresql":
            other.execute(sa.text("SET lock_timeout = '500ms'"))
        else:
            other.exec_driver_sql("PRAGMA busy_timeout = 500")
        other.execute(sa.text("UPDATE uow_probe SET n = :n WHERE id = 1"), {"n": n})
        other.commit()


def set_n(n: int) -> None:
    db.session.execute(sa.text("UPDATE uow_probe SET n = :n WHERE id = 1"), {"n": n})


def test_each_statement_is_committed_when_its_unit_ends_on_one_held_connection(probe):
    with statement_by_statement() as unit:
        with unit():
            set_n(1)
        assert committed_n(probe) == 1
        first = db.session.connection().connection.dbapi_connection
        write_elsewhere(probe, 10)  # between units the connection holds no lock
        with unit():
            set_n(2)
        assert committed_n(probe) == 2
        assert db.session.connection().connection.dbapi_connection is first
        assert probe.pool.checkedout() == 1
    assert probe.pool.checkedout() == 0  # given back at the end of the block


def test_a_failed_unit_undoes_nothing_before_it_and_the_next_runs_on_its_own(probe):
    with statement_by_statement() as unit:
        with unit():
            set_n(1)
        with pytest.raises(sa.exc.DBAPIError), unit():
            db.session.execute(sa.text("UPDATE uow_probe SET no_such_column = 1"))
        assert probe.pool.checkedout() == 0  # the failed unit rolled back and gave it back
        assert committed_n(probe) == 1
        with unit():
            set_n(3)
        assert committed_n(probe) == 3  # before the block ends
        write_elsewhere(probe, 30)
    assert committed_n(probe) == 30


def test_an_ordinary_unit_of_work_between_them_keeps_its_statements_together(probe):
    """The retry of a failed record is an ordinary unit of work inside the block: atomic as
    ever, and the next unit of one statement is on its own again."""
    with statement_by_statement() as unit:
        with unit():
            set_n(1)
        with pytest.raises(RuntimeError), unit_of_work():
            db.session.execute(sa.text("SELECT n FROM uow_probe"))
            set_n(2)
            raise RuntimeError("after the write")
        assert committed_n(probe) == 1
        with unit():
            set_n(4)
        assert committed_n(probe) == 4
