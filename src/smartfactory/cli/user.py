"""``smartfactory user add|list|remove|passwd|role|token``: the people who sign in to the dashboard."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.table import Table

from smartfactory.app.accounts import add_user, list_users, remove_user, role_of, set_password, set_role
from smartfactory.app.sessions import issue_token
from smartfactory.cli.options import DEFAULT_STORE_OPTION, STORE_HELP
from smartfactory.cli.render import console
from smartfactory.model.errors import UserError
from smartfactory.store import Registry, StoreFolder

MAX_TOKEN_DAYS = 36_500  # a hundred years; a longer one would overflow the expiry date

app = typer.Typer(help="Users of the web dashboard and the API (用户).", no_args_is_help=True)

StoreOption = Annotated[
    str, typer.Option("--store", help=f"{STORE_HELP}: its registry holds the users", metavar="FOLDER|URL")
]
RegistryOption = Annotated[
    str | None, typer.Option("--registry", help="registry database URL (default: the store's SQLite file)")
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="the password (default: asked for; or set SMARTFACTORY_PASSWORD)",
        envvar="SMARTFACTORY_PASSWORD",
    ),
]


def _registry(store: str, url: str | None) -> Registry:
    return StoreFolder.at(store, url).open_registry()


def _password(given: str | None) -> str:
    if given is not None:
        return given
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UserError("the two passwords differ")
    return first


@app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="viewer, engineer or admin")] = "viewer",
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
    password: PasswordOption = None,
    store: StoreOption = DEFAULT_STORE_OPTION,
    registry: RegistryOption = None,
) -> None:
    """Add a user."""
    chosen = role_of(role)
    with _registry(store, registry) as reg:
        user = add_user(reg, username, _password(password), chosen, name)
    print(f"added {user.username} ({user.role.value})")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    store: StoreOption = DEFAULT_STORE_OPTION,
    registry: RegistryOption = None,
) -> None:
    """List the users."""
    with _registry(store, registry) as reg:
        users = list_users(reg)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "username": u.username,
                        "role": u.role.value,
                        "name": u.display_name,
                        "created_at": u.created_at.isoformat(),
                    }
                    for u in users
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("user", "role", "name", "created (UTC)")
    for u in users:
        table.add_row(u.username, u.role.value, u.display_name or "", u.created_at.strftime("%Y-%m-%d %H:%M"))
    console().print(table)


@app.command("remove")
def remove_command(
    username: Annotated[str, typer.Argument(help="user name")],
    store: StoreOption = DEFAULT_STORE_OPTION,
    registry: RegistryOption = None,
) -> None:
    """Remove a user, their sessions and API tokens."""
    with _registry(store, registry) as reg:
        remove_user(reg, username)
    print(f"removed {username}")


@app.command("passwd")
def passwd_command(
    username: Annotated[str, typer.Argument(help="user name")],
    password: PasswordOption = None,
    store: StoreOption = DEFAULT_STORE_OPTION,
    registry: RegistryOption = None,
) -> None:
    """Set a new password (signs the user out everywhere)."""
    with _registry(store, registry) as reg:
        set_password(reg, username, _password(password))
    print(f"password of {username} changed")


@app.command("role")
def role_command(
    username: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Argument(help="viewer, engineer or admin")],
    store: StoreOption = DEFAULT_STORE_OPTION,
    registry: RegistryOption = None,
) -> None:
    """Give a user another role."""
    chosen = role_of(role)
    with _registry(store, registry) as reg:
        set_role(reg, username, chosen)
    print(f"{username} is now {chosen.value}")


@app.command("token")
def token_command(
    username: Annotated[str, typer.Argument(help="user name")],
    name: Annotated[str, typer.Option("--name", help="what the token is for")] = "script",
    days: Annotated[float | None, typer.Option(help="expires after this many days (default never)")] = None,
    store: StoreOption = DEFAULT_STORE_OPTION,
    registry: RegistryOption = None,
) -> None:
    """Issue an API token (shown once): send it as 'Authorization: Bearer TOKEN'."""
    if days is not None and not 0 < days <= MAX_TOKEN_DAYS:  # also refuses nan and inf
        raise UserError(f"--days must be more than 0 and at most {MAX_TOKEN_DAYS}, not {days}")
    with _registry(store, registry) as reg:
        token = issue_token(reg, username, name, days)
    print(token)
