from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtp_sink import SmtpServer, serving


@pytest.fixture
def smtp(app) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; the app sends to it for the length of the test."""
    with serving(app) as server:
        yield server
