"""Response headers every page and API answer carries."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from smartfactory.web.asgi import HttpMiddleware, adding_headers

# no inline scripts: chart data travels in <script type="application/json"> blocks read by app.js;
# inline styles are allowed because ECharts and HTMX set them on elements
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders(HttpMiddleware):
    """Adds the CSP (pages only; /docs loads Swagger UI its own way) and the other headers."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; its response starts with the headers added."""
        path: str = scope.get("path", "")
        with_csp = not (path.startswith("/docs") or path.startswith("/redoc"))
        headers = [*_HEADERS, (b"content-security-policy", CSP.encode())] if with_csp else _HEADERS
        await self.app(scope, receive, adding_headers(send, headers))
