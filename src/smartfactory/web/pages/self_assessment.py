"""Page: the self-assessment questionnaire, saved as it is typed, and the submit that re-assesses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from smartfactory.api.auth.deps import EngineerPage, ViewerPage, workspace_of
from smartfactory.app import answers as answer_service
from smartfactory.app import assessment as assessment_service
from smartfactory.app.i18n import gettext as _
from smartfactory.app.roles import Role
from smartfactory.app.sessions import Principal
from smartfactory.assess.answers import AnswersFileError
from smartfactory.web.templating import render

router = APIRouter()

Key = Annotated[str, Path(min_length=1, max_length=128)]


def _page(
    request: Request,
    principal: Principal,
    *,
    status_code: int = 200,
    problems: list[tuple[str, str, str | None]] | None = None,
    imported: int | None = None,
) -> Response:
    workspace = workspace_of(request)
    latest = assessment_service.history(workspace, limit=1).items
    return render(  # type: ignore[no-any-return]
        request,
        "self_assessment.html",
        status_code=status_code,
        title=_("Self-assessment"),
        questionnaire=answer_service.questionnaire(workspace),
        can_edit=principal.role.allows(Role.engineer),
        latest=latest[0] if latest else None,
        problems=problems or [],
        imported=imported,
    )


@router.get("/self-assessment")
def self_assessment_page(request: Request, principal: ViewerPage) -> Response:
    """The questionnaire grouped by level, stage and sub-domain; read-only for viewers."""
    imported = request.query_params.get("imported")
    return _page(request, principal, imported=int(imported) if imported and imported.isdigit() else None)


@router.put("/self-assessment/answers/{key}")
async def save_field(
    request: Request,
    key: Key,
    principal: EngineerPage,
) -> Response:
    """Save one field (HTMX on change) and answer with the field again: saved, or its error inline."""
    form = await request.form()
    raw = form.get(f"answer:{key}")
    typed = raw if isinstance(raw, str) else None
    workspace = workspace_of(request)
    error: str | None = None
    code: str | None = None
    try:
        await run_in_threadpool(answer_service.save_answer, workspace, key, typed, principal.username)
    except answer_service.AnswerRejected as exc:
        error, code = exc.message, exc.code
    question = await run_in_threadpool(answer_service.answer_of, workspace, key)
    # HTMX swaps only 2xx answers: the field comes back with its inline error either way
    status = 422 if error is not None and "hx-request" not in request.headers else 200
    return render(  # type: ignore[no-any-return]
        request,
        "self_assessment_field.html",
        status_code=status,
        q=question,
        value=typed if error is not None else question.value,
        error=error,
        error_code=code,
        saved=error is None,
        can_edit=True,
    )


@router.post("/self-assessment/submit")
def submit(request: Request, principal: EngineerPage) -> Response:
    """Re-assess the saved answers and record it: HTMX gets the new level, a plain form the assessment."""
    report = assessment_service.submit(workspace_of(request), principal.username)
    if "hx-request" not in request.headers:
        return RedirectResponse("/assessment", status_code=303)
    return render(request, "self_assessment_result.html", report=report)  # type: ignore[no-any-return]


@router.post("/self-assessment/import")
async def import_file(request: Request, principal: EngineerPage) -> Response:
    """Replace the answers with an uploaded answers file; its problems are listed with their lines."""
    form = await request.form()
    upload = form.get("file")
    problems: list[tuple[str, str, str | None]]
    if not isinstance(upload, UploadFile):
        problems = [("file", _("Choose an answers file to upload."), None)]
        return await run_in_threadpool(_page, request, principal, status_code=422, problems=problems)
    raw = await upload.read(answer_service.MAX_ANSWERS_FILE * 4 + 1)
    source = (upload.filename or answer_service.UPLOAD_SOURCE)[:100]
    try:
        text = answer_service.decode_upload(raw, source)
        result = await run_in_threadpool(
            answer_service.import_answers, workspace_of(request), text, principal.username, source=source
        )
    except AnswersFileError as exc:
        problems = answer_service.problems_by_line(exc) or [("file", exc.summary, None)]
        return await run_in_threadpool(_page, request, principal, status_code=422, problems=problems)
    return RedirectResponse(f"/self-assessment?imported={result.saved}", status_code=303)
