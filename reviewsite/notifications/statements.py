"""Statements of reasons (``moderation_decision``, ``appeal_decision``): the words and links a
notification of a moderation decision needs, from the facts written with it
(``services.decisions.statement_facts``). Both kinds are mandatory mail: no preference topic."""

from __future__ import annotations

from typing import Any

from reviewsite.notifications.links import external_url

KINDS = ("moderation_decision", "appeal_decision")

OUTCOME_PHRASES = {
    "dismissed": "left as it is",
    "removed": "removed",
    "notice": "a public notice on the business page",
}
APPEAL_PHRASES = {"upheld": "the decision stands", "overturned": "the decision was overturned"}


def fields(facts: dict[str, Any]) -> dict[str, object]:
    """For the subject and the one-line summary (``catalogue``)."""
    return {
        "item": facts.get("item", ""),
        "outcome_phrase": OUTCOME_PHRASES.get(facts.get("outcome", ""), ""),
        "appeal_phrase": APPEAL_PHRASES.get(facts.get("appeal_outcome", ""), ""),
    }


def links(facts: dict[str, Any]) -> dict[str, str]:
    """For the email: the decision's page (the action), the appeal form and the rule."""
    decision_id = facts.get("decision_id")
    if decision_id is None:
        return {}
    return {
        "action_url": external_url("moderation.decision", decision_id=decision_id),
        "appeal_url": external_url("moderation.appeal", decision_id=decision_id),
        "rule_url": external_url("moderation.rules") + "#" + str(facts.get("rule_anchor", "")),
    }
