"""A moderator decides about a reported item: dismiss the reports, remove the item, or (for a
business that pressed a reviewer in the thread) put a public notice on its page. The decision is
the statement of reasons (what was decided, the facts relied on, the rule), and it goes to
everyone it affects through the outbox, with how to appeal.

Rules enforced here:
- only a moderator decides, and never about a business they belong to, an item they wrote or a
  report they made (``moderation.require_moderator_for`` and below);
- a decision needs at least one open report and decides them all, once: a second moderator at
  the same moment gets a refusal, not a second decision (compare-and-set on each report);
- nothing reads the rating (invariant 9): the same fault gets the same decision and the same
  public line at 1 star and at 5.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Decision, DecisionStatus, Outcome, Report, ReportStatus, Rule, User
from reviewsite.services import moderated_items, moderation, pressure_notices
from reviewsite.services.errors import Invalid, InvalidTransition, NotAllowed
from reviewsite.services.moderated_items import Item
from reviewsite.services.outbox import notify
from reviewsite.services import validation
from reviewsite.services.rules import NOTICE_RULES, rule_text, rules_for

FACTS_MAX = 2000
NOTICE_REFUSED = ("A public notice is only for a business that pressed a reviewer in a private thread (an offer "
                  "conditioned on the review, a demand, pressure or threats).")


def appeal_window() -> timedelta:
    return timedelta(seconds=current_app.config["APPEAL_WINDOW_SECONDS"])


def open_reports(target_key: str) -> list[Report]:
    return list(db.session.scalars(
        select(Report).where(Report.target_key == target_key, Report.status == ReportStatus.OPEN).order_by(Report.id)
    ))


def check_choice(item: Item, outcome: Outcome | str, rule: Rule | str) -> tuple[Outcome, Rule]:
    """The outcome and rule a moderator picked, if they fit this kind of item."""
    try:
        outcome, rule = Outcome(outcome), Rule(rule)
    except ValueError:
        raise Invalid("Choose a decision and a rule from the lists.") from None
    if rule_text(rule) not in rules_for(item.kind):
        raise Invalid("That rule is for messages in a private thread; choose another.")
    if outcome is Outcome.NOTICE and not (outcome in moderated_items.outcomes_for(item) and rule in NOTICE_RULES):
        raise Invalid(NOTICE_REFUSED)
    return outcome, rule


def check_action_on_appeal(item: Item, outcome: Outcome | str | None, rule: Rule | str | None) -> tuple[Outcome, Rule]:
    """Overturning a dismissal acts on the item: remove it, or a notice."""
    outcome, rule = check_choice(item, outcome or "", rule or "")
    if outcome is Outcome.DISMISSED:
        raise Invalid("Overturning a dismissal means removing the item or issuing a notice; choose which.")
    return outcome, rule


def require_not_party(moderator: User, item: Item, reporter_ids: set[int]) -> None:
    if moderator.id == item.author_id:
        raise NotAllowed("You wrote this, so another moderator must decide.")
    if moderator.id in reporter_ids:
        raise NotAllowed("You reported this yourself, so another moderator must decide.")


def decide(item: Item, moderator: User, *, outcome: Outcome | str, rule: Rule | str, facts: str,
           now: datetime) -> Decision:
    """Decide every open report about ``item`` at once. Refusals write nothing."""
    moderation.require_moderator_for(moderator, item.business)
    outcome, rule = check_choice(item, outcome, rule)
    facts = validation.text(facts, "facts relied on", FACTS_MAX)
    reports = open_reports(item.key)
    if not reports:
        raise InvalidTransition("There is no open report about this any more: it has already been decided.")
    reporter_ids = {report.reporter_id for report in reports if report.reporter_id is not None}
    require_not_party(moderator, item, reporter_ids)

    decision = _record(item, moderator, outcome=outcome, rule=rule, facts=facts, now=now,
                       appeal_until=now + appeal_window())
    action = moderation.Action.DISMISS if outcome is Outcome.DISMISSED else moderation.Action.UPHOLD
    status = ReportStatus.DISMISSED if outcome is Outcome.DISMISSED else ReportStatus.UPHELD
    for report in reports:
        # Claims each report: a moderator who decided it a moment ago makes this one fail whole.
        moderation.REPORTS.compare_and_set(report, action, status=status, decided_at=now,
                                   decision_id=decision.id)
    _apply(item, decision, moderator, now=now)
    send_statement(decision, item, reporter_ids=reporter_ids, now=now)
    return decision


def decide_on_appeal(item: Item, moderator: User, *, appealed: Decision, outcome: Outcome | str,
                     rule: Rule | str, facts: str, now: datetime) -> Decision:
    """An appeal overturned a dismissal: the item is acted on now, finally (no further appeal).
    The appeal's own statement tells the reporters; this one tells whom the action affects."""
    outcome, rule = check_action_on_appeal(item, outcome, rule)
    decision = _record(item, moderator, outcome=outcome, rule=rule, facts=facts, now=now, appeal_until=None,
                       appeal_of_id=appealed.id)
    _apply(item, decision, moderator, now=now)
    send_statement(decision, item, reporter_ids=set(), now=now)
    return decision


def _record(item: Item, moderator: User, *, outcome: Outcome, rule: Rule, facts: str, now: datetime,
            appeal_until: datetime | None, appeal_of_id: int | None = None) -> Decision:
    decision = Decision(**item.columns, outcome=outcome, rule=rule, facts=facts, moderator_id=moderator.id,
                        decided_at=now, appeal_until=appeal_until, status=DecisionStatus.IN_FORCE,
                        appeal_of_id=appeal_of_id)
    db.session.add(decision)
    db.session.flush()
    moderation.log(f"decided_{outcome.value}", actor=moderator, now=now, business_id=item.business.id,
                   target_key=item.key, decision=decision, rule=rule, on_appeal=appeal_of_id is not None)
    return decision


def _apply(item: Item, decision: Decision, moderator: User, *, now: datetime) -> None:
    if decision.outcome is Outcome.REMOVED:
        moderated_items.remove(item, decision, moderator, now=now)
    elif decision.outcome is Outcome.NOTICE:
        pressure_notices.issue(decision, moderator, now=now)


def statement_facts(decision: Decision, item: Item) -> dict[str, object]:
    """What a statement of reasons says, kept as it was when written."""
    text = rule_text(decision.rule)
    facts: dict[str, object] = {
        "decision_id": decision.id,
        "kind": decision.kind.value,
        "item": item.label,
        "business": item.business.name,
        "outcome": decision.outcome.value,
        "rule": decision.rule.value,
        "rule_number": text.number,
        "rule_title": text.title,
        "rule_anchor": text.anchor,
        "facts": decision.facts,
        "decided_at": decision.decided_at.isoformat(),
        "appeal_until": decision.appeal_until.isoformat() if decision.appeal_until else None,
        "final": decision.appeal_until is None,
    }
    if decision.outcome is Outcome.NOTICE:
        notice = pressure_notices.for_decision(decision)
        facts["notice_until"] = notice.ends_at.isoformat() if notice is not None else None
    return facts


def send_statement(decision: Decision, item: Item, *, reporter_ids: set[int], now: datetime) -> None:
    """A statement of reasons to each person the decision affects (who may appeal it), and a
    note of the outcome to the reporters. Mandatory: the kind has no preference topic."""
    base = statement_facts(decision, item)
    appealable = decision.appeal_until is not None
    if decision.outcome is Outcome.DISMISSED:
        # Nothing happened to the item; the reporters are the ones a dismissal affects.
        notify("moderation_decision", sorted(reporter_ids), now=now, fact=f"{decision.id}.reporter",
               extra_facts={**base, "role": "reporter", "may_appeal": appealable})
        return
    notify("moderation_decision", moderated_items.affected_ids(item), now=now, fact=f"{decision.id}.affected",
           extra_facts={**base, "role": "affected", "may_appeal": appealable})
    notify("moderation_decision", sorted(reporter_ids), now=now, fact=f"{decision.id}.reporter",
           extra_facts={**base, "role": "reporter", "may_appeal": False})


def reporter_ids_of(decision: Decision) -> set[int]:
    return {report.reporter_id for report in decision.reports if report.reporter_id is not None}


def may_see(user: User | None, decision: Decision) -> bool:
    """A statement of reasons is private to the people it concerns and to moderators."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_moderator:
        return True
    root = decision.appeal_of or decision
    item = moderated_items.load_key(decision.target_key)
    concerned = reporter_ids_of(root) | set(moderated_items.affected_ids(item) if item else ())
    return user.id in concerned


def decisions_for_business(business_id: int, *, exclude_key: str | None = None, limit: int = 20) -> list[Decision]:
    query = select(Decision).where(Decision.business_id == business_id)
    if exclude_key:
        query = query.where(Decision.target_key != exclude_key)
    return list(db.session.scalars(query.order_by(Decision.decided_at.desc(), Decision.id.desc()).limit(limit)))


def decisions_about_author(author_id: int, *, exclude_key: str | None = None, limit: int = 20) -> list[Decision]:
    query = select(Decision).where(Decision.author_id == author_id)
    if exclude_key:
        query = query.where(Decision.target_key != exclude_key)
    return list(db.session.scalars(query.order_by(Decision.decided_at.desc(), Decision.id.desc()).limit(limit)))


def decisions_of_item(target_key: str) -> list[Decision]:
    return list(db.session.scalars(
        select(Decision).where(Decision.target_key == target_key).order_by(Decision.decided_at, Decision.id)
    ))


def made_on_appeal_of(decision: Decision) -> Decision | None:
    """The final decision an overturned dismissal led to, if any."""
    return db.session.scalar(select(Decision).where(Decision.appeal_of_id == decision.id))
