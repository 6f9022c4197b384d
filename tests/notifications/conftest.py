from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtp_sink import SmtpServer, free_port


@pytest.fixture
def smtp(app) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; the app sends to it for the length of the test."""
    server = SmtpServer(port=free_port())
    server.start()
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    try:
        yield server
    finally:
        app.config.update(saved)
        server.stop()
