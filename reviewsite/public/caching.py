"""HTTP caching of the public pages that every visitor who is not signed in sees alike.

Who gets a shared page: a request with neither a session cookie nor a remember-me cookie
(``security.seen_alike``). Flask-Login can find nobody in such a request, and the page then
holds nothing of one person's (no name in the header, no flashed message, no CSRF token), so one
copy serves them all, here and in any proxy or CDN in front. Everybody else gets the page
rendered for them.

How: the page is keyed on everything it shows besides the code, which the view reads first in
one small query: the arguments it uses and the stamp of each business on it (see
``services/listings.py`` and ``services/businesses.py``). The key is the page's ETag. A request
that sends it back (``If-None-Match``) gets 304 Not Modified without a render; otherwise the page
comes from Flask-Caching, rendered on a miss. ``Cache-Control: public, no-cache`` lets browsers
and proxies keep the page but ask each time, and ``Vary: Cookie`` keeps their copy from anyone
who is signed in.

Why a page is never stale: the services bump ``business.listing_version`` in the same
transaction as every change a public page shows of a business, and a business page's stamp also
counts its held reviews whose time has come, so the page changes at ``publish_at`` even before a
sweep has run (invariant 8). A render after a miss may read newer data than its key; the page
stored is then newer than its key says, never older.

Why it never holds a held review's words (invariant 1): these pages show held reviews only as
placeholders (``listings.held_summary`` selects stars and dates, nothing else), and no page made
for a signed-in person (a member, a moderator) is stored or served here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, current_app, make_response, request, session

from reviewsite.extensions import cache
from reviewsite.security import seen_alike


def public_page(parts: Callable[[], tuple | None], render: Callable[[], str]) -> Response:
    """The page for ``parts()`` (what the page shows besides the code) from the cache and with
    HTTP caching headers, for requests :func:`seen_alike`; ``render()`` otherwise, and where
    ``parts()`` is None (nothing to key on: the render says what is wrong). A render that aborts
    (a 400 or a 404, say) is never stored."""
    key = parts() if seen_alike() else None
    if key is None:
        return make_response(render())
    tag = hashlib.sha256(repr((current_app.config["RELEASE_ID"], request.endpoint, key)).encode()).hexdigest()
    if tag in request.if_none_match:
        response = Response(status=304)
    else:
        # Stored as the UTF-8 the response sends, so that a view neither decodes it from the
        # cache's pickle nor encodes it again.
        body = cache.get(f"page:{tag}")
        if body is None:
            html = render()
            if session.modified:  # the render wrote to the session: it belongs to one person
                return make_response(html)
            body = html.encode()
            cache.set(f"page:{tag}", body)
        response = make_response(body)
    response.set_etag(tag)
    # Plain strings: the response is new, so there is nothing to merge with, and Werkzeug's
    # cache_control and vary structures would parse and write the header again on each change.
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["Vary"] = "Cookie"
    return response
