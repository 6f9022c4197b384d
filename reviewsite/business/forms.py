from __future__ import annotations

from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from reviewsite.forms import Form
from reviewsite.services.listing_details import CATEGORIES


class BusinessForm(Form):
    name = StringField("Business name", validators=[DataRequired(), Length(max=80)])
    category = SelectField("Category", choices=[SelectChoice(c) for c in CATEGORIES], validators=[DataRequired()])
    city = StringField("City", validators=[DataRequired(), Length(max=60)])
    address = StringField("Address", validators=[DataRequired(), Length(max=160)])
    website = StringField("Website", validators=[Optional(), Length(max=200)])
    contact_email = EmailField("Public contact email", validators=[Optional(), Email(), Length(max=254)])
    description = TextAreaField("Short description", validators=[Optional(), Length(max=1000)])
    # Set by the "none of these" button once likely duplicates have been shown.
    despite_duplicates = BooleanField("None of these: list it anyway")
