"""The one fast path of the application: the keys the public pages are cached on, read straight
through the driver on PostgreSQL.

Why: every view of a cached public page reads one small row set (the stamp of what it shows;
``services/listings.py``, ``services/businesses.py``) and nothing else from the database, and
SQLAlchemy's execution of that one statement cost more than twice what PostgreSQL took to answer
it: with it, the business page and search results missed their goals by more than the noise
(BENCHMARKS.md, "What the public pages cost"). Here the statement, built once and compiled once,
goes to the session's own psycopg connection: the same connection, so the same transaction when
there is one (the tests' included), and on its own when the connection is idle, by the same rule
as every other read (``database.before_statement``). Nothing is prepared explicitly, so
PgBouncer's transaction pooling is fine.

Only for keys: the values come as the driver gives them, without SQLAlchemy's type processing,
so only statements whose parameters need no conversion take this path (others, and every other
database, go through SQLAlchemy). ``tests/test_fast_reads.py`` holds the two paths to the same
rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Compiled, Dialect

from reviewsite.database import before_statement
from reviewsite.extensions import db


def key_rows(statement: Select[Any], params: Mapping[str, object]) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` (a SELECT made once, of plain columns), to key a cache with."""
    connection = db.session.connection()
    compiled = _for_driver(statement, connection.dialect)
    if compiled is None:
        return [tuple(row) for row in connection.execute(statement, dict(params))]
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
