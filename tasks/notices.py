from __future__ import annotations

from celery import shared_task

from reviewsite.clock import database_now
from reviewsite.notifications import QUEUE_DIGESTS_TASK, SEND_REMINDERS_TASK
from reviewsite.services import digests, reminders
from reviewsite.unit_of_work import unit_of_work


@shared_task(name=SEND_REMINDERS_TASK)
def send_reminders() -> int:
    with unit_of_work():
        return len(reminders.send_due_reminders(now=database_now()))


@shared_task(name=QUEUE_DIGESTS_TASK)
def queue_digests() -> int:
    with unit_of_work():
        return len(digests.queue_digests(now=database_now()))
