"""``smartfactory demo``: simulate the sample plant, measure and assess it, then serve the dashboard."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Annotated

import typer

from smartfactory.cli.assess import Format, run_assessment
from smartfactory.cli.kpi import headline
from smartfactory.cli.options import DEFAULT_STORE, DEMO_PLANT, DEMO_START
from smartfactory.cli.render import console
from smartfactory.cli.serve import prepare_demo_site, serve
from smartfactory.cli.simulate import report_run, run_into_store
from smartfactory.cli.summary import show_summary
from smartfactory.model.errors import UserError
from smartfactory.model.plant_file import load_plant

# the worked mid-size discrete factory answers for this same plant (examples/factories/README.md)
DEMO_ANSWERS = Path("examples/factories/b_discrete_midsize/answers.yaml")


def demo_command(
    store: Annotated[Path, typer.Option("--store", help="store folder")] = DEFAULT_STORE,
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file")] = DEMO_PLANT,
    days: Annotated[float, typer.Option(help="simulated days")] = 7.0,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    lang: Annotated[str, typer.Option(help="zh or en")] = "en",
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="stop after the assessment instead of serving the dashboard")
    ] = False,
    port: Annotated[int, typer.Option(help="port of the dashboard")] = 8000,
) -> None:
    """Simulate the sample plant for a week, store, measure and assess it, then serve the dashboard."""
    if not plant_file.exists():
        raise UserError(f"demo plant file {plant_file} not found; run the demo from the repository root")
    plant = load_plant(plant_file)
    out = console()
    out.print(f"[bold]smartfactory demo[/bold]: {plant.plant.name.en} / {plant.plant.name.zh}")
    begin = datetime.combine(DEMO_START, time())
    result = run_into_store(plant, plant_file, store, begin, days, seed, [], quiet=False)
    report_run(result, False, where={"store": str(store)})
    show_summary(plant, store, lang)
    headline(store, lang)
    if DEMO_ANSWERS.exists():
        console().print(
            f"\n[bold]assessment[/bold] of the demo plant with {DEMO_ANSWERS} (budget 800,000 CNY):"
        )
        run_assessment(DEMO_ANSWERS, None, store, None, None, 800_000, False, Format.table, lang, 30, None)
    login = prepare_demo_site(store, DEMO_ANSWERS if DEMO_ANSWERS.exists() else None)
    if no_serve:
        console().print(f"\nthe dashboard: `smartfactory serve --store {store}`, then sign in as {login}")
        return
    serve(store, "127.0.0.1", port, banner=f"open http://127.0.0.1:{port}/ and sign in as {login}")
