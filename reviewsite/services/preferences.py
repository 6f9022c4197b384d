"""Notification preferences: per topic, email at once, a daily digest, or in the site only.

Account mail (confirmation, password reset) has no topic and cannot be turned off.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Delivery, NotificationPreference, User
from reviewsite.services.notification_kinds import TOPICS
from reviewsite.services.errors import Invalid

# What a person gets for a topic they never chose about: the email, at once.
DEFAULT_DELIVERY = Delivery.EMAIL


def choices_of(user: User) -> dict[str, Delivery]:
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.topic, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {topic: chosen.get(topic, DEFAULT_DELIVERY) for topic in TOPICS}


def deliveries_for(topic: str, user_ids: Iterable[int]) -> dict[int, Delivery]:
    """Each recipient's choice for ``topic`` in one query; no choice means email."""
    ids = sorted(set(user_ids))
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.delivery).where(
                NotificationPreference.topic == topic, NotificationPreference.user_id.in_(ids)
            )
        ).all()
    ) if ids else {}
    return {user_id: chosen.get(user_id, DEFAULT_DELIVERY) for user_id in ids}


def choose(user_id: int, topic: str, delivery: Delivery, *, now: datetime) -> None:
    if topic not in TOPICS and topic != "digest":
        raise Invalid("There is no such kind of notification.")
    row = db.session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == user_id, NotificationPreference.topic == topic
        )
    )
    if row is None:
        db.session.add(NotificationPreference(user_id=user_id, topic=topic, delivery=delivery, updated_at=now))
    else:
        row.delivery, row.updated_at = delivery, now
    db.session.flush()


def unsubscribe(user_id: int, topic: str, *, now: datetime) -> None:
    """The one-click unsubscribe: that topic goes to the site only. The digest link turns every
    digest topic into site-only, since the digest itself has no topic of its own to choose."""
    if topic == "digest":
        for digest_topic, delivery in deliveries_by_topic(user_id).items():
            if delivery is Delivery.DIGEST:
                choose(user_id, digest_topic, Delivery.SITE_ONLY, now=now)
        return
    choose(user_id, topic, Delivery.SITE_ONLY, now=now)


def deliveries_by_topic(user_id: int) -> dict[str, Delivery]:
    user = db.session.get(User, user_id)
    return choices_of(user) if user is not None else {}
