"""A small HTTP client with a real session (cookies, CSRF token), standard library only."""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Response:
    status: int
    location: str
    body: str

    @property
    def location_path(self) -> str:
        return urlsplit(self.location).path if self.location else ""


class Session:
    """One person's session. ``addresses``: the web servers, (host, port) each, or one port on
    loopback. Like a load balancer, requests go to one server until the caller says it failed
    (:meth:`fail_over`: no answer, or a 5xx), then to the next; the session cookie is valid on
    all of them."""

    def __init__(self, addresses: int | list[tuple[str, int]], *, timeout: float = 35.0,
                 connect_timeout: float = 3.0) -> None:
        self.addresses = [("127.0.0.1", addresses)] if isinstance(addresses, int) else list(addresses)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self._lock = threading.Lock()
        self._current = 0

    def fail_over(self) -> None:
        with self._lock:
            self._current = (self._current + 1) % len(self.addresses)

    def request(self, method: str, path: str, form: dict[str, object] | None = None, *,
                keep_cookies: bool = False) -> Response:
        """One request, no redirect following. ``keep_cookies``: store what the server sets
        (only while logging in, so later flashes do not pile up in a shared session cookie)."""
        with self._lock:
            host, port = self.addresses[self._current]
        conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        try:
            conn.connect()
            conn.sock.settimeout(self.timeout)
            with self._lock:
                cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            headers = {"Cookie": cookie} if cookie else {}
            body = None
            if form is not None:
                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            if keep_cookies:
                for header in resp.headers.get_all("Set-Cookie") or []:
                    parsed = SimpleCookie()
                    parsed.load(header)
                    with self._lock:
                        for key, morsel in parsed.items():
                            self.cookies[key] = morsel.value
            return Response(resp.status, resp.headers.get("Location", ""), text)
        finally:
            conn.close()

    def scrape_csrf(self, path: str, *, keep_cookies: bool = False) -> str:
        resp = self.request("GET", path, keep_cookies=keep_cookies)
        match = CSRF_RE.search(resp.body)
        if resp.status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} (HTTP {resp.status})")
        return match.group(1)

    def login(self, email: str, password: str, form_page: str) -> None:
        token = self.scrape_csrf("/login", keep_cookies=True)
        resp = self.request("POST", "/login", {"csrf_token": token, "email": email, "password": password},
                            keep_cookies=True)
        if resp.status != 302:
            raise RuntimeError(f"login of {email} failed: HTTP {resp.status}")
        self.csrf = self.scrape_csrf(form_page)
