"""``smartfactory serve``: the API and the web dashboard over a store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smartfactory.cli.options import DEFAULT_STORE
from smartfactory.model.errors import UserError

if TYPE_CHECKING:
    from smartfactory.app.workspace import Workspace
    from smartfactory.store import Registry


def serve_command(
    store: Annotated[Path, typer.Option("--store", help="store folder")] = DEFAULT_STORE,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    registry: Annotated[
        str | None,
        typer.Option("--registry", help="registry database URL (default: the store's SQLite file)"),
    ] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option("--secure-cookies", help="mark cookies Secure (served over TLS, e.g. behind a proxy)"),
    ] = False,
    certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM) to serve HTTPS directly")
    ] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
) -> None:
    """Serve the dashboard and the API (OpenAPI at /docs) until Ctrl-C."""
    serve(store, host, port, registry, secure_cookies or certfile is not None, certfile, keyfile)


def serve(
    store: Path,
    host: str,
    port: int,
    registry: str | None = None,
    secure_cookies: bool = False,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    banner: str | None = None,
) -> None:
    """Run uvicorn on the app over ``store``."""
    import uvicorn

    from smartfactory.app.workspace import WorkspaceSettings
    from smartfactory.web.app import create_app

    if not 0 < port < 65536:
        raise UserError(f"--port must be 1–65535, not {port}")
    if (certfile is None) != (keyfile is None):
        raise UserError("give both --certfile and --keyfile to serve HTTPS, or neither")
    app = create_app(WorkspaceSettings(store=store, registry_url=registry, secure_cookies=secure_cookies))
    scheme = "https" if certfile else "http"
    print(f"serving {store} at {scheme}://{host}:{port}/ (API docs at /docs); Ctrl-C stops", flush=True)
    for line in _warnings(app.state.workspace, host, secure_cookies):
        print(line, flush=True)
    if banner:
        print(banner, flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
    )


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _warnings(workspace: Workspace, host: str, secure_cookies: bool) -> list[str]:
    """What the person starting the workspace should know: no one can sign in, or no TLS."""
    from smartfactory.app.accounts import list_users

    lines = []
    if not list_users(workspace.registry):
        lines.append("no users yet: add one with `smartfactory user add NAME --role admin` to sign in")
    if host not in LOOPBACK and not secure_cookies:
        lines.append(
            f"warning: plain HTTP on {host}: passwords and session cookies cross the network "
            "unencrypted; serve with --certfile/--keyfile, or behind a TLS proxy with --secure-cookies"
        )
    return lines


DEMO_USER = "demo"
DEMO_PASSWORD = "smartfactory-demo"


def prepare_demo_site(store: Path, answers: Path | None) -> str:
    """Give the demo store a demo user (admin) and the worked answers; returns 'user / password'."""
    from smartfactory.app.accounts import add_user, get_user
    from smartfactory.app.roles import Role
    from smartfactory.store import StoreFolder

    with StoreFolder(store).open_registry() as registry:
        if get_user(registry, DEMO_USER) is None:
            add_user(registry, DEMO_USER, DEMO_PASSWORD, Role.admin, "Demo")
        if answers is not None:
            _seed_answers(registry, answers)
    return f"{DEMO_USER} / {DEMO_PASSWORD}"


def _seed_answers(registry: Registry, answers: Path) -> None:
    """The worked answers become the plant's saved self-assessment, unless answers are saved already."""
    from smartfactory.app.answers import import_answers, saved

    if not saved(registry).rows:
        import_answers(registry, answers.read_text(encoding="utf-8"), DEMO_USER, source=str(answers))
