"""Whole public pages for visitors who are not signed in, cached on the versions of what they show.

Why: the business page and search results are read far more than anything else is written, and
mostly by people who are not signed in. For them a page has no per-person part (the header shows
the sign-in links, there is no member button and no CSRF token), so it is a function of the
request's arguments and of the businesses it shows; rendering it again for every visitor was most
of its cost.

Why a cached page is never stale: the key holds, for every business the page shows, its id, its
creation time and its ``listing_version``, read by the view in this request. The services bump
``listing_version`` in the same transaction as every change a public page shows of a business
(its reviews, placeholders, record, rating; see ``services.listings.changed``), so once a change
commits every later request reads the new version and misses the old page. The key also holds a
digest of the templates and the code, so a deploy never serves markup from an earlier release out
of a cache shared between releases (RedisCache).

Why it never holds a held review's words (invariant 1): the pages cached here show held reviews
only as placeholders, exactly as ``fragments.py`` explains, and a signed-in person's page (who
might be a member or a moderator) is never stored or served from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cache as once

from flask import current_app, request, session
from flask_login import current_user

from reviewsite import config
from reviewsite.extensions import cache


@once
def render_digest() -> str:
    """A digest of everything that shapes rendered markup besides the data: the templates and the
    application's code. Computed once per process."""
    digest = hashlib.sha256()
    for root, pattern in ((config.PROJECT_ROOT / "templates", "*"), (config.PROJECT_ROOT / "reviewsite", "*.py")):
        for path in sorted(p for p in root.rglob(pattern) if p.is_file()):
            digest.update(path.relative_to(config.PROJECT_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def shared_with_everyone() -> bool:
    """Whether this visitor sees the page everyone who is not signed in sees: nobody signed in
    in the session, no remember-me cookie, no flashed message waiting. Read from the session and
    the cookies, without asking Flask-Login to load a user (a sixth of a cached page's CPU);
    ``page`` asks Flask-Login itself before it stores anything."""
    return (
        "_user_id" not in session
        and current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in request.cookies
        and "_flashes" not in session
    )


def page(parts: Iterable[object], render: Callable[[], str]) -> str:
    """The page of this endpoint for ``parts`` (everything it shows besides the code: the
    request's arguments it uses and the (id, created_at, listing_version) of each business),
    from the cache for anonymous visitors; ``render()`` otherwise, or on a miss (a render that
    aborts, a 404 for instance, is never stored). A render after a miss may read a newer
    version than the key's; the page stored is then newer than its key says, never older."""
    if not shared_with_everyone():
        return render()
    identity = hashlib.sha256(repr(tuple(parts)).encode()).hexdigest()
    key = f"page:{render_digest()}:{request.endpoint}:{identity}"
    html = cache.get(key)
    if html is None:
        html = render()
        # Whoever Flask-Login found (a login by some other means than the session would show in
        # the header), the page is stored only if it was made for nobody in particular.
        if current_user.is_anonymous:
            cache.set(key, html)
    return html
