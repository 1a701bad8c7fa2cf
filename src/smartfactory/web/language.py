"""Pick the language of each request: ?lang=, then the sf_lang cookie, then Accept-Language."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from smartfactory.app import i18n
from smartfactory.web.asgi import HttpMiddleware, adding_headers, request_headers

LANG_COOKIE = "sf_lang"


class LanguageMiddleware(HttpMiddleware):
    """Sets the request's language for the routes, threadpool ones included (a plain ASGI middleware)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Choose the language, then pass the request on (keeping a ?lang= choice in a cookie)."""
        headers = request_headers(scope)
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
        if switched:
            # ?lang= is the language switch: keep the choice for the next pages
            cookie_value = f"{LANG_COOKIE}={chosen}; Max-Age=31536000; Path=/; SameSite=Lax"
            send = adding_headers(send, [(b"set-cookie", cookie_value.encode())])
        await self.app(scope, receive, send)
