"""``smartfactory user add|list|remove|passwd|role|token`` on SQLite and PostgreSQL registries.

Most cases call the command's entry point in-process (the same ``run()`` the ``smartfactory``
script calls, so exit codes and error lines are the real ones); one runs it as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartfactory.app.accounts import authenticate
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token, session_principal, start_session, token_principal
from smartfactory.cli import main as cli_main
from smartfactory.store import REGISTRY_FILE, Registry
from smartfactory.store.registry import ApiTokenRow, UserRow, WebSessionRow

PASSWORD = "long-enough-1"


class Where:
    """The options that point the command at one registry, and that registry's URL."""

    def __init__(self, options: list[str], url: str) -> None:
        self.options = options
        self.url = url

    def open(self) -> Registry:
        """The registry the commands write to."""
        return Registry.open(self.url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    """A fresh registry: the store's SQLite file, or a new PostgreSQL database (--registry)."""
    store = tmp_path / "store"
    if request.param == "sqlite":
        return Where(["--store", str(store)], f"sqlite:///{store / REGISTRY_FILE}")
    url: str = request.getfixturevalue("postgres_url")
    return Where(["--store", str(store), "--registry", url], url)


def sf(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run ``smartfactory ARGS`` in-process; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["smartfactory", *args])
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    code = 0
    try:
        cli_main.run()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def state(where: Where) -> dict[str, Any]:
    """Everything the user commands may change: users (with hashes), sessions, tokens."""
    with where.open() as registry, Session(registry.engine) as session:
        users = [
            (u.username, u.role, u.display_name, u.password_hash)
            for u in session.scalars(select(UserRow).order_by(UserRow.username))
        ]
        sessions = session.scalar(select(func.count()).select_from(WebSessionRow))
        tokens = session.scalar(select(func.count()).select_from(ApiTokenRow))
    return {"users": users, "sessions": sessions, "tokens": tokens}


def listed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: Where
) -> list[dict[str, Any]]:
    """``user list --json``."""
    code, out, err = sf(capsys, monkeypatch, "user", "list", "--json", *where.options)
    assert code == 0, err
    result: list[dict[str, Any]] = json.loads(out)
    return result


def test_add_list_role_passwd_token_remove(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: Where
) -> None:
    code, out, err = sf(
        capsys, monkeypatch, "user", "add", "li.wei", "--role", "engineer", "--name", "李伟",
        "--password", PASSWORD, *where.options,
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert out.strip() == "added li.wei (engineer)"
    users = listed(capsys, monkeypatch, where)
    assert [(u["username"], u["role"], u["name"]) for u in users] == [("li.wei", "engineer", "李伟")]
    assert "password" not in json.dumps(users) and "argon2" not in json.dumps(users)
    code, out, _ = sf(capsys, monkeypatch, "user", "list", *where.options)
    assert code == 0 and "li.wei" in out and "engineer" in out
    with where.open() as registry:
        assert authenticate(registry, "li.wei", PASSWORD) is not None
        cookie, _csrf = start_session(registry, "li.wei", None, 1.0)

    code, out, _ = sf(capsys, monkeypatch, "user", "role", "li.wei", "admin", *where.options)
    assert (code, out.strip()) == (0, "li.wei is now admin")
    code, out, _ = sf(
        capsys, monkeypatch, "user", "passwd", "li.wei", "--password", "new-password-2", *where.options
    )
    assert (code, out.strip()) == (0, "password of li.wei changed")
    with where.open() as registry:
        assert authenticate(registry, "li.wei", "new-password-2") is not None
        assert authenticate(registry, "li.wei", PASSWORD) is None
        assert session_principal(registry, cookie) is None  # signed out everywhere

    code, out, _ = sf(
        capsys, monkeypatch, "user", "token", "li.wei", "--name", "ci", "--days", "30", *where.options
    )
    token = out.strip()
    assert code == 0 and token.startswith("sft_") and len(token.splitlines()) == 1
    with where.open() as registry:
        principal = token_principal(registry, token)
        assert principal is not None and principal.role == Role.admin

    code, out, _ = sf(capsys, monkeypatch, "user", "remove", "li.wei", *where.options)
    assert (code, out.strip()) == (0, "removed li.wei")
    assert listed(capsys, monkeypatch, where) == []
    with where.open() as registry:
        assert token_principal(registry, token) is None
    assert state(where)["tokens"] == 0


def test_the_password_may_come_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: Where
) -> None:
    monkeypatch.setenv("SMARTFACTORY_PASSWORD", "from-the-env-1")
    code, _, err = sf(capsys, monkeypatch, "user", "add", "ops", *where.options)
    assert code == 0, err
    with where.open() as registry:
        user = authenticate(registry, "ops", "from-the-env-1")
    assert user is not None and user.role == Role.viewer  # the default role


BAD_INPUT = [
    (["add", "bad name", "--password", PASSWORD], "invalid user name"),
    (["add", "-leading-dash", "--password", PASSWORD], ""),  # read as an option: a usage error
    (["add", "x" * 65, "--password", PASSWORD], "invalid user name"),
    (["add", "bob", "--password", "short"], "invalid password: use 8 to 1024 characters"),
    (["add", "bob", "--password", "p" * 1025], "invalid password"),
    (["add", "bob", "--role", "boss", "--password", PASSWORD], "unknown role 'boss'"),
    (["add", "alice", "--password", PASSWORD], "user 'alice' already exists"),
    (["add", "bob", "--name", "n" * 201, "--password", PASSWORD], "use at most 200"),
    (["remove", "nobody"], "no user 'nobody'"),
    (["passwd", "nobody", "--password", PASSWORD], "no user 'nobody'"),
    (["passwd", "alice", "--password", "short"], "invalid password"),
    (["role", "nobody", "admin"], "no user 'nobody'"),
    (["role", "alice", "root"], "unknown role 'root'"),
    (["token", "nobody"], "no user 'nobody'"),
    (["token", "alice", "--days", "0"], "--days must be more than 0"),
    (["token", "alice", "--days", "-1"], "--days must be more than 0"),
    (["token", "alice", "--days", "inf"], "--days must be more than 0"),
    (["token", "alice", "--days", "nan"], "--days must be more than 0"),
    (["token", "alice", "--name", ""], "a token needs a name"),
    (["token", "alice", "--name", "n" * 65], "a token needs a name"),
    (["role", "alice"], ""),  # the role is missing: a usage error
]


def test_bad_input_is_one_line_exit_1_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: Where
) -> None:
    # one registry for every case (a fresh one each would cost a migration and a hash per case)
    code, _, err = sf(
        capsys, monkeypatch, "user", "add", "alice", "--role", "admin", "--password", PASSWORD, *where.options
    )
    assert code == 0, err
    with where.open() as registry:
        start_session(registry, "alice", None, 1.0)
        issue_token(registry, "alice", "kept")
    before = state(where)
    wrong = []
    for args, message in BAD_INPUT:
        code, out, err = sf(capsys, monkeypatch, "user", *args, *where.options)
        lines = err.strip().splitlines()
        if code != 1 or "Traceback" in out + err or not lines:
            wrong.append(f"{args}: exit {code}\n{out}{err}")
        elif message and not (len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]):
            wrong.append(f"{args}: expected one line 'error: …{message}…', got {err!r}")
        elif state(where) != before:
            wrong.append(f"{args}: changed the registry")
    assert not wrong, "\n".join(wrong)


def test_the_command_runs_as_a_program(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "SMARTFACTORY_PASSWORD": PASSWORD}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "smartfactory.cli.main", "user", *args, "--store", str(store)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    # one start of the program is enough (the cases above run the same entry point in-process)
    missing = run("remove", "nobody")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == ["error: no user 'nobody'"]
    assert "Traceback" not in missing.stdout + missing.stderr
