from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from reviewsite.services.reviews import BODY_MAX, MESSAGE_MAX, RESPONSE_MAX, TITLE_MAX

STAR_CHOICES = [SelectChoice(5, "5 stars: excellent"), SelectChoice(4, "4 stars: good"),
                SelectChoice(3, "3 stars: so-so"), SelectChoice(2, "2 stars: poor"), SelectChoice(1, "1 star: bad")]


class ReviewForm(FlaskForm):
    stars = RadioField("Your rating", choices=STAR_CHOICES, coerce=int,
                       validators=[InputRequired(message="Choose from 1 to 5 stars.")])
    title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField("Your review", validators=[DataRequired(), Length(max=BODY_MAX)])


class MessageForm(FlaskForm):
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=MESSAGE_MAX)])


class ResponseForm(FlaskForm):
    body = TextAreaField("Public response", validators=[Optional(), Length(max=RESPONSE_MAX)])


class ExtendForm(FlaskForm):
    hours = SelectField("Give the business more time", coerce=int,
                        choices=[SelectChoice(24, "1 more day"), SelectChoice(48, "2 more days"),
                                 SelectChoice(72, "3 more days"), SelectChoice(168, "7 more days")],
                        validators=[DataRequired()])
