"""``smartfactory serve``: the API and the web dashboard over a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartfactory.cli.kpi import DEFAULT_STORE
from smartfactory.model.errors import UserError


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

    from smartfactory.api.context import ServerSettings
    from smartfactory.web.app import create_app

    if not 0 < port < 65536:
        raise UserError(f"--port must be 1–65535, not {port}")
    if (certfile is None) != (keyfile is None):
        raise UserError("give both --certfile and --keyfile to serve HTTPS, or neither")
    app = create_app(ServerSettings(store=store, registry_url=registry, secure_cookies=secure_cookies))
    scheme = "https" if certfile else "http"
    print(f"serving {store} at {scheme}://{host}:{port}/ (API docs at /docs); Ctrl-C stops", flush=True)
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
