from __future__ import annotations

from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from reviewsite.forms import Form
from reviewsite.models import Delivery
from reviewsite.notifications.catalogue import TOPICS

DELIVERY_CHOICES = [
    SelectChoice(Delivery.EMAIL.value, "Email at once"),
    SelectChoice(Delivery.DIGEST.value, "Daily digest"),
    SelectChoice(Delivery.SITE_ONLY.value, "In the site only"),
]


def preferences_form(current: dict[str, Delivery]) -> Form:
    """One radio group per topic; built per request because the topics are data."""

    class PreferencesForm(Form):
        pass

    for topic, info in TOPICS.items():
        setattr(PreferencesForm, topic, RadioField(info.label, choices=DELIVERY_CHOICES,
                                                   default=current[topic].value, description=info.hint))
    return PreferencesForm()
