"""Real-browser test setup: the app served by uvicorn on loopback, driven by Debian's Chromium.

    from browser import Tab, login

(the fixtures ``chromium``, ``live_app`` and ``tab`` are in ``tests/web/conftest.py``)

``live_app`` (session) serves its own 3-day store (the browser tests write: alarms, answers)
on a free loopback port. ``chromium`` (module) is one headless browser for the test module;
``tab`` gives each test a fresh browser context (no cookies) wrapped in a ``Tab``, which
screenshots every page it visits to ``test-artifacts/screenshots/<test>-<NN>-<step>.png`` and
fails the test on a console error, a failed request, an HTTP error or a request that leaves
loopback (factories are often offline: nothing may come from a CDN).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Response, ViewportSize

from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from web import PASSWORDS

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DOWNLOADS = ARTIFACTS / "downloads"
LOOPBACK = "127.0.0.1"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# generous: a loaded CI machine can take seconds for an assessment page; it only costs on failure
TIMEOUT_MS = 20_000
QUIET_S = 0.1  # no request in flight for this long: the page has settled


@dataclass
class LiveApp:
    """The app served on loopback: its base URL and the open workspace (registry, store)."""

    url: str
    workspace: Workspace


@dataclass(repr=False)
class Tab:
    """A browser page with the checks every visit gets (see the module docstring)."""

    page: Page
    base_url: str
    name: str
    steps: int = 0
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    off_site: list[str] = field(default_factory=list)
    in_flight: int = 0

    def __repr__(self) -> str:
        return f"Tab({self.name} at {self.page.url})"

    def url(self, path: str) -> str:
        """The absolute URL of a path of the app."""
        return self.base_url + path

    def path(self) -> str:
        """The path (and query) of the page now shown."""
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def goto(self, path: str, step: str) -> Response | None:
        """Open a page of the app, wait until it is quiet, check it and screenshot it."""
        response = self.page.goto(self.url(path))
        self.settled(step)
        return response

    def settled(self, step: str, snap: bool = True) -> None:
        """After a navigation or an action: wait until the network is quiet, check, screenshot."""
        self.quiet()
        if snap:
            self.snap(step)
        self.assert_clean(step)

    def quiet(self) -> None:
        """Wait for the page's load event and then until no request is in flight for a moment.

        Playwright's "networkidle" waits a fixed 500 ms after the last request; counting the
        requests in flight is as sure (HTMX and chart fetches are requests too) and faster.
        """
        self.page.wait_for_load_state("load")
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.in_flight > 0:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= QUIET_S:
                return
            self.page.wait_for_timeout(20)  # lets Playwright deliver the page's events meanwhile
        raise AssertionError(f"requests still in flight after {TIMEOUT_MS} ms on {self.page.url}")

    def snap(self, step: str) -> Path:
        """A full-page screenshot, numbered in the order of the test's steps."""
        self.steps += 1
        target = SCREENSHOTS / f"{self.name}-{self.steps:02d}-{slug(step)}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def problems(self) -> list[str]:
        """Everything that went wrong in the browser so far."""
        return [
            *(f"console error: {e}" for e in self.console_errors),
            *(f"request failed: {e}" for e in self.failed_requests),
            *(f"HTTP error: {e}" for e in self.http_errors),
            *(f"request left loopback (blocked): {e}" for e in self.off_site),
        ]

    def assert_clean(self, step: str = "") -> None:
        """No console error, failed request, HTTP error or off-site request so far."""
        found = self.problems()
        assert not found, f"at {step or self.path()}:\n  " + "\n  ".join(found)

    def forget_problems(self) -> None:
        """Clear what was recorded (after a test provoked it on purpose)."""
        for recorded in (self.console_errors, self.failed_requests, self.http_errors, self.off_site):
            recorded.clear()

    def csrf_token(self) -> str:
        """The CSRF token of this tab's session (for unsafe requests through ``page.request``)."""
        me = self.page.request.get(self.url("/api/v1/me"))
        assert me.ok, me.text()
        token = me.json()["csrf_token"]
        assert isinstance(token, str)
        return token

    def api_json(self, path: str, **params: Any) -> Any:
        """GET an API path with this tab's session cookie; the JSON of a 200 answer."""
        answer = self.page.request.get(self.url(path), params=params or None)
        assert answer.status == 200, f"GET {path} {params}: {answer.status} {answer.text()[:500]}"
        return answer.json()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "page"


def login(tab: Tab, role: Role = Role.engineer, next: str = "/") -> None:
    """Sign in through the log-in form as the user of ``role``; lands on ``next``."""
    tab.goto(f"/login?next={next}", "login")
    tab.page.fill("#username", role.value)
    tab.page.fill("#password", PASSWORDS[role])
    with tab.page.expect_navigation():
        tab.page.click("main form button[type=submit]")
    assert tab.path() == next, f"after signing in as {role.value}: at {tab.page.url}"
    tab.settled(f"signed-in-{role.value}")
