"""Transition tables: the one way every state change checks where a row may go from.

Each table names the model whose ``status`` it governs and, for each action, the states it may
start from. A change first asks :meth:`Transitions.require`, then writes with
:meth:`Transitions.compare_and_set` (``UPDATE ... WHERE id = ? AND status IN allowed``): the
database row decides, not the object in memory, so a second click, a duplicated task, a reused
link or a race with another request changes nothing and raises :class:`InvalidTransition`
instead of reporting a success that did not happen (invariant 7). Reviews
(``lifecycle.py``), reports, decisions, appeals and notices (``moderation.py``), claims and
invitations (``claims.py``, ``team.py``) each have one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from reviewsite.extensions import db
from reviewsite.services.errors import InvalidTransition


@dataclass(frozen=True)
class Transitions:
    model: type[Any]
    allowed_from: Mapping[str, frozenset[enum.StrEnum]]
    # What a refused action answers: per action, or else per state the row is found in.
    by_action: Mapping[str, str] = field(default_factory=dict)
    by_state: Mapping[enum.StrEnum, str] = field(default_factory=dict)

    def refusal(self, row: Any, action: str) -> InvalidTransition:
        message = self.by_action.get(action) or self.by_state.get(row.status) or "This can no longer be done."
        return InvalidTransition(message)

    def require(self, row: Any, action: str) -> None:
        if row.status not in self.allowed_from[action]:
            raise self.refusal(row, action)

    def compare_and_set(self, row: Any, action: str, *conditions: Any, **values: Any) -> None:
        """Write ``values`` only if the row is still in a state ``action`` may start from and
        ``conditions`` hold; zero rows changed is an error. The object is read again afterwards
        (and before the message of a refusal, so that it fits the state the row is in now)."""
        self.require(row, action)
        model = self.model
        result = db.session.execute(
            update(model)
            .where(model.id == row.id, model.status.in_(self.allowed_from[action]), *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(row)
        if result.rowcount != 1:
            raise self.refusal(row, action)
