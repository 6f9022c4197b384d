"""Writing one row with one statement and keeping it as a persistent object: a row whose
uniqueness only the database can guarantee, or a row written on every request of its kind (an
audit event), where the ORM's unit of work would cost more than the statement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Insert, insert, inspect
from sqlalchemy.orm import make_transient_to_detached

from reviewsite.database import built_once_per_database, insert_skipping_duplicates
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
    returned = db.session.execute(_unique_insert(entity, tuple(unique), where), dict(values)).first()
    if returned is None:
        raise Conflict(conflict_message)
    return _as_loaded(entity, values, returned)


def insert_row(entity: type[T], values: Mapping[str, Any]) -> T:
    """Insert one row of ``entity`` and return it as a persistent object, as
    :func:`insert_unique` does, for a row nothing stops from being written (``values`` as there)."""
    return _as_loaded(entity, values, db.session.execute(_insert(entity), dict(values)).one())


def _as_loaded(entity: type[T], values: Mapping[str, Any], key: Sequence[Any]) -> T:
    """As if loaded: in the session, nothing pending, the attributes not written expired."""
    row = entity(**values, **dict(zip(_key_names(entity), key, strict=True)))
    make_transient_to_detached(row)
    db.session.add(row)
    return row


# Built once per entity, values as parameters: a submission runs both (docs/architecture.md, "One implementation per operation").

@built_once_per_database
def _unique_insert(entity: type, unique: tuple[str, ...], where: str | None) -> Insert:
    return insert_skipping_duplicates(inspect(entity).local_table, *unique, where=where).returning(
        *inspect(entity).primary_key)


@cache
def _insert(entity: type) -> Insert:
    return insert(inspect(entity).local_table).returning(*inspect(entity).primary_key)


@cache
def _key_names(entity: type) -> tuple[str, ...]:
    mapper = inspect(entity)
    return tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)
