from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from reviewsite.forms import QueryForm, one_of
from reviewsite.services.listing_details import CATEGORIES


CATEGORY_CHOICES = [SelectChoice("", "Any category"), *[SelectChoice(c) for c in CATEGORIES]]


class SearchForm(QueryForm):
    """A GET form: no CSRF token (it changes nothing) and no secrets in the URL. The search
    reads its fields' values as typed, once the form has accepted them (public/views.py)."""

    q = StringField("Name", validators=[Optional(), Length(max=80)])
    category = SelectField("Category", choices=CATEGORY_CHOICES, validators=[Optional(), one_of(CATEGORY_CHOICES)],
                           validate_choice=False)
    city = StringField("City", validators=[Optional(), Length(max=60)])


SORT_CHOICES = [SelectChoice("newest", "Newest first"), SelectChoice("lowest", "Lowest rating first"),
                SelectChoice("highest", "Highest rating first")]
STAR_FILTER_CHOICES = [SelectChoice("", "All ratings"),
                       *[SelectChoice(str(n), f"{n} star{'' if n == 1 else 's'} only") for n in range(5, 0, -1)]]


class ReviewListForm(QueryForm):
    """How a visitor reads a business's reviews (a GET form: it changes nothing). Every value it
    accepts changes the page, so every one is in the page's cache key (public/views.py)."""

    sort = SelectField("Order", choices=SORT_CHOICES, default="newest", validators=[one_of(SORT_CHOICES)],
                       validate_choice=False)
    stars = SelectField("Rating", choices=STAR_FILTER_CHOICES, default="", validators=[one_of(STAR_FILTER_CHOICES)],
                        validate_choice=False)
    window = BooleanField("Only reviews that went through the make-it-right window", false_values=("", "0"))

    def validate_window(self, field: BooleanField) -> None:
        if field.raw_data and field.raw_data[0] not in ("", "0", "1"):
            raise ValidationError("“Only reviews that went through the window” is either on (1) or off.")

    def terms(self) -> dict[str, object]:
        """What to show, once the form is valid: the values the pager and the cache key repeat."""
        return {"sort": self.sort.data or "newest", "stars": int(self.stars.data) if self.stars.data else None,
                "window": bool(self.window.data)}

    def args(self) -> dict[str, str]:
        """The terms as query arguments, only those that differ from the default page."""
        terms = self.terms()
        args = {}
        if terms["sort"] != "newest":
            args["sort"] = terms["sort"]
        if terms["stars"] is not None:
            args["stars"] = str(terms["stars"])
        if terms["window"]:
            args["window"] = "1"
        return args
