from __future__ import annotations

from celery import shared_task

from reviewsite.clock import now_utc
from reviewsite.notifications import EXPIRE_IDENTITY_LINKS_TASK
from reviewsite.services import claims, team
from reviewsite.unit_of_work import unit_of_work


@shared_task(name=EXPIRE_IDENTITY_LINKS_TASK)
def expire_claims_and_invitations() -> int:
    """Pending link claims and invitations past their time are written as expired (they read
    as expired already; this keeps the rows and the audit trail in step)."""
    with unit_of_work():
        return claims.expire_due(now=now_utc()) + team.expire_due(now=now_utc())
