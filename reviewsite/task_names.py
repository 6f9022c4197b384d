"""The name of every Celery task, in one place.

``reviewsite`` never imports ``tasks`` (the dependency runs the other way), yet it must send
messages to tasks and route them: it does so by these names. ``tasks/`` registers its functions
under the same names, and ``config.py`` routes and limits them by the groups below.
"""

PUBLISH_DUE = "reviewsite.publish_due"
SEND_REMINDERS = "reviewsite.send_reminders"
QUEUE_DIGESTS = "reviewsite.queue_digests"
EXPIRE_NOTICES = "reviewsite.expire_notices"
EXPIRE_CLAIMS_AND_INVITATIONS = "reviewsite.expire_claims_and_invitations"
DELIVER_NOTIFICATIONS = "reviewsite.deliver_notifications"
DELIVER_PENDING = "reviewsite.deliver_pending"

# The timers: quick database sweeps only, on a queue of their own so that a backlog of mail can
# never make a publication wait (invariant 3). The pending-mail sweep talks to the mail server,
# so it stays on the default queue.
SWEEPS = (PUBLISH_DUE, SEND_REMINDERS, QUEUE_DIGESTS, EXPIRE_NOTICES, EXPIRE_CLAIMS_AND_INVITATIONS)
# Tasks that hold a mail lease while they talk to the SMTP server: their time limit is the lease.
DELIVERY = (DELIVER_NOTIFICATIONS, DELIVER_PENDING)
