"""A pager that never counts: it fetches one row more than a page to know whether a next page
exists. The total is known only on the last page (then it is exact)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def fetch(rows: Callable[[int, int], list[Any]], *, page: int, per_page: int) -> Window | None:
    """The page ``page`` (1-based) from ``rows(limit, offset)``, or None for a page that cannot
    exist (below 1, beyond MAX_PAGE, or past the last row while not the first page)."""
    if not 1 <= page <= MAX_PAGE:
        return None
    found = rows(per_page + 1, (page - 1) * per_page)
    if page > 1 and not found:
        return None
    return Window(items=found[:per_page], page=page, per_page=per_page, has_next=len(found) > per_page)
