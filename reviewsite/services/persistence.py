"""Writing a row whose uniqueness only the database can guarantee."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from reviewsite.database import insert_skipping_duplicates
from reviewsite.extensions import db
from reviewsite.services.errors import Conflict

T = TypeVar("T")


def insert_unique(entity: type[T], values: Mapping[str, Any], *, unique: Sequence[str], conflict_message: str,
                  where: str | None = None) -> T:
    """Insert one row of ``entity`` unless a row with the same ``unique`` columns exists, and
    return it as a persistent object.

    A second row (two tabs, a double click, a race that an earlier check could not see) writes
    nothing and becomes a :class:`Conflict` with ``conflict_message``; the transaction goes on
    unharmed, with no savepoint. Other constraint violations still fail. The keys of ``values``
    are column names, which must also be the entity's attribute names; columns not given take
    their table defaults and are loaded from the row if they are ever read. ``where`` is the
    condition of a partial unique index, when the uniqueness holds only for some rows."""
    mapper = inspect(entity)
    table = mapper.local_table
    primary_key = tuple(mapper.primary_key)
    statement = insert_skipping_duplicates(table, *unique, where=where).returning(*primary_key)
    returned = db.session.execute(statement, dict(values)).first()
    if returned is None:
        raise Conflict(conflict_message)
    keys = (mapper.get_property_by_column(column).key for column in primary_key)
    row = entity(**values, **dict(zip(keys, returned, strict=True)))
    # As if loaded: in the session, nothing pending, the other attributes expired.
    make_transient_to_detached(row)
    db.session.add(row)
    return row
