"""The timers: sweeps that beat sends every few seconds, on a queue of their own (config.py).

Each claims due rows and calls one service inside a unit of work. Publishing or reminding twice is
impossible whatever runs them (two beats, a redelivered message): the services refuse a row that
is no longer due.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from celery import shared_task
from flask import current_app

from reviewsite import task_names
from reviewsite.clock import database_now
from reviewsite.services import claims, digests, pressure_notices, publication, reminders, team
from reviewsite.unit_of_work import unit_of_work

HINTS_PER_SWEEP = 20
HINT_COALESCE = timedelta(milliseconds=100)


@shared_task(name=task_names.PUBLISH_DUE)
def publish_due(hint: bool = False) -> int:
    """Publish due reviews batch by batch (one transaction each) until none is left or one sweep
    interval has passed; the next sweep continues a longer backlog.

    A sweep from beat also schedules short-range "hint" runs at the release times that fall
    before the next sweep, so a review goes out at its time rather than up to one interval late.
    The hints are an optimisation only: beat's sweep stays the guarantee (invariant 3), and a
    hint that runs early publishes nothing, since the service refuses what is not yet due. What
    is due is judged by the database's clock (``database_now``), whatever this host's says."""
    interval = current_app.config["SWEEP_INTERVAL_SECONDS"]
    batch = current_app.config["SWEEP_BATCH_SIZE"]
    deadline = time.monotonic() + interval
    published = 0
    while True:
        with unit_of_work():
            ids = publication.publish_due(now=database_now(), limit=batch)
        published += len(ids)
        if len(ids) < batch or time.monotonic() > deadline:
            break
    if not hint:
        _schedule_hints(timedelta(seconds=interval))
    return published


def _schedule_hints(interval: timedelta) -> None:
    with unit_of_work():
        upcoming = publication.release_times_within(now=database_now(), horizon=interval, limit=HINTS_PER_SWEEP * 10)
    last: datetime | None = None
    sent = 0
    for release_at in upcoming:
        if last is not None and release_at - last < HINT_COALESCE:
            continue
        publish_due.apply_async(kwargs={"hint": True}, eta=release_at, expires=release_at + interval)
        last, sent = release_at, sent + 1
        if sent == HINTS_PER_SWEEP:
            return


@shared_task(name=task_names.SEND_REMINDERS)
def send_reminders() -> int:
    with unit_of_work():
        return len(reminders.send_due_reminders(now=database_now()))


@shared_task(name=task_names.QUEUE_DIGESTS)
def queue_digests() -> int:
    with unit_of_work():
        return len(digests.queue_digests(now=database_now()))


@shared_task(name=task_names.EXPIRE_NOTICES)
def expire_notices() -> int:
    """End the public notices on businesses whose time has come (their pages change with it)."""
    with unit_of_work():
        return len(pressure_notices.expire_due(now=database_now()))


@shared_task(name=task_names.EXPIRE_CLAIMS_AND_INVITATIONS)
def expire_claims_and_invitations() -> int:
    """Pending link claims and invitations past their time are written as expired (they read
    as expired already; this keeps the rows and the audit trail in step)."""
    with unit_of_work():
        now = database_now()
        return claims.expire_due(now=now) + team.expire_due(now=now)
