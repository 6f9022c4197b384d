"""Configuration: safe defaults, and production refuses to run without its secrets and mail."""

from __future__ import annotations

import pytest

from reviewsite import create_app


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("REVIEWSITE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_production_never_has_the_development_mailbox(monkeypatch, tmp_path):
    monkeypatch.setenv("REVIEWSITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(RuntimeError, match="MAIL_SERVER"):
        create_app()


def test_the_mailbox_page_exists_only_without_smtp(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    assert "dev.mailbox" not in create_app().view_functions
    monkeypatch.delenv("MAIL_SERVER")
    assert "dev.mailbox" in create_app().view_functions


def test_heroku_style_postgres_urls_get_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/site")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/site"


def test_a_bad_number_in_the_environment_stops_start_up(monkeypatch):
    monkeypatch.setenv("WINDOW_SECONDS", "three days")
    with pytest.raises(RuntimeError, match="WINDOW_SECONDS"):
        create_app()


def test_the_mail_lease_defaults_to_the_task_time_limit_and_bounds_the_delivery_tasks(monkeypatch):
    monkeypatch.delenv("MAIL_LEASE_SECONDS", raising=False)
    monkeypatch.delenv("MAIL_TIMEOUT_SECONDS", raising=False)
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


def test_a_lease_shorter_than_a_slow_smtp_conversation_stops_start_up(monkeypatch):
    monkeypatch.setenv("MAIL_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("MAIL_LEASE_SECONDS", "30")
    with pytest.raises(RuntimeError, match="MAIL_LEASE_SECONDS"):
        create_app()


def test_the_claim_uses_the_configured_lease(monkeypatch):
    from reviewsite.services import mail_queue

    monkeypatch.setenv("MAIL_LEASE_SECONDS", "40")
    monkeypatch.setenv("MAIL_TIMEOUT_SECONDS", "2")
    with create_app().app_context():
        assert mail_queue.lease().total_seconds() == 40


def test_a_redis_broker_is_retried_every_second_and_forever(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    celery = create_app().config["CELERY"]
    options = celery["broker_transport_options"]
    assert options["max_retries"] == 0  # publishing from a request never waits for the broker
    assert (options["interval_start"], options["interval_step"], options["interval_max"]) == (0.5, 0.5, 1)
    assert celery["broker_connection_retry"] is True
    assert celery["broker_connection_max_retries"] is None
    # Longer than a Redis pause of a few seconds, so a pause is not turned into a reconnection.
    assert options["socket_timeout"] >= 10 and options["socket_keepalive"]


def test_the_workers_consumer_reconnects_at_the_configured_intervals(monkeypatch):
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


def test_the_worker_uses_the_prompt_reconnect_consumer():
    from tasks.celery_app import celery_app

    assert celery_app.conf.worker_consumer == "tasks.celery_app:PromptReconnectConsumer"


def test_a_worker_survives_kombus_error_when_closing_a_lost_redis_connection():
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
def test_web_and_celery_processes_do_not_load_the_migrations(entry, tmp_path):
    """Alembic costs every process that loads it 11 MB; only the command line needs it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    probe = f"{entry}\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'flask_migrate')))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
    assert "create_app(migrations=False)" in (Path(__file__).resolve().parents[1] / "Procfile").read_text()


def test_the_command_line_app_can_migrate(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert "migrate" in create_app().extensions


def test_behind_pgbouncer_the_session_bounds_stay_off_the_startup_packet(monkeypatch):
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


def test_every_redis_client_notices_a_dead_peer_in_seconds(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("CACHE_TYPE", "RedisCache")
    monkeypatch.setenv("CACHE_REDIS_URL", "redis://127.0.0.1:6379/2")
    config = create_app({"TESTING": True}).config
    for options in (config["CELERY"]["broker_transport_options"], config["RATELIMIT_STORAGE_OPTIONS"],
                    config["CACHE_OPTIONS"]):
        assert options["socket_keepalive"] and options["socket_keepalive_options"]
        assert options["socket_connect_timeout"] <= 3 and options["socket_timeout"] <= 15
