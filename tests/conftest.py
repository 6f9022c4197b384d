"""Fixtures: an app per database backend, a transaction rolled back after every test, the clock.

Every test that touches the database runs twice: on SQLite (the embedded default) and on
PostgreSQL (production). PostgreSQL is never skipped: if it cannot be reached the tests fail.
Set REVIEWSITE_TEST_BACKENDS=sqlite to work without it locally.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from flask_migrate import upgrade

from reviewsite import create_app
from reviewsite.clock import FrozenClock
from reviewsite.database import ALONE
from reviewsite.extensions import cache, db
from tests.helpers import START, WebClient, app_config, use_memory_broker

BACKENDS = [b for b in os.environ.get("REVIEWSITE_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/reviewsite_test"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of a PostgreSQL-only code path exist for that backend only: deselected (and counted
    as such) for SQLite rather than collected and skipped."""
    dropped = [item for item in items if item.get_closest_marker("postgresql_only")
               and getattr(item, "callspec", None) and item.callspec.params.get("database_url") != "postgresql"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def reset_postgres_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite'}"
    if request.param == "postgresql":
        reset_postgres_schema(POSTGRES_URL)
        return POSTGRES_URL
    raise ValueError(f"unknown backend {request.param!r}")


@pytest.fixture(scope="session")
def session_clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def app(database_url: str, session_clock: FrozenClock) -> Flask:
    application = create_app(app_config(database_url, session_clock))
    use_memory_broker(application)
    with application.app_context():
        upgrade()  # the migrations build the schema: they are tested by every run
    return application


@pytest.fixture
def clock(session_clock: FrozenClock) -> FrozenClock:
    session_clock.set(START)
    return session_clock


class SharedConnection(sa.Connection):
    """The test's connection, which stands in ``db.engines`` for the app's engine. A session
    joins it, as a Connection; code that takes a connection of its own from the engine for one
    read (``reviewsite/fast_reads.py``) gets this same one, left open, so that it reads inside
    the test's transaction as every other statement does (SQLAlchemy 1.x called this branching)."""

    def connect(self) -> AbstractContextManager[sa.Connection]:
        return nullcontext(self)


def commit_statements_run_alone(connection: sa.Connection) -> None:
    """A write that production runs on its own (the ``ALONE`` execution option of
    ``unit_of_work.statement_by_statement``) is committed when it returns: a rollback of its
    session afterwards cannot undo it. Inside the test's transaction the nearest thing is the
    savepoint the session's unit stands on, released and taken again under the same name after
    each such write, as ``join_transaction_mode="create_savepoint"`` stands a savepoint in for
    each commit."""
    def after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        alone = context is not None and context.execution_options.get(ALONE, False)
        savepoint = conn.get_nested_transaction()  # the innermost, the one a rollback would undo
        if alone and savepoint is not None and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            own = conn.connection.dbapi_connection.cursor()  # the statement's cursor holds its result
            own.execute(f"RELEASE SAVEPOINT {savepoint._savepoint}")
            own.execute(f"SAVEPOINT {savepoint._savepoint}")
            own.close()

    event.listen(connection, "after_cursor_execute", after_cursor_execute)


@contextmanager
def options_forgotten_at_the_end_of_each_session_transaction(connection: sa.Connection) -> Iterator[None]:
    """A session transaction gets a connection of its own in production, with the execution
    options it asked for (``ALONE``), and gives it back at its end; the test's one connection
    takes options in place, so at the end of each they are taken off again."""

    def after_transaction_end(session, transaction) -> None:
        if transaction.parent is None:
            connection.execution_options(**{ALONE: False})

    event.listen(db.session, "after_transaction_end", after_transaction_end)
    try:
        yield
    finally:
        event.remove(db.session, "after_transaction_end", after_transaction_end)


@pytest.fixture
def db_connection(app: Flask, clock: FrozenClock) -> Iterator[sa.Connection]:
    """One outer transaction per test, rolled back at the end: SQLAlchemy's "Joining a Session
    into an External Transaction" recipe. Flask-SQLAlchemy's sessions take their bind from
    ``db.engines``, so the test's connection goes there; ``join_transaction_mode=
    "create_savepoint"`` turns each commit of the code under test into a savepoint (and
    :func:`commit_statements_run_alone` each statement that commits by itself), so the
    production code runs unchanged and nothing in it knows it is under test."""
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = SharedConnection(engine)
        outer = connection.begin()
        commit_statements_run_alone(connection)
        engines[None] = connection  # type: ignore[index]  # Flask-SQLAlchemy binds sessions here
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        # The app lives for the session but each test's rows are rolled back, so ids and
        # listing versions come back: a page cached by an earlier test must not be served.
        cache.clear()
    try:
        with options_forgotten_at_the_end_of_each_session_transaction(connection):
            yield connection
    finally:
        with app.app_context():
            db.session.remove()
            engines[None] = engine  # type: ignore[index]
        outer.rollback()
        connection.close()


@pytest.fixture
def ctx(app: Flask, db_connection: sa.Connection) -> Iterator[None]:
    """An app context for service-level tests (HTTP tests must not hold one: Flask would reuse
    it, and its ``g``, for every request)."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app: Flask, db_connection: sa.Connection) -> WebClient:
    return WebClient(app)


@pytest.fixture
def make_client(app: Flask, db_connection: sa.Connection):
    return lambda: WebClient(app)



@pytest.fixture(scope="session", autouse=True)
def _instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Apps built by tests keep their embedded-default files out of the working tree."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVIEWSITE_INSTANCE_DIR", str(tmp_path_factory.mktemp("instance")))
        yield


@pytest.fixture(params=["low_stars", "reviewer_choice"])
def hold_policy(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """Each hold policy in turn (HOLD_POLICY), as an operator would set it; restored after."""
    before = app.config["HOLD_POLICY"]
    app.config["HOLD_POLICY"] = request.param
    try:
        yield request.param
    finally:
        app.config["HOLD_POLICY"] = before
