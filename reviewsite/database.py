"""Engine settings per backend, and the one statement form the two backends spell differently.

PostgreSQL: a pooled connection may have been closed by the server while it sat in the pool (a
restart, ``pg_terminate_backend``, an idle timeout). A server that ends a session says so on the
socket (a FATAL message, then end of file), and an idle pooled connection otherwise receives
nothing; so a checkout looks whether the socket has anything to read, without waiting, and if so
raises ``DisconnectionError``, which makes the pool open a fresh connection instead (SQLAlchemy's
documented pessimistic disconnect handling, without ``pool_pre_ping``'s round trip per checkout).
A connection lost without a word (a vanished host) fails on first use, as it would with pre-ping
too; SQLAlchemy then renews the whole pool.

SQLite (the embedded default) is shared by the web process, the worker and beat. WAL lets readers
run beside a writer; every transaction starts with BEGIN IMMEDIATE so that two writers queue on
the busy timeout instead of failing on a lock upgrade, which is also what makes the sweep's claim a
write transaction. pysqlite's own transaction handling is switched off so SAVEPOINTs work.
"""

from __future__ import annotations

import select
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from reviewsite.extensions import db


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        if not event.contains(engine, "checkout", _refuse_closed_by_server):
            event.listen(engine, "checkout", _refuse_closed_by_server)
        return
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _on_connect):
        return
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def _refuse_closed_by_server(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("connection closed")
    poll = select.poll()
    poll.register(dbapi_connection.fileno(), select.POLLIN)
    if poll.poll(0):
        raise exc.DisconnectionError("the server ended this session while it was in the pool")


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_skipping_duplicates(table: Table, *unique: str, where: str | None = None) -> Insert:
    """``INSERT ... ON CONFLICT (unique) [WHERE where] DO NOTHING`` for the app's database
    (``where`` names a partial unique index by its condition).

    A second copy of a row that must exist once (a notification for the same fact and person, a
    second review by the same author) is skipped instead of failing the transaction, with no
    savepoint and no earlier lookup that a concurrent writer could slip past. PostgreSQL and
    SQLite write the statement the same way, but SQLAlchemy builds it with each dialect's own
    ``insert``; this is the one place that picks it. Add ``.returning(...)`` to learn which rows
    were written."""
    return _insert_skipping_duplicates(db.engine.dialect.name, table, tuple(unique), where)


@cache
def _insert_skipping_duplicates(dialect: str, table: Table, unique: tuple[str, ...], where: str | None) -> Insert:
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return build(table).on_conflict_do_nothing(index_elements=list(unique),
                                               index_where=text(where) if where else None)


def render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic hook: write portable column types into migrations, not this package's classes,
    so that old migrations keep working whatever happens to the Python code."""
    from reviewsite.db_types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
