from __future__ import annotations

from reviewsite.forms import Form
from wtforms import EmailField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from reviewsite.models import ClaimMethod
from reviewsite.services.claims import REASON_MAX, STATEMENT_MAX, Options


class ClaimForm(Form):
    method = RadioField("How will you prove that you run it?",
                        validators=[InputRequired(message="Choose how you will prove that you run the business.")])
    email = EmailField("Your address at the business's domain", validators=[Optional(), Length(max=254)])
    statement = TextAreaField("What should the moderators know?", validators=[Optional(), Length(max=STATEMENT_MAX)])

    @classmethod
    def for_options(cls, options: Options, **kwargs: object) -> ClaimForm:
        """Only the ways this listing allows are offered (the service checks them again)."""
        form = cls(**kwargs)
        choices = []
        if options.website_domain:
            choices.append(SelectChoice(ClaimMethod.WEBSITE_EMAIL.value,
                                        f"Send a link to my address at {options.website_domain}"))
        if options.contact_email:
            choices.append(SelectChoice(ClaimMethod.CONTACT_EMAIL.value,
                                        f"Send a link to the listing's contact address, {options.contact_email}"))
        choices.append(SelectChoice(ClaimMethod.MODERATOR.value, "Ask a moderator to check my claim"))
        form.method.choices = choices
        if form.method.data is None and len(choices) == 1:
            form.method.data = choices[0].value
        return form


class DecisionForm(Form):
    decision = RadioField("Decision", choices=[SelectChoice("approve", "Approve: the claimant becomes an owner"),
                                              SelectChoice("reject", "Reject")],
                          validators=[InputRequired(message="Choose approve or reject.")])
    reason = TextAreaField("Statement of reasons (the claimant reads it)",
                           validators=[Optional(), Length(max=REASON_MAX)])
