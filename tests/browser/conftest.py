"""A live server and a real browser for the end-to-end journeys.

The app runs in this process on a werkzeug server thread, against a PostgreSQL database of its
own, with a FrozenClock that the test moves. Chromium is Debian's, launched by Playwright's sync
API. Neither is optional: if PostgreSQL or Chromium is missing, the tests fail, they never skip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import BaseWSGIServer, make_server

from reviewsite import create_app
from reviewsite.clock import FrozenClock
from reviewsite.extensions import db
from tests.conftest import reset_postgres_schema
from tests.helpers import app_config, use_memory_broker

BROWSER_DB = "reviewsite_test_browser"
BROWSER_POSTGRES_URL = os.environ.get(
    "TEST_BROWSER_POSTGRES_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{BROWSER_DB}"
)
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 5_000


def ensure_database(url: str) -> None:
    """Create the browser tests' database if missing (CREATE DATABASE needs autocommit)."""
    parsed = sa.engine.make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class LiveServer:
    app: Flask
    clock: FrozenClock
    url: str

    def sweep(self) -> str:
        """``flask sweep`` once, as an operator would: publish due reviews, deliver pending mail."""
        result = self.app.test_cli_runner().invoke(args=["sweep"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    try:
        ensure_database(BROWSER_POSTGRES_URL)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed for the browser tests and cannot be reached: {exc}")
    reset_postgres_schema(BROWSER_POSTGRES_URL)

    # Start at the real time, so that the browser's live countdowns agree with the server.
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(app_config(BROWSER_POSTGRES_URL, clock, SITE_URL="http://placeholder.invalid"))
    assert app.config["WTF_CSRF_ENABLED"] is not False, "CSRF stays on for the browser"
    use_memory_broker(app)
    with app.app_context():
        upgrade()

    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url  # links in mail must open in this browser
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, clock=clock, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM_PATH).is_file():
        pytest.fail(f"Chromium is needed for the browser tests; not found at {CHROMIUM_PATH} (set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser, live_server: LiveServer):
    """Open isolated browser contexts (one per person) on the live server; closed at the end."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    contexts = []

    def open_context(**kwargs):
        kwargs.setdefault("timezone_id", "UTC")  # what the journeys' expected dates assume, whatever the host's
        context = browser.new_context(base_url=live_server.url, **kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


# axe-core's impact levels that fail the suite (issue 14: zero serious or critical violations).
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def _axe():
    """axe-core, as vendored by axe-playwright-python (injected into the page, never fetched)."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def a11y(_axe):
    """``a11y(page)``: run axe-core on the page as it is now; fails on any serious or critical
    violation, naming the rule, the page and the elements. Journeys call it on every page they
    visit, after it has loaded (and after the scripts have localised its dates)."""

    def check(page, label: str = "") -> None:
        page.wait_for_load_state("load")
        response = _axe.run(page).response
        blocking = [violation for violation in response["violations"] if violation["impact"] in BLOCKING_IMPACTS]
        assert not blocking, "\n".join(
            f"{label or page.url}: {v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
                        for node in v["nodes"][:5])
            for v in blocking)

    return check
