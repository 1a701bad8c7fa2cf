"""One error hierarchy: each user error's class says how the API, the pages and the CLI answer it.

The classes declare status, problem type, title and exit code; ``web/app.py`` renders every one
through one handler and ``cli/main.py`` exits with the class's code. Routes map no errors and no
docstring names an HTTP status (the OpenAPI ``responses=`` declare them).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient

from smartfactory.api.problems import PROBLEM_JSON, ApiProblem, type_uri
from smartfactory.app import answers as answer_service
from smartfactory.app import plant as plant_service
from smartfactory.app import scenarios as scenario_service
from smartfactory.app import users as user_service
from smartfactory.app.errors import invalid
from smartfactory.app.roles import Role
from smartfactory.assess.answers import AnswersFileError
from smartfactory.cli import main as cli_main
from smartfactory.model.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PlantFileError,
    Problem,
    StoreLockedError,
    UserError,
)
from translations import catalogue
from web import app_for
from web_accounts import light_server, session_client

SRC = Path(__file__).resolve().parents[2] / "src" / "smartfactory"

# every class a request can meet, with the status, type and title the front ends show
DECLARED: list[tuple[type[UserError], int, str, str]] = [
    (UserError, 400, "bad-request", "Request not allowed"),
    (InvalidInput, 422, "invalid-input", "Invalid request"),
    (NotFound, 404, "not-found", "Not found"),
    (Conflict, 409, "conflict", "Conflict"),
    (StoreLockedError, 503, "store-busy", "The store is busy"),
    (PlantFileError, 422, "invalid-plant-file", "Invalid plant file"),
    (AnswersFileError, 422, "invalid-input", "The answers file has problems"),
    (answer_service.AnswerRejected, 422, "invalid-input", "Invalid answer"),
    (answer_service.UnknownQuestion, 404, "not-found", "Not found"),
    (user_service.UnknownUser, 404, "not-found", "No such user"),
    (user_service.UserExists, 409, "conflict", "User exists"),
    (user_service.LastAdmin, 409, "conflict", "The only admin"),
    (plant_service.OtherPlant, 409, "conflict", "Another plant"),
    (scenario_service.UnknownScenario, 404, "not-found", "No such scenario"),
    (scenario_service.UnknownRun, 404, "not-found", "No such run"),
    (scenario_service.NoSchedule, 404, "not-found", "No schedule yet"),
    (scenario_service.RunInProgress, 409, "conflict", "Already running"),
]


def example(cls: type[UserError]) -> UserError:
    """An instance of ``cls`` with two problems, one of them on a line of an uploaded file."""
    problems = [
        Problem("request", "query.start", "Enter a date."),
        Problem("plant.toml", "body.toml.plant.id", "Use the stored id.", 7),
    ]
    if cls is answer_service.AnswerRejected:
        return cls("G25-BAS-SIZE", "Answer yes or no.")
    if cls is answer_service.UnknownQuestion:
        return cls("G25-NOPE", "gradient/2025/national")
    if cls is scenario_service.UnknownScenario:
        return cls("nope")
    if cls is scenario_service.UnknownRun:
        return cls("run-1")
    if cls is scenario_service.NoSchedule:
        return cls()
    if cls is scenario_service.RunInProgress:
        return cls("scheduling", "run-1")
    return cls("Something is wrong.", problems)


def subclasses(cls: type[UserError]) -> Iterator[type[UserError]]:
    """``cls`` and every subclass defined so far."""
    yield cls
    for sub in cls.__subclasses__():
        yield from subclasses(sub)


# --- the classes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "status", "kind", "title"), DECLARED, ids=lambda v: getattr(v, "__name__", "")
)
def test_each_class_declares_how_it_is_answered(
    cls: type[UserError], status: int, kind: str, title: str
) -> None:
    assert (cls.status, cls.problem_type, cls.title, cls.exit_code) == (status, kind, title, 1)


def test_every_user_error_has_a_status_a_type_and_a_title_in_chinese() -> None:
    for module in ("smartfactory.app.accounts", "smartfactory.assess.framework", "smartfactory.app.kpis"):
        importlib.import_module(module)  # their subclasses too
    zh = catalogue()
    for cls in subclasses(UserError):
        assert 400 <= cls.status < 600, cls
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", cls.problem_type), cls
        assert cls.title in zh, f"{cls.__name__}.title {cls.title!r} has no zh_CN translation"
        assert cls.exit_code == 1, cls


# --- the API and the pages: one handler ---------------------------------------------------------


@pytest.fixture(scope="module")
def raising(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app with a route and a page that raise the error named in the path."""
    with light_server(tmp_path_factory.mktemp("errors")) as workspace:
        app = app_for(workspace)
        by_name = {cls.__name__: cls for cls, *_ in DECLARED}

        def api_raise(name: str) -> None:
            raise example(by_name[name])

        def page_raise(name: str) -> None:
            raise example(by_name[name])

        app.add_api_route("/api/v1/test-errors/{name}", api_raise, methods=["GET"])
        app.add_api_route("/test-errors/{name}", page_raise, methods=["GET"])
        yield app


@pytest.mark.parametrize(
    ("cls", "status", "kind", "title"), DECLARED, ids=lambda v: getattr(v, "__name__", "")
)
def test_the_api_answers_each_class_with_its_problem_document(
    raising: FastAPI, cls: type[UserError], status: int, kind: str, title: str
) -> None:
    error = example(cls)
    response = TestClient(raising).get(f"/api/v1/test-errors/{cls.__name__}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == type_uri(kind) == f"/problems/{kind}"
    assert (body["title"], body["status"], body["detail"]) == (title, status, error.summary)
    assert body["instance"] == f"/api/v1/test-errors/{cls.__name__}"
    expected = [
        {"field": p.location, "message": f"line {p.line}: {p.message}", "line": p.line}
        if p.line is not None
        else {"field": p.location, "message": p.message}
        for p in error.problems
    ]
    assert body["errors"] == expected


@pytest.mark.parametrize(("cls", "status", "title"), [(c, s, t) for c, s, _k, t in DECLARED][:6])
def test_a_page_shows_the_error_page_with_the_class_status(
    raising: FastAPI, cls: type[UserError], status: int, title: str
) -> None:
    response = TestClient(raising).get(f"/test-errors/{cls.__name__}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert title in response.text and "Something is wrong." in response.text


def test_titles_and_messages_are_in_the_users_language(raising: FastAPI) -> None:
    client = TestClient(raising, headers={"Accept-Language": "zh-CN"})
    body = client.get("/api/v1/test-errors/UnknownUser").json()
    assert body["title"] == "没有该用户"
    assert body["errors"][1]["message"].startswith("第 7 行：")
    page = client.get("/test-errors/Conflict")
    assert page.status_code == 409 and "冲突" in page.text


def test_a_rejected_request_is_an_invalid_input_problem(tmp_path: Path) -> None:
    with light_server(tmp_path) as workspace:
        client = session_client(app_for(workspace), Role.viewer.value)
        response = client.get("/api/v1/telemetry", params={"equipment": "OP10-M1", "points": "many"})
        assert response.status_code == 422
        body = response.json()
        assert body["type"] == "/problems/invalid-input" and body["title"] == "Invalid request"
        assert body["errors"][0]["field"] == "query.points"
        missing = client.get("/api/v1/equipment/NOPE/signals")
        assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
        assert missing.json()["errors"][0]["field"] == "path.equipment_id"


def test_one_helper_names_the_field() -> None:
    error = invalid("query.end", "The end must be after the start.")
    assert isinstance(error, InvalidInput) and error.summary == "The end must be after the start."
    assert error.problems == [Problem("request", "query.end", "The end must be after the start.")]
    assert ApiProblem.of(error).document()["errors"] == [
        {"field": "query.end", "message": "The end must be after the start."}
    ]


# --- the CLI: the exit code of the class ------------------------------------------------------


@pytest.mark.parametrize("cls", [c for c, *_ in DECLARED], ids=lambda c: c.__name__)
def test_the_cli_exits_with_the_class_code_and_one_line(
    cls: type[UserError], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = example(cls)
    failing = typer.Typer()

    @failing.command()
    def fail() -> None:
        raise error

    monkeypatch.setattr(cli_main, "app", failing)
    monkeypatch.setattr("sys.argv", ["smartfactory"])
    with pytest.raises(SystemExit) as exited:
        cli_main.run()
    assert exited.value.code == cls.exit_code == cli_main.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"error: {error.summary}") and "Traceback" not in err


def test_a_bug_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    failing = typer.Typer()

    @failing.command()
    def fail() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_main, "app", failing)
    monkeypatch.setattr("sys.argv", ["smartfactory"])
    with pytest.raises(SystemExit) as exited:
        cli_main.run()
    assert exited.value.code == cli_main.EXIT_INTERNAL_ERROR
    assert "internal error" in capsys.readouterr().err


# --- the sources: no mapping in routes, no statuses in docstrings -------------------------------


# what only HTTP knows (a body too large, a media type not accepted): the rest are user errors
HTTP_ONLY = {413, 415}


def test_no_route_maps_a_domain_error_itself() -> None:
    found = []
    for path in sorted((SRC / "api" / "routes").glob("*.py")):
        module = importlib.import_module(f"smartfactory.api.routes.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                for name in names:
                    caught = eval(compile(ast.Expression(name), str(path), "eval"), vars(module))
                    if inspect.isclass(caught) and issubclass(caught, UserError):
                        found.append(f"{path.name}:{node.lineno} catches {caught.__name__}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiProblem":
                status = node.args[0] if node.args else None
                if not (isinstance(status, ast.Constant) and status.value in HTTP_ONLY):
                    found.append(f"{path.name}:{node.lineno} builds an ApiProblem for a domain error")
    assert not found, "routes raise user errors and web/app.py maps them:\n" + "\n".join(found)


def test_no_page_builds_a_problem_of_its_own() -> None:
    found = [
        f"{path.name}: {line.strip()}"
        for path in sorted((SRC / "web" / "pages").glob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if "ApiProblem" in line
    ]
    assert not found, "pages raise user errors and web/app.py renders the error page:\n" + "\n".join(found)


STATUS = r"(?:400|401|403|404|405|409|413|415|422|429|500|503)"
HTTP_WORDS = re.compile(
    rf"\(\s*(?:\d{{3}}\s*(?:/|or|,)\s*)*{STATUS}\s*(?:\)|/|,|or\b|otherwise|when|if)"
    rf"|\b(?:HTTP|status|answers?|answered|answering|returns?|gets?|raises?|with|the|a|own)\s+{STATUS}\b"
    rf"|\b{STATUS}\s+(?:when|if|otherwise|page|problem|error|response|answer)\b",
    re.IGNORECASE,
)


def test_no_docstring_names_an_http_status() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node) or ""
                found += [
                    f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 1)}: …{match.group(0)}…"
                    for match in HTTP_WORDS.finditer(doc)
                ]
    assert not found, "statuses belong to the error classes and responses=:\n" + "\n".join(found)


def test_the_docstring_check_finds_what_it_should() -> None:
    for text in ("Clear it (409 when cleared).", "answer 404", "(401 / 403 otherwise)", "the 404 page"):
        assert HTTP_WORDS.search(text), text
    for text in ("the first 400 points (400 s)", "nobody types 500 NodeIds", "at most 200 characters"):
        assert not HTTP_WORDS.search(text), text
