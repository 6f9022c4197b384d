"""Response headers and request facts that keep the site locked by default.

- Every response carries a strict Content-Security-Policy (scripts, styles, images and fonts
  from this site only, so no inline script or style runs: a stored ``<script>`` that slipped
  past escaping would be dead), ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (no
  clickjacking), ``X-Content-Type-Options: nosniff``, a Referrer-Policy that sends no path to
  other sites (paths hold tokens: ``/password/reset/<token>``), a Permissions-Policy that opts
  out of the Topics API and, in production on https, HSTS. The headers are built once, with the
  ``secure`` library's policy builders: they are the same for every response (no per-view
  policy, no nonce), so nothing about them is worked out per response. They are added where the
  response leaves the application (:class:`SecurityHeaders`, a WSGI middleware), to the header
  list it sends: every answer gets them, error pages and static files included, and no view
  can take them off.
- ``Cache-Control: no-store`` on every response that may show private data: every page but the
  public ones (token pages, forms with a CSRF token, the development mailbox), and the public
  ones too for a request that carries a session or remember-me cookie (a signed-in person, or a
  flashed message). What a visitor without either sees of the public pages stays cacheable
  (:func:`seen_alike`, the same rule as the page cache's), and so do the static files.
- Behind ``TRUSTED_PROXIES`` reverse proxies, the client's address (rate limits, the mailbox's
  loopback check) and scheme (HSTS, secure cookies) come from their X-Forwarded-* headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, request
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE_DEFAULT
from secure import (
    ContentSecurityPolicy,
    PermissionsPolicy,
    ReferrerPolicy,
    Secure,
    StrictTransportSecurity,
    XContentTypeOptions,
    XFrameOptions,
)
from werkzeug.middleware.proxy_fix import ProxyFix

from reviewsite.config import DEVELOPMENT

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SELF, NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = (
    ContentSecurityPolicy().clear()
    .default_src(SELF).script_src(SELF).style_src(SELF).img_src(SELF).font_src(SELF).connect_src(SELF)
    .form_action(SELF).frame_ancestors(NONE).base_uri(NONE).object_src(NONE)
)
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


def response_headers(*, hsts: bool) -> Mapping[str, str]:
    """The security headers of every response, by name; ``hsts`` adds Strict-Transport-Security
    (a year, subdomains included). Worked out once: ``Secure.set_headers`` would serialise every
    policy again on each response."""
    return Secure(
        csp=CONTENT_SECURITY_POLICY,
        xfo=XFrameOptions().deny(),
        xcto=XContentTypeOptions().nosniff(),
        referrer=ReferrerPolicy().clear().strict_origin_when_cross_origin(),
        permissions=PermissionsPolicy().clear().browsing_topics(),
        hsts=StrictTransportSecurity().clear().max_age(HSTS_SECONDS).include_subdomains() if hsts else None,
    ).headers


class SecurityHeaders:
    """WSGI middleware: the security headers, added to the header list of every response as it
    leaves the application. Outside Flask on purpose: in an ``after_request`` hook each header
    went through Werkzeug's ``Headers`` twice (set, then copied for sending), on every request;
    here the list is extended with tuples made at start-up."""

    def __init__(self, app: WSGIApplication, *, plain: Mapping[str, str], https: Mapping[str, str]) -> None:
        self.app = app
        self.plain = list(plain.items())
        self.https = list(https.items())

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        extra = self.https if _on_https(environ) else self.plain

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            return start_response(status, [*headers, *extra], exc_info)

        return self.app(environ, start)


def _on_https(environ: WSGIEnvironment) -> bool:
    """HSTS only on https (browsers ignore it on http anyway): the scheme as ProxyFix left it
    behind a trusted proxy. X-Forwarded-Proto is believed even from an untrusted client: the
    worst it can do is send HSTS to its own browser."""
    return environ.get("wsgi.url_scheme") == "https" or environ.get("HTTP_X_FORWARDED_PROTO") == "https"


def init_app(app: Flask) -> None:
    plain = response_headers(hsts=False)
    https = response_headers(hsts=True) if app.config["REVIEWSITE_ENV"] != DEVELOPMENT else plain
    app.wsgi_app = SecurityHeaders(app.wsgi_app, plain=plain, https=https)  # type: ignore[method-assign]
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:  # outermost: the headers' middleware and the app see the client's scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.after_request(_no_store_unless_public)
