"""A pager that never counts: it fetches one row more than a page to know whether a next page
exists. The total is known only on the last page (then it is exact)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from reviewsite.extensions import db

# OFFSET stays far inside a bigint whatever ?page= says.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Window:
    items: list[Any]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first(self) -> int:
        """1-based position of the first item shown."""
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1

    @property
    def total(self) -> int | None:
        """Exact on the last page; None while there are more."""
        return None if self.has_next else self.last if self.items else (self.page - 1) * self.per_page


def fetch(query: Select[Any], *, page: int, per_page: int) -> Window | None:
    """The page ``page`` (1-based) of ``query``'s ORM rows, or None for a page that cannot exist
    (below 1, beyond MAX_PAGE, or past the last row while not the first page)."""
    if not 1 <= page <= MAX_PAGE:
        return None
    rows = list(db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)))
    if page > 1 and not rows:
        return None
    return Window(items=rows[:per_page], page=page, per_page=per_page, has_next=len(rows) > per_page)
