"""The make-it-right window's policy, read from the app's configuration at each call.

What a window is (who is held, for how long, how much the reviewer may extend) and when the
business is reminded during it are one policy, so they live together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

# The last reminder comes this long before release, or a third of the window for short windows.
LAST_REMINDER_LEAD = timedelta(hours=24)


@dataclass(frozen=True)
class WindowPolicy:
    low_star_max: int
    window: timedelta
    max_extension: timedelta

    def holds(self, stars: int) -> bool:
        """Whether a review with these stars goes to the business privately first."""
        return stars <= self.low_star_max

    @property
    def last_reminder_lead(self) -> timedelta:
        return min(LAST_REMINDER_LEAD, self.window / 3)

    def first_reminder_at(self, held_at: datetime) -> datetime:
        """Half-way through the window: a 72-hour window reminds at 36 h, then a day before."""
        return held_at + self.window / 2


def window_policy() -> WindowPolicy:
    config = current_app.config
    return WindowPolicy(
        low_star_max=config["LOW_STAR_MAX"],
        window=timedelta(seconds=config["WINDOW_SECONDS"]),
        max_extension=timedelta(seconds=config["MAX_EXTENSION_SECONDS"]),
    )
