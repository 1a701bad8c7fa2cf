"""Use cases across processes: run one here, or in the process that owns the store.

DuckDB lets one process hold the telemetry file for writing, and no other process may open it
then, not even to read. That process is the store's owner (``smartfactory serve``, ``ingest``):
it publishes a loopback endpoint (``smartfactory.store.owner``) and other processes call the use
cases listed here through it. ``call(workspace, use_case, **arguments)`` runs the use case in
this process when the workspace holds the store, else sends the arguments as JSON to the owner,
which runs the same function on its workspace and answers with the result's JSON; a user error
there comes back as the same ``UserError`` class with the owner's message (in the caller's
language), so a command prints and exits the same either way.

Each use case's arguments and result cross as JSON, checked by pydantic ``TypeAdapter`` s built
from the function's signature: a use case is callable through the owner when its parameters and
its return type are (Pydantic models, dataclasses, enums, plain values).
"""

from __future__ import annotations

import importlib
import inspect
import json
import ssl
import time
import typing
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from smartfactory.app.i18n import language, language_tag
from smartfactory.app.workspace import Workspace
from smartfactory.model import errors
from smartfactory.model.errors import InvalidInput, NotFound, Problem, StoreLockedError, UserError
from smartfactory.model.plant import Plant
from smartfactory.store.owner import OWNER_PATH, OwnerInfo, pid_alive

T = TypeVar("T")

# the use cases another process may call through the owner: name → "module:function"
# (imported when first called, so a command loads only what it uses)
USE_CASES: dict[str, str] = {
    "kpis_report": "smartfactory.app.kpis:kpis_report",
    "losses_report": "smartfactory.app.kpis:losses_report",
    "kpi_explanation": "smartfactory.app.kpis:kpi_explanation",
    "store_summary": "smartfactory.app.store_ops:store_summary",
    "export_events": "smartfactory.app.store_ops:export_events",
    "run_scenario": "smartfactory.app.store_ops:run_scenario",
    "assess_store": "smartfactory.app.store_ops:assess_store",
    "quarantine_list": "smartfactory.app.quarantine:quarantine_list",
    "quarantine_entry": "smartfactory.app.quarantine:quarantine_entry",
}

CALL_TIMEOUT_S = 3600.0  # a scenario run or an export may take long; the owner answers when done
CONNECT_WAIT_S = 5.0  # an owner that just published its file may not accept connections yet


class CallRequest(BaseModel):
    """What a caller sends the owner: the arguments as JSON, and the plant of ``--plant`` if given."""

    arguments: dict[str, Any] = {}
    plant: Plant | None = None  # the caller's plant file replaces the stored plant for this call


@dataclass(frozen=True)
class UseCase:
    """A use case callable through the owner: its function and how its arguments and result cross."""

    name: str
    function: Callable[..., Any]
    parameters: dict[str, TypeAdapter[Any]]  # every parameter after the workspace
    required: frozenset[str]
    result: TypeAdapter[Any]

    def dump_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments as JSON values (a TypeError for one the function does not take)."""
        unknown = sorted(set(arguments) - set(self.parameters))
        if unknown:
            raise TypeError(f"{self.name}() got unexpected arguments {unknown}")
        return {k: self.parameters[k].dump_python(v, mode="json") for k, v in arguments.items()}

    def load_arguments(self, sent: dict[str, Any]) -> dict[str, Any]:
        """The arguments a caller sent, checked and converted back (InvalidInput when they do not fit)."""
        unknown = sorted(set(sent) - set(self.parameters))
        missing = sorted(self.required - set(sent))
        if unknown or missing:
            raise InvalidInput(
                f"{self.name}: unknown arguments {unknown}, missing {missing}; is the caller the same "
                "smartfactory version as the store's owner?"
            )
        try:
            return {k: self.parameters[k].validate_python(v) for k, v in sent.items()}
        except ValidationError as exc:
            raise InvalidInput(f"{self.name}: arguments that do not fit: {exc}") from None


def use_case(name: str) -> UseCase:
    """The use case registered as ``name`` (NotFound for any other name)."""
    target = USE_CASES.get(name)
    if target is None:
        raise NotFound(
            f"no use case {name!r} is callable through the store owner; known: {sorted(USE_CASES)}"
        )
    return _built(name, target)


def use_case_of(function: Callable[..., Any]) -> UseCase:
    """The registered use case of ``function`` (a TypeError for a function not listed in USE_CASES)."""
    target = f"{function.__module__}:{function.__qualname__}"
    for name, listed in USE_CASES.items():
        if listed == target:
            return _built(name, listed)
    raise TypeError(f"{target} is not a use case callable through the store owner (see USE_CASES)")


@cache
def _built(name: str, target: str) -> UseCase:
    module_name, _sep, attribute = target.partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    hints = typing.get_type_hints(
        function, globalns={**function.__globals__, "Workspace": Workspace}, include_extras=True
    )
    parameters: dict[str, TypeAdapter[Any]] = {}
    required: set[str] = set()
    for parameter in list(inspect.signature(function).parameters.values())[1:]:  # after the workspace
        hint = hints[parameter.name]
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            # **args: Unpack[SomeArgs]: each key of the TypedDict is a parameter of its own
            (typed_dict,) = typing.get_args(hint)
            for key, key_hint in typing.get_type_hints(typed_dict, include_extras=True).items():
                parameters[key] = TypeAdapter(key_hint)
                if key in getattr(typed_dict, "__required_keys__", ()):
                    required.add(key)
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(f"{target}: a use case called through the owner takes no *args")
        parameters[parameter.name] = TypeAdapter(hint)
        if parameter.default is inspect.Parameter.empty:
            required.add(parameter.name)
    return UseCase(name, function, parameters, frozenset(required), TypeAdapter(hints["return"]))


# --- the caller's side -------------------------------------------------------------------------


def call(workspace: Workspace, function: Callable[..., T], /, **arguments: Any) -> T:
    """``function(workspace, **arguments)``: here, or in the store's owner when another process holds it."""
    if workspace.owner is None:
        return function(workspace, **arguments)
    case = use_case_of(function)
    request = CallRequest(arguments=case.dump_arguments(arguments), plant=workspace.given_plant)
    body = _post(workspace.owner, f"/call/{case.name}", request.model_dump_json().encode())
    result: T = case.result.validate_json(body)
    return result


def _post(owner: OwnerInfo, path: str, body: bytes) -> bytes:
    """POST ``body`` to the owner's endpoint; the answer's body, or the owner's error raised here."""
    request = urllib.request.Request(
        owner.url + OWNER_PATH + path,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {owner.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Language": language_tag(language()),
        },
    )
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        try:
            with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S, context=_tls()) as response:
                answer: bytes = response.read()
                return answer
        except urllib.error.HTTPError as exc:
            raise owner_error(exc.code, exc.read(), owner) from None
        except (urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            refused = isinstance(reason, ConnectionRefusedError)
            if refused and pid_alive(owner.pid) and time.monotonic() < deadline:
                time.sleep(0.1)  # published, not listening yet: the owner is starting
                continue
            raise StoreLockedError(
                f"the store is owned by process {owner.pid} ({owner.command}), whose endpoint "
                f"{owner.url} does not answer ({reason}); try again, or stop that process"
            ) from None


def _tls() -> ssl.SSLContext:
    # used when the owner serves HTTPS (serve --certfile): its certificate names its public host,
    # not the loopback address called here; the token authenticates the call, loopback keeps it local
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_ERROR_CLASSES: tuple[type[UserError], ...] = tuple(
    c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, UserError)
)


def error_class(problem_type: str, status: int) -> type[UserError]:
    """The ``model.errors`` class that declares this problem type (or else this status)."""
    for cls in _ERROR_CLASSES:
        if cls.problem_type == problem_type:
            return cls
    for cls in _ERROR_CLASSES:
        if cls.status == status:
            return cls
    return UserError


def owner_error(status: int, body: bytes, owner: OwnerInfo) -> UserError:
    """The error the owner answered with, raised again here: its class, summary and problems."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {}
    if status == 401:
        return StoreLockedError(
            f"the store's owner, process {owner.pid} ({owner.command}), refused the call: its owner "
            "file changed (a restart?); try again"
        )
    if status >= 500 and status != StoreLockedError.status:
        detail = document.get("detail") or document.get("title") or body[:200].decode(errors="replace")
        return UserError(
            f"the store's owner, process {owner.pid} ({owner.command}), failed ({status}): {detail}; "
            "see its log"
        )
    problem_type = str(document.get("type", "")).rpartition("/")[2]
    problems = [
        Problem(source=str(e.get("field", "")), location="", message=str(e.get("message", "")))
        for e in document.get("errors", [])
        if isinstance(e, dict)
    ]
    summary = document.get("detail") or document.get("title") or f"the store's owner answered {status}"
    return error_class(problem_type, status)(str(summary), problems)


# --- the owner's side ----------------------------------------------------------------------------


def serve_call(workspace: Workspace, name: str, body: bytes) -> bytes:
    """Run the use case ``name`` for a caller (``body``: a ``CallRequest``); the result as JSON."""
    case = use_case(name)
    try:
        request = CallRequest.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise InvalidInput(f"a call of {name} that is not a CallRequest: {exc}") from None
    arguments = case.load_arguments(request.arguments)
    target = workspace if request.plant is None else workspace.with_plant(request.plant)
    result = case.function(target, **arguments)
    answer: bytes = case.result.dump_json(result)
    return answer
