"""API routes: the assessment, its history, the questionnaire and the saved answers."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field, ValidationError

from smartfactory.api.auth.deps import Engineer, Viewer, workspace_of
from smartfactory.api.language import LanguageQuery
from smartfactory.api.problems import responses
from smartfactory.api.validation import invalid_request
from smartfactory.app import answers as answer_service
from smartfactory.app import assessment as service
from smartfactory.app.errors import field_problem
from smartfactory.app.i18n import gettext as _
from smartfactory.model.errors import InvalidInput, NotFound

router = APIRouter(tags=["assessments"])

Lang = LanguageQuery
Budget = Annotated[
    int | None,
    Query(
        ge=0,
        le=service.MAX_BUDGET,
        description="budget in CNY: the roadmap adds the best set of actions within it",
    ),
]
AnswerKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="the question's key (see GET /api/v1/assessments/questionnaire), e.g. G25-ADV-BENCH",
    ),
]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class AnswersFile(BaseModel):
    """An answers file (YAML, schema smartfactory.answers/1), as `smartfactory assess template` writes it."""

    yaml: str = Field(max_length=answer_service.MAX_ANSWERS_FILE, description="the text of the answers file")


class Submission(BaseModel):
    """What to assess with: an optional budget for the roadmap."""

    budget: int | None = Field(None, ge=0, le=service.MAX_BUDGET, description="budget in CNY")


@router.get(
    "/assessments/current",
    response_model=service.AssessmentReport,
    responses=responses(400, 401, 422),
)
def current_assessment(
    request: Request,
    _principal: Viewer,
    budget: Budget = None,
    lang: Lang = None,
) -> service.AssessmentReport:
    """Assess the saved answers with live evidence from the store (the 30 days up to its latest event).

    The same as `smartfactory assess --answers FILE --store DIR`; nothing is recorded (POST to
    record it in the history).
    """
    return service.report_of(service.current(workspace_of(request), budget))


@router.get(
    "/assessments/current/report.html",
    response_class=HTMLResponse,
    responses={
        **responses(400, 401, 422),
        200: {"content": {"text/html": {}}, "description": "the HTML report"},
    },
)
def current_report(
    request: Request,
    _principal: Viewer,
    budget: Budget = None,
    lang: Lang = None,
) -> HTMLResponse:
    """The current assessment as one self-contained HTML page, to download and print."""
    report = service.html_report(workspace_of(request), budget)
    return HTMLResponse(
        report.html,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )


@router.get(
    "/assessments/questionnaire",
    response_model=answer_service.Questionnaire,
    responses=responses(401, 422),
)
def questionnaire(
    request: Request,
    _principal: Viewer,
    lang: Lang = None,
) -> answer_service.Questionnaire:
    """Every question of the ladder: criteria and metrics asked, scenarios, CMMM requirements.

    Each with its allowed answers, its text in both languages, its confidence tag and the saved answer.
    """
    return answer_service.questionnaire(workspace_of(request))


@router.get(
    "/assessments/answers",
    response_class=PlainTextResponse,
    responses={
        **responses(401),
        200: {"content": {"application/yaml": {}}, "description": "the answers file"},
    },
)
def answers_file(request: Request, _principal: Viewer) -> PlainTextResponse:
    """The saved answers as an answers file (what `smartfactory assess --answers` reads)."""
    return PlainTextResponse(
        answer_service.export_text(workspace_of(request)),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="answers.yaml"'},
    )


@router.put(
    "/assessments/answers/{key}",
    response_model=answer_service.AnswerOut,
    responses=responses(401, 403, 404, 422),
)
def put_answer(
    request: Request,
    key: AnswerKey,
    body: answer_service.AnswerIn,
    principal: Engineer,
) -> answer_service.AnswerOut:
    """Save one answer (blank clears it); a value the answers file would refuse saves nothing."""
    return answer_service.save_answer(
        workspace_of(request),
        key,
        body.value,
        principal.username,
        note=body.note,
        attachments=body.attachments,
    )


@router.put(
    "/assessments/answers",
    response_model=answer_service.ImportResult,
    responses=responses(401, 403, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": AnswersFile.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def put_answers(
    request: Request,
    principal: Engineer,
) -> answer_service.ImportResult:
    """Replace every saved answer with an answers file: JSON {"yaml": "..."} or the YAML itself.

    The file is checked as `smartfactory assess --answers` checks it (blank answers are allowed and
    score 0); with any problem nothing is saved and the answer lists each with its line.
    """
    text = await _answers_text(request)
    return await run_in_threadpool(
        answer_service.import_answers, workspace_of(request), text, principal.username
    )


async def _answers_text(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    text = answer_service.decode_upload(await request.body())
    if kind in YAML_TYPES:
        return text
    try:
        data: Any = json.loads(text) if text.strip() else None
        return AnswersFile.model_validate(data).yaml
    except json.JSONDecodeError:
        raise InvalidInput(
            _("Some fields are not valid."), [field_problem("body", _("The body is not valid JSON."))]
        ) from None
    except ValidationError as exc:
        raise invalid_request([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.get("/assessments", response_model=service.AssessmentHistory, responses=responses(401, 422))
def assessments(
    request: Request,
    _principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> service.AssessmentHistory:
    """Submitted assessments, newest first: level, CMMM grade, who and when."""
    return service.history(workspace_of(request), limit, offset)


@router.post(
    "/assessments",
    response_model=service.AssessmentReport,
    status_code=201,
    responses=responses(400, 401, 403, 422),
)
def submit(
    request: Request,
    principal: Engineer,
    body: Submission | None = None,
) -> service.AssessmentReport:
    """Assess the saved answers now and record the result in the history."""
    return service.submit(workspace_of(request), principal.username, body.budget if body else None)


@router.get(
    "/assessments/{assessment_id}",
    response_model=service.AssessmentReport,
    responses=responses(401, 404, 422),
)
def assessment(
    request: Request,
    assessment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    _principal: Viewer,
) -> service.AssessmentReport:
    """One submitted assessment with its whole report."""
    found = service.submitted(workspace_of(request), assessment_id)
    if found is None:
        raise NotFound(_("No assessment {id}.").format(id=assessment_id))
    return found
