"""The access matrix: every private route and action of the site x every kind of identity, with
the answer each must get, generated from the one table below (issue 12).

Outcomes:
- ``ok``: a page answers 200 and shows its private content (``marker``); an action's effect is
  in the database afterwards;
- ``refused``: an answer (no 5xx) without the private content, or an action that changed nothing
  (the service refused it and said why);
- ``404`` / ``403``: that status, and nothing changed;
- ``login``: a redirect to the login page, and nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import (
    Business,
    BusinessClaim,
    ClaimStatus,
    Invitation,
    InvitationStatus,
    MemberRole,
    Membership,
    Review,
    ReviewStatus,
    ThreadMessage,
)
from tests.web.conftest import CANARY_TITLE

IDENTITIES = ("anonymous", "customer", "reviewer", "pending", "rejected", "staff", "owner", "removed", "rival",
              "moderator")


def _review(w) -> Review:
    return db.session.get(Review, w.held_id)


def _claim(claim_id: int) -> BusinessClaim:
    return db.session.get(BusinessClaim, claim_id)


def _staff(w) -> Membership | None:
    return db.session.get(Membership, w.staff_membership)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: str  # formatted with the world's attributes
    expect: dict[str, str]
    default: str = "404"
    data: dict[str, str] = field(default_factory=dict)
    marker: str = ""  # GET: what only those who may see the page see
    effect: Callable[[object], bool] | None = None  # POST: whether the action happened

    def expected(self, identity: str) -> str:
        return self.expect.get(identity, self.default)


PARTIES = {"anonymous": "404", "reviewer": "ok", "staff": "ok", "owner": "ok", "moderator": "ok"}
BUSINESS_ACTS = {"anonymous": "login", "staff": "ok", "owner": "ok", "reviewer": "refused", "moderator": "refused"}
OWNERS_ONLY = {"anonymous": "login", "owner": "ok"}

ROUTES = [
    Route("held review page", "GET", "/reviews/{held_id}", PARTIES, marker=CANARY_TITLE),
    Route("thread message", "POST", "/reviews/{held_id}/messages",
          {**BUSINESS_ACTS, "reviewer": "ok"}, data={"body": "MATRIX message"},
          effect=lambda w: db.session.scalar(select(ThreadMessage.id).where(ThreadMessage.body == "MATRIX message"))
          is not None),
    Route("offer", "POST", "/reviews/{held_id}/offers", BUSINESS_ACTS,
          data={"remedy": "refund", "note": "MATRIX offer"},
          effect=lambda w: db.session.scalar(select(ThreadMessage.id).where(ThreadMessage.body == "MATRIX offer"))
          is not None),
    Route("draft response", "POST", "/reviews/{held_id}/response", BUSINESS_ACTS, data={"body": "MATRIX draft"},
          effect=lambda w: _review(w).response_body == "MATRIX draft"),
    # Publishing now and withdrawing cannot be undone: a confirmation page first (issue 14), and
    # the action only with its field.
    Route("release now, the confirmation page", "GET", "/reviews/{held_id}/release",
          {"anonymous": "login", "reviewer": "ok", "staff": "ok", "owner": "ok"}, marker="Publish the review now?"),
    Route("release now", "POST", "/reviews/{held_id}/release", {**BUSINESS_ACTS, "reviewer": "ok"},
          data={"confirm": "yes"}, effect=lambda w: _review(w).status is ReviewStatus.PUBLISHED),
    Route("withdraw, the confirmation page", "GET", "/reviews/{held_id}/withdraw",
          {"anonymous": "login", "reviewer": "ok"}, marker="Withdraw your review?"),
    Route("withdraw", "POST", "/reviews/{held_id}/withdraw", {"anonymous": "login", "reviewer": "ok"},
          data={"confirm": "yes"}, effect=lambda w: _review(w).status is ReviewStatus.WITHDRAWN),
    Route("mark resolved", "POST", "/reviews/{held_id}/resolve",
          {"anonymous": "login", "reviewer": "ok", "staff": "refused", "owner": "refused", "moderator": "refused"},
          data={"note": "MATRIX resolved"}, effect=lambda w: _review(w).resolution_note == "MATRIX resolved"),
    Route("confirm an offer was delivered", "POST", "/reviews/{held_id}/offers/{offer_id}/done",
          {"anonymous": "login", "reviewer": "ok", "staff": "refused", "owner": "refused", "moderator": "refused"},
          effect=lambda w: db.session.get(ThreadMessage, w.offer_id).delivered_at is not None),
    # The owner's view (its CSV is checked in tests/web/test_honest_in_public.py, the same rule).
    Route("the owner's figures", "GET", "/b/{shop_slug}/figures", {"anonymous": "login", "owner": "ok", "staff": "ok"},
          marker="Your make-it-right figures"),
    Route("inbox", "GET", "/inbox", {"anonymous": "login", "staff": "ok", "owner": "ok"}, default="refused",
          marker=CANARY_TITLE),
    Route("team page", "GET", "/b/{shop_slug}/team", OWNERS_ONLY, marker="Invite someone"),
    Route("invite", "POST", "/b/{shop_slug}/team/invite", OWNERS_ONLY,
          data={"email": "new.person@example.com", "role": "staff"},
          effect=lambda w: db.session.scalar(select(Invitation.id).where(Invitation.email == "new.person@example.com"))
          is not None),
    Route("change a role", "POST", "/b/{shop_slug}/team/members/{staff_membership}/role", OWNERS_ONLY,
          data={"role": "owner"}, effect=lambda w: _staff(w).role is MemberRole.OWNER),
    Route("remove a member", "POST", "/b/{shop_slug}/team/members/{staff_membership}/remove", OWNERS_ONLY,
          effect=lambda w: _staff(w) is None),
    Route("hand ownership over", "POST", "/b/{shop_slug}/team/members/{staff_membership}/hand-over", OWNERS_ONLY,
          effect=lambda w: _staff(w).role is MemberRole.OWNER),
    Route("withdraw an invitation", "POST", "/b/{shop_slug}/team/invitations/{invitation_id}/revoke", OWNERS_ONLY,
          effect=lambda w: db.session.get(Invitation, w.invitation_id).status is InvitationStatus.REVOKED),
    Route("claim form", "GET", "/b/{shop_slug}/claim", {"anonymous": "login", "staff": "refused", "owner": "refused"},
          default="ok", marker="Claim the business"),
    Route("pending claim page", "GET", "/claims/{pending_claim}", {"anonymous": "login", "pending": "ok"},
          marker="Your claim of"),
    Route("withdraw a claim", "POST", "/claims/{pending_claim}/withdraw", {"anonymous": "login", "pending": "ok"},
          effect=lambda w: _claim(w.pending_claim).status is ClaimStatus.WITHDRAWN),
    Route("send the claim link again", "POST", "/claims/{pending_claim}/resend", {"anonymous": "login", "pending": "ok"},
          effect=lambda w: _claim(w.pending_claim).links_sent == 2),
    Route("claim link page", "GET", "/claims/verify/{pending_token}", {"anonymous": "login", "pending": "ok"},
          default="403", marker="Confirm that I run"),
    Route("confirm a claim by its link", "POST", "/claims/verify/{pending_token}",
          {"anonymous": "login", "pending": "ok"}, default="403",
          effect=lambda w: _claim(w.pending_claim).status is ClaimStatus.VERIFIED),
    Route("rejected claim page", "GET", "/claims/{rejected_claim}", {"anonymous": "login", "rejected": "ok"},
          marker="Statement of reasons"),
    Route("listing edit page", "GET", "/b/{shop_slug}/edit", OWNERS_ONLY, marker="Save the listing"),
    Route("edit the listing", "POST", "/b/{shop_slug}/edit", OWNERS_ONLY,
          data={"name": "Corner Cafe MATRIX", "category": "Cafe", "city": "Leeds", "address": "1 Market St"},
          effect=lambda w: db.session.get(Business, w.shop_id).name == "Corner Cafe MATRIX"),
    Route("moderators' claim queue", "GET", "/moderation/claims", {"anonymous": "login", "moderator": "ok"},
          marker="Claims to decide"),
    Route("moderator's claim page", "GET", "/moderation/claims/{pending_claim}",
          {"anonymous": "login", "moderator": "ok"}, marker="Statement of reasons (the claimant reads it)"),
    Route("decide a claim", "POST", "/moderation/claims/{pending_claim}", {"anonymous": "login", "moderator": "ok"},
          data={"decision": "reject", "reason": "No proof."},
          effect=lambda w: _claim(w.pending_claim).status is ClaimStatus.REJECTED),
]

CASES = [pytest.param(route, identity, id=f"{route.name} / {identity}") for route in ROUTES for identity in IDENTITIES]


@pytest.mark.parametrize("route,identity", CASES)
def test_access(app, client, identities, route: Route, identity: str):
    expected = route.expected(identity)
    if identity != "anonymous":
        client.sign_in_as(identities.ids[identity])
    url = route.url.format(**vars(identities))
    if route.method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, route.data)
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body
    with app.app_context():
        done = route.effect(identities) if route.effect else None
    seen = route.marker in body if route.marker else None

    if expected == "ok":
        if route.method == "GET":
            assert response.status_code == 200 and seen, f"{identity} should see {route.name}"
        else:
            assert response.status_code in (200, 302) and done, f"{identity} should be able to {route.name}"
    elif expected == "refused":
        assert not seen and not done, f"{identity} must not get {route.name}"
    elif expected == "login":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert not done
    else:
        assert response.status_code == int(expected), f"{identity} on {route.name}: {response.status_code}"
        assert not done and not seen


def test_the_table_covers_every_identity_and_names_only_known_ones():
    for route in ROUTES:
        assert set(route.expect) <= set(IDENTITIES), route.name
