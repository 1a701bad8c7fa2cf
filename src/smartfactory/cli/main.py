"""The ``smartfactory`` command: thin Typer commands over the packages below."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated

import typer

from smartfactory.cli import assess as assess_commands
from smartfactory.cli import browse_opcua as browse_opcua_commands
from smartfactory.cli import demo as demo_commands
from smartfactory.cli import export as export_commands
from smartfactory.cli import import_ as import_commands
from smartfactory.cli import ingest as ingest_commands
from smartfactory.cli import kpi as kpi_commands
from smartfactory.cli import logs
from smartfactory.cli import plant as plant_commands
from smartfactory.cli import quarantine as quarantine_commands
from smartfactory.cli import scenario as scenario_commands
from smartfactory.cli import serve as serve_commands
from smartfactory.cli import simulate as simulate_commands
from smartfactory.cli import summary as summary_commands
from smartfactory.cli import user as user_commands
from smartfactory.model.errors import UserError

app = typer.Typer(
    name="smartfactory",
    help="Connect, measure, improve and assess a smart factory (智能工厂梯度培育).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="log more: -v smartfactory's debug, -vv libraries' too"
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="log warnings and errors only; no progress bars")
    ] = False,
) -> None:
    """Connect, measure, improve and assess a smart factory (智能工厂梯度培育)."""
    logs.configure(verbose, quiet)


app.add_typer(plant_commands.app, name="plant")
app.add_typer(kpi_commands.app, name="kpi")
app.add_typer(assess_commands.app, name="assess")
app.add_typer(scenario_commands.app, name="scenario")
app.command("simulate")(simulate_commands.simulate_command)
app.command("demo")(demo_commands.demo_command)
app.command("summary")(summary_commands.summary_command)
app.command("export")(export_commands.export_command)
app.command("import")(import_commands.import_command)
app.add_typer(quarantine_commands.app, name="quarantine")
app.command("ingest")(ingest_commands.ingest_command)
app.command("browse-opcua")(browse_opcua_commands.browse_opcua_command)
app.add_typer(user_commands.app, name="user")
app.command("serve")(serve_commands.serve_command)

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2


def run() -> None:
    """Entry point: user errors print in plain words and exit with their class's code (1); bugs exit 2."""
    try:
        app(standalone_mode=False)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except Exception as exc:  # a usage error from click (typer >= 0.29 vendors its own), or a bug
        import click

        usage = (click.ClickException, *(getattr(typer, n) for n in ("TyperException",) if hasattr(typer, n)))
        if isinstance(exc, usage) and hasattr(exc, "show"):
            exc.show()
            sys.exit(EXIT_USER_ERROR)
        traceback.print_exc()
        print("internal error: this is a bug in smartfactory; please report it", file=sys.stderr)
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    run()
