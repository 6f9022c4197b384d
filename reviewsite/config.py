"""Settings: embedded defaults first, then the environment, then a mapping passed by tests.

The defaults run the whole site on one laptop with no servers: a SQLite file, a broker in a
second SQLite file (``reviewsite/broker.py``) and the development mailbox. Setting
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``MAIL_SERVER`` turns the same code into the
production shape.

Safe by default: the app is in development mode only when ``REVIEWSITE_ENV=development`` says
so (``bin/run`` does). Anything else is the production posture, which refuses to start without a
real secret key, a mail server and a shared rate-limit store (:func:`refuse_unsafe`).
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from importlib.metadata import version
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from kombu import Queue

from reviewsite import task_names

DEVELOPMENT = "development"
PRODUCTION = "production"
# Signs nothing that matters: development only, and refused in production (refuse_unsafe).
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"  # nosec B105
SECRET_KEY_MIN_LENGTH = 32
# The local site's address unless told otherwise: loopback, so nothing off this machine reaches it.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
# The embedded broker (reviewsite/broker.py), named rather than imported: production never loads it.
EMBEDDED_BROKER_TRANSPORT = "reviewsite.broker:Transport"
# How long a publish or a take waits for another process's lock on the broker's SQLite file.
EMBEDDED_BROKER_BUSY_SECONDS = 30
# How long a login lasts at most, and how long the "Keep me logged in" cookie lives.
LOGIN_DAYS = 14

SWEEPS_QUEUE = "sweeps"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Hard limit of a task's run; the worker kills the process past it. The delivery tasks run under
# MAIL_LEASE_SECONDS instead, so that a sender is never still sending when its lease runs out and
# a second sender claims the same mail.
TASK_TIME_LIMIT_SECONDS = 120


class ConfigError(RuntimeError):
    """A setting that stops start-up; the message is one line that says what to set."""


def instance_dir() -> Path:
    """Where the embedded defaults keep their files (the SQLite database and broker, beat schedule)."""
    return Path(os.environ.get("REVIEWSITE_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a typo in the environment must stop start-up, not hide
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(raw: str) -> str:
    """Heroku-style ``postgres://`` URLs name no driver; SQLAlchemy wants psycopg 3 named."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


def redis_client_options(*, reply_seconds: int) -> dict[str, Any]:
    """redis-py settings for every Redis client of the site (broker, rate limits, cache), so a
    Redis host that vanishes without closing its connections (a partition, a frozen VM) is
    noticed in seconds, not after the kernel's 2-hour keepalive: a bounded connection attempt,
    a bounded wait for each reply (``reply_seconds``), TCP keepalive probing an idle connection
    after 5 s (every 2 s, 3 probes: about 11 s), and a PING before reusing a connection idle for
    10 s. The Redis transport has no broker heartbeats (kombu implements them for AMQP only);
    these are what stands for them."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 3,
        "socket_timeout": reply_seconds,
        "socket_keepalive": True,
        "health_check_interval": 10,
    }
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; elsewhere the kernel's keepalive times
        options["socket_keepalive_options"] = {socket.TCP_KEEPIDLE: 5, socket.TCP_KEEPINTVL: 2, socket.TCP_KEEPCNT: 3}
    return options


CACHE_TYPES = ("SimpleCache", "RedisCache", "NullCache")
# Who decides whether a review waits for the window (services/window.py, README "Which hold policy").
HOLD_POLICIES = ("low_stars", "reviewer_choice")


def hold_policy() -> str:
    raw = os.environ.get("HOLD_POLICY", "") or "low_stars"
    if raw not in HOLD_POLICIES:
        raise ConfigError(f"HOLD_POLICY must be one of {', '.join(HOLD_POLICIES)}, got {raw!r}")
    return raw


def release_id() -> str:
    """What tells this release's code from another's: ``RELEASE_ID`` (set it to the commit or
    image tag when processes of two releases share a cache), else the package's version."""
    return os.environ.get("RELEASE_ID", "") or version("reviewsite")


def cache_settings() -> dict[str, Any]:
    """Flask-Caching, for public pages (``reviewsite/public/caching.py``). Entries are keyed on
    versions kept in the database, so they never go stale; the limits only bound memory. The
    release is part of every key, so a cache shared between releases never serves markup of
    another. Default: a cache in each process (SimpleCache, at most CACHE_THRESHOLD entries).
    Production may share one in Redis: CACHE_TYPE=RedisCache and CACHE_REDIS_URL (another Redis
    database than the broker's)."""
    env = os.environ.get
    cache_type = env("CACHE_TYPE", "") or "SimpleCache"
    if cache_type not in CACHE_TYPES:
        raise ConfigError(f"CACHE_TYPE must be one of {', '.join(CACHE_TYPES)}, got {cache_type!r}")
    settings: dict[str, Any] = {
        "CACHE_TYPE": cache_type,
        "CACHE_DEFAULT_TIMEOUT": _int("CACHE_DEFAULT_TIMEOUT", 3600),
        "CACHE_THRESHOLD": _int("CACHE_THRESHOLD", 500),
        "CACHE_KEY_PREFIX": f"{env('CACHE_KEY_PREFIX', 'reviewsite')}:{release_id()}:",
        "CACHE_NO_NULL_WARNING": True,
    }
    if cache_type == "RedisCache":
        url = env("CACHE_REDIS_URL", "")
        if not url:
            raise ConfigError("CACHE_REDIS_URL must be set when CACHE_TYPE=RedisCache")
        settings["CACHE_REDIS_URL"] = url
        # A page is served from the database when the cache does not answer within 2 s.
        settings["CACHE_OPTIONS"] = redis_client_options(reply_seconds=2)
    return settings


def _unspecified(host: str) -> bool:
    try:
        return ip_address(host).is_unspecified
    except ValueError:  # a name
        return False


def site_url(host: str, port: int) -> str:
    """The address the local site serves: links in mail must open it, whatever the port. A
    wildcard listen address is no address to link to; its machine answers on loopback too."""
    if not host or _unspecified(host):
        host = DEFAULT_HOST
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def from_environment() -> dict[str, Any]:
    """Read every setting the operator may change. Called by create_app, never at import."""
    env = os.environ.get
    development = env("REVIEWSITE_ENV", "") == DEVELOPMENT  # asked for by name, nothing else
    secret = env("SECRET_KEY", "")

    instance = instance_dir()
    instance.mkdir(parents=True, exist_ok=True)
    database_url = _database_url(env("DATABASE_URL", f"sqlite:///{instance / 'reviewsite.sqlite'}"))
    broker_url = env("CELERY_BROKER_URL", "")
    # Counted in each process's memory unless set: production refuses that (refuse_unsafe).
    ratelimit_uri = env("RATELIMIT_STORAGE_URI", "") or "memory://"
    mail_server = env("MAIL_SERVER", "")

    mail_timeout = _int("MAIL_TIMEOUT_SECONDS", 10)
    # How long a claimed mail stays claimed. A crashed sender's mail waits this long before it
    # is sent again, so shorter means quicker recovery; it is also the delivery tasks' time limit
    # (task_names.DELIVERY), and a delivery batch gives its unsent rest back after half of it.
    mail_lease = _int("MAIL_LEASE_SECONDS", TASK_TIME_LIMIT_SECONDS)
    if mail_lease < 4 * mail_timeout:
        raise ConfigError(f"MAIL_LEASE_SECONDS must be at least 4 x MAIL_TIMEOUT_SECONDS ({4 * mail_timeout}), "
                           f"or one slow SMTP conversation could outlive the lease; got {mail_lease}")

    celery: dict[str, Any] = {
        "broker_url": broker_url or f"sqlite:///{instance / 'broker.sqlite'}",
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        # At-least-once: a task a worker dies in is redelivered; the services make that harmless.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": TASK_TIME_LIMIT_SECONDS,
        "task_soft_time_limit": TASK_TIME_LIMIT_SECONDS * 3 // 4,
        "task_annotations": {
            name: {"time_limit": mail_lease, "soft_time_limit": mail_lease * 3 // 4} for name in task_names.DELIVERY
        },
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        # A worker or beat that lost the broker keeps trying (never gives up and exits); how often
        # is in broker_transport_options below.
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        "beat_schedule_filename": str(instance / "celerybeat-schedule"),
        # The timers get a queue of their own, so a backlog of mail cannot make them wait or
        # expire (invariant 3). A worker consumes every queue listed here unless told otherwise
        # with -Q; the Procfile's optional "timers" worker consumes only this one.
        "task_queues": (Queue("celery"), Queue(SWEEPS_QUEUE)),
        "task_default_queue": "celery",
        "task_routes": {name: {"queue": SWEEPS_QUEUE} for name in task_names.SWEEPS},
    }
    if not broker_url:
        # The embedded broker (see reviewsite/broker.py for why not kombu's filesystem one).
        celery["broker_transport"] = EMBEDDED_BROKER_TRANSPORT
        # kombu hands these to SQLAlchemy's create_engine.
        celery["broker_transport_options"] = {"connect_args": {"timeout": EMBEDDED_BROKER_BUSY_SECONDS}}
    elif broker_url.startswith(("redis://", "rediss://")):
        # max_retries=0: a publish on a lost connection fails at once instead of kombu retrying for
        # seconds inside the request; the outbox sweep delivers later (invariant 6).
        celery["broker_transport_options"] = {
            "visibility_timeout": 300,
            "max_retries": 0,
            # Reconnecting after the broker went away: every 0.5 s, then every second (kombu's
            # default is 2, 4, 6 ... 30 s), so a worker consumes again within about a second of
            # Redis being back; tasks/celery_app.py makes the worker's consumer use these too.
            "interval_start": 0.5,
            "interval_step": 0.5,
            "interval_max": 1,
            # A broker host that vanishes without closing its connections (a network partition,
            # a frozen VM) is noticed: TCP keepalive, a bounded wait for each reply (above a
            # Redis pause or failover of a few seconds), a health check of idle connections.
            **redis_client_options(reply_seconds=15),
        }

    port = _int("PORT", DEFAULT_PORT)
    return {
        "REVIEWSITE_ENV": DEVELOPMENT if development else PRODUCTION,
        # Unset in production: refuse_unsafe says so, rather than signing with a known key.
        "SECRET_KEY": secret or (DEVELOPMENT_SECRET_KEY if development else ""),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No pool_pre_ping: database.configure_engine checks pooled connections without a round trip.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Bounds on every PostgreSQL session (database.connect_parameters; 0 leaves one unset),
        # so that a stalled or cut-off process cannot hold claimed rows (invariant 3).
        # How long a session may sit inside a transaction without sending anything before the
        # server ends it, rolling back and releasing its row locks. No code path here pauses
        # inside a transaction (a transaction is a few statements sent back to back; mail goes
        # out between transactions), so 10 s never ends healthy work, and it is the term a
        # stalled sweeper adds to publication lateness (interval + this + a few seconds).
        "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS": _int("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", 10),
        # One statement's limit: the longest here (a sweep batch of 500, a search) take well
        # under a second; 30 s is gunicorn's request timeout, past which nobody waits for the
        # answer anyway. It also bounds a statement stuck behind a lock. Migrations lift it.
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": _int("DATABASE_STATEMENT_TIMEOUT_SECONDS", 30),
        # A PostgreSQL host (or client host) that vanished is declared dead after this long
        # by TCP keepalive and tcp_user_timeout, on both ends: the client's statement fails
        # instead of waiting about 15 minutes for the kernel to give up, and the server frees
        # the backend. Above a PostgreSQL restart's few seconds and a lossy link's retransmits.
        "DATABASE_DEAD_PEER_SECONDS": _int("DATABASE_DEAD_PEER_SECONDS", 10),
        # A connection attempt to a host that does not answer: long enough for a loaded server.
        "DATABASE_CONNECT_TIMEOUT_SECONDS": _int("DATABASE_CONNECT_TIMEOUT_SECONDS", 5),
        # The server-side bounds above travel in each connection's startup packet (libpq
        # "options"); behind PgBouncer, which refuses or drops them, set this to false and set
        # the same values on the database role (docs/deployment.md).
        "DATABASE_SESSION_OPTIONS": _bool("DATABASE_SESSION_OPTIONS", True),
        "SITE_URL": env("SITE_URL", "") or site_url(env("HOST", DEFAULT_HOST), port),
        # Behind this many reverse proxies, the client's address and scheme are read from their
        # X-Forwarded-For and X-Forwarded-Proto (Werkzeug's ProxyFix): 0 trusts no such header.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "SITE_NAME": env("SITE_NAME", "reviewsite"),
        "RELEASE_ID": release_id(),
        # The make-it-right window (DESIGN.md): defaults 72 h, at most 7 days of extension.
        # HOLD_POLICY: low_stars (reviews of LOW_STAR_MAX stars or fewer are held) or
        # reviewer_choice (every reviewer chooses; UK CMA and EU rules forbid delaying a genuine
        # negative review against its author's wishes).
        "HOLD_POLICY": hold_policy(),
        "LOW_STAR_MAX": _int("LOW_STAR_MAX", 3),
        "WINDOW_SECONDS": _int("WINDOW_SECONDS", 72 * 3600),
        "MAX_EXTENSION_SECONDS": _int("MAX_EXTENSION_SECONDS", 7 * 24 * 3600),
        "SWEEP_INTERVAL_SECONDS": _int("SWEEP_INTERVAL_SECONDS", 5),
        "SWEEP_BATCH_SIZE": _int("SWEEP_BATCH_SIZE", 500),
        # Thread messages within this many seconds become one email (no mail per keystroke-burst).
        "MESSAGE_GATHER_SECONDS": _int("MESSAGE_GATHER_SECONDS", 120),
        # Trust and safety: how long the person a decision affects may appeal it (the EU's Digital
        # Services Act, art. 20, asks for at least six months), and how long a public notice on a
        # business that pressed a reviewer stays on its page.
        "APPEAL_WINDOW_SECONDS": _int("APPEAL_WINDOW_SECONDS", 183 * 24 * 3600),
        "NOTICE_SECONDS": _int("NOTICE_SECONDS", 90 * 24 * 3600),
        # The daily digest goes out at the first sweep after this hour (UTC).
        "DIGEST_HOUR_UTC": _int("DIGEST_HOUR_UTC", 8),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": env("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_TIMEOUT_SECONDS": mail_timeout,
        "MAIL_LEASE_SECONDS": mail_lease,
        "MAIL_FROM": env("MAIL_FROM", "reviewsite <noreply@localhost>"),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 8),
        # First retry after a failed send; each further retry waits twice as long (capped at 2 h).
        "MAIL_BACKOFF_BASE_SECONDS": _int("MAIL_BACKOFF_BASE_SECONDS", 15),
        "EMAIL_TOKEN_MAX_AGE_SECONDS": _int("EMAIL_TOKEN_MAX_AGE_SECONDS", 2 * 24 * 3600),
        "RESET_TOKEN_MAX_AGE_SECONDS": _int("RESET_TOKEN_MAX_AGE_SECONDS", 3600),
        # A claim's one-time link and a team invitation are good for this long.
        "CLAIM_LINK_MAX_AGE_SECONDS": _int("CLAIM_LINK_MAX_AGE_SECONDS", 2 * 24 * 3600),
        "INVITATION_MAX_AGE_SECONDS": _int("INVITATION_MAX_AGE_SECONDS", 7 * 24 * 3600),
        "RATELIMIT_STORAGE_URI": ratelimit_uri,
        # A shared Redis store that stops answering costs a request at most 2 s, not hours.
        "RATELIMIT_STORAGE_OPTIONS": redis_client_options(reply_seconds=2) if ratelimit_uri.startswith("redis") else {},
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # While the shared store is unreachable (Redis restarting), each process counts in its
        # own memory with the same limits instead of failing the request (a 500 on every log-in).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": env("RATELIMIT_KEY_PREFIX", "reviewsite"),
        **cache_settings(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Flask-Login's "Keep me logged in" cookie: weeks, not its default of a year, and never
        # sent with another site's request. Its login ends sooner if revoked (services/logins.py).
        "REMEMBER_COOKIE_DURATION": timedelta(days=LOGIN_DAYS),
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "CELERY": celery,
    }


def posture(settings: dict[str, Any]) -> dict[str, Any]:
    """What follows from the mode the settings ask for (after the test mapping, which may ask
    for either): production's cookies travel over https only."""
    production = settings["REVIEWSITE_ENV"] != DEVELOPMENT
    return {"SESSION_COOKIE_SECURE": production, "REMEMBER_COOKIE_SECURE": production}


def refuse_unsafe(settings: dict[str, Any]) -> None:
    """Outside development, refuse to start with anything an outsider could use: a secret key
    that is missing, short or the public development one (a forged session cookie logs in as
    anyone), no mail server (the development mailbox would hold every reset link) or rate limits
    counted in each process's memory (a limit per process is no limit). One line names them all.
    Called by create_app after the test mapping, which may set any of them."""
    if settings["REVIEWSITE_ENV"] == DEVELOPMENT:
        return
    missing = []
    secret = settings.get("SECRET_KEY") or ""
    if len(secret) < SECRET_KEY_MIN_LENGTH or secret == DEVELOPMENT_SECRET_KEY:
        missing.append(f"SECRET_KEY (a random value of at least {SECRET_KEY_MIN_LENGTH} characters)")
    if not settings.get("MAIL_SERVER"):
        missing.append("MAIL_SERVER (the SMTP server that sends mail)")
    if settings.get("RATELIMIT_ENABLED", True) and str(settings.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        missing.append("RATELIMIT_STORAGE_URI (a store shared by every process, e.g. redis://...)")
    if missing:
        raise ConfigError(
            f"reviewsite refuses to start in production mode without {'; '.join(missing)}. "
            f"For a site on this machine only, set REVIEWSITE_ENV={DEVELOPMENT} (bin/run does).")
