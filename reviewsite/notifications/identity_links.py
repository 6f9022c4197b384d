"""The link in each mail about who the business is (claims, invitations, the team), built from
the notification's facts. A claim's or an invitation's token is signed here, at rendering, as
confirmation and reset links are: it is in the mail only, never in the site's notice."""

from __future__ import annotations

from collections.abc import Callable

from reviewsite.models import Notification
from reviewsite.notifications.links import external_url
from reviewsite.services import tokens


def _claim_link(notification: Notification) -> str:
    facts = notification.facts
    return external_url("claims.verify", token=tokens.claim_token(int(facts["claim"]), str(facts["email"])))


def _invitation(notification: Notification) -> str:
    facts = notification.facts
    token = tokens.invitation_token(int(facts["invitation"]), str(facts["email"]))
    return external_url("team.invitation", token=token)


def _claim_page(notification: Notification) -> str:
    return external_url("claims.show", claim_id=int(notification.facts["claim"]))


def _team_page(notification: Notification) -> str:
    return external_url("team.page", slug=str(notification.facts["slug"]))


LINKS: dict[str, Callable[[Notification], str]] = {
    "claim_link": _claim_link,
    "claim_approved": _claim_page,
    "claim_rejected": _claim_page,
    "team_invitation": _invitation,
    "member_joined": _team_page,
}
