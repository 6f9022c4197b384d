from __future__ import annotations

from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice

from reviewsite.forms import Form
from reviewsite.models import Delivery
from reviewsite.services import accounts
from reviewsite.services.notification_kinds import TOPICS, Topic

DELIVERY_CHOICES = [
    SelectChoice(Delivery.EMAIL.value, "Email at once"),
    SelectChoice(Delivery.DIGEST.value, "Daily digest"),
    SelectChoice(Delivery.SITE_ONLY.value, "In the site only"),
]


def preferences_form(current: dict[str, Delivery], topics: dict[str, Topic] = TOPICS) -> Form:
    """One radio group per topic the person can choose about; built per request because the
    topics are data."""

    class PreferencesForm(Form):
        pass

    for topic, info in topics.items():
        setattr(PreferencesForm, topic, RadioField(info.label, choices=DELIVERY_CHOICES,
                                                   default=current[topic].value, description=info.hint))
    return PreferencesForm()


def time_zone_choices() -> list[SelectChoice]:
    """Every zone the time-zone database knows, by region, after "my browser's"."""
    zones = sorted(accounts.known_time_zones())
    return [SelectChoice("", "Use my browser’s time zone"),
            *[SelectChoice(zone, zone.replace("_", " ")) for zone in zones if "/" in zone and not zone.startswith("Etc/")],
            SelectChoice("UTC", "UTC")]


class TimeZoneForm(Form):
    # Checked against the time-zone database by the service, so an unknown zone is refused
    # with a sentence rather than WTForms' "Not a valid choice".
    time_zone = SelectField("Show dates in", choices=[], validate_choice=False)
