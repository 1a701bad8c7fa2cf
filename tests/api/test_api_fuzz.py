"""The API fuzzed with schemathesis from its own /openapi.json: never a 5xx, every answer as documented.

Runs against a store of its own (the fuzzer posts answers, acknowledges alarms, adds users…),
as an admin with an API token, so every route is reachable. Deterministic (derandomised
Hypothesis) and bounded (a few valid and a few invalid requests per operation, no shrinking).

schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``) does not work with
pytest 9.2 (it writes ``Function._nodeid``, which is gone), and ``schema.parametrize()`` would
need the app at collection time; so this test walks the operations itself and reports every
problem it finds in one failure, each with a curl command that repeats the request.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from smartfactory.app.accounts import add_user
from smartfactory.app.roles import Role
from smartfactory.app.scenarios import wait_for_runs
from smartfactory.app.sessions import issue_token
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.web.app import create_app
from web import build_store

# the fuzzer's own admin: generated user names will not hit it, so it keeps its rights throughout
FUZZ_USER = "fuzz-admin"
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class FuzzTarget:
    """The app under test and the headers that sign a request in."""

    app: FastAPI
    headers: dict[str, str]


@dataclass
class Findings:
    """Problems found, one per operation and kind, with a request that shows each."""

    problems: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: int = 0

    def add(self, operation: str, kind: str, detail: str, case: schemathesis.Case) -> None:
        """Keep the first example of each kind of problem of an operation."""
        curl = case.as_curl_command()
        if len(curl) > 400:  # generated path segments and bodies can be kilobytes long
            curl = curl[:400] + " …"
        self.problems.setdefault((operation, kind), f"{operation}: {kind}\n    {detail}\n    {curl}")


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """The app over a 3-day store of its own, and an admin's API token."""
    folder = build_store(tmp_path_factory.mktemp("fuzz-store"))
    workspace = Workspace(WorkspaceSettings(store=folder))
    add_user(workspace.registry, FUZZ_USER, "fuzz-admin-password-1", Role.admin, "Fuzz Admin")
    token = issue_token(workspace.registry, FUZZ_USER, "schemathesis")
    try:
        yield FuzzTarget(
            create_app(workspace.settings, workspace=workspace), {"Authorization": f"Bearer {token}"}
        )
    finally:
        # a valid POST /scenarios/{name}/runs starts a run in a background thread: let it end
        # before the store closes under it
        wait_for_runs(workspace, timeout=120)
        workspace.close()


def fuzz(case: schemathesis.Case, target: FuzzTarget, findings: Findings) -> None:
    """Send one generated request and record whatever the checks find (the run goes on)."""
    findings.requests += 1
    label = case.operation.label
    try:
        case.call_and_validate(headers=target.headers, checks=CHECKS)
    except FailureGroup as group:
        for failure in group.exceptions:
            findings.add(label, failure.title, _first_lines(failure.message), case)
    except Failure as failure:
        findings.add(label, failure.title, _first_lines(failure.message), case)
    except Exception as exc:  # the app raised through the test client: a 500 for a real client
        findings.add(label, f"exception {type(exc).__name__}", _first_lines(traceback.format_exc(), 12), case)


def _first_lines(text: str, lines: int = 6) -> str:
    return "\n    ".join(
        text.strip().splitlines()[-lines:] if "Traceback" in text else text.strip().splitlines()[:lines]
    )


def run_operation(
    operation: schemathesis.APIOperation, mode: GenerationMode, send: Callable[[schemathesis.Case], None]
) -> None:
    """Up to EXAMPLES[mode] requests for one operation, derandomised, without shrinking."""

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def each(case: schemathesis.Case) -> None:
        send(case)

    each()


def test_api_answers_as_documented(fuzz_target: FuzzTarget) -> None:
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_target.app, headers=fuzz_target.headers)
    findings = Findings()
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    broken = [str(result.err()) for result in schema.get_all_operations() if not isinstance(result, Ok)]
    assert not broken, "operations the schema does not describe validly:\n" + "\n".join(broken)
    assert operations, "the schema has no operations"
    for operation in operations:
        for mode in EXAMPLES:
            try:
                run_operation(operation, mode, lambda case: fuzz(case, fuzz_target, findings))
            except (
                HypothesisException
            ) as exc:  # e.g. no invalid request exists for an operation without inputs
                if mode is GenerationMode.POSITIVE:
                    findings.problems[(operation.label, "generation")] = f"{operation.label}: {exc}"
    print(
        f"{findings.requests} requests to {len(operations)} operations in {time.monotonic() - started:.1f} s"
    )
    if findings.problems:
        pytest.fail(
            f"{len(findings.problems)} problems in {findings.requests} requests to "
            f"{len(operations)} operations:\n\n" + "\n\n".join(findings.problems.values()),
            pytrace=False,
        )
