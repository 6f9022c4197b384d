"""Absolute links for emails, built from the configured SITE_URL, never from a request's Host
header (a forged Host must not be able to point a reset link at someone else's server)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    site = urlsplit(current_app.config["SITE_URL"])
    adapter = current_app.url_map.bind(
        site.netloc, script_name=site.path or "/", url_scheme=site.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
