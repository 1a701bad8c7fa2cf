"""The store's owner file, the use cases callable through the owner, and errors crossing back.

The whole path (``serve`` owning a store, the CLI calling through it) runs in
``tests/cli/test_cli_owner.py``; these are the pieces, in this process.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartfactory.app import kpis, remote
from smartfactory.model.errors import Conflict, InvalidInput, NotFound, StoreLockedError, UserError
from smartfactory.store import TelemetryStore, telemetry
from smartfactory.store.owner import OWNER_FILE, OwnerInfo, publish_owner, read_owner, withdraw_owner

OWNER = OwnerInfo(1, "http://127.0.0.1:9", "t", "smartfactory serve", "2026-01-01T00:00:00+00:00")


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


# --- the owner file ------------------------------------------------------------------------------


def test_the_owner_file_is_written_for_its_user_only_and_read_back(tmp_path: Path) -> None:
    published = publish_owner(tmp_path, "http://127.0.0.1:8123/", "smartfactory serve --port 8123")
    path = tmp_path / OWNER_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert published.pid == os.getpid() and published.url == "http://127.0.0.1:8123"
    assert len(published.token) >= 40
    assert read_owner(tmp_path) == published
    assert publish_owner(tmp_path, published.url, "again").token != published.token  # a new token each start
    assert [p.name for p in tmp_path.iterdir()] == [OWNER_FILE]  # no temporary file left
    withdraw_owner(tmp_path)
    assert read_owner(tmp_path) is None and not path.exists()


def test_a_process_withdraws_only_its_own_owner_file(tmp_path: Path) -> None:
    publish_owner(tmp_path, "http://127.0.0.1:8123", "serve")
    withdraw_owner(tmp_path, pid=os.getpid() + 1)  # another process stopping
    assert read_owner(tmp_path) is not None


def test_a_dead_owners_file_is_ignored_and_removed(tmp_path: Path) -> None:
    stale = {"pid": _dead_pid(), "url": "http://127.0.0.1:9", "token": "t", "command": "x", "started_at": "x"}
    (tmp_path / OWNER_FILE).write_text(json.dumps(stale), encoding="utf-8")
    assert read_owner(tmp_path) is None
    assert not (tmp_path / OWNER_FILE).exists()


@pytest.mark.parametrize("text", ["", "{", "[]", '{"pid": "x"}', '{"url": "http://127.0.0.1:9"}'])
def test_an_unreadable_owner_file_means_no_owner(tmp_path: Path, text: str) -> None:
    (tmp_path / OWNER_FILE).write_text(text, encoding="utf-8")
    assert read_owner(tmp_path) is None


# --- the use cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(remote.USE_CASES))
def test_every_listed_use_case_can_cross_as_json(name: str) -> None:
    """Each parameter and the result have a JSON form (a TypeAdapter builds), from the signature."""
    case = remote.use_case(name)
    assert case.required <= set(case.parameters), name
    for parameter, adapter in case.parameters.items():
        assert adapter.json_schema(mode="serialization"), (name, parameter)
    assert case.result.json_schema(mode="serialization"), name


def test_a_use_case_arguments_cross_and_come_back_typed() -> None:
    case = remote.use_case_of(kpis.kpis_report)
    sent = case.dump_arguments({"by": "equipment", "kpis": ["oee"], "fields": kpis.CLI_FIELDS, "lang": "zh"})
    json.dumps(sent)  # plain JSON
    back = case.load_arguments(json.loads(json.dumps(sent)))
    assert back["fields"] == kpis.CLI_FIELDS and back["kpis"] == ["oee"] and back["lang"] == "zh"
    with pytest.raises(InvalidInput, match="unknown arguments"):
        case.load_arguments({"colour": "red"})
    with pytest.raises(TypeError):
        case.dump_arguments({"colour": "red"})


def test_only_listed_use_cases_are_callable_through_the_owner() -> None:
    with pytest.raises(NotFound):
        remote.use_case("forget")
    with pytest.raises(TypeError, match="not a use case"):
        remote.use_case_of(kpis.kpi_catalogue)


# --- errors from the owner -------------------------------------------------------------------------


def _problem(status: int, problem_type: str, detail: str, **extra: object) -> bytes:
    return json.dumps(
        {"type": f"/problems/{problem_type}", "title": "t", "status": status, "detail": detail, **extra}
    ).encode()


@pytest.mark.parametrize(
    ("status", "problem_type", "cls"),
    [
        (422, "invalid-input", InvalidInput),
        (404, "not-found", NotFound),
        (409, "conflict", Conflict),
        (503, "store-busy", StoreLockedError),
        (400, "bad-request", UserError),
        (409, "a-type-from-a-newer-owner", Conflict),  # unknown type: the class of the status
    ],
)
def test_an_owners_problem_comes_back_as_its_error_class(
    status: int, problem_type: str, cls: type[UserError]
) -> None:
    error = remote.owner_error(status, _problem(status, problem_type, "what went wrong"), OWNER)
    assert type(error) is cls
    assert error.summary == "what went wrong" and error.exit_code == cls.exit_code


def test_the_problems_of_an_owners_error_come_back() -> None:
    body = _problem(422, "invalid-input", "bad", errors=[{"field": "query.from", "message": "not a date"}])
    error = remote.owner_error(422, body, OWNER)
    assert [(p.source, p.message) for p in error.problems] == [("query.from", "not a date")]


def test_a_refused_or_failed_call_names_the_owner() -> None:
    refused = remote.owner_error(401, _problem(401, "x", "no"), OWNER)
    assert isinstance(refused, StoreLockedError) and "process 1 (smartfactory serve)" in refused.summary
    failed = remote.owner_error(500, b"Internal Server Error", OWNER)
    assert type(failed) is UserError and "failed (500)" in failed.summary and "see its log" in failed.summary


# --- a writer waits out a reader -------------------------------------------------------------------


def _reading_for(folder: Path, seconds: float) -> subprocess.Popen[str]:
    code = (
        "import sys, time, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print('open', flush=True); time.sleep(float(sys.argv[2]))"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code, str(folder / telemetry.TELEMETRY_FILE), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    return reader


def test_a_writer_waits_for_a_reader_to_finish(tmp_path: Path) -> None:
    TelemetryStore.open(tmp_path, "write").close()
    reader = _reading_for(tmp_path, 1.0)
    started = time.monotonic()
    with TelemetryStore.open(tmp_path, "write") as store:
        assert store.mode == "write"
    assert time.monotonic() - started > 0.3  # it did wait
    reader.wait()


def test_a_writer_gives_up_on_a_long_reader_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    TelemetryStore.open(tmp_path, "write").close()
    monkeypatch.setattr(telemetry, "READERS_WAIT_S", 0.3)
    reader = _reading_for(tmp_path, 5.0)
    try:
        with pytest.raises(
            StoreLockedError, match=rf"is being read by process {reader.pid}, still after 0.3 s"
        ):
            TelemetryStore.open(tmp_path, "write")
    finally:
        reader.kill()
        reader.wait()
