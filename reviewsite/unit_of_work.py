"""One unit of work per request or task: services flush, this commits (or rolls back) once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
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
