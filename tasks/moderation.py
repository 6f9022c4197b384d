from __future__ import annotations

from celery import shared_task

from reviewsite.clock import now_utc
from reviewsite.notifications import EXPIRE_NOTICES_TASK
from reviewsite.services import pressure_notices
from reviewsite.unit_of_work import unit_of_work


@shared_task(name=EXPIRE_NOTICES_TASK)
def expire_notices() -> int:
    """End the public notices whose time has come (and refresh their businesses' pages)."""
    with unit_of_work():
        return len(pressure_notices.expire_due(now=now_utc()))
