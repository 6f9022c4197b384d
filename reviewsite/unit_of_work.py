"""One unit of work per request or task: services flush, this commits (or rolls back) once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Compiled, Connection, Dialect, Engine
from sqlalchemy.orm import scoped_session

from reviewsite.extensions import db


@contextmanager
def unit_of_work() -> Iterator[scoped_session]:
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def each_statement_commits() -> bool:
    """From here until the session's next commit or rollback, each statement on PostgreSQL
    commits on its own (AUTOCOMMIT): no BEGIN and COMMIT/ROLLBACK round trips around work that is
    one statement, or only reads (READ COMMITTED gives each statement its own snapshot anyway).
    Only when the session is bound to the engine itself (the tests bind it to a connection inside
    a transaction they roll back, which must stay that way) and has no transaction yet, or
    already one in autocommit. SQLite keeps its BEGIN IMMEDIATE. Returns whether statements now
    commit on their own."""
    session = db.session()
    if session.get_transaction() is not None:
        return session.connection().get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return True
    return False


@contextmanager
def reading() -> Iterator[Connection]:
    """A connection for one read that needs no unit of work and no ORM objects, the cheapest way
    to the database: on PostgreSQL, when the session is bound to the engine, a pooled connection
    in AUTOCOMMIT used without the session (a third of the CPU of the same statement through
    it; the request's session is not even created). Otherwise the session's own connection: when
    it already has a transaction (read what it wrote), when the tests bind it to their enclosing
    transaction, and on SQLite, whose locking stays as it is."""
    sessions = db.session.registry
    in_transaction = sessions.has() and sessions().get_transaction() is not None
    bind = db.engine  # the tests' connection instead, when they have bound one
    if not in_transaction and isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        with _autocommit(bind).connect() as connection:
            yield connection
    else:
        yield db.session.connection()


@cache
def _autocommit(engine: Engine) -> Engine:
    """The engine's AUTOCOMMIT variant (same pool), made once per engine."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def stamps(statement: Select[Any], params: Mapping[str, object]) -> list[tuple[Any, ...]]:
    """The rows of ``statement``, a SELECT built once of plain columns, for keying a cache (ids,
    versions, creation times), read as cheaply as possible because they are read on every cached
    page view: on PostgreSQL through ``reading()``'s autocommit connection straight to the
    driver, the statement compiled once and prepared by the server, since SQLAlchemy's execution
    of one statement costs more CPU than PostgreSQL takes to answer it. Values come as the
    driver gives them (no SQLAlchemy type processing), which is why this is for keys only, and
    why a statement whose parameters need converting goes through SQLAlchemy instead."""
    with reading() as connection:
        driver = connection.connection.driver_connection
        compiled = _for_driver(statement, connection.dialect) if getattr(driver, "autocommit", False) else None
        if compiled is not None:
            # construct_params adds the values written into the statement itself to the caller's.
            return driver.execute(compiled.string, compiled.construct_params(params), prepare=True).fetchall()
        return [tuple(row) for row in connection.execute(statement, params)]


@lru_cache(maxsize=64)
def _for_driver(statement: Select[Any], dialect: Dialect) -> Compiled | None:
    """The statement compiled for the psycopg driver (named %(name)s parameters), or None if a
    parameter would need a conversion SQLAlchemy normally applies, or for another driver."""
    if dialect.driver != "psycopg":
        return None
    compiled = statement.compile(dialect=dialect)
    if any(bind.type.bind_processor(dialect) is not None for bind in compiled.binds.values()):
        return None
    return compiled
