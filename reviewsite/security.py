"""Response headers and request facts that keep the site locked by default.

- Flask-Talisman sets a strict Content-Security-Policy (scripts, styles, images and fonts from
  this site only, so no inline script or style runs: a stored ``<script>`` that slipped past
  escaping would be dead), ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (no
  clickjacking), ``X-Content-Type-Options: nosniff``, a Referrer-Policy that sends no path to
  other sites (paths hold tokens: ``/password/reset/<token>``) and, in production, HSTS.
- ``Cache-Control: no-store`` on every response that may show private data: every page but the
  public ones (token pages, forms with a CSRF token, the development mailbox), and the public
  ones too for a request that carries a session or remember-me cookie (a signed-in person, or a
  flashed message). What a visitor without either sees of the public pages stays cacheable
  (:func:`seen_alike`, the same rule as the page cache's), and so do the static files.
- Behind ``TRUSTED_PROXIES`` reverse proxies, the client's address (rate limits, the mailbox's
  loopback check) and scheme (HSTS, secure cookies) come from their X-Forwarded-* headers.
"""

from __future__ import annotations

from ipaddress import ip_address

from flask import Flask, Response, current_app, request
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE_DEFAULT
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from reviewsite.config import DEVELOPMENT

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS_SECONDS = 365 * 24 * 3600

# The same for every visitor who is not signed in (the page cache serves them whole).
PUBLIC_ENDPOINTS = frozenset({"public.home", "public.search", "public.business", "reviews.show",
                              "public.how_reviews_work", "moderation.rules", "moderation.transparency",
                              "team.listing_history"})


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ip_address(address).is_loopback
    except ValueError:
        return False


def seen_alike() -> bool:
    """Whether this request gets the page everyone who is not signed in gets: it carries neither
    a session cookie nor a remember-me cookie, so Flask-Login can find nobody in it, and a page
    made for it holds nothing of one person's (no name, no flashed message, no CSRF token)."""
    cookies = request.cookies
    config = current_app.config
    remember = config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE_DEFAULT)
    return config["SESSION_COOKIE_NAME"] not in cookies and remember not in cookies


def _no_store_unless_public(response: Response) -> Response:
    if request.endpoint == "static":
        return response
    if request.endpoint not in PUBLIC_ENDPOINTS or not seen_alike():
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    # One per app, not one shared object bound to each app in turn: Talisman keeps its settings
    # (and the app) on itself, so a second app would change the first one's headers.
    app.extensions["talisman"] = Talisman(
        app,
        # TLS ends at the proxy in front of the site; redirecting here would loop behind one that
        # does not say X-Forwarded-Proto. HSTS (sent on https requests) keeps browsers on https.
        force_https=False,
        strict_transport_security=app.config["REVIEWSITE_ENV"] != DEVELOPMENT,
        strict_transport_security_max_age=HSTS_SECONDS,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy=REFERRER_POLICY,
        # Talisman would otherwise force its own cookie settings onto the app's on every request.
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
    app.after_request(_no_store_unless_public)
