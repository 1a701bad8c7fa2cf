"""The ASGI app: the API under /api/v1, the pages, the vendored static files, errors.

Errors are answered here, in one place: a ``UserError`` (and a refused request) as the problem
document its class declares on the API's paths and as the error page elsewhere; routes and
pages raise and never map errors themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

import smartfactory
from smartfactory.api.auth.deps import (
    CsrfRejected,
    NotAllowed,
    SignInRequired,
    Viewer,
    ViewerPage,
)
from smartfactory.api.auth.ratelimit import LoginLimiter
from smartfactory.api.problems import PROBLEM_JSON, ApiProblem, problems_in_schema
from smartfactory.api.routes import PREFIX, api_router
from smartfactory.api.routes import ingest as ingest_routes
from smartfactory.api.routes import owner as owner_routes
from smartfactory.api.validation import invalid_request
from smartfactory.app.errors import invalid
from smartfactory.app.i18n import gettext as _
from smartfactory.app.ingest import IngestPlan, run_plan, stop_all_ingest
from smartfactory.app.roles import role_label
from smartfactory.app.scenarios import wait_for_runs
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.web.language import LanguageMiddleware
from smartfactory.web.pages import page_router
from smartfactory.web.security import SecurityHeaders
from smartfactory.web.templating import render

STATIC = Path(__file__).with_name("static")
OPENAPI_URL = "/openapi.json"


def create_app(
    settings: WorkspaceSettings,
    workspace: Workspace | None = None,
    ingest: IngestPlan | None = None,
    owner_url: str | None = None,
    owner_command: str = "smartfactory serve",
) -> FastAPI:
    """The whole app over one store; ``workspace`` lets tests share an already open one.

    ``owner_url``: this process owns the store; its loopback address is published in the store's
    owner file (``owner_command`` says what runs) while it serves, so other processes call the use
    cases through it (``/_owner/v1``).

    ``ingest``: run these live sources in the server's event loop (``serve --ingest``), writing
    through the workspace, from startup until shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owner_url is not None:
            owner_routes.publish(app, settings.store, owner_url, owner_command)
        if ingest is not None:
            await run_plan(app.state.workspace, ingest, "serve --ingest")
        yield
        if owner_url is not None:
            owner_routes.withdraw(app, settings.store)
        # the sources' last batch is committed (and acknowledged) before the store may close
        await stop_all_ingest(app.state.workspace)
        if owned:
            # a scenario run in flight finishes its record before the store closes under it
            await asyncio.to_thread(wait_for_runs, app.state.workspace, 60.0)
            app.state.workspace.close()

    owned = workspace is None
    app = FastAPI(
        title="smartfactory",
        version=getattr(smartfactory, "__version__", "0.1.0"),
        description="ISO 22400 KPIs, telemetry, alarms, scenarios and the four-level assessment of a plant.",
        # /docs and /openapi.json are served below behind a sign-in, like every other route
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.workspace = workspace if workspace is not None else Workspace(settings)
    app.state.settings = settings
    app.state.login_limiter = LoginLimiter(settings.login_failures, settings.login_window_s)
    app.include_router(api_router())
    app.include_router(owner_routes.router)
    app.include_router(ingest_routes.owner_router)
    app.include_router(page_router())
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems_in_schema(
                get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes
                )
            )
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_principal: Viewer) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs(_principal: ViewerPage) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title="smartfactory API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    _install_error_handlers(app)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(SecurityHeaders)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith((PREFIX, owner_routes.OWNER_PREFIX)) or request.url.path == OPENAPI_URL


def _same_site_path(url: str | None) -> str | None:
    """The path and query of a URL (as HTMX reports the page's own), or None."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _problem(request: Request, problem: ApiProblem, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        problem.document(request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _error_page(
    request: Request, status: int, title: str, detail: str | None, headers: dict[str, str] | None = None
) -> Response:
    response: Response = render(
        request, "error.html", status_code=status, title=title, detail=detail, status=status
    )
    response.headers.update(headers or {})
    return response


def _user_error(request: Request, error: UserError, headers: dict[str, str] | None = None) -> Response:
    """The problem document (API) or error page its class declares for a user error."""
    problem = ApiProblem.of(error)
    if _is_api(request):
        return _problem(request, problem, headers=headers)
    return _error_page(request, problem.status, problem.title, _page_detail(error), headers=headers)


def _page_detail(error: UserError) -> str:
    """The summary, and each problem when they say more than it."""
    if all(p.message == error.summary for p in error.problems):
        return error.summary
    return f"{error.summary} " + "; ".join(f"{p.location or p.source}: {p.message}" for p in error.problems)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if exc.page and not _is_api(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.headers.get("hx-request") == "true":
                # an HTMX fragment: XHR would follow a 303 and swap the log-in page into the
                # fragment; HX-Redirect makes HTMX load the log-in page as a whole page instead,
                # coming back to the page the fragment was part of
                target = _same_site_path(request.headers.get("hx-current-url")) or target
                return Response(status_code=401, headers={"HX-Redirect": f"/login?next={quote(target)}"})
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return _problem(
            request,
            ApiProblem(
                401, _("Not signed in"), _("Sign in, or send an API token as 'Authorization: Bearer …'.")
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        detail = _("Your role is {role}; this needs {needed}.").format(
            role=role_label(exc.principal.role), needed=role_label(exc.needed)
        )
        if exc.page and not _is_api(request):
            return _error_page(request, 403, _("Not allowed"), detail)
        return _problem(request, ApiProblem(403, _("Not allowed"), detail))

    @app.exception_handler(CsrfRejected)
    async def csrf(request: Request, exc: CsrfRejected) -> Response:
        detail = _("The form is out of date or came from another site; reload the page and try again.")
        if exc.page and not _is_api(request):
            return _error_page(request, 403, _("Request refused"), detail)
        return _problem(request, ApiProblem(403, _("Request refused"), detail))

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        if _is_api(request):
            return _problem(request, exc)
        return _error_page(request, exc.status, exc.title, exc.detail)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        # every subclass: its class declares the status, the problem type and the title
        return _user_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_fields(request: Request, exc: RequestValidationError) -> Response:
        return _user_error(request, invalid_request(exc.errors()))

    @app.exception_handler(OperationalError)
    async def registry_busy(request: Request, exc: OperationalError) -> Response:
        # the registry held past its busy timeout by another process: a retry can succeed
        if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
            raise exc
        busy = StoreLockedError(_("The registry is busy; try again in a moment."))
        return _user_error(request, busy, headers={"Retry-After": "2"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: _("Not found"), 405: _("Method not allowed")}.get(exc.status_code, _("Request failed"))
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers: dict[str, Any] = dict(exc.headers or {})
        if exc.status_code == 400 and (detail or "").startswith("There was an error parsing the body"):
            # FastAPI's answer to a body it cannot decode (not UTF-8, say): the same 422 as bad JSON
            return _user_error(request, invalid("body", _("The body is not valid JSON.")))
        if _is_api(request) or request.url.path.startswith("/static"):
            return _problem(request, ApiProblem(exc.status_code, title, detail), headers=headers or None)
        return _error_page(request, exc.status_code, title, detail)
