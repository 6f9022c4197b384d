"""What to tell whom, and getting it there: catalogue, rendering, sending, delivery, dispatch."""

DELIVER_TASK = "reviewsite.deliver_notification"
DELIVER_BATCH_TASK = "reviewsite.deliver_notifications"
PUBLISH_DUE_TASK = "reviewsite.publish_due"
DELIVER_PENDING_TASK = "reviewsite.deliver_pending"
SEND_REMINDERS_TASK = "reviewsite.send_reminders"
QUEUE_DIGESTS_TASK = "reviewsite.queue_digests"
EXPIRE_IDENTITY_LINKS_TASK = "reviewsite.expire_claims_and_invitations"
