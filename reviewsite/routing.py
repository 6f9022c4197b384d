"""URL converters for every rule of the site: what a path segment may be, before any view runs.

- ``<int:...>``: at most the largest id a column can hold. PostgreSQL's INTEGER ends at
  2**31 - 1; a larger number reached the database and failed there (a 500 for a 30-digit id),
  while SQLite answered 404. Now both answer 404 without a query.
- ``<...>`` and ``<string:...>`` (slugs, tokens): no control characters. A NUL reached
  PostgreSQL, which refuses it in text (a 503 "try again"), and nothing of ours ever contains one.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

# The largest value of the id columns on every database we run on (PostgreSQL's INTEGER).
ID_MAX = 2**31 - 1
# C0 and C1 control characters, DEL included (reviewsite.forms.CONTROL_CHARACTERS in a form).
_NO_CONTROL_CHARACTERS = r"[^/\x00-\x1f\x7f-\x9f]"


class IdConverter(IntegerConverter):
    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=ID_MAX if max is None else max, signed=signed)


class TextConverter(UnicodeConverter):
    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None, length: int | None = None) -> None:
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", _NO_CONTROL_CHARACTERS, 1)


def init_app(app: Flask) -> None:
    """Before any blueprint: a rule takes its converters when it is added."""
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter)
