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
    def __init__(self, port: int, *, timeout: float = 35.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self._lock = threading.Lock()

    def request(self, method: str, path: str, form: dict[str, object] | None = None, *,
                keep_cookies: bool = False) -> Response:
        """One request, no redirect following. ``keep_cookies``: store what the server sets
        (only while logging in, so later flashes do not pile up in a shared session cookie)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
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
