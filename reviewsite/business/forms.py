from __future__ import annotations

from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from reviewsite.forms import Form
from reviewsite.services.businesses import CATEGORIES


class BusinessForm(Form):
    name = StringField("Business name", validators=[DataRequired(), Length(max=80)])
    category = SelectField("Category", choices=[SelectChoice(c) for c in CATEGORIES], validators=[DataRequired()])
    city = StringField("City", validators=[DataRequired(), Length(max=60)])
    address = StringField("Address", validators=[DataRequired(), Length(max=160)])
    description = TextAreaField("Short description", validators=[Optional(), Length(max=1000)])
