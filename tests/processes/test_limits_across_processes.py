"""Rate limits hold across web processes: two gunicorns (two workers each) in the production
posture, sharing one Redis for their counters, answer one account's wrong passwords as one site.
With counters in each process's memory the limit would let through about twice as many (the
issue saw 17 of 30 log-ins pass with two workers)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from reviewsite.clock import now_utc
from reviewsite.services import accounts
from reviewsite.unit_of_work import unit_of_work
from tests.chaos.client import Session
from tests.processes.conftest import PROJECT_ROOT, REDIS_URL, Deployment, wait_for
from tests.smtp_sink import free_port

pytestmark = pytest.mark.processes

PASSWORD = "two processes password"


def gunicorn(name: str, port: int, env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--control-socket", str(tmp / name / "gunicorn.ctl"), "reviewsite:create_app(migrations=False)"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def attempt(port: int, email: str, password: str) -> int:
    client = Session(port, timeout=20)
    token = client.scrape_csrf("/login", keep_cookies=True)
    return client.request("POST", "/login", {"csrf_token": token, "email": email, "password": password}).status


def test_wrong_passwords_are_counted_once_across_two_gunicorns(production: Deployment, tmp_path):
    app = production.app()
    with app.app_context(), unit_of_work():
        user = accounts.register(email="target@example.com", password=PASSWORD, display_name="T", now=now_utc())
        accounts.confirm_email(user, now=now_utc())
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    env = production.environ(REVIEWSITE_ENV="production", SECRET_KEY="two-processes-" + "k" * 32,
                             MAIL_SERVER="127.0.0.1", RATELIMIT_STORAGE_URI=REDIS_URL)
    ports = [free_port(), free_port()]
    servers = [gunicorn(f"web{i}", port, env, tmp_path) for i, port in enumerate(ports)]
    try:
        for port, server in zip(ports, servers):
            wait_for(lambda: server.poll() is not None or _answers(port), timeout=60, what=f"gunicorn on {port}",
                     detail=lambda: "\n".join((tmp_path / f"web{i}.log").read_text() for i in range(2)))
            assert server.poll() is None, (tmp_path / "web0.log").read_text()
        statuses = [attempt(ports[n % 2], "target@example.com", "wrong password") for n in range(6)]
        assert statuses == [422] * 5 + [429], statuses
        assert attempt(ports[0], "target@example.com", PASSWORD) == 429, "the account waits, on either process"
        assert any(b"login-failures" in key for key in store.keys("*"))
        assert all((tmp_path / f"web{i}" / "gunicorn.ctl").exists() for i in range(2)), "a control socket each"
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        store.flushdb()


def _answers(port: int) -> bool:
    try:
        return Session(port, timeout=2).request("GET", "/").status == 200
    except OSError:
        time.sleep(0.2)
        return False
