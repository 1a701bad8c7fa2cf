"""``smartfactory serve``: the API and the web dashboard over a store."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smartfactory.cli.options import DEFAULT_STORE_OPTION, StoreOption
from smartfactory.model.errors import UserError
from smartfactory.store.postgres import is_postgres_url, shown_url

if TYPE_CHECKING:
    from smartfactory.app.ingest import IngestPlan
    from smartfactory.app.workspace import Workspace
    from smartfactory.store import Registry


# with a live ingest every commit (4 a second) changes the data: results up to this old answer
# while one refresh recomputes them (a product choice, not an official value)
LIVE_LAG_S = 30.0


def serve_command(
    store: StoreOption = DEFAULT_STORE_OPTION,
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
    ingest: Annotated[
        bool, typer.Option("--ingest", help="run the plant's [[source]]s in the server, writing to the store")
    ] = False,
    plant_file: Annotated[
        Path | None,
        typer.Option(
            "--plant", help="with --ingest: plant file with [[source]] tables (default: the stored one's)"
        ),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="with --ingest: only this source id (repeatable)")
    ] = None,
    live_lag: Annotated[
        float | None,
        typer.Option(
            "--live-lag",
            min=0,
            help="seconds the overview and the KPI API may lag new data while one refresh runs "
            "(default: 30 with --ingest, else 0: always computed from the newest data)",
        ),
    ] = None,
) -> None:
    """Serve the dashboard and the API (OpenAPI at /docs) until Ctrl-C; --ingest runs the live sources too."""
    if not ingest and (plant_file is not None or source):
        raise UserError("--plant and --source go with --ingest")
    plan = ingest_plan(store, registry, plant_file, source) if ingest else None
    lag = live_lag if live_lag is not None else (LIVE_LAG_S if ingest else 0.0)
    serve(
        store, host, port, registry, secure_cookies or certfile is not None, certfile, keyfile, ingest=plan,
        live_lag_s=lag,
    )  # fmt: skip


def serve(
    store: str | Path,
    host: str,
    port: int,
    registry: str | None = None,
    secure_cookies: bool = False,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    banner: str | None = None,
    ingest: IngestPlan | None = None,
    live_lag_s: float = 0.0,
) -> None:
    """Run uvicorn on the app over ``store`` (running ``ingest``'s sources in its event loop)."""
    import uvicorn

    from smartfactory.app.workspace import WorkspaceSettings
    from smartfactory.web.app import create_app

    if not 0 < port < 65536:
        raise UserError(f"--port must be 1–65535, not {port}")
    if (certfile is None) != (keyfile is None):
        raise UserError("give both --certfile and --keyfile to serve HTTPS, or neither")
    scheme = "https" if certfile else "http"
    # listening before the store is opened: the owner file names an address that accepts at once
    sockets, loopback_url = _listen(host, port, scheme)
    server_store = is_postgres_url(store)
    # PostgreSQL takes every process's connections itself: no owner file, nobody to go through
    owner_url = None if server_store else loopback_url
    try:
        app = create_app(
            WorkspaceSettings(
                store=store, registry_url=registry, secure_cookies=secure_cookies, live_lag_s=live_lag_s
            ),
            ingest=ingest,
            owner_url=owner_url,
            owner_command=" ".join(["smartfactory", *sys.argv[1:]]),
        )
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    shown = shown_url(str(store)) if server_store else store
    print(f"serving {shown} at {scheme}://{host}:{port}/ (API docs at /docs); Ctrl-C stops", flush=True)
    for line in _warnings(app.state.workspace, host, secure_cookies):
        print(line, flush=True)
    if ingest is not None:
        names = ", ".join(d.id for d in ingest.plant.sources if not ingest.sources or d.id in ingest.sources)
        print(f"ingesting the sources {names} of {ingest.plant_name}", flush=True)
    if banner:
        print(banner, flush=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
    )
    uvicorn.Server(config).run(sockets=sockets)


def _listen(host: str, port: int, scheme: str) -> tuple[list[socket.socket], str]:
    """Sockets listening on ``host:port`` (and on loopback, when that is elsewhere), and the owner's URL.

    Other processes reach the store's owner on loopback only: a server listening on one outside
    address also listens on an ephemeral loopback port, for them.
    """
    sockets = [_bound(host, port)]
    try:
        address = ipaddress.ip_address("127.0.0.1" if host in ("localhost", "") else host)
    except ValueError:
        address = None  # a host name: which addresses it covers is not ours to guess
    if address is not None and (address.is_loopback or address.is_unspecified):
        # 0.0.0.0 and :: take loopback connections too
        loopback = "127.0.0.1" if address.version == 4 and address.is_unspecified else str(address)
        if address.version == 6:
            loopback = "::1" if address.is_unspecified else str(address)
        url_host, url_port = loopback, port
    else:
        try:
            sockets.append(_bound("127.0.0.1", 0))
        except BaseException:
            sockets[0].close()
            raise
        url_host, url_port = "127.0.0.1", sockets[1].getsockname()[1]
    shown = f"[{url_host}]" if ":" in url_host else url_host
    return sockets, f"{scheme}://{shown}:{url_port}"


def _bound(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (a UserError when it cannot)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def ingest_plan(
    store: str | Path, registry: str | None, plant_file: Path | None, sources: list[str] | None
) -> IngestPlan:
    """What ``--ingest`` runs: the sources of ``--plant``, or of the file the stored plant came from."""
    from smartfactory.app.ingest import IngestPlan
    from smartfactory.connect.sources import chosen_sources, load_plant_with_sources
    from smartfactory.store import StoreFolder

    folder = StoreFolder.at(store, registry)
    records = []
    if folder.has_registry():
        with folder.open_registry() as opened:
            records = opened.list_plants()
    if plant_file is None:
        saved = Path(records[0]["source_path"]) if len(records) == 1 else None
        if saved is None or not saved.is_file():
            raise UserError(
                "serve --ingest needs the plant file with the [[source]] tables: give --plant FILE"
                + (f" (the stored plant came from {saved}, which is not a file here)" if saved else "")
            )
        plant_file = saved
    plant = load_plant_with_sources(plant_file)
    if not plant.sources:
        raise UserError(
            f"{plant_file} declares no [[source]]; add one (kinds: mqtt, opcua, modbus) — see docs/ingest.md"
        )
    stored = [r["id"] for r in records]
    if stored and plant.plant.id not in stored:
        raise UserError(
            f"the store {store} holds plant {', '.join(stored)}; {plant_file} is plant {plant.plant.id}: "
            "ingest the store's own plant, or serve another store"
        )
    chosen_sources(plant, sources)
    return IngestPlan(plant, plant_file.read_text(encoding="utf-8"), str(plant_file.resolve()), sources)


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
