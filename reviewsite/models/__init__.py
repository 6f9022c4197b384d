"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from reviewsite.models.business import Business, Membership, MemberRole
from reviewsite.models.business_history import BusinessEvent, ListingChange
from reviewsite.models.claim import BusinessClaim, ClaimMethod, ClaimStatus
from reviewsite.models.login import Login
from reviewsite.models.notification import (
    Delivery,
    DevMail,
    EmailStatus,
    Notification,
    NotificationPreference,
)
from reviewsite.models.moderation import (
    Appeal,
    AppealStatus,
    Decision,
    DecisionStatus,
    ItemKind,
    ModerationEvent,
    NoticeStatus,
    Outcome,
    PressureNotice,
    Report,
    ReportStatus,
    Rule,
)
from reviewsite.models.review import HoldChoice, RemedyKind, Review, ReviewEvent, ReviewStatus, Side, ThreadMessage
from reviewsite.models.team import Invitation, InvitationStatus
from reviewsite.models.user import User

__all__ = [
    "Appeal",
    "AppealStatus",
    "Decision",
    "DecisionStatus",
    "ItemKind",
    "ModerationEvent",
    "NoticeStatus",
    "Outcome",
    "PressureNotice",
    "Report",
    "ReportStatus",
    "Rule",
    "Business",
    "BusinessClaim",
    "BusinessEvent",
    "ClaimMethod",
    "ClaimStatus",
    "Delivery",
    "DevMail",
    "EmailStatus",
    "HoldChoice",
    "Invitation",
    "InvitationStatus",
    "ListingChange",
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
