"""Configuration: safe defaults. Development only when asked for by name; anything else is the
production posture, which refuses to start without its secret key, mail server and shared
rate-limit store, in one line that says what is missing."""

from __future__ import annotations

import gc
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from reviewsite import create_app
from reviewsite.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("REVIEWSITE_ENV", "SECRET_KEY", "MAIL_SERVER", "RATELIMIT_STORAGE_URI", "RATELIMIT_ENABLED", "SITE_URL",
            "HOST", "PORT", "CELERY_BROKER_URL", "TRUSTED_PROXIES", "MAIL_LEASE_SECONDS", "MAIL_TIMEOUT_SECONDS")
PRODUCTION = {"SECRET_KEY": "k" * 40, "MAIL_SERVER": "smtp.example.com", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    """Nothing from the developer's shell; a database of the test's own."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    return monkeypatch


@pytest.fixture
def development(environment):
    environment.setenv("REVIEWSITE_ENV", "development")


@pytest.mark.parametrize("posture", [None, "", "production", "staging", "dev", "Development", "development "])
def test_anything_but_development_is_production_and_refuses_to_start_without_its_settings(environment, posture):
    if posture is not None:
        environment.setenv("REVIEWSITE_ENV", posture)
    with pytest.raises(ConfigError) as refused:
        create_app()
    message = str(refused.value)
    assert "\n" not in message
    for name in ("SECRET_KEY", "MAIL_SERVER", "RATELIMIT_STORAGE_URI", "REVIEWSITE_ENV=development"):
        assert name in message


@pytest.mark.parametrize("missing", sorted(PRODUCTION))
def test_production_names_exactly_what_is_missing(environment, missing):
    for name, value in PRODUCTION.items():
        if name != missing:
            environment.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert missing in str(refused.value)
    assert not [name for name in PRODUCTION if name != missing and name in str(refused.value)]


@pytest.mark.parametrize("secret", ["dev-only-not-secret", "short", "x" * 31])
def test_production_refuses_a_known_or_short_secret_key(environment, secret):
    for name, value in PRODUCTION.items():
        environment.setenv(name, value)
    environment.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_with_its_settings_is_locked(environment):
    for name, value in PRODUCTION.items():
        environment.setenv(name, value)
    app = create_app()
    assert app.config["REVIEWSITE_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert "dev.mailbox" not in app.view_functions


def test_limits_switched_off_by_name_need_no_shared_store(environment):
    environment.setenv("SECRET_KEY", PRODUCTION["SECRET_KEY"])
    environment.setenv("MAIL_SERVER", PRODUCTION["MAIL_SERVER"])
    environment.setenv("RATELIMIT_ENABLED", "false")
    assert create_app().config["RATELIMIT_ENABLED"] is False


@pytest.mark.parametrize("command", [
    [sys.executable, "-c", "from reviewsite import create_app; create_app()"],
    [str(Path(sys.executable).parent / "flask"), "--app", "reviewsite", "sweep"],
    [sys.executable, "-c", "import tasks.celery_app"],  # what celery worker and beat load
])
def test_each_entry_point_refuses_with_the_one_line(command, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite'}"
    env["REVIEWSITE_INSTANCE_DIR"] = str(tmp_path)
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "refuses to start in production mode without SECRET_KEY" in last, done.stderr
    assert "MAIL_SERVER" in last and "RATELIMIT_STORAGE_URI" in last


@pytest.mark.parametrize("host,port,expected", [
    (None, None, "http://127.0.0.1:5000"),
    (None, "5301", "http://127.0.0.1:5301"),
    ("localhost", "8080", "http://localhost:8080"),
    ("0.0.0.0", "5301", "http://127.0.0.1:5301"),  # nosec B104 - a test value, never bound
    ("::1", "5301", "http://[::1]:5301"),
])
def test_links_follow_the_address_the_local_site_serves(environment, development, host, port, expected):
    if host is not None:
        environment.setenv("HOST", host)
    if port is not None:
        environment.setenv("PORT", port)
    assert create_app().config["SITE_URL"] == expected
    environment.setenv("SITE_URL", "https://reviews.example.com")
    assert create_app().config["SITE_URL"] == "https://reviews.example.com"


def test_the_mailbox_page_exists_only_in_development_without_smtp(environment, development):
    environment.setenv("MAIL_SERVER", "127.0.0.1")
    assert "dev.mailbox" not in create_app().view_functions
    environment.delenv("MAIL_SERVER")
    assert "dev.mailbox" in create_app().view_functions


def _procfile_web_words(instance: Path) -> list[str]:
    """The Procfile's web line as the shell splits it (bin/run runs it through ``sh -c``)."""
    line = next(l.split(":", 1)[1] for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    env = {"PATH": os.environ["PATH"], "REVIEWSITE_INSTANCE_DIR": str(instance)}
    return subprocess.run(["/bin/sh", "-c", f"for word in {line}; do echo \"$word\"; done"], env=env,
                          capture_output=True, text=True, check=True).stdout.split()


def test_the_procfile_web_listens_on_loopback_with_a_control_socket_of_its_own(tmp_path):
    """gunicorn 27 opens a control socket at one default path in the home folder: two on one
    machine clobbered each other's. The Procfile's web (which bin/run runs) says where."""
    words = _procfile_web_words(tmp_path)
    assert words[words.index("--bind") + 1] == "127.0.0.1:5000"
    assert words[words.index("--control-socket") + 1] == f"{tmp_path}/gunicorn.ctl"


def test_a_web_worker_takes_what_start_up_built_out_of_the_garbage_collectors_walk(tmp_path):
    """The Procfile's web names its gunicorn settings, whose worker hook freezes the objects the
    app was built from, so that full collections in a request walk only what requests made."""
    words = _procfile_web_words(tmp_path)
    hooks = runpy.run_path(str(ROOT / words[words.index("--config") + 1]))
    gc.unfreeze()
    try:
        hooks["post_worker_init"](None)
        assert gc.get_freeze_count() > 10_000  # the test process's modules, at the least
    finally:
        gc.unfreeze()


def test_the_embedded_broker_is_a_sqlite_file_in_the_instance_folder(environment, development, tmp_path):
    environment.setenv("REVIEWSITE_INSTANCE_DIR", str(tmp_path / "instance"))
    celery = create_app().config["CELERY"]
    assert celery["broker_url"] == f"sqlite:///{tmp_path / 'instance' / 'broker.sqlite'}"
    assert celery["broker_transport"] == "reviewsite.broker:Transport"


def test_heroku_style_postgres_urls_get_the_psycopg_driver(monkeypatch, development):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/site")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/site"


def test_a_bad_number_in_the_environment_stops_start_up(monkeypatch, development):
    monkeypatch.setenv("WINDOW_SECONDS", "three days")
    with pytest.raises(ConfigError, match="WINDOW_SECONDS"):
        create_app()


def test_the_mail_lease_defaults_to_the_task_time_limit_and_bounds_the_delivery_tasks(monkeypatch, development):
    config = create_app().config
    celery = config["CELERY"]
    assert config["MAIL_LEASE_SECONDS"] == celery["task_time_limit"] == 120
    monkeypatch.setenv("MAIL_LEASE_SECONDS", "45")
    celery = create_app().config["CELERY"]
    # A sender is killed before its lease can run out, so a second sender never mails the same row.
    for task in ("reviewsite.deliver_notifications", "reviewsite.deliver_pending"):
        assert celery["task_annotations"][task]["time_limit"] == 45
        assert celery["task_annotations"][task]["soft_time_limit"] < 45
    assert celery["task_time_limit"] == 120  # the other tasks keep theirs


def test_a_lease_shorter_than_a_slow_smtp_conversation_stops_start_up(monkeypatch, development):
    monkeypatch.setenv("MAIL_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("MAIL_LEASE_SECONDS", "30")
    with pytest.raises(ConfigError, match="MAIL_LEASE_SECONDS"):
        create_app()


def test_the_claim_uses_the_configured_lease(monkeypatch, development):
    from reviewsite.services import mail_queue

    monkeypatch.setenv("MAIL_LEASE_SECONDS", "40")
    monkeypatch.setenv("MAIL_TIMEOUT_SECONDS", "2")
    with create_app().app_context():
        assert mail_queue.lease().total_seconds() == 40


def test_a_redis_broker_is_retried_every_second_and_forever(monkeypatch, development):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    celery = create_app().config["CELERY"]
    options = celery["broker_transport_options"]
    assert options["max_retries"] == 0  # publishing from a request never waits for the broker
    assert (options["interval_start"], options["interval_step"], options["interval_max"]) == (0.5, 0.5, 1)
    assert celery["broker_connection_retry"] is True
    assert celery["broker_connection_max_retries"] is None
    # Longer than a Redis pause of a few seconds, so a pause is not turned into a reconnection.
    assert options["socket_timeout"] >= 10 and options["socket_keepalive"]


def test_the_workers_consumer_reconnects_at_the_configured_intervals(monkeypatch, development):
    """Celery's consumer would retry after 2, 4, 6 ... 30 s (kombu's defaults); ours uses the
    broker_transport_options intervals. Checked on the call, without a broker."""
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    from tasks.celery_app import PromptReconnectConsumer

    celery = create_app().extensions["celery"]
    consumer = object.__new__(PromptReconnectConsumer)
    consumer.app = celery
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    conn = celery.connection_for_read()
    calls: list[dict] = []
    monkeypatch.setattr(conn, "_ensure_connection", lambda *args, **kwargs: calls.append(kwargs))
    assert consumer.ensure_connected(conn) is conn
    assert len(calls) == 1
    assert (calls[0]["interval_start"], calls[0]["interval_step"], calls[0]["interval_max"]) == (0.5, 0.5, 1)


def test_the_worker_uses_the_prompt_reconnect_consumer(development):
    from tasks.celery_app import celery_app

    assert celery_app.conf.worker_consumer == "tasks.celery_app:PromptReconnectConsumer"


def test_a_celery_pool_process_takes_what_start_up_built_out_of_the_garbage_collectors_walk(development):
    """As the web workers do (gunicorn.conf.py): the hook is connected to the signal Celery sends
    in each pool process once it has started."""
    from celery.signals import worker_process_init

    import tasks.celery_app  # noqa: F401 - connects the hook

    gc.unfreeze()
    try:
        worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_a_worker_survives_kombus_error_when_closing_a_lost_redis_connection(development):
    """kombu raised AttributeError there on a Redis restart, and the worker exited."""
    from tasks.celery_app import close_tolerantly

    class LostConnection:
        closed = 0

        def close(self):
            self.closed += 1
            raise AttributeError("'NoneType' object has no attribute 'hostname'")

    connection = LostConnection()
    close_tolerantly(connection)
    connection.close()
    assert connection.closed == 1


@pytest.mark.parametrize("entry", [
    "import tasks.celery_app",  # the Celery worker and beat
    "from reviewsite import create_app; create_app(migrations=False)",  # the Procfile's web process
])
def test_web_and_celery_processes_do_not_load_the_migrations(entry, tmp_path, development):
    """Alembic costs every process that loads it 11 MB; only the command line needs it."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    probe = f"{entry}\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'flask_migrate')))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
    assert "create_app(migrations=False)" in (Path(__file__).resolve().parents[1] / "Procfile").read_text()


def test_the_command_line_app_can_migrate(monkeypatch, tmp_path, development):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert "migrate" in create_app().extensions


def test_behind_pgbouncer_the_session_bounds_stay_off_the_startup_packet(monkeypatch, development):
    """PgBouncer refuses (or, told to ignore them, drops) server settings in ``options``; the
    client's own dead-peer detection still applies."""
    from reviewsite.database import connect_parameters

    monkeypatch.setenv("DATABASE_SESSION_OPTIONS", "false")
    app = create_app({"TESTING": True})
    parameters = connect_parameters(app.config)
    assert "options" not in parameters
    assert (parameters["keepalives"], parameters["tcp_user_timeout"], parameters["connect_timeout"]) == (1, 10000, 5)
    monkeypatch.delenv("DATABASE_SESSION_OPTIONS")
    assert "-c idle_in_transaction_session_timeout=10000" in connect_parameters(create_app({"TESTING": True}).config)["options"]


def test_every_redis_client_notices_a_dead_peer_in_seconds(monkeypatch, development):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("CACHE_TYPE", "RedisCache")
    monkeypatch.setenv("CACHE_REDIS_URL", "redis://127.0.0.1:6379/2")
    config = create_app({"TESTING": True}).config
    for options in (config["CELERY"]["broker_transport_options"], config["RATELIMIT_STORAGE_OPTIONS"],
                    config["CACHE_OPTIONS"]):
        assert options["socket_keepalive"] and options["socket_keepalive_options"]
        assert options["socket_connect_timeout"] <= 3 and options["socket_timeout"] <= 15
