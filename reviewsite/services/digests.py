"""The daily digest: one email a day folding every notice a person chose to get as a digest.

It goes out at the first sweep after DIGEST_HOUR_UTC; its dedupe key carries the date, so two
beats or a repeated sweep still send one per person per day. Notices that arrive after it wait
for tomorrow's.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification
from reviewsite.services.outbox import notify


def queue_digests(*, now: datetime) -> list[int]:
    """Write today's digest for everyone with notices waiting; returns the digest row ids."""
    if now.hour < current_app.config["DIGEST_HOUR_UTC"]:
        return []
    waiting = list(
        db.session.scalars(
            select(Notification.recipient_id)
            .where(Notification.email_status == EmailStatus.DIGEST, Notification.next_attempt_at <= now)
            .distinct()
        )
    )
    written = []
    for recipient_id in waiting:
        folded = list(
            db.session.scalars(
                select(Notification.id)
                .where(
                    Notification.recipient_id == recipient_id,
                    Notification.email_status == EmailStatus.DIGEST,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.id)
            )
        )
        ids = notify("digest", [recipient_id], now=now, fact=now.date().isoformat(),
                     extra_facts={"items": folded, "site": current_app.config["SITE_NAME"]})
        if not ids:
            continue  # today's digest is already out; these wait for tomorrow's
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(folded), Notification.email_status == EmailStatus.DIGEST)
            .values(email_status=EmailStatus.SENT, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        written.extend(ids)
    return written
