"""The one fast path of the application: the keys the public pages are cached on, read straight
through the driver on PostgreSQL.

Why: every view of a cached public page reads one small row set (the stamp of what it shows;
``services/listings.py``, ``services/businesses.py``) and nothing else from the database. Through
SQLAlchemy, the execution of that one statement cost more than twice what PostgreSQL took to
answer it, and the ORM session it ran in (created for the stamp, closed at the end of the
request) cost as much again: with them, the business page missed its goal by more than the noise
(BENCHMARKS.md, "Before and after, 2026-12-02 evening: the stamp without a session"). So here the statement, built once and compiled
once, goes straight to a psycopg connection, as a read on its own (``database.before_statement``).

Which connection: while the request's unit of work is under way (the session is in a
transaction), the session's own, so the read sees what the unit wrote. Otherwise there is
nothing of the unit's to see, and a pooled connection of ``db.engine`` serves the one read
without a session being made for it. Nothing is prepared explicitly, so PgBouncer's transaction
pooling is fine.

Only for keys: the values come as the driver gives them, without SQLAlchemy's type processing,
so only statements whose parameters need no conversion take this path (others, and every other
database, go through the session). ``tests/test_fast_reads.py`` holds the two paths to the same
rows, with and without a unit of work under way.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Compiled, Connection, Dialect

from reviewsite.database import before_statement
from reviewsite.extensions import db


def key_rows(statement: Select[Any], params: Mapping[str, object]) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` (a SELECT made once, of plain columns), to key a cache with."""
    compiled = _for_driver(statement, db.engine.dialect)
    if compiled is None:
        return [tuple(row) for row in db.session.connection().execute(statement, dict(params))]
    if _unit_of_work_under_way():
        return _driver_rows(db.session.connection(), compiled, params)
    with db.engine.connect() as connection:
        return _driver_rows(connection, compiled, params)


def _unit_of_work_under_way() -> bool:
    """Whether this request's or task's session has begun a transaction (without making the
    session to find out): its reads must then see its writes."""
    sessions = db.session.registry
    return sessions.has() and sessions().in_transaction()


def _driver_rows(connection: Connection, compiled: Compiled, params: Mapping[str, object]) -> list[tuple[Any, ...]]:
    driver = connection.connection.driver_connection
    before_statement(driver, read=True)
    return driver.execute(compiled.string, compiled.construct_params(dict(params))).fetchall()


@lru_cache(maxsize=64)
def _for_driver(statement: Select[Any], dialect: Dialect) -> Compiled | None:
    """``statement`` compiled for psycopg, or None where it must go through SQLAlchemy: another
    driver, or a parameter whose type SQLAlchemy would convert."""
    if dialect.driver != "psycopg":
        return None
    compiled = statement.compile(dialect=dialect)
    if any(bind.type.bind_processor(dialect) is not None for bind in compiled.binds.values()):
        return None
    return compiled
