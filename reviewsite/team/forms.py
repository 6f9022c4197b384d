from __future__ import annotations

from reviewsite.forms import Form
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from reviewsite.services import listing_details as details

ROLE_CHOICES = [SelectChoice("staff", "Staff"), SelectChoice("owner", "Owner")]


class InviteForm(Form):
    email = EmailField("Their email address", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])


class RoleForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])


class ListingForm(Form):
    name = StringField("Business name", validators=[DataRequired(), Length(max=details.NAME_MAX)])
    category = SelectField("Category", choices=[SelectChoice(c) for c in details.CATEGORIES],
                           validators=[DataRequired()])
    city = StringField("City", validators=[DataRequired(), Length(max=details.CITY_MAX)])
    address = StringField("Address", validators=[DataRequired(), Length(max=details.ADDRESS_MAX)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=details.DESCRIPTION_MAX)])
    website = StringField("Website", validators=[Optional(), Length(max=details.WEBSITE_MAX)])
    contact_email = EmailField("Public contact email", validators=[Optional(), Email(), Length(max=details.EMAIL_MAX)])
    hours = TextAreaField("Opening hours", validators=[Optional(), Length(max=details.HOURS_MAX)])
