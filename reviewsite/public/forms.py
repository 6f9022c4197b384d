from __future__ import annotations

from wtforms import Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from reviewsite.services.listing_details import CATEGORIES


class SearchForm(Form):
    """A GET form: no CSRF token (it changes nothing) and no secrets in the URL."""

    q = StringField("Name", validators=[Optional(), Length(max=80)])
    category = SelectField("Category", choices=[SelectChoice("", "Any category"), *[SelectChoice(c) for c in CATEGORIES]],
                           validators=[Optional()], validate_choice=True)
    city = StringField("City", validators=[Optional(), Length(max=60)])

    def terms(self) -> dict[str, str]:
        """What to search for, once the form is valid."""
        return {"q": self.q.data or "", "category": self.category.data or "", "city": self.city.data or ""}
