from __future__ import annotations

from reviewsite.forms import Form
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from reviewsite.models import ItemKind, Outcome
from reviewsite.services.appeals import STATEMENT_MAX
from reviewsite.services.decisions import FACTS_MAX
from reviewsite.services.reports import NOTE_MAX
from reviewsite.services.rules import RuleText, rules_for


class ChoiceRadio(RadioField):
    """A radio group that answers a missing or foreign value with one clear sentence."""

    def __init__(self, *args, message: str, **kwargs) -> None:
        super().__init__(*args, validators=[InputRequired(message=message)], **kwargs)
        self.message = message

    def pre_validate(self, form: Form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(self.message)


def _rule_choices(kind: ItemKind) -> list[SelectChoice]:
    return [SelectChoice(text.rule.value, text.title) for text in rules_for(kind)]


class ReportForm(Form):
    reason = ChoiceRadio("What is wrong with it?", message="Choose a reason from the list.")
    note = TextAreaField("Anything the moderators should know (optional)", validators=[Optional(), Length(max=NOTE_MAX)])

    def for_kind(self, kind: ItemKind) -> ReportForm:
        self.reason.choices = _rule_choices(kind)
        return self

    def descriptions(self, kind: ItemKind) -> dict[str, RuleText]:
        return {text.rule.value: text for text in rules_for(kind)}


OUTCOME_LABELS = {
    Outcome.DISMISSED: "Dismiss: no rule is broken; it stays as it is",
    Outcome.REMOVED: "Remove it",
    Outcome.NOTICE: "Public notice on the business page (pressure on a reviewer)",
}


class DecisionForm(Form):
    outcome = ChoiceRadio("Decision", message="Choose a decision.")
    rule = SelectField("The rule", validators=[DataRequired(message="Choose the rule.")])
    facts = TextAreaField("The facts you relied on (sent to the people concerned)",
                          validators=[DataRequired(message="Write the facts you relied on."), Length(max=FACTS_MAX)])

    def for_item(self, kind: ItemKind, outcomes: list[Outcome]) -> DecisionForm:
        self.outcome.choices = [SelectChoice(outcome.value, OUTCOME_LABELS[outcome]) for outcome in outcomes]
        self.rule.choices = _rule_choices(kind)
        return self


class AppealForm(Form):
    statement = TextAreaField("Why the decision is wrong",
                              validators=[DataRequired(message="Say why you think the decision is wrong."),
                                          Length(max=STATEMENT_MAX)])


class AppealDecisionForm(Form):
    verdict = ChoiceRadio("Your decision on the appeal", message="Choose whether the decision stands.",
                          choices=[SelectChoice("uphold", "The decision stands"),
                                   SelectChoice("overturn", "Overturn the decision")])
    # Checked by the service (they matter only when a dismissal is overturned).
    outcome = RadioField("If you overturn a dismissal: what to do instead", validators=[Optional()], choices=[],
                         validate_choice=False)
    rule = SelectField("The rule", validators=[Optional()], validate_choice=False)
    facts = TextAreaField("The facts you relied on (sent to the people concerned)",
                          validators=[DataRequired(message="Write the facts you relied on."), Length(max=FACTS_MAX)])

    def for_item(self, kind: ItemKind, outcomes: list[Outcome]) -> AppealDecisionForm:
        self.outcome.choices = [SelectChoice(o.value, OUTCOME_LABELS[o]) for o in outcomes if o is not Outcome.DISMISSED]
        self.rule.choices = _rule_choices(kind)
        return self
