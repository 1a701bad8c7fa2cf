"""Fixtures of the web tests: a fresh light ``workspace`` and its ``app`` per test (modules that
share one override them), and the real-browser tests' ``live_app``, ``chromium``, ``tab`` (see ``tests/browser.py``)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)

from browser import CHROMIUM, DOWNLOADS, LOOPBACK, SCREENSHOTS, TIMEOUT_MS, VIEWPORT, LiveApp, Tab, slug
from services import missing_service
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.web.app import create_app
from web import app_for, build_store
from web_accounts import light_server


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
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only on the main thread, so a thread is safe
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            workspace.close()
            pytest.fail("uvicorn did not start serving the app", pytrace=False)
        time.sleep(0.05)
    try:
        yield LiveApp(f"http://{LOOPBACK}:{port}", workspace)
    finally:
        server.should_exit = True
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


@pytest.fixture(name="tab")
def fixture_tab(chromium: Browser, live_app: LiveApp, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh browser context (no cookies, English) and its page, watched for problems."""
    context = chromium.new_context(
        base_url=live_app.url, locale="en-US", viewport=VIEWPORT, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    current = Tab(page, live_app.url, slug(request.node.name))

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


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh light workspace per test (the demo plant and one user per role, no events)."""
    with light_server(tmp_path) as opened:
        yield opened


@pytest.fixture
def app(workspace: Workspace) -> FastAPI:
    """The app over the test's workspace."""
    return app_for(workspace)
