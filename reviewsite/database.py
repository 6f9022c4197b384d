"""Engine settings per backend, and the one statement form the two backends spell differently.

PostgreSQL: a pooled connection may have been closed by the server while it sat in the pool (a
restart, ``pg_terminate_backend``, an idle timeout). A server that ends a session says so on the
socket (a FATAL message, then end of file), and an idle pooled connection otherwise receives
nothing; so a checkout looks whether the socket has anything to read, without waiting, and if so
raises ``DisconnectionError``, which makes the pool open a fresh connection instead (SQLAlchemy's
documented pessimistic disconnect handling, without ``pool_pre_ping``'s round trip per checkout).
A connection lost without a word (a vanished host) fails on first use, as it would with pre-ping
too; SQLAlchemy then renews the whole pool.

PostgreSQL, bounded stalls (invariant 3): every session the site opens carries server-side
timeouts and TCP settings in its startup packet (libpq ``options`` and keepalive parameters,
:func:`connect_parameters`), so a process that stops inside a transaction that claimed rows (a
paused VM, a SIGSTOP, a host cut off mid-transaction) cannot keep them locked: the server ends
that session after ``DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS`` and the other sweepers take
the rows; and both ends of a connection notice a vanished peer within
``DATABASE_DEAD_PEER_SECONDS`` instead of the kernel's two hours. The values and their reasons
are in ``reviewsite/config.py``.

SQLite (the embedded default) is shared by the web process, the worker and beat. WAL lets readers
run beside a writer; every transaction starts with BEGIN IMMEDIATE so that two writers queue on
the busy timeout instead of failing on a lock upgrade, which is also what makes the sweep's claim a
write transaction. pysqlite's own transaction handling is switched off so SAVEPOINTs work.

The clock for deadlines (invariant 8) is the database's: :func:`server_now`.

Arithmetic on instants is spelt apart too (PostgreSQL subtracts timestamps, SQLite has
``julianday``): :class:`seconds_between` and :class:`whole_part` are SQL functions that each
backend writes its own way, so the statements that use them are written once.
"""

from __future__ import annotations

import re
import select
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache, wraps
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from psycopg.pq import TransactionStatus
from sqlalchemy import Float, Insert, Integer, Table, event, exc, func, literal_column, text
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from reviewsite.extensions import db

T = TypeVar("T")


def configure_engine(engine: Engine, settings: Mapping[str, Any] | None = None) -> None:
    """``settings``: the app's config, for the ``DATABASE_*_SECONDS`` bounds of every session
    (0 leaves one unset); without it, connections keep the driver's and server's defaults."""
    if engine.dialect.name == "postgresql":
        if not event.contains(engine, "checkout", _refuse_closed_by_server):
            event.listen(engine, "checkout", _refuse_closed_by_server)
        _PARAMETERS[engine.dialect] = connect_parameters(settings or {})
        if not event.contains(engine, "do_connect", _add_parameters):
            event.listen(engine, "do_connect", _add_parameters)
        if not event.contains(engine, "before_cursor_execute", _begin_only_when_needed):
            event.listen(engine, "before_cursor_execute", _begin_only_when_needed)
        return
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _on_connect):
        return
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def connect_parameters(settings: Mapping[str, Any]) -> dict[str, object]:
    """libpq connection parameters for the bounds in ``settings``.

    Server side (``options``, applied by the server to this session at start-up, before any
    statement; ``DATABASE_SESSION_OPTIONS=false`` leaves them out for a pooler that refuses or
    drops them, PgBouncer, with the bounds set on the database role instead: docs/deployment.md):
    ``idle_in_transaction_session_timeout`` ends a session that sits in a transaction without
    sending anything (its locks go with it), ``statement_timeout`` cancels one statement that runs
    too long, and the server's own TCP keepalive and ``tcp_user_timeout`` free the backend of a
    client host that vanished. Client side: libpq's keepalives and ``tcp_user_timeout`` make a
    query on a connection whose server is unreachable fail instead of waiting for the kernel's
    retransmissions (about 15 minutes) or keepalive (2 hours), and ``connect_timeout`` bounds a
    connection attempt to a host that does not answer."""

    def seconds(name: str) -> int:
        return int(settings.get(name) or 0)

    server: dict[str, int] = {}
    parameters: dict[str, object] = {}
    if seconds("DATABASE_STATEMENT_TIMEOUT_SECONDS"):
        server["statement_timeout"] = seconds("DATABASE_STATEMENT_TIMEOUT_SECONDS") * 1000
    if seconds("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS"):
        server["idle_in_transaction_session_timeout"] = seconds("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS") * 1000
    dead_peer = seconds("DATABASE_DEAD_PEER_SECONDS")
    if dead_peer:
        # Probes start after a third of the bound, then every sixth, three of them: the peer is
        # declared dead about when the bound has passed; data unacknowledged for the bound also.
        idle, interval = max(dead_peer // 3, 1), max(dead_peer // 6, 1)
        keepalive = {"keepalives_idle": idle, "keepalives_interval": interval, "keepalives_count": 3}
        parameters.update(keepalives=1, tcp_user_timeout=dead_peer * 1000, **keepalive)
        server.update({f"tcp_{name}": value for name, value in keepalive.items()}, tcp_user_timeout=dead_peer * 1000)
    if seconds("DATABASE_CONNECT_TIMEOUT_SECONDS"):
        parameters["connect_timeout"] = seconds("DATABASE_CONNECT_TIMEOUT_SECONDS")
    if server and settings.get("DATABASE_SESSION_OPTIONS", True):
        parameters["options"] = " ".join(f"-c {name}={value}" for name, value in server.items())
    return parameters


# The parameters of each engine's connections, by its dialect (one per engine).
_PARAMETERS: WeakKeyDictionary[Any, dict[str, object]] = WeakKeyDictionary()


def _add_parameters(dialect: Any, connection_record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
    for name, value in _PARAMETERS.get(dialect, {}).items():
        cparams.setdefault(name, value)


@contextmanager
def without_timeouts(connection: Connection) -> Iterator[None]:
    """For the migrations' connection only: a migration may rightly run for minutes (an index on
    a large table), which the sessions' statement timeout exists to stop elsewhere. The bounds
    come back afterwards (the connection returns to the pool)."""
    bounded = connection.dialect.name == "postgresql"
    names = ("statement_timeout", "idle_in_transaction_session_timeout")
    if bounded:
        for name in names:
            connection.exec_driver_sql(f"SET {name} = 0")
        connection.commit()  # a SET in a transaction that is rolled back would be undone
    try:
        yield
    finally:
        if bounded:
            connection.rollback()
            for name in names:
                connection.exec_driver_sql(f"RESET {name}")  # to the value the session started with
            connection.commit()


def server_now(connection: Connection) -> datetime:
    """The database server's clock, as an aware UTC datetime: one SELECT.

    PostgreSQL: ``statement_timestamp()``, the start of this very statement (``now()`` would be
    the start of the transaction, which may be older). Every host then compares deadlines with
    the same clock, so a worker host whose clock is skewed can neither publish early nor hold
    late (invariant 8). SQLite (the embedded default, a library inside each process on one
    host): ``strftime('%f', 'now')``, the same query form; SQLite reads the host's clock, which is
    every process's clock there, to the millisecond (truncated, so never ahead)."""
    if connection.dialect.name == "postgresql":
        value = connection.execute(sql_select(func.statement_timestamp())).scalar_one()
        return value.astimezone(UTC)
    raw = connection.execute(sql_select(literal_column("strftime('%Y-%m-%d %H:%M:%f', 'now')"))).scalar_one()
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


_IDLE = TransactionStatus.IDLE
# A SELECT that locks rows (FOR UPDATE, FOR SHARE and their variants) needs its transaction.
_LOCKING = re.compile(r"\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)


def _begin_only_when_needed(connection: Connection, cursor: Any, statement: str, parameters: Any,
                            context: Any, executemany: bool) -> None:
    """PostgreSQL: a database transaction begins at the first statement that needs one.

    psycopg begins a transaction (a BEGIN round trip) before the first statement on an idle
    connection, and the end of the request then rolls it back (a second one), even when the
    request only read. Here a plain read on an idle connection runs on its own (autocommit for
    that statement), and the connection stays idle, so a request or task that only reads sends
    neither BEGIN nor ROLLBACK. The first statement that writes or locks rows (anything but a
    plain SELECT: an INSERT, an UPDATE, a SELECT ... FOR UPDATE, a SAVEPOINT) begins the
    transaction as usual, and every later statement, reads included, runs inside it (a read
    sees what the unit of work wrote) until it commits or rolls back. Reads before the first
    write see what is committed, as they would in a READ COMMITTED transaction: each statement
    there has its own snapshot anyway.

    A write runs on its own too when it is the whole of its unit of work
    (``unit_of_work.statement_by_statement``, which sets :data:`ALONE` on the units' connection):
    a single statement is atomic by itself, and BEGIN and COMMIT around it would only add two
    round trips."""
    verb = statement.lstrip()[:6].upper()
    # Only a write: a SAVEPOINT, which a session joined to an outer transaction takes first,
    # must begin that transaction.
    alone = verb in _WRITES and context is not None and context.execution_options.get(ALONE, False)
    before_statement(connection.connection.driver_connection,
                     read=alone or (verb == "SELECT" and _LOCKING.search(statement) is None))


# The execution option of units of work that are one statement each (see _begin_only_when_needed
# and _on_begin).
ALONE = "reviewsite_one_statement"
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})


def before_statement(dbapi_connection: Any, *, read: bool) -> None:
    """The rule of :func:`_begin_only_when_needed` for one statement on a psycopg connection:
    on an idle connection a plain read (or a unit's only statement) runs on its own, anything
    else begins a transaction."""
    if dbapi_connection.pgconn.transaction_status == _IDLE and dbapi_connection.autocommit is not read:
        dbapi_connection.autocommit = read


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
    """Every transaction takes the write lock at once, except one whose statements each run on
    their own (:data:`ALONE`): with pysqlite's own transaction handling off, each then commits
    as it runs, taking and releasing the lock for itself."""
    if not connection.get_execution_options().get(ALONE, False):
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


def built_once_per_database(build: Callable[..., T]) -> Callable[..., T]:
    """Memoise a statement builder (its arguments hashable) per database as well: a statement
    that holds :func:`insert_skipping_duplicates` is built with that database's own ``insert``,
    and the tests run one process against both databases. For statements a request or a batch
    runs every time (docs/architecture.md, "One implementation per operation")."""
    built = cache(lambda dialect, *args: build(*args))

    @wraps(build)
    def statement(*args: Any) -> T:
        return built(db.engine.dialect.name, *args)

    return statement


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


class seconds_between(FunctionElement):  # noqa: N801 - an SQL function, named as one
    """``seconds_between(later, earlier)``: the seconds from one instant column or value to
    another, as a floating-point number (the make-it-right record's times to first reply)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


class whole_part(FunctionElement):  # noqa: N801
    """``whole_part(x)``: the integer part of a number that is never negative (which week of a
    period an instant falls in). PostgreSQL's CAST rounds, SQLite's truncates."""

    type = Integer()
    inherit_cache = True
    name = "whole_part"


@compiles(whole_part)
def _whole_part_sqlite(element: whole_part, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(whole_part, "postgresql")
def _whole_part_postgresql(element: whole_part, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"
