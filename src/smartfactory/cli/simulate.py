"""``smartfactory simulate``: run the digital twin into the store, into Parquet files, or as a live source."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from smartfactory.cli.logs import progress_shown
from smartfactory.cli.options import DEFAULT_STORE, DEMO_START, STORE_HELP
from smartfactory.cli.render import console
from smartfactory.cli.summary import show_summary
from smartfactory.model.calendar import local_epoch
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.simulate import Fault, ParquetSink, SimulationResult, check_faults, simulate
from smartfactory.simulate.pace import parse_speed
from smartfactory.store import EventStore, StoreFolder


def simulate_command(
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file (TOML)")],
    days: Annotated[float, typer.Option(help="simulated days", min=0.001)] = 7.0,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same events")] = 0,
    start: Annotated[str | None, typer.Option(help="local start date or time, e.g. 2026-03-02")] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help=f"{STORE_HELP} (default .smartfactory)", metavar="FOLDER|URL"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write Parquet files instead: FILE.parquet")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="inject a failure: EQUIPMENT@YYYY-MM-DDTHH:MM@REASON[@REPAIR_MINUTES]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the run as JSON")] = False,
    publish: Annotated[
        str | None,
        typer.Option("--publish", help="publish the twin live to an MQTT broker, e.g. mqtt://127.0.0.1:1883"),
    ] = None,
    sparkplug: Annotated[bool, typer.Option("--sparkplug", help="with --publish: Sparkplug B")] = False,
    batch_points: Annotated[
        int, typer.Option("--batch-points", help="with --publish (JSON): points per message", min=1)
    ] = 1,
    serve_opcua: Annotated[
        str | None,
        typer.Option("--serve-opcua", help="serve the twin live over OPC UA, e.g. opc.tcp://127.0.0.1:4840"),
    ] = None,
    speed: Annotated[
        str, typer.Option("--speed", help="with --publish/--serve-opcua: × real time, or 'max'")
    ] = "1",
) -> None:
    """Run the digital twin of a plant: store or export its events, or make it a live source."""
    live = [name for name, value in (("--publish", publish), ("--serve-opcua", serve_opcua)) if value]
    if len(live) > 1:
        raise UserError("give --publish or --serve-opcua, not both")
    if live and (store is not None or out is not None):
        raise UserError(f"{live[0]} makes the twin a live source; it writes no store (drop --store/--out)")
    if store is not None and out is not None:
        raise UserError("give --store or --out, not both")
    plant = load_plant(plant_file)
    if start:
        begin = parse_time(start)
    elif live:
        # a live source sends current times (an ingester refuses points far from now): start so
        # that the simulated clock never runs ahead of the wall clock and meets it at the end
        factor = parse_speed(speed)
        lead = days * (1 - 1 / factor) if factor is not None else days
        now = datetime.now(ZoneInfo(plant.plant.timezone)).replace(tzinfo=None, microsecond=0)
        begin = now - timedelta(days=lead)
    else:
        begin = datetime.combine(DEMO_START, time())
    faults = [_parse_fault(f, begin) for f in fault or []]
    check_faults(plant, faults)  # before anything is written
    if live:
        _run_live(
            plant, begin, days, seed, faults, publish, serve_opcua, sparkplug, batch_points, speed, as_json
        )
        return
    if out is not None:
        sink = ParquetSink(out)
        try:
            result = _run(plant, sink, TwinRun(begin, days, seed, faults), quiet=as_json)
        finally:
            sink.close()
        report_run(result, as_json, where={t.value: str(p) for t, p in sink.paths.items()})
        return
    folder = store or DEFAULT_STORE
    result = run_into_store(plant, plant_file, folder, begin, days, seed, faults, quiet=as_json)
    report_run(result, as_json, where={"store": StoreFolder.at(folder).location})
    if not as_json:
        show_summary(plant, folder)


def _run_live(
    plant: Plant,
    begin: datetime,
    days: float,
    seed: int,
    faults: list[Fault],
    publish: str | None,
    serve_opcua: str | None,
    sparkplug: bool,
    batch_points: int,
    speed_text: str,
    as_json: bool,
) -> None:
    """The twin as a live MQTT publisher or OPC UA server until its days are over or Ctrl-C."""
    import asyncio
    import signal
    import threading

    from smartfactory.connect import twin

    speed = parse_speed(speed_text)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    shown = "as fast as possible" if speed is None else f"{speed:g}× real time"
    target = publish or serve_opcua
    if not as_json:
        console().print(
            f"twin of {plant.plant.id} → {target}, {shown}, from {begin} for {days:g} day(s); Ctrl-C stops"
        )
    if publish:
        run = twin.publish_mqtt(
            plant,
            publish,
            start=begin,
            days=days,
            seed=seed,
            speed=speed,
            sparkplug=sparkplug,
            batch_points=batch_points,
            faults=faults,
            stop=stop,
        )
    else:
        assert serve_opcua is not None
        run = asyncio.run(
            twin.serve_opcua(
                plant, serve_opcua, start=begin, days=days, seed=seed, speed=speed, faults=faults, stop=stop
            )
        )
    report = {"target": target, "finished": run.finished, "events": run.events, "messages": run.messages}
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        events = ", ".join(f"{n:,} {t}" for t, n in run.events.items() if n)
        console().print(f"{'done' if run.finished else 'stopped'}: {events or 'no events'}")


# --- shared by the commands ----------------------------------------------------------------


@dataclass(frozen=True)
class TwinRun:
    """What to simulate: ``days`` from ``begin`` (plant time), with ``seed`` and ``faults``."""

    begin: datetime
    days: float
    seed: int
    faults: list[Fault]


def run_into_store(
    plant: Plant,
    plant_file: Path,
    folder: str | Path,
    begin: datetime,
    days: float,
    seed: int,
    faults: list[Fault],
    *,
    quiet: bool,
) -> SimulationResult:
    """Simulate into the store (folder or PostgreSQL URL); record the plant and the run in its registry."""
    store = StoreFolder.at(folder)
    telemetry = store.open_events("write")
    registry = store.open_registry()
    try:
        digest = hashlib.sha256(plant_file.read_bytes()).hexdigest()
        registry.save_plant(plant, str(plant_file), digest)
        # the twin's own conversion, so an explicit offset in --start is honoured the same way
        start_utc = datetime.fromtimestamp(local_epoch(begin, ZoneInfo(plant.plant.timezone)), UTC)
        run_id = registry.record_run(plant.plant.id, seed, start_utc, days, store.location)
        try:
            result = _run(plant, telemetry, TwinRun(begin, days, seed, faults), quiet=quiet)
        except BaseException:
            registry.finish_run(run_id, event_counts={}, status="failed")
            raise
        registry.finish_run(run_id, event_counts=result.events_written, truth=result.truth_json())
    finally:
        telemetry.close()
        registry.close()
    return result


def _run(plant: Plant, sink: EventStore | ParquetSink, run: TwinRun, *, quiet: bool) -> SimulationResult:
    if quiet or not progress_shown():
        return simulate(plant, sink, start=run.begin, days=run.days, seed=run.seed, faults=run.faults)
    with Progress(
        TextColumn("simulating {task.fields[plant]}"),
        BarColumn(),
        TextColumn("day {task.completed:.1f}/{task.total:g}"),
        TimeElapsedColumn(),
        console=console(),
        transient=False,
    ) as bar:
        task = bar.add_task("sim", total=run.days, plant=plant.plant.id)
        return simulate(
            plant,
            sink,
            start=run.begin,
            days=run.days,
            seed=run.seed,
            faults=run.faults,
            progress=lambda t, _h: bar.update(task, completed=t / 86400.0),
        )


def report_run(result: SimulationResult, as_json: bool, where: dict[str, str]) -> None:
    """What a run into a store or files wrote, as a line or as JSON."""
    speed = result.horizon_s / max(result.wall_s, 1e-9)
    if as_json:
        print(
            json.dumps(
                {
                    "plant": result.plant_id,
                    "seed": result.seed,
                    "start_utc": result.start_utc.isoformat(),
                    "simulated_s": result.horizon_s,
                    "wall_s": round(result.wall_s, 3),
                    "events_written": result.events_written,
                    "where": where,
                    "truth": result.truth_json(),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    written = ", ".join(f"{v:,} {k}" for k, v in result.events_written.items())
    console().print(
        f"simulated {result.horizon_s / 86400:.1f} days in {result.wall_s:.1f} s "
        f"({speed:,.0f}× real time); newly stored: {written}"
    )
    for name, path in where.items():
        console().print(f"data: {name} → [bold]{path}[/bold]")


def parse_time(text: str) -> datetime:
    """A date or date-time as given (``--start``, ``--fault``, ``export --from``)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text!r} is not a date or time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None


def _parse_fault(text: str, begin: datetime) -> Fault:
    parts = text.split("@")
    if len(parts) not in (3, 4):
        raise UserError(f"--fault {text!r}: use EQUIPMENT@YYYY-MM-DDTHH:MM@REASON[@REPAIR_MINUTES]")
    at = parse_time(parts[1])
    try:
        repair = float(parts[3]) if len(parts) == 4 else None
    except ValueError:
        raise UserError(f"--fault {text!r}: repair minutes must be a number") from None
    if at < begin:
        raise UserError(f"--fault {text!r}: the time is before the simulation start {begin}")
    return Fault(parts[0], (at - begin).total_seconds(), parts[2], repair)
