"""The one pager of the site. It fetches one row more than a page to know whether a next page
exists, so a list needs no COUNT; where the caller knows the total anyway (a business's kept
rating count), it says so and the pager shows "page 2 of 5"."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PER_PAGE = 20
# No page beyond this is ever asked of the database, so a crafted ?page= cannot overflow OFFSET.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Window:
    items: list[Any]
    page: int
    per_page: int
    has_next: bool
    known_total: int | None = None

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
        """As the caller knew it, else exact on the last page; None while there are more."""
        if self.known_total is not None:
            return self.known_total
        return None if self.has_next else self.last if self.items else (self.page - 1) * self.per_page

    @property
    def pages(self) -> int | None:
        return math.ceil(self.total / self.per_page) if self.total is not None else None


def fetch(rows: Callable[[int, int], list[Any]], *, page: int, per_page: int = PER_PAGE,
          total: int | None = None) -> Window | None:
    """The page ``page`` (1-based) from ``rows(limit, offset)``, or None for a page that cannot
    exist (below 1, beyond MAX_PAGE, or past the last row while not the first page)."""
    if not 1 <= page <= MAX_PAGE:
        return None
    found = rows(per_page + 1, (page - 1) * per_page)
    if page > 1 and not found:
        return None
    return Window(items=found[:per_page], page=page, per_page=per_page, has_next=len(found) > per_page,
                  known_total=total)
