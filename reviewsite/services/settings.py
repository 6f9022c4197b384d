"""The window policy, read once per call from the app's configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app


@dataclass(frozen=True)
class WindowPolicy:
    low_star_max: int
    window: timedelta
    max_extension: timedelta

    def holds(self, stars: int) -> bool:
        """Whether a review with these stars goes to the business privately first."""
        return stars <= self.low_star_max


def window_policy() -> WindowPolicy:
    config = current_app.config
    return WindowPolicy(
        low_star_max=config["LOW_STAR_MAX"],
        window=timedelta(seconds=config["WINDOW_SECONDS"]),
        max_extension=timedelta(seconds=config["MAX_EXTENSION_SECONDS"]),
    )
