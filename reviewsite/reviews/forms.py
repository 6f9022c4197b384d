from __future__ import annotations

from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from reviewsite.forms import Form
from reviewsite.services.reviews import BODY_MAX, RESPONSE_MAX, TITLE_MAX
from reviewsite.services.thread import MESSAGE_MAX

STAR_CHOICES = [SelectChoice(5, "5 stars: excellent"), SelectChoice(4, "4 stars: good"),
                SelectChoice(3, "3 stars: so-so"), SelectChoice(2, "2 stars: poor"), SelectChoice(1, "1 star: bad")]


STARS_MESSAGE = "Choose from 1 to 5 stars."


class StarsField(RadioField):
    """A 1-5 radio group that answers every kind of wrong value with one clear sentence."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(STARS_MESSAGE) from exc

    def pre_validate(self, form: Form) -> None:
        if self.data not in {choice.value for choice in STAR_CHOICES}:
            raise ValidationError(STARS_MESSAGE)


class ReviewForm(Form):
    stars = StarsField("Your rating", choices=STAR_CHOICES, coerce=int,
                       validators=[InputRequired(message=STARS_MESSAGE)])
    title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField("Your review", validators=[DataRequired(), Length(max=BODY_MAX)])


class MessageForm(Form):
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=MESSAGE_MAX)])


class ResponseForm(Form):
    body = TextAreaField("Public response", validators=[Optional(), Length(max=RESPONSE_MAX)])


class ExtendForm(Form):
    hours = SelectField("Give the business more time", coerce=int,
                        choices=[SelectChoice(24, "1 more day"), SelectChoice(48, "2 more days"),
                                 SelectChoice(72, "3 more days"), SelectChoice(168, "7 more days")],
                        validators=[DataRequired()])


REMEDY_LABELS = {"refund": "Refund", "redo": "Redo the work", "credit": "Credit", "apology": "Apology"}


class OfferForm(Form):
    remedy = SelectField("What you offer", choices=[SelectChoice(k, v) for k, v in REMEDY_LABELS.items()],
                         validators=[DataRequired()])
    note = TextAreaField("Details", validators=[DataRequired(), Length(max=MESSAGE_MAX)])
