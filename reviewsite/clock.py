"""The one clock. Every service takes ``now`` from here, so tests move time instead of sleeping.

Instants are aware UTC datetimes with an ``_at`` suffix everywhere in the code base.

Two readings: :func:`now_utc` (the host's clock) stamps what happens on a request, and
:func:`database_now` (the database server's clock) is what the sweeps and leases decide with,
whether a deadline has passed (invariant 8). Both give the test clock when one is configured.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; thread-safe for a live server in tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant


_system = SystemClock()


def now_utc() -> datetime:
    """The current instant from the app's clock (``CLOCK`` in config), else the system's."""
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock.now()
    return _system.now()


def database_now() -> datetime:
    """The instant deadlines are judged by: the configured test clock (``CLOCK``) if any, else
    the database server's clock, read on the current session's connection (one SELECT; see
    ``reviewsite.database.server_now``).

    The edge (the Celery tasks, ``flask sweep``, the mail leases) passes this as ``now`` to the
    services that decide what is due, so every worker host compares ``publish_at``, reminder
    and retry times and leases with one clock: a host whose clock runs ahead can neither publish
    early nor take a live sender's lease, and one that runs behind does not hold back."""
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock.now()
        from reviewsite.database import server_now
        from reviewsite.extensions import db

        return server_now(db.session.connection())
    return _system.now()


def format_when(value: datetime | None, zone: str | None = None) -> str:
    """An instant as the site writes it in text (pages, emails, messages from the services): in
    UTC, or in the IANA ``zone`` a person chose (with its abbreviation, "05 Mar 2026, 18:00 JST")."""
    if value is None:
        return ""
    if zone:
        try:
            local = value.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            local = None
        if local is not None:
            return local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or zone)
    return value.strftime("%d %b %Y, %H:%M UTC")


def format_day(value: datetime | None) -> str:
    """A date without the time, as public moderation lines give it ("02 Mar 2026")."""
    return value.strftime("%d %b %Y") if value is not None else ""
