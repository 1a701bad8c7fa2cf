"""Pick the language of each request: ?lang=, then the sf_lang cookie, then Accept-Language."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smartfactory.app import i18n

LANG_COOKIE = "sf_lang"


class LanguageMiddleware:
    """A plain ASGI middleware (no per-request task), so the choice reaches threadpool routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        chosen = i18n.parse_language((query.get("lang") or [None])[0])
        switched = chosen is not None
        if chosen is None and "cookie" in headers:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed cookie header must not fail the request
                cookie = SimpleCookie()
            if LANG_COOKIE in cookie:
                chosen = i18n.parse_language(cookie[LANG_COOKIE].value)
        if chosen is None:
            chosen = i18n.negotiate(headers.get("accept-language"))
        i18n.set_language(chosen)
        scope.setdefault("state", {})["lang"] = chosen
        if not switched:
            await self.app(scope, receive, send)
            return

        async def remember(message: Message) -> None:
            # ?lang= is the language switch: keep the choice for the next pages
            if message["type"] == "http.response.start":
                value = f"{LANG_COOKIE}={chosen}; Max-Age=31536000; Path=/; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", value.encode())]
            await send(message)

        await self.app(scope, receive, remember)
