"""Writing rows whose uniqueness only the database can guarantee."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Insert, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from reviewsite.extensions import db
from reviewsite.services.errors import Conflict

T = TypeVar("T")


def add_unique(row: object, conflict_message: str) -> None:
    """Insert ``row``; a unique-constraint violation (two tabs, a double click, a race the
    earlier check could not see) becomes a Conflict. The savepoint keeps the rest of the
    transaction usable."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict_message) from exc


def insert_unique(entity: type[T], values: Mapping[str, Any], *, unique: Sequence[str], conflict_message: str) -> T:
    """Insert one row of ``entity`` unless a row with the same ``unique`` columns exists, and
    return it as a persistent object: ``INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING``.

    One round trip instead of add_unique's three (SAVEPOINT, INSERT, RELEASE), and the
    transaction never sees an error: an existing row (two tabs, a double click, a race an
    earlier check could not see) writes nothing and becomes a Conflict. Other constraint
    violations are not swallowed; they still abort the transaction.

    A prepared Core statement and no unit-of-work flush: the row goes in as ``values`` plus the
    table's defaults, the object holds ``values`` and the primary key the database returned, and
    any other column is loaded if it is ever read (it is expired, as after a commit). The keys
    of ``values`` are column names, which must also be the entity's attribute names."""
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # no ON CONFLICT: the savepoint way
        row = entity(**values)
        add_unique(row, conflict_message)
        return row
    statement, key_attributes = _insert_statement(entity, dialect, tuple(unique))
    returned = session.execute(statement, dict(values)).first()
    if returned is None:
        raise Conflict(conflict_message)
    return as_persistent(entity, values, **dict(zip(key_attributes, returned, strict=True)))


def as_persistent(entity: type[T], values: Mapping[str, Any], **primary_key: Any) -> T:
    """The object for a row just written by a Core statement, in the session as if loaded: no
    pending changes, attributes not in ``values`` expired (read from the row if ever used)."""
    row = entity(**values, **primary_key)
    make_transient_to_detached(row)
    db.session.add(row)
    return row


_STATEMENTS: dict[tuple[type, str, tuple[str, ...]], tuple[Insert, tuple[str, ...]]] = {}


def _insert_statement(entity: type, dialect: str, unique: tuple[str, ...]) -> tuple[Insert, tuple[str, ...]]:
    """Built once per entity and dialect: building an INSERT costs more than running it."""
    key = (entity, dialect, unique)
    if key not in _STATEMENTS:
        mapper = inspect(entity)
        table = mapper.local_table
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        primary_key = tuple(mapper.primary_key)
        statement = insert(table).on_conflict_do_nothing(index_elements=list(unique)).returning(*primary_key)
        attributes = tuple(mapper.get_property_by_column(column).key for column in primary_key)
        _STATEMENTS[key] = (statement, attributes)
    return _STATEMENTS[key]
