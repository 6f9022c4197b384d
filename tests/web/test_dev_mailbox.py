"""The development mailbox holds every reset link: it answers only in development mode, only
while no SMTP server is configured, and only to requests from this machine."""

from __future__ import annotations

import pytest

from reviewsite import create_app
from tests.helpers import app_config, use_memory_broker

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.mark.parametrize("url", ["/dev/mailbox", "/dev/mailbox/1"])
def test_the_mailbox_is_404_to_anyone_off_loopback(client, world, url):
    client.post("/password/forgot", {"email": world.reviewer})
    assert client.get(url, environ_base=OUTSIDE).status_code == 404
    assert client.get("/dev/mailbox", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/dev/mailbox").status_code == 200  # 127.0.0.1


def test_the_footer_links_to_the_mailbox_only_on_loopback(client):
    assert "Development mailbox" in client.get("/").get_data(as_text=True)
    assert "Development mailbox" not in client.get("/", environ_base=OUTSIDE).get_data(as_text=True)


def test_a_proxy_on_this_machine_does_not_make_outsiders_local(database_url, session_clock, db_connection):
    """Behind TRUSTED_PROXIES the client's own address counts, not the proxy's loopback one."""
    app = create_app(app_config(database_url, session_clock, TRUSTED_PROXIES=1))
    use_memory_broker(app)
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert app.test_client().get("/dev/mailbox", headers=forwarded).status_code == 404


@pytest.mark.parametrize("overrides", [
    {"REVIEWSITE_ENV": "production", "SECRET_KEY": "s" * 40, "MAIL_SERVER": "", "RATELIMIT_ENABLED": False},
    {"MAIL_SERVER": "127.0.0.1"},
])
def test_no_mailbox_in_production_or_with_a_mail_server(database_url, session_clock, db_connection, overrides):
    if overrides.get("REVIEWSITE_ENV") == "production":
        with pytest.raises(RuntimeError, match="MAIL_SERVER"):  # production refuses to run without one
            create_app(app_config(database_url, session_clock, **overrides))
        overrides = {**overrides, "MAIL_SERVER": "127.0.0.1"}
    app = create_app(app_config(database_url, session_clock, **overrides))
    use_memory_broker(app)
    assert "dev.mailbox" not in app.view_functions
    assert app.test_client().get("/dev/mailbox").status_code == 404
