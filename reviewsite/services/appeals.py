"""Appeals: the person a decision affects may ask, once and in time, for a different moderator
to look again; that moderator's decision is final and comes with its own reasons.

Who may appeal: for a removal or a notice, whom it affects (the reviewer for their words, any
member for the business's); for a dismissal, the people whose reports were dismissed. The
transition table is ``moderation.APPEALS`` (open -> upheld | overturned), and an overturned
decision moves ``moderation.DECISIONS`` (in force -> reversed): its effect is undone (a review
restored, a notice lifted), or, for a dismissal, the item is acted on now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from reviewsite.clock import format_when
from reviewsite.extensions import db
from reviewsite.models import Appeal, AppealStatus, Decision, DecisionStatus, Outcome, Rule, User
from reviewsite.services import decisions, moderated_items, moderation, pressure_notices
from reviewsite.services.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from reviewsite.services.outbox import notify
from reviewsite.services.persistence import insert_unique
from reviewsite.services import validation

STATEMENT_MAX = 2000
ALREADY_APPEALED = "This decision has already been appealed. An appeal can be made once; its decision is final."


def appellants(decision: Decision) -> set[int]:
    """Who may appeal this decision (nobody, once it is final)."""
    if decision.appeal_of_id is not None:
        return set()
    if decision.outcome is Outcome.DISMISSED:
        return decisions.reporter_ids_of(decision)
    item = moderated_items.load_key(decision.target_key)
    return set(moderated_items.affected_ids(item)) if item is not None else set()


def refusal(decision: Decision, user: User, *, now: datetime) -> DomainError | None:
    """Why ``user`` cannot appeal ``decision`` now, or None if they can. The same checks as
    :func:`file_appeal`, for a page that shows the form only when it would be accepted."""
    if decision.appeal_of_id is not None:
        return InvalidTransition("This decision was made on an appeal and is final.")
    if decision.status is DecisionStatus.REVERSED:
        return InvalidTransition("This decision was reversed on appeal.")
    if user.id not in appellants(decision):
        return NotAllowed("Only the person this decision affects can appeal it.")
    if decision.appeal is not None:
        return Conflict(ALREADY_APPEALED)
    if decision.appeal_until is None or now > decision.appeal_until:
        return InvalidTransition(f"The time to appeal ended on {format_when(decision.appeal_until)}.")
    return None


def file_appeal(decision: Decision, appellant: User, statement: str, *, now: datetime) -> Appeal:
    error = refusal(decision, appellant, now=now)
    if error is not None:
        raise error
    statement = validation.text(statement, "appeal", STATEMENT_MAX)
    appeal = insert_unique(  # two appeals at once: the unique index decides
        Appeal, {"decision_id": decision.id, "appellant_id": appellant.id, "statement": statement,
                 "created_at": now, "status": AppealStatus.OPEN},
        unique=("decision_id",), conflict_message=ALREADY_APPEALED)
    moderation.log("appeal_filed", actor=appellant, now=now, business_id=decision.business_id,
                   target_key=decision.target_key, decision=decision, appeal=appeal, rule=decision.rule)
    return appeal


def require_other_moderator(appeal: Appeal, moderator: User) -> None:
    """A different moderator decides: not the one who decided, not a member of the business, not
    the appellant, not someone who wrote or reported the item."""
    decision = appeal.decision
    moderation.require_moderator_for(moderator, decision.business_id)
    if moderator.id == decision.moderator_id:
        raise NotAllowed("You made the decision under appeal, so a different moderator must decide the appeal.")
    if moderator.id == appeal.appellant_id:
        raise NotAllowed("This is your own appeal, so another moderator must decide it.")
    item = moderated_items.load_key(decision.target_key)
    decisions.require_not_party(moderator, item, decisions.reporter_ids_of(decision))


def decide_appeal(appeal: Appeal, moderator: User, *, overturn: bool, facts: str, now: datetime,
                  outcome: Outcome | str | None = None, rule: Rule | str | None = None) -> Decision | None:
    """Uphold or overturn. Overturning a dismissal needs ``outcome`` (remove or notice) and
    ``rule``, and returns the new, final decision. Refusals write nothing."""
    require_other_moderator(appeal, moderator)
    facts = validation.text(facts, "facts relied on", decisions.FACTS_MAX)
    decision = appeal.decision
    item = moderated_items.load_key(decision.target_key)
    if overturn and decision.outcome is Outcome.DISMISSED:
        # Checked before anything is written, so a wrong choice leaves the appeal open.
        decisions.check_action_on_appeal(item, outcome, rule)
    values = {"moderator_id": moderator.id, "decided_at": now, "facts": facts}
    new: Decision | None = None
    if not overturn:
        moderation.APPEALS.compare_and_set(appeal, moderation.Action.CONFIRM,
                                   status=AppealStatus.UPHELD, **values)
    else:
        moderation.APPEALS.compare_and_set(appeal, moderation.Action.OVERTURN,
                                   status=AppealStatus.OVERTURNED, **values)
        moderation.DECISIONS.compare_and_set(decision, moderation.Action.REVERSE,
                                   status=DecisionStatus.REVERSED, reversed_at=now)
        if decision.outcome is Outcome.REMOVED:
            moderated_items.restore(item, decision, moderator, now=now)
        elif decision.outcome is Outcome.NOTICE:
            pressure_notices.lift(decision, moderator, now=now)
        else:
            new = decisions.decide_on_appeal(item, moderator, appealed=decision, outcome=outcome, rule=rule,
                                             facts=facts, now=now)
    moderation.log("appeal_overturned" if overturn else "appeal_upheld", actor=moderator, now=now,
                   business_id=decision.business_id, target_key=decision.target_key, decision=decision,
                   appeal=appeal, rule=decision.rule)
    _send_statement(appeal, decision, item, now=now)
    return new


def _send_statement(appeal: Appeal, decision: Decision, item, *, now: datetime) -> None:
    """The decision on the appeal, with its reasons, to the appellant; and, when the item's fate
    changed, to the others concerned (the reporters, or whom a restored item belongs to)."""
    base = {**decisions.statement_facts(decision, item), "appeal_id": appeal.id,
            "appeal_outcome": appeal.status.value, "appeal_facts": appeal.facts, "final": True}
    notify("appeal_decision", [appeal.appellant_id], now=now, fact=f"{appeal.id}.appellant",
           extra_facts={**base, "role": "appellant"})
    if appeal.status is not AppealStatus.OVERTURNED:
        return
    others = decisions.reporter_ids_of(decision)
    if decision.outcome is not Outcome.DISMISSED:
        others |= set(moderated_items.affected_ids(item))
    others.discard(appeal.appellant_id)
    notify("appeal_decision", sorted(others), now=now, fact=f"{appeal.id}.concerned",
           extra_facts={**base, "role": "concerned"})


def open_appeals(*, limit: int = 200) -> list[Appeal]:
    return list(db.session.scalars(
        select(Appeal).where(Appeal.status == AppealStatus.OPEN).order_by(Appeal.created_at, Appeal.id).limit(limit)
    ))
