"""Real-browser test setup: the app served by uvicorn on loopback, driven by Debian's Chromium.

    from browser import Tab, fixture_chromium, fixture_live_app, fixture_tab, login  # noqa: F401

(the ``fixture_*`` imports give a test module the fixtures ``chromium``, ``live_app``, ``tab``)

``live_app`` (session) serves its own 3-day store (the browser tests write: alarms, answers)
on a free loopback port. ``chromium`` (module) is one headless browser for the test module;
``tab`` gives each test a fresh browser context (no cookies) wrapped in a ``Tab``, which
screenshots every page it visits to ``test-artifacts/screenshots/<test>-<NN>-<step>.png`` and
fails the test on a console error, a failed request, an HTTP error or a request that leaves
loopback (factories are often offline: nothing may come from a CDN).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)

from services import missing_service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.web.app import create_app
from web import PASSWORDS, build_store

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DOWNLOADS = ARTIFACTS / "downloads"
LOOPBACK = "127.0.0.1"
VIEWPORT = {"width": 1280, "height": 900}
# generous: a loaded CI machine can take seconds for an assessment page; it only costs on failure
TIMEOUT_MS = 20_000
QUIET_S = 0.1  # no request in flight for this long: the page has settled


@dataclass
class LiveApp:
    """The app served on loopback: its base URL and the open workspace (registry, store)."""

    url: str
    workspace: Workspace


@pytest.fixture(name="live_app", scope="session")
def fixture_live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The real app over its own 3-day store, served by uvicorn in a background thread."""
    folder = build_store(tmp_path_factory.mktemp("browser-store"))
    workspace = Workspace(WorkspaceSettings(store=folder))
    app = create_app(workspace.settings, workspace=workspace)
    # bind first and hand uvicorn the socket: no race for the port between choosing and serving
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="asyncio", log_config=None, log_level="warning", access_log=False)
    web = uvicorn.Workspace(config)
    # uvicorn installs signal handlers only on the main thread, so a thread is safe
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            workspace.close()
            pytest.fail("uvicorn did not start serving the app", pytrace=False)
        time.sleep(0.05)
    try:
        yield LiveApp(f"http://{LOOPBACK}:{port}", workspace)
    finally:
        web.should_exit = True
        thread.join(timeout=10)
        sock.close()
        workspace.close()


@pytest.fixture(name="chromium", scope="module")
def fixture_chromium() -> Iterator[Browser]:
    """One headless Chromium for the module (starting one costs about a second).

    Module- rather than session-scoped on purpose: the sync Playwright API keeps an asyncio
    loop running on the main thread while it is started, which would break later test
    modules that call ``asyncio.run``.
    """
    if not CHROMIUM.exists():
        missing_service(f"{CHROMIUM} is missing (Debian package `chromium`; .ci/run installs it)")
    expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own default of 5 s
    for folder in (SCREENSHOTS, DOWNLOADS):  # the artefacts of the latest run only
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


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
        target = SCREENSHOTS / f"{self.name}-{self.steps:02d}-{_slug(step)}.png"
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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "page"


@pytest.fixture(name="tab")
def fixture_tab(chromium: Browser, live_app: LiveApp, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh browser context (no cookies, English) and its page, watched for problems."""
    context = chromium.new_context(
        base_url=live_app.url, locale="en-US", viewport=VIEWPORT, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    current = Tab(page, live_app.url, _slug(request.node.name))

    def offline(route: Route) -> None:
        # every request of the page passes here; only the app on loopback (or a file the test
        # saved, such as the downloaded report) may answer
        parts = urlsplit(route.request.url)
        if parts.hostname == LOOPBACK or parts.scheme == "file":
            route.continue_()
        else:
            current.off_site.append(route.request.url)
            route.abort("blockedbyclient")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            current.console_errors.append(f"{message.text} (on {page.url})")

    def uncaught(error: Error) -> None:
        where = " | ".join(line.strip() for line in (error.stack or "").splitlines()[1:4])
        current.console_errors.append(f"uncaught {error.name}: {error.message} (on {page.url}; {where})")

    def started(_req: Request) -> None:
        current.in_flight += 1

    def finished(_req: Request) -> None:
        current.in_flight -= 1

    def failed(req: Request) -> None:
        current.in_flight -= 1
        current.failed_requests.append(f"{req.method} {req.url}: {req.failure}")

    def answered(response: Response) -> None:
        if response.status >= 400:
            current.http_errors.append(f"{response.request.method} {response.url} → {response.status}")

    context.route("**/*", offline)
    page.on("console", console)
    page.on("pageerror", uncaught)
    page.on("request", started)
    page.on("requestfinished", finished)
    page.on("requestfailed", failed)
    page.on("response", answered)
    failures_before = request.session.testsfailed
    try:
        yield current
        if request.session.testsfailed > failures_before:
            with contextlib.suppress(Exception):  # the page may be gone; the failure is reported anyway
                current.snap("failed")  # what the page showed when the test failed
    finally:
        context.close()


def login(tab: Tab, role: Role = Role.engineer, next: str = "/") -> None:
    """Sign in through the log-in form as the user of ``role``; lands on ``next``."""
    tab.goto(f"/login?next={next}", "login")
    tab.page.fill("#username", role.value)
    tab.page.fill("#password", PASSWORDS[role])
    with tab.page.expect_navigation():
        tab.page.click("main form button[type=submit]")
    assert tab.path() == next, f"after signing in as {role.value}: at {tab.page.url}"
    tab.settled(f"signed-in-{role.value}")
