"""Statements of reasons (``moderation_decision``, ``appeal_decision``): the links their emails
need, from the facts written with them (``services.decisions.statement_facts``). Their words are
in ``services/notification_kinds.py``; both kinds are mandatory mail, with no preference topic."""

from __future__ import annotations

from typing import Any

from reviewsite.notifications.links import external_url


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
