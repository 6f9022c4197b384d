from __future__ import annotations

from celery import shared_task

from reviewsite.notifications import DELIVER_BATCH_TASK, DELIVER_PENDING_TASK, DELIVER_TASK, delivery


@shared_task(name=DELIVER_TASK)
def deliver_notification(notification_id: int) -> str:
    """Prompt delivery right after the fact was committed; a repeat is skipped by the lease."""
    return delivery.deliver(notification_id)


@shared_task(name=DELIVER_BATCH_TASK)
def deliver_notifications(notification_ids: list[int]) -> dict[int, str]:
    """Prompt delivery of one commit's notifications: the first SMTP batch here, over one
    connection; any further batches handed to the other workers first, so they go in parallel.
    Should handing them over fail (the broker), the outbox sweep delivers them."""
    first, rest = notification_ids[: delivery.BATCH], notification_ids[delivery.BATCH :]
    if rest:
        delivery.hand_over(rest, lambda ids: deliver_notifications.apply_async(args=[ids], retry=False))
    return delivery.deliver_batch(first)


@shared_task(name=DELIVER_PENDING_TASK)
def deliver_pending() -> dict[str, int]:
    """The guarantee behind prompt delivery: whatever is still pending and due."""
    return delivery.deliver_pending()
