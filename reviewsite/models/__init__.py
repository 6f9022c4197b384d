"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from reviewsite.models.business import Business, Membership, MemberRole
from reviewsite.models.notification import DevMail, EmailStatus, Notification
from reviewsite.models.review import Review, ReviewEvent, ReviewStatus, Side, ThreadMessage
from reviewsite.models.user import User

__all__ = [
    "Business",
    "DevMail",
    "EmailStatus",
    "MemberRole",
    "Membership",
    "Notification",
    "Review",
    "ReviewEvent",
    "ReviewStatus",
    "Side",
    "ThreadMessage",
    "User",
]
