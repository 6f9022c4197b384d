"""Transition tables for the rows that say who the business is (claims, invitations), in the
pattern of ``services/lifecycle.py``: each action lists the states it may start from, and the
write is a compare-and-set (``UPDATE ... WHERE status IN allowed``), so a second click, a reused
link or a race with another request changes nothing and raises instead of reporting a success
that did not happen (invariant 7)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from reviewsite.extensions import db
from reviewsite.services.errors import InvalidTransition


@dataclass(frozen=True)
class Transitions:
    model: type[Any]
    allowed_from: Mapping[str, frozenset[enum.StrEnum]]
    # What to tell the person, per state the row is found in (for any refused action).
    refusals: Mapping[enum.StrEnum, str]

    def refuse(self, row: Any) -> InvalidTransition:
        return InvalidTransition(self.refusals.get(row.status, "This can no longer be done."))

    def require(self, row: Any, action: str) -> None:
        if row.status not in self.allowed_from[action]:
            raise self.refuse(row)

    def compare_and_set(self, row: Any, action: str, *conditions: Any, **values: Any) -> None:
        """Write ``values`` only if the row is still in an allowed state and ``conditions`` hold;
        zero rows changed is an error (the row is read again, so the message fits its state)."""
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
            raise self.refuse(row)
