"""Every periodic task, in one place. Exactly one beat process runs this schedule (Procfile).

Sweep messages expire after ten intervals: if the workers are down for an hour, beat's backlog of
identical sweeps is dropped instead of run thousands of times (the next sweep covers everything
anyway), while a short queue of delivery tasks ahead of a sweep does not make it expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reviewsite.notifications import (
    DELIVER_PENDING_TASK,
    EXPIRE_IDENTITY_LINKS_TASK,
    PUBLISH_DUE_TASK,
    QUEUE_DIGESTS_TASK,
    SEND_REMINDERS_TASK,
)


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    interval = float(config["SWEEP_INTERVAL_SECONDS"])
    sweeps = {
        "publish-due-reviews": PUBLISH_DUE_TASK,
        "send-due-reminders": SEND_REMINDERS_TASK,
        "queue-daily-digests": QUEUE_DIGESTS_TASK,
        "deliver-pending-notifications": DELIVER_PENDING_TASK,
    }
    schedule = {
        name: {"task": task, "schedule": interval, "options": {"expires": 10 * interval}}
        for name, task in sweeps.items()
    }
    # Claims and invitations already read as expired once past their time; writing so is not urgent.
    every = max(interval, 60.0)
    schedule["expire-claims-and-invitations"] = {
        "task": EXPIRE_IDENTITY_LINKS_TASK, "schedule": every, "options": {"expires": 10 * every}}
    return schedule
