"""The base of every form: no text field accepts control characters.

Why: nobody types a NUL, an escape or a backspace into a name or a review on purpose, and they
did harm: PostgreSQL refuses a NUL in text (the request answered 503 "try again", on the search
box too), SQLite stored it and pages showed it, and other control characters can garble what a
terminal or a mail client shows. A text area keeps line breaks and tabs; a one-line field keeps
neither. Bidirectional overrides (U+202E and friends) are ordinary characters in some scripts:
they are kept, and shown isolated (``dir="auto"`` and ``<bdi>`` in the templates).
"""

from __future__ import annotations

import re
from typing import Any

import wtforms
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, StopValidation

# C0 and C1 controls and DEL; a text area may hold tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MESSAGE = "Remove the invisible control characters from this field."


def refuse_control_characters(form: wtforms.Form, field: Field) -> None:
    pattern = CONTROL_CHARACTERS_IN_TEXT if isinstance(field, TextAreaField) else CONTROL_CHARACTERS
    if isinstance(field.data, str) and pattern.search(field.data):
        field.data = pattern.sub("", field.data)  # shown again without them
        raise StopValidation(MESSAGE)


class RefuseControlCharacters:
    """A WTForms ``Meta`` mixin: the check runs first on every text field of the form."""

    def bind_field(self, form: wtforms.Form, unbound_field: Any, options: dict[str, Any]) -> Field:
        field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
        if isinstance(field, StringField):
            field.validators = [refuse_control_characters, *field.validators]
        return field


def one_of(choices: list[SelectChoice]) -> AnyOf:
    """The check that a select's value is one of its ``choices``, with WTForms' own message, for
    a ``SelectField(validate_choice=False)``. WTForms' check builds every option again (as it
    would to render them) on each validation; a set of the values is the same rule, for the
    forms read on every request (the search box's)."""
    return AnyOf(frozenset(choice.value for choice in choices), message="Not a valid choice.")


class Form(FlaskForm):
    """Every POST form (CSRF-protected)."""

    class Meta(RefuseControlCharacters):
        pass


class QueryForm(wtforms.Form):
    """A GET form (no CSRF token: it changes nothing)."""

    class Meta(RefuseControlCharacters):
        pass
