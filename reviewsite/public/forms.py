from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from reviewsite.forms import QueryForm
from reviewsite.services.businesses import CATEGORIES


class SearchForm(QueryForm):
    """A GET form: no CSRF token (it changes nothing) and no secrets in the URL."""

    q = StringField("Name", validators=[Optional(), Length(max=80)])
    category = SelectField("Category", choices=[SelectChoice("", "Any category"), *[SelectChoice(c) for c in CATEGORIES]],
                           validators=[Optional()], validate_choice=True)
    city = StringField("City", validators=[Optional(), Length(max=60)])


FIELDS = ("q", "category", "city")


@lru_cache(maxsize=1024)
def search_terms(q: str, category: str, city: str) -> Mapping[str, str] | None:
    """The search terms for what was typed, or None if the form would show errors. Validation
    is a pure function of the three strings and runs on every search, most of them repeats, so
    its outcome is remembered (a fifth of a cached search page's CPU)."""
    form = SearchForm(MultiDict({"q": q, "category": category, "city": city}))
    if not form.validate():
        return None
    return MappingProxyType({name: getattr(form, name).data or "" for name in FIELDS})  # shared: read-only
