"""The Jinja2 environment of the pages: translations, locale formats, and the page context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from smartfactory.api.auth.deps import CSRF_FIELD, principal_of, workspace_of
from smartfactory.app import i18n
from smartfactory.app.roles import role_label
from smartfactory.model.errors import UserError

TEMPLATES = Path(__file__).with_name("templates")

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(("html", "xml")),
    extensions=["jinja2.ext.i18n"],
    auto_reload=False,
)
templates = Jinja2Templates(env=_env)
templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.filters["number"] = i18n.number
templates.env.filters["percent"] = i18n.percent
templates.env.filters["when"] = i18n.when
templates.env.filters["local_text"] = i18n.local_text
templates.env.globals["pick"] = i18n.pick
templates.env.globals["language_tag"] = i18n.language_tag
templates.env.globals["language"] = i18n.language
templates.env.globals["role_label"] = role_label


def json_data(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (no inline scripts: the CSP forbids them)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    # '</' would end the script element early
    return Markup(text.replace("</", "<\\/"))


templates.env.filters["json_data"] = json_data


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Any:
    """A page with the context every page has: who is signed in, the CSRF token, the language."""
    principal = principal_of(request)
    context.setdefault("title", "")
    if "tz" not in context:
        # times on every page are the plant's wall clock, as on the shop floor
        context["tz"] = _plant_timezone(request)
    return templates.TemplateResponse(
        request,
        name,
        {
            "principal": principal,
            "csrf_token": principal.csrf_token if principal is not None else None,
            "csrf_field": CSRF_FIELD,
            "lang": i18n.language(),
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def _plant_timezone(request: Request) -> str | None:
    try:
        return str(workspace_of(request).plant().plant.timezone)
    except UserError:  # a store without a plant yet: times stay in UTC
        return None
