"""Claims: someone proves they run a business and becomes its verified owner.

Ways to prove it (issue 12, DESIGN.md "Who the business is"):

- a one-time link mailed to an address at the listing's website domain, which the claimant types
  (receiving mail there proves it);
- a one-time link mailed to the listing's public contact address, unless the claimant added the
  listing themselves: they typed that address, so mail to it proves nothing about the business;
- otherwise the claim, with the claimant's statement, waits for a moderator, who approves or
  rejects it with a reason; the claimant is told either way.

A listing that is already claimed takes new claims through the moderators only: its owners can
invite anyone who works there, and a link to an address they may share proves too little.

Until a claim is verified the claimant is no member and sees nothing private (``access``).
Claims move through :data:`CLAIMS`: pending -> verified / rejected / expired / withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from reviewsite.extensions import db
from reviewsite.models import Business, BusinessClaim, ClaimMethod, ClaimStatus, MemberRole, User
from reviewsite.services import access, business_events, listings, team
from reviewsite.services.errors import Conflict, Invalid, InvalidTransition, NotAllowed
from reviewsite.services.listing_details import normalise_address
from reviewsite.services.outbox import notify
from reviewsite.services.persistence import insert_unique
from reviewsite.services.transitions import Transitions

P, V, R, E, W = (ClaimStatus.PENDING, ClaimStatus.VERIFIED, ClaimStatus.REJECTED, ClaimStatus.EXPIRED,
                 ClaimStatus.WITHDRAWN)
CLAIMS = Transitions(
    model=BusinessClaim,
    allowed_from={
        "verify_by_link": frozenset({P}),
        "resend_link": frozenset({P}),
        "approve": frozenset({P}),
        "reject": frozenset({P}),
        "withdraw": frozenset({P}),
        "expire": frozenset({P}),
    },
    by_state={
        P: "This claim is still waiting.",
        V: "This claim is already verified: the link has been used.",
        R: "This claim was not approved; it is closed.",
        E: "This claim's link has expired. Make a new claim to get a new link.",
        W: "This claim was withdrawn; it is closed.",
    },
)
STATEMENT_MAX = 2000
REASON_MAX = 2000
MAX_LINKS = 5  # mails a claim may send (the first and four more), so it cannot spam an address
PENDING_TWICE = "You already have a claim of {business} waiting. See it on your claims page."


@dataclass(frozen=True)
class Options:
    """What the claim form offers the person for this listing."""

    website_domain: str | None  # a link to an address at this domain
    contact_email: str | None  # a link to this address
    claimed: bool

    @property
    def by_link(self) -> bool:
        return bool(self.website_domain or self.contact_email)


def options_for(business: Business, claimant: User) -> Options:
    if business.is_claimed:
        return Options(None, None, True)
    contact = business.contact_email
    if contact and business_events.lister_id(business.id) == claimant.id:
        contact = None  # they typed it themselves
    return Options(business.website_domain, contact, False)


def _check_text(value: str | None, label: str, maximum: int, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"The {label} cannot be empty.")
    if len(value) > maximum:
        raise Invalid(f"The {label} can be at most {maximum} characters.")
    return value


def _address_for(method: ClaimMethod, options: Options, typed: str | None) -> str:
    if method is ClaimMethod.WEBSITE_EMAIL:
        if not options.website_domain:
            raise Invalid("This listing has no website, so a link to an address at its domain is not possible.")
        address = normalise_address(typed)
        domain = address.rpartition("@")[2]
        if domain != options.website_domain and not domain.endswith("." + options.website_domain):
            raise Invalid(f"Give an address at {options.website_domain}, such as name@{options.website_domain}.")
        return address
    if not options.contact_email:
        raise Invalid("A link to the listing's contact address is not possible for this claim.")
    return options.contact_email


def start(business: Business, claimant: User, *, method: ClaimMethod | str, email: str | None = None,
          statement: str | None = None, now: datetime) -> BusinessClaim:
    """A claim: a link is mailed at once, or it waits for the moderators. Refused: an account
    whose address is not confirmed, a member of the business, a second pending claim by the
    same person, a link to an address the rules do not allow."""
    if not claimant.is_confirmed:
        raise NotAllowed("Confirm your email address before claiming a business.")
    try:
        method = ClaimMethod(method)
    except ValueError as exc:
        raise Invalid("Choose how you will prove that you run the business.") from exc
    if method is ClaimMethod.MIGRATED:
        raise Invalid("Choose how you will prove that you run the business.")
    if access.is_member(claimant, business):
        raise Conflict(f"You already belong to {business.name}.")
    if _pending_of(business, claimant) is not None:
        raise Conflict(PENDING_TWICE.format(business=business.name))
    options = options_for(business, claimant)
    statement = _check_text(statement, "statement", STATEMENT_MAX, required=method is ClaimMethod.MODERATOR)
    values = {"business_id": business.id, "claimant_id": claimant.id, "method": method, "status": P,
              "statement": statement, "created_at": now, "links_sent": 0, "email": None, "expires_at": None}
    if method is not ClaimMethod.MODERATOR:
        if options.claimed:
            raise Invalid(f"{business.name} is already claimed. Ask its owners to invite you, "
                          "or tell the moderators why you should be an owner.")
        values.update(email=_address_for(method, options, email), links_sent=1,
                      expires_at=now + timedelta(seconds=current_app.config["CLAIM_LINK_MAX_AGE_SECONDS"]))
    # Two requests at once: the unique index of pending claims per person and listing decides.
    claim = insert_unique(BusinessClaim, values, unique=("business_id", "claimant_id"), where="status = 'pending'",
                          conflict_message=PENDING_TWICE.format(business=business.name))
    business_events.audit(business.id, "claim_started", actor_id=claimant.id, now=now, claim=claim.id,
                           method=method.value)
    if claim.by_link:
        _send_link(claim, business, claimant, now=now)
    return claim


def _pending_of(business: Business, claimant: User) -> BusinessClaim | None:
    return db.session.scalar(select(BusinessClaim).where(
        BusinessClaim.business_id == business.id, BusinessClaim.claimant_id == claimant.id,
        BusinessClaim.status == P))


def _send_link(claim: BusinessClaim, business: Business, claimant: User, *, now: datetime) -> None:
    """The mail goes to the claim's address; the claimant's notice in the site says where."""
    assert claim.email is not None and claim.expires_at is not None
    notify("claim_link", [claimant], now=now, fact=f"{claim.id}.{claim.links_sent}", to_address=claim.email,
           extra_facts={"claim": claim.id, "email": claim.email, "business": business.name,
                        "claimant": claimant.display_name, "expires_at": claim.expires_at.isoformat()})


def _require_claimant(claim: BusinessClaim, actor: User) -> None:
    if claim.claimant_id != actor.id:
        raise NotAllowed("This claim belongs to another account. Log in as the person who made it.")


def _require_open(claim: BusinessClaim, now: datetime) -> None:
    if claim.status_at(now) is E:
        raise InvalidTransition(CLAIMS.by_state[E])


def resend_link(claim: BusinessClaim, actor: User, *, now: datetime) -> None:
    """Mail the link again (the same address), a few times at most."""
    _require_claimant(claim, actor)
    _require_open(claim, now)
    if not claim.by_link:
        raise InvalidTransition("This claim waits for the moderators; there is no link to send.")
    if claim.links_sent >= MAX_LINKS:
        raise InvalidTransition(f"The link has been sent {MAX_LINKS} times. Withdraw this claim and make a new one.")
    sent = claim.links_sent
    CLAIMS.compare_and_set(claim, "resend_link", BusinessClaim.links_sent == sent, BusinessClaim.expires_at > now,
                           links_sent=sent + 1)
    _send_link(claim, claim.business, actor, now=now)


def verify_by_link(claim: BusinessClaim, actor: User, *, email: str, now: datetime) -> None:
    """The claimant followed the mailed link: the claim is verified, once. ``email`` is the
    address the token names."""
    _require_claimant(claim, actor)
    if not claim.by_link or email != claim.email:
        raise InvalidTransition("This link is not valid.")
    _require_open(claim, now)
    CLAIMS.compare_and_set(claim, "verify_by_link", BusinessClaim.expires_at > now, status=V, decided_at=now)
    _admit(claim, now=now, actor_id=actor.id)


def _require_decider(claim: BusinessClaim, moderator: User) -> None:
    access.require_moderator(moderator)
    if claim.claimant_id == moderator.id:
        raise NotAllowed("A moderator cannot decide their own claim: another moderator will.")


def approve(claim: BusinessClaim, moderator: User, *, reason: str | None, now: datetime) -> None:
    """A moderator approves a claim, with the reasons (every moderation decision has them)."""
    _require_decider(claim, moderator)
    reason = _check_text(reason, "statement of reasons", REASON_MAX, required=True)
    CLAIMS.compare_and_set(claim, "approve", status=V, decided_at=now, decided_by_id=moderator.id, reason=reason)
    _admit(claim, now=now, actor_id=moderator.id)
    business = claim.business
    notify("claim_approved", [claim.claimant_id], now=now, fact=claim.id,
           extra_facts={"claim": claim.id, "business": business.name, "reason": reason})


def reject(claim: BusinessClaim, moderator: User, *, reason: str | None, now: datetime) -> None:
    """A moderator rejects a claim, always with a statement of reasons the claimant reads."""
    _require_decider(claim, moderator)
    reason = _check_text(reason, "statement of reasons", REASON_MAX, required=True)
    CLAIMS.compare_and_set(claim, "reject", status=R, decided_at=now, decided_by_id=moderator.id, reason=reason)
    business = claim.business
    business_events.audit(business.id, "claim_rejected", actor_id=moderator.id, subject_id=claim.claimant_id,
                           now=now, claim=claim.id)
    notify("claim_rejected", [claim.claimant_id], now=now, fact=claim.id,
           extra_facts={"claim": claim.id, "business": business.name, "reason": reason})


def withdraw(claim: BusinessClaim, actor: User, *, now: datetime) -> None:
    _require_claimant(claim, actor)
    CLAIMS.compare_and_set(claim, "withdraw", status=W, decided_at=now)
    business_events.audit(claim.business_id, "claim_withdrawn", actor_id=actor.id, now=now, claim=claim.id)


def expire_due(*, now: datetime) -> int:
    """The sweep: pending link claims past their time become expired (they already read so)."""
    rows = db.session.execute(
        update(BusinessClaim)
        .where(BusinessClaim.status == P, BusinessClaim.expires_at <= now)
        .values(status=E, decided_at=now)
        .returning(BusinessClaim.id, BusinessClaim.business_id)
        .execution_options(synchronize_session=False)
    ).all()
    for claim_id, business_id in rows:
        business_events.audit(business_id, "claim_expired", actor_id=None, now=now, claim=claim_id)
    return len(rows)


def _admit(claim: BusinessClaim, *, now: datetime, actor_id: int) -> None:
    """The verified claimant becomes an owner; the listing is claimed from now on (its public
    page changes: "unclaimed" goes), and its held reviews reach the new owner at once."""
    business = claim.business
    team.lock(business.id)
    db.session.execute(
        update(Business).where(Business.id == business.id, Business.claimed_at.is_(None))
        .values(claimed_at=now).execution_options(synchronize_session=False)
    )
    db.session.expire(business)
    business_events.audit(business.id, "claim_verified", actor_id=actor_id, subject_id=claim.claimant_id,
                           now=now, claim=claim.id, method=claim.method.value)
    team.add_member(business, claim.claimant, MemberRole.OWNER, now=now, via=f"claim:{claim.method.value}",
                    actor_id=actor_id)
    listings.changed([business.id])


# -- reading -------------------------------------------------------------------------------------


def claims_of(user: User) -> list[BusinessClaim]:
    """A person's claims, newest first, with their state (pending, verified, rejected, ...)."""
    return list(db.session.scalars(
        select(BusinessClaim).where(BusinessClaim.claimant_id == user.id)
        .order_by(BusinessClaim.created_at.desc(), BusinessClaim.id.desc())
    ))


def pending_for_moderators(*, limit: int = 100) -> list[BusinessClaim]:
    """The moderators' queue of claims to decide, oldest first (for the moderation workplace)."""
    return list(db.session.scalars(
        select(BusinessClaim)
        .where(BusinessClaim.status == P, BusinessClaim.method == ClaimMethod.MODERATOR)
        .order_by(BusinessClaim.created_at, BusinessClaim.id).limit(limit)
    ))


def other_claims(claim: BusinessClaim) -> list[BusinessClaim]:
    """The business's other claims, newest first: what a moderator weighs a claim against."""
    return list(db.session.scalars(
        select(BusinessClaim).where(BusinessClaim.business_id == claim.business_id, BusinessClaim.id != claim.id)
        .order_by(BusinessClaim.created_at.desc(), BusinessClaim.id.desc()).limit(50)
    ))
