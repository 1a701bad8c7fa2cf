"""API routes: the plant, its ISA-95 hierarchy, and replacing it with another plant file (admin)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from smartfactory.api.auth.deps import Admin, Viewer, WorkspaceDep
from smartfactory.api.problems import PROBLEM_JSON, ApiProblem, ProblemDetails, responses
from smartfactory.app import plant as service
from smartfactory.app.errors import invalid
from smartfactory.app.i18n import gettext as _
from smartfactory.app.plant import PlantSummary, PlantTree

router = APIRouter(tags=["plant"])


class PlantFile(BaseModel):
    """A plant file's text, for clients that send JSON."""

    toml: str = Field(description="the whole plant file (TOML), as `smartfactory ingest` reads it")


@router.get("/plant", response_model=PlantSummary, responses=responses(400, 401))
def get_plant(_principal: Viewer, workspace: WorkspaceDep) -> PlantSummary:
    """The plant: id, names in English and Chinese, industry type and time zone."""
    return service.summary(workspace)


@router.get("/plant/hierarchy", response_model=PlantTree, responses=responses(400, 401))
def get_hierarchy(_principal: Viewer, workspace: WorkspaceDep) -> PlantTree:
    """The ISA-95 tree: enterprise, sites, areas, lines, work cells, equipment, with both names."""
    return service.hierarchy(workspace)


_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string", "description": "the plant file (TOML)"}},
            "application/toml": {"schema": {"type": "string", "description": "the plant file (TOML)"}},
            "application/json": {"schema": PlantFile.model_json_schema()},
        },
    }
}


@router.put(
    "/plant",
    response_model=PlantSummary,
    openapi_extra=_BODY,
    responses={
        **responses(400, 401, 403, 409, 413, 415),
        422: {
            "model": ProblemDetails,
            "content": {PROBLEM_JSON: {}},
            "description": "the plant file is invalid: every problem, with line and field",
        },
    },
)
async def put_plant(request: Request, principal: Admin, workspace: WorkspaceDep) -> Any:
    """Replace the plant with a plant file (text/plain TOML, or JSON ``{"toml": ...}``).

    The file is checked like ``smartfactory ingest`` checks it; nothing is saved unless it is valid
    and describes the same plant (same ``plant.id``) as the store holds.
    """
    text = await _plant_text(request)
    return service.replace_plant(workspace, text, principal.username)


async def _plant_text(request: Request) -> str:
    """The plant file's text from a text or JSON body."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > service.MAX_PLANT_FILE:
        raise _too_large()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > service.MAX_PLANT_FILE:
            raise _too_large()
    media = request.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("body", _("The plant file must be UTF-8 text.")) from None
    if media in ("text/plain", "application/toml", ""):
        return decoded
    if media == "application/json":
        try:
            document = json.loads(decoded)
        except ValueError:
            raise invalid("body", _("The body is not valid JSON.")) from None
        toml = document.get("toml") if isinstance(document, dict) else None
        if not isinstance(toml, str):
            raise invalid("body.toml", _("Send the plant file as a string in the field 'toml'."))
        return toml
    raise ApiProblem(
        415,
        _("Unsupported media type"),
        _('Send the plant file as text/plain, or as JSON {"toml": "..."}.'),
    )


def _too_large() -> ApiProblem:
    return ApiProblem(
        413,
        _("Too large"),
        _("A plant file may have at most {size} bytes.").format(size=service.MAX_PLANT_FILE),
    )
