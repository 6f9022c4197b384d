"""Mail: prompt delivery after a commit, and the sweep of whatever is still pending."""

from __future__ import annotations

import logging

from celery import shared_task

from reviewsite import task_names
from reviewsite.notifications import delivery, dispatch

log = logging.getLogger(__name__)


@shared_task(name=task_names.DELIVER_NOTIFICATIONS)
def deliver_notifications(notification_ids: list[int]) -> dict[int, str]:
    """One commit's notifications: the first SMTP batch here, over one connection; the others
    passed on first, one message each, so that other workers send them at the same time. If the
    broker refuses them, the outbox sweep delivers them instead."""
    first, *rest = delivery.batches(notification_ids) or [[]]
    for number, batch in enumerate(rest):
        try:
            deliver_notifications.apply_async(args=[batch], argsrepr=dispatch.ids_repr(batch), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure; the sweep is the guarantee
            log.warning("could not pass on %d notifications; the outbox sweep will deliver them",
                        sum(map(len, rest[number:])), exc_info=True)
            break
    return delivery.deliver_batch(first)


@shared_task(name=task_names.DELIVER_PENDING)
def deliver_pending() -> dict[str, int]:
    """The guarantee behind prompt delivery: whatever is still pending and due."""
    return delivery.deliver_pending()
