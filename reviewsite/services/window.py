"""The make-it-right window's policy, read from the app's configuration at each call.

What a window is (who is held, for how long, how much the reviewer may extend) and when the
business is reminded during it are one policy, so they live together.

Who is held depends on ``HOLD_POLICY``: ``low_stars`` (the default) holds every review of
``LOW_STAR_MAX`` stars or fewer; ``reviewer_choice`` holds a review only if its author chose to
give the business the window first, whatever the stars, because UK and EU rules forbid a site to
delay a genuine negative review against its author's wishes (README, "Which hold policy").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from reviewsite.models import HoldChoice
from reviewsite.services.errors import Invalid

# The last reminder comes this long before release, or a third of the window for short windows.
LAST_REMINDER_LEAD = timedelta(hours=24)

LOW_STARS = "low_stars"
REVIEWER_CHOICE = "reviewer_choice"
CHOICE_MISSING = "Choose when your review is published: now, or after the business has had its time."


@dataclass(frozen=True)
class WindowPolicy:
    low_star_max: int
    window: timedelta
    max_extension: timedelta
    hold_policy: str = LOW_STARS

    @property
    def reviewer_chooses(self) -> bool:
        return self.hold_policy == REVIEWER_CHOICE

    def choice(self, raw: HoldChoice | str | None) -> HoldChoice | None:
        """The choice to store with a new review: required in reviewer-choice mode, and ignored
        (None) when the site decides by the stars, so the history never claims a choice that
        nobody was asked to make."""
        if not self.reviewer_chooses:
            return None
        try:
            return HoldChoice(raw) if raw else _missing()
        except ValueError:
            return _missing()

    def holds(self, stars: int, choice: HoldChoice | None = None) -> bool:
        """Whether a review goes to the business privately first. In reviewer-choice mode the
        author's choice alone decides: a review published now by its author's choice is never
        held, and one given the window stays held whatever its stars become."""
        if self.reviewer_chooses:
            return choice is HoldChoice.WINDOW
        return stars <= self.low_star_max

    def keeps_holding(self, stars: int, choice: HoldChoice | None) -> bool:
        """Whether a held review, revised to ``stars``, stays held: while what held it still
        holds, its author's choice or, for one held by its stars (also one held before the site
        switched to reviewer-choice mode), its stars."""
        if choice is not None:
            return choice is HoldChoice.WINDOW
        return stars <= self.low_star_max

    @property
    def last_reminder_lead(self) -> timedelta:
        return min(LAST_REMINDER_LEAD, self.window / 3)

    def first_reminder_at(self, held_at: datetime) -> datetime:
        """Half-way through the window: a 72-hour window reminds at 36 h, then a day before."""
        return held_at + self.window / 2


def _missing() -> HoldChoice:
    raise Invalid(CHOICE_MISSING)


def window_policy() -> WindowPolicy:
    config = current_app.config
    return WindowPolicy(
        low_star_max=config["LOW_STAR_MAX"],
        window=timedelta(seconds=config["WINDOW_SECONDS"]),
        max_extension=timedelta(seconds=config["MAX_EXTENSION_SECONDS"]),
        hold_policy=config.get("HOLD_POLICY", LOW_STARS),
    )
