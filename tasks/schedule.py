"""Every periodic task, in one place. Exactly one beat process runs this schedule (Procfile).

Sweep messages expire after ten intervals: if the workers are down for an hour, beat's backlog of
identical sweeps is dropped instead of run thousands of times (the next sweep covers everything
anyway), while a short queue of delivery tasks ahead of a sweep does not make it expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reviewsite import task_names


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    interval = float(config["SWEEP_INTERVAL_SECONDS"])
    sweeps = {
        "publish-due-reviews": task_names.PUBLISH_DUE,
        "send-due-reminders": task_names.SEND_REMINDERS,
        "queue-daily-digests": task_names.QUEUE_DIGESTS,
        "expire-pressure-notices": task_names.EXPIRE_NOTICES,
        "deliver-pending-notifications": task_names.DELIVER_PENDING,
    }
    return {
        name: {"task": task, "schedule": interval, "options": {"expires": 10 * interval}}
        for name, task in sweeps.items()
    }
