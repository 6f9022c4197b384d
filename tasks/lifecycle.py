from __future__ import annotations

import time

from celery import shared_task
from flask import current_app

from reviewsite.clock import now_utc
from reviewsite.notifications import PUBLISH_DUE_TASK
from reviewsite.services import reviews
from reviewsite.unit_of_work import unit_of_work


@shared_task(name=PUBLISH_DUE_TASK)
def publish_due() -> int:
    """Publish due reviews batch by batch (one transaction each) until none is left or one sweep
    interval has passed; the next sweep continues a longer backlog."""
    batch = current_app.config["SWEEP_BATCH_SIZE"]
    deadline = time.monotonic() + current_app.config["SWEEP_INTERVAL_SECONDS"]
    published = 0
    while True:
        with unit_of_work():
            ids = reviews.publish_due(now=now_utc(), limit=batch)
        published += len(ids)
        if len(ids) < batch or time.monotonic() > deadline:
            return published
