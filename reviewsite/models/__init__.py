"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from reviewsite.models.business import Business, Membership, MemberRole
from reviewsite.models.login import Login
from reviewsite.models.notification import (
    Delivery,
    DevMail,
    EmailStatus,
    Notification,
    NotificationPreference,
)
from reviewsite.models.review import RemedyKind, Review, ReviewEvent, ReviewStatus, Side, ThreadMessage
from reviewsite.models.user import User

__all__ = [
    "Business",
    "Delivery",
    "DevMail",
    "EmailStatus",
    "Login",
    "MemberRole",
    "Membership",
    "Notification",
    "RemedyKind",
    "NotificationPreference",
    "Review",
    "ReviewEvent",
    "ReviewStatus",
    "Side",
    "ThreadMessage",
    "User",
]
