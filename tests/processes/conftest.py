"""Real processes: a Celery worker and beat as subprocesses, a real SMTP server, real brokers.

Two deployments:

- ``production``: PostgreSQL (a database of its own, reset for every test) and Redis (a db of its
  own, flushed for every test); TEST_PROCESSES_POSTGRES_URL / TEST_PROCESSES_REDIS_URL override
  them, else they are derived from TEST_POSTGRES_URL / TEST_REDIS_URL;
- ``embedded``: the defaults with no servers, a SQLite database and the SQLite broker
  (reviewsite/broker.py), both in the test's tmp dir (REVIEWSITE_INSTANCE_DIR).

The test process builds the Flask app from the same environment as the subprocesses and commits
real data through the services; nothing is rolled back. PostgreSQL and Redis are never optional:
if they cannot be reached the tests fail, they do not skip.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from unittest import mock
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from reviewsite import config as site_config
from reviewsite import create_app
from reviewsite.extensions import db
from tests.smtp_sink import SmtpServer, free_port

PROJECT_ROOT = site_config.PROJECT_ROOT
PROCESSES_DB = "reviewsite_test_processes"
POSTGRES_URL = os.environ.get(
    "TEST_PROCESSES_POSTGRES_URL",
    sa.engine.make_url(
        os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/reviewsite_test")
    )
    .set(database=PROCESSES_DB)
    .render_as_string(hide_password=False),
)
# A Redis db of its own too: the rate-limit tests flush TEST_REDIS_URL's db (15) and bench/ uses
# db 14; a flush while a worker runs would drop its queued messages, and a foreign worker on the
# same db would take them.
PROCESSES_REDIS_DB = 13
_SHARED_REDIS = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
REDIS_URL = os.environ.get(
    "TEST_PROCESSES_REDIS_URL", _SHARED_REDIS._replace(path=f"/{PROCESSES_REDIS_DB}").geturl()
)

SITE_URL = "http://reviewsite.test"
SWEEP_INTERVAL_SECONDS = 1
WINDOW_SECONDS = 4
READY_TIMEOUT = 45.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.1

# Settings that must not leak in from the developer's shell: each deployment sets what it needs.
_SETTINGS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REVIEWSITE_INSTANCE_DIR",
    "REVIEWSITE_ENV",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_FROM",
    "MAIL_BACKOFF_BASE_SECONDS",
    "MAIL_MAX_ATTEMPTS",
    "LOW_STAR_MAX",
    "WINDOW_SECONDS",
    "SWEEP_INTERVAL_SECONDS",
    "SITE_URL",
    "SECRET_KEY",
    "RATELIMIT_STORAGE_URI",
    "RATELIMIT_ENABLED",
    "HOST",
    "PORT",
)

T = TypeVar("T")


# --------------------------------------------------------------------------- waiting


def wait_for(
    probe: Callable[[], T], *, timeout: float, what: str, interval: float = POLL_INTERVAL,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{extra}", pytrace=False)
        time.sleep(interval)


# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_factory() -> Iterator[Callable[..., SmtpServer]]:
    """Start an SMTP server on loopback (a free port, or a given one); stopped at the end."""
    servers: list[SmtpServer] = []

    def start(port: int | None = None) -> SmtpServer:
        server = SmtpServer(port=port or free_port())
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_factory()


# --------------------------------------------------------------------------- deployments


@dataclass
class Deployment:
    """One way of running the site. ``env`` is what every process of it sees (None = unset)."""

    name: str
    tmp: Path
    env: dict[str, str | None]
    _apps: list[Flask] = field(default_factory=list)

    def environ(self, **extra: str | None) -> dict[str, str]:
        merged: dict[str, str | None] = {**os.environ, **{k: None for k in _SETTINGS}, **self.env, **extra}
        return {key: value for key, value in merged.items() if value is not None}

    @contextmanager
    def environment(self, **extra: str | None) -> Iterator[None]:
        with mock.patch.dict(os.environ, self.environ(**extra), clear=True):
            yield

    def app(self, **extra_env: str | None) -> Flask:
        """The app in the test process, configured exactly as the subprocesses are."""
        with self.environment(**extra_env):
            app = create_app({"RATELIMIT_ENABLED": False})
        self._apps.append(app)
        return app

    def migrate(self) -> None:
        app = self.app()
        # migrations/env.py calls logging.config.fileConfig(), which disables every logger that
        # already exists (reviewsite.* included); keep this process's logging as it was.
        loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
        enabled = [lg for lg in loggers if not lg.disabled]
        with app.app_context():
            upgrade()
        for lg in enabled:
            lg.disabled = False

    def close(self) -> None:
        for app in self._apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            app.extensions["celery"].close()


def ensure_postgres_database(url: str) -> None:
    """Create this folder's database if missing (CREATE DATABASE needs autocommit)."""
    parsed = sa.engine.make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def reset_postgres_schema(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _common_env(tmp: Path) -> dict[str, str | None]:
    return {
        "REVIEWSITE_INSTANCE_DIR": str(tmp),
        # Both deployments use the development mailbox when no SMTP server is given; the tests
        # that need one pass MAIL_SERVER. Production's posture is tested in tests/test_config.py.
        "REVIEWSITE_ENV": "development",
        "SECRET_KEY": "processes-test-secret",
        "SITE_URL": SITE_URL,
        "WINDOW_SECONDS": str(WINDOW_SECONDS),
        "SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }


def production_deployment(tmp: Path) -> Deployment:
    try:
        ensure_postgres_database(POSTGRES_URL)
        reset_postgres_schema(POSTGRES_URL)
    except (psycopg.OperationalError, sa.exc.OperationalError) as exc:
        pytest.fail(f"PostgreSQL is needed for the process tests and cannot be reached: {exc}", pytrace=False)
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is needed for the process tests and cannot be reached at {REDIS_URL}: {exc}",
                    pytrace=False)
    deployment = Deployment(
        "production",
        tmp,
        {**_common_env(tmp), "DATABASE_URL": POSTGRES_URL, "CELERY_BROKER_URL": REDIS_URL},
    )
    deployment.migrate()
    return deployment


def embedded_deployment(tmp: Path) -> Deployment:
    """No DATABASE_URL and no CELERY_BROKER_URL: the embedded defaults, inside ``tmp``."""
    deployment = Deployment("embedded", tmp, _common_env(tmp))
    deployment.migrate()
    app = deployment._apps[-1]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp / 'reviewsite.sqlite'}"
    celery = app.config["CELERY"]
    assert celery["broker_url"] == f"sqlite:///{tmp / 'broker.sqlite'}"
    # As bin/run does: the broker's tables exist before the worker and beat start together.
    subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "reviewsite", "prepare-broker"],
                   cwd=PROJECT_ROOT, env=deployment.environ(), check=True, capture_output=True)
    return deployment


@pytest.fixture(params=["production", "embedded"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    make = production_deployment if request.param == "production" else embedded_deployment
    created = make(tmp_path)
    yield created
    created.close()


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Deployment]:
    created = production_deployment(tmp_path)
    yield created
    created.close()


# --------------------------------------------------------------------------- Celery processes

LOGS_KEY = pytest.StashKey[list[Path]]()


def celery_command() -> list[str]:
    script = Path(sys.executable).parent / "celery"
    return [str(script)] if script.exists() else [sys.executable, "-m", "celery"]


def log_tail(path: Path, lines: int = 150) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM: Celery's warm shutdown (finish the running tasks, then exit)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        """Wait until ``deadline`` (monotonic), then SIGKILL the process group it leads
        (start_new_session), so prefork children go too."""
        try:
            self.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=STOP_TIMEOUT)


@dataclass
class CeleryProcesses:
    worker: Process
    beat: Process | None

    @property
    def all(self) -> list[Process]:
        return [p for p in (self.worker, self.beat) if p is not None]

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} log ({p.log}) -----\n{log_tail(p.log)}" for p in self.all)

    def received(self, task_name: str) -> int:
        return len(re.findall(rf"Task {re.escape(task_name)}\[[0-9a-f-]+\] received", self.worker.log_text()))


@pytest.fixture
def start_celery(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., CeleryProcesses]]:
    """Start ``celery worker`` (and ``celery beat``) for a deployment; they are stopped at the end
    whatever happens, and their logs are attached to the report of a failing test."""
    started: list[Process] = []
    logs = request.node.stash.setdefault(LOGS_KEY, [])

    def spawn(name: str, args: list[str], env: dict[str, str]) -> Process:
        log = tmp_path / f"{name}.log"
        logs.append(log)
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [*celery_command(), "--app", "tasks.celery_app", *args],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        started.append(process)
        return process

    def start(deployment: Deployment, *, beat: bool = True, worker_env: dict[str, str] | None = None,
              **extra_env: str | None) -> CeleryProcesses:
        """``worker_env``: set for the worker only (another host's environment than beat's)."""
        env = deployment.environ(**extra_env)
        tag = uuid.uuid4().hex[:8]
        worker = spawn(
            f"worker-{tag}",
            ["worker", "--loglevel", "INFO", "--concurrency", "2", "--without-mingle", "--without-gossip",
             "--hostname", f"processes-{tag}@%h"],
            {**env, **(worker_env or {})},
        )
        beat_process = None
        if beat:
            beat_process = spawn(
                f"beat-{tag}",
                ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / f"beat-schedule-{tag}")],
                env,
            )
        processes = CeleryProcesses(worker, beat_process)

        def ready() -> bool:
            for process in processes.all:
                if not process.alive():
                    pytest.fail(f"{process.name} exited with {process.popen.returncode}\n{processes.logs()}",
                                pytrace=False)
            worker_ready = re.search(r"processes-\w+@\S+ ready\.", worker.log_text()) is not None
            beat_ready = beat_process is None or "beat: Starting..." in beat_process.log_text()
            return worker_ready and beat_ready

        wait_for(ready, timeout=READY_TIMEOUT, what="the worker and beat to start", detail=processes.logs)
        return processes

    yield start
    # All at once: the shutdowns overlap instead of adding up.
    for process in reversed(started):
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in reversed(started):
        process.wait_or_kill(deadline)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        for log in item.stash.get(LOGS_KEY, []):
            report.sections.append((f"Celery log {log.name}", log_tail(log)))
    return report
