"""Every periodic task, in one place. Exactly one beat process runs this schedule (Procfile).

Sweep messages expire after ten intervals, and never sooner than SWEEP_EXPIRES_MIN_SECONDS: if
the workers are down for an hour, beat's backlog of identical sweeps is dropped instead of run
thousands of times (the next sweep covers everything anyway), while a short queue of delivery
tasks ahead of a sweep does not make it expire. The expiry is an instant on beat's clock that
each worker compares with its own: a worker whose clock runs ahead of beat's by more than the
expiry drops every sweep it takes. At ten 1-second intervals, a worker 30 s ahead dropped them
all; five minutes is far beyond what NTP lets hosts drift, and a backlog of at most five minutes
of idle sweeps costs a few milliseconds each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reviewsite import task_names


SWEEP_EXPIRES_MIN_SECONDS = 300


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    interval = float(config["SWEEP_INTERVAL_SECONDS"])
    expires = max(10 * interval, SWEEP_EXPIRES_MIN_SECONDS)
    sweeps = {
        "publish-due-reviews": task_names.PUBLISH_DUE,
        "send-due-reminders": task_names.SEND_REMINDERS,
        "queue-daily-digests": task_names.QUEUE_DIGESTS,
        "expire-pressure-notices": task_names.EXPIRE_NOTICES,
        "deliver-pending-notifications": task_names.DELIVER_PENDING,
    }
    schedule = {
        name: {"task": task, "schedule": interval, "options": {"expires": expires}}
        for name, task in sweeps.items()
    }
    # Claims and invitations already read as expired once past their time; writing so is not urgent.
    every = max(interval, 60.0)
    schedule["expire-claims-and-invitations"] = {
        "task": task_names.EXPIRE_CLAIMS_AND_INVITATIONS, "schedule": every,
        "options": {"expires": max(10 * every, SWEEP_EXPIRES_MIN_SECONDS)}}
    return schedule
