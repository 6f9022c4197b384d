from __future__ import annotations

from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from reviewsite.forms import Form
from reviewsite.models import HoldChoice
from reviewsite.services.resolution import NOTE_MAX
from reviewsite.services.reviews import BODY_MAX, RESPONSE_MAX, TITLE_MAX
from reviewsite.services.thread import MESSAGE_MAX
from reviewsite.services.window import CHOICE_MISSING, WindowPolicy

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


def one_line_break(value: str | None) -> str | None:
    """Browsers send a line break in a text box as CR LF; it is one character to the writer and
    to the counter on the page (static/counter.js), so it is one here too."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def at_most(limit: int, what: str):
    """The limit said plainly, with the count, never a silent cut (the field has no maxlength)."""

    def check(form: Form, field) -> None:
        used = len((field.data or "").strip())
        if used > limit:
            raise ValidationError(f"{what} can be at most {limit:,} characters; this one has {used:,}. "
                                  f"Shorten it by {used - limit:,} and send it again.")

    return check


class ReviewForm(Form):
    stars = StarsField("Your rating", choices=STAR_CHOICES, coerce=int,
                       validators=[InputRequired(message=STARS_MESSAGE)])
    title = StringField("Title", validators=[DataRequired(), at_most(TITLE_MAX, "The title")])
    body = TextAreaField("Your review", filters=[one_line_break],
                         validators=[DataRequired(), at_most(BODY_MAX, "Your review")])


class NewReviewForm(ReviewForm):
    """In reviewer-choice mode the reviewer chooses when it is published; nothing is chosen in
    advance (the field is removed in low-stars mode, where the stars decide)."""

    choice = RadioField("When should your review be published?", choices=[],
                        validators=[InputRequired(message=CHOICE_MISSING)])

    @classmethod
    def for_policy(cls, policy: WindowPolicy, business_name: str) -> NewReviewForm:
        form = cls()
        if policy.reviewer_chooses:
            form.choice.choices = [
                SelectChoice(HoldChoice.PUBLISH_NOW.value, "Publish it now"),
                SelectChoice(HoldChoice.WINDOW.value,
                             f"Give {business_name} {_days(policy.window)} to make it right first, then publish it"),
            ]
        else:
            del form.choice
        return form


def _days(window) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day{'' if seconds == 86400 else 's'}"
    hours = max(seconds // 3600, 1)
    return f"{hours} hour{'' if hours == 1 else 's'}"


class ResolveForm(Form):
    note = TextAreaField("A note for readers (optional)", filters=[one_line_break],
                         validators=[Optional(), at_most(NOTE_MAX, "The note")])


class ConfirmForm(Form):
    """The second step of something that cannot be undone (withdraw, publish now)."""

    confirm = HiddenField(validators=[DataRequired()])


class MessageForm(Form):
    body = TextAreaField("Message", filters=[one_line_break], validators=[DataRequired(), at_most(MESSAGE_MAX, "A message")])
    # Set by the "Send anyway" button shown after a warning about condition language.
    send_anyway = BooleanField(default=False)


class ResponseForm(Form):
    body = TextAreaField("Public response", filters=[one_line_break],
                         validators=[Optional(), at_most(RESPONSE_MAX, "The response")])


class ExtendForm(Form):
    hours = SelectField("Give the business more time", coerce=int,
                        choices=[SelectChoice(24, "1 more day"), SelectChoice(48, "2 more days"),
                                 SelectChoice(72, "3 more days"), SelectChoice(168, "7 more days")],
                        validators=[DataRequired()])


REMEDY_LABELS = {"refund": "Refund", "redo": "Redo the work", "credit": "Credit", "apology": "Apology"}


class OfferForm(Form):
    remedy = SelectField("What you offer", choices=[SelectChoice(k, v) for k, v in REMEDY_LABELS.items()],
                         validators=[DataRequired()])
    note = TextAreaField("Details", filters=[one_line_break], validators=[DataRequired(), at_most(MESSAGE_MAX, "The details")])
    send_anyway = BooleanField(default=False)
