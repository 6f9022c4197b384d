from __future__ import annotations

from celery import shared_task

from reviewsite.notifications import DELIVER_BATCH_TASK, DELIVER_PENDING_TASK, DELIVER_TASK, delivery


@shared_task(name=DELIVER_TASK)
def deliver_notification(notification_id: int) -> str:
    """Prompt delivery right after the fact was committed; a repeat is skipped by the lease."""
    return delivery.deliver(notification_id)


@shared_task(name=DELIVER_BATCH_TASK)
def deliver_notifications(notification_ids: list[int]) -> dict[int, str]:
    """Prompt delivery of one commit's notifications over one SMTP connection."""
    return delivery.deliver_batch(notification_ids)


@shared_task(name=DELIVER_PENDING_TASK)
def deliver_pending() -> dict[str, int]:
    """The guarantee behind prompt delivery: whatever is still pending and due."""
    return delivery.deliver_pending()
