"""ISO 22400-2 KPIs for the API and the dashboard: the parameters and numbers of ``smartfactory kpi``.

Every result is computed by ``smartfactory.kpi`` (``compute_result`` and ``losses``) and cached
per workspace, keyed by the request's parameters and a fingerprint of the store (its event counts
and the plant object), read before the computation: a write changes the counts, so the next
request computes again and nothing stale is served. Events are only ever inserted (the store
dedupes on insert), so a count that did not change means the rows did not change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import cache
from typing import Any, TypedDict, TypeVar, Unpack
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from smartfactory.app.cache import MISSING, NeedsStore, Snapshot, cached_snapshot, snapshot
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, local_text, resolve_language, use_language
from smartfactory.app.workspace import Workspace
from smartfactory.kpi import KpiResult, Per, catalogue, compute_result, why_null
from smartfactory.kpi.labels import labels
from smartfactory.kpi.losses import LossReport, losses
from smartfactory.model.errors import Problem, UserError
from smartfactory.model.hierarchy import build_tree
from smartfactory.model.plant import Level, Plant
from smartfactory.model.text import Text

MAX_DAYS = 400  # the longest period one request may ask for (about 13 months)
CACHE_ENV = "SMARTFACTORY_RESULT_CACHE"  # "off" computes every request (the benchmark's baseline)
E = TypeVar("E", bound=Enum)


# --- the response models -------------------------------------------------------------------


class KpiRow(BaseModel):
    """One node and period: each KPI, the elements behind them, and why a KPI has no value."""

    node: str = Field(description="hierarchy node id (a line, an equipment id …)")
    level: Level
    name: str = Field(description="the node's name in the request's language")
    names: Text
    period_start: datetime = Field(description="plant-local, with the plant's UTC offset")
    period_end: datetime = Field(description="plant-local, not included")
    shift: str | None = Field(None, description="the shift id when per=shift")
    data_coverage: float | None = Field(
        None, description="share of planned busy time covered by events (0…1); null without planned time"
    )
    values: dict[str, float | None] = Field(description="KPI id → value; null when it has none")
    elements: dict[str, float | None] = Field(
        description="ISO 22400-2 element id → value behind the KPIs (times in seconds, quantities in units)"
    )
    why_null: dict[str, str] = Field(description="KPI id → why it has no value, in the request's language")


class KpiReport(BaseModel):
    """KPI rows for a period, by hierarchy level and period (``smartfactory kpi --format json``)."""

    plant: str
    timezone: str
    start: datetime = Field(description="plant-local start of the period")
    end: datetime = Field(description="plant-local end of the period (not included)")
    by: Level
    per: Per
    node: str | None = None
    kpis: list[str] = Field(description="the KPI ids in the rows, in the order asked for")
    rows: list[KpiRow]


class KpiDefinition(BaseModel):
    """One ISO 22400-2 KPI: names, unit, formula, or what the data would need for it."""

    id: str
    no: int = Field(description="number in ISO 22400-2")
    iso: str = Field(description="the ISO name")
    name: str = Field(description="name in the request's language")
    names: Text
    unit: str
    low: float | None = Field(description="lower end of the ISO range; null when open")
    high: float | None = Field(description="upper end of the ISO range; null when open")
    trend: str = Field(description="higher or lower is better")
    formula: str | None = None
    valid_when: str | None = None
    needs: str | None = Field(None, description="for an unsupported KPI: the data it needs")
    note: str | None = None
    supported: bool
    elements: list[str] = Field(description="the element ids it reads, directly or through other KPIs")


class ElementDefinition(BaseModel):
    """One ISO 22400-2 element and where smartfactory takes it from."""

    id: str
    name: str
    names: Text
    unit: str
    source: str = Field(description="the events it comes from")
    how: str


class KpiCatalogue(BaseModel):
    """Every KPI and element definition."""

    source: str
    headline: list[str]
    kpis: list[KpiDefinition]
    elements: list[ElementDefinition]


class LossBar(BaseModel):
    """One loss of the waterfall, in hours."""

    category: str = Field(description="availability, effectiveness or quality")
    category_name: str
    cause: str = Field(description="a stop reason code or a state; speed and quality for the others")
    name: str
    hours: float


class LossWaterfall(BaseModel):
    """Planned busy time of one node broken down into its losses and fully productive time."""

    node: str
    name: str
    pbt_calendar_h: float = Field(description="planned busy time on the calendar")
    no_data_h: float = Field(description="planned busy time without events (not counted)")
    pbt_h: float = Field(description="planned busy time covered by events: the waterfall's start")
    losses: list[LossBar]
    productive_h: float = Field(description="fully productive time: the waterfall's end (= OEE × PBT)")
    oee: float | None


class ParetoBar(BaseModel):
    """A stop cause with its hours, its share and the running share."""

    cause: str
    name: str
    hours: float
    share: float
    cumulative: float


class LossesResponse(BaseModel):
    """The OEE loss waterfall per node and the downtime Pareto (``smartfactory kpi losses``)."""

    plant: str
    start: datetime
    end: datetime
    by: Level
    node: str | None = None
    waterfalls: list[LossWaterfall]
    pareto: list[ParetoBar]


# --- parameters ----------------------------------------------------------------------------


# a checked losses request: the plant-local window, the level and the node (None: the plant)
LossQuery = tuple[datetime, datetime, Level, str | None]


class LossArgs(TypedDict, total=False):
    """Unchecked parameters of a losses request, as the API and the CLI pass them on."""

    start: str | None
    end: str | None
    by: Level | str
    node: str | None


class PeriodArgs(LossArgs, total=False):
    """Unchecked parameters of a KPI explanation: the losses' and how the period is cut."""

    per: Per | str


class KpiArgs(PeriodArgs, total=False):
    """Unchecked parameters of a KPI request (``kpi_query`` checks them and holds the defaults)."""

    kpis: list[str] | None


@dataclass(frozen=True)
class KpiQuery:
    """Checked parameters: the plant-local window, level, period, node and KPI ids."""

    start: datetime
    end: datetime
    by: Level
    per: Per
    node: str | None
    kpis: tuple[str, ...] | None  # None: every KPI

    def key(self) -> tuple[Any, ...]:
        """The cache key of these parameters."""
        return (self.start, self.end, self.by, self.per, self.node, self.kpis)


@dataclass(frozen=True)
class Fields:
    """How a front end names the parameters in its problems, and the longest period it answers.

    The API names query fields (``query.from``) in a problem document; the CLI names its options
    (``--from``) in a one-line error. The parsing is the same.
    """

    prefix: str = "query."
    source: str | None = "query"  # a problem's source; None: a one-line error without problems
    max_days: int | None = MAX_DAYS  # a server bounds the work one request may ask for

    def name(self, param: str) -> str:
        """How this front end spells the parameter ``param`` (``from``, ``to``, ``kpi`` …)."""
        return self.prefix + param

    def problem(self, param: str, message: str) -> UserError:
        """The error for a bad ``param``, naming it as this front end does."""
        field = self.name(param)
        if self.source is None:
            return UserError(f"{field}: {message}")
        return UserError(
            _("The request cannot be answered: {message}").format(message=message),
            [Problem(source=self.source, location=field, message=message)],
        )


API_FIELDS = Fields()
CLI_FIELDS = Fields(prefix="--", source=None, max_days=None)


def parse_kpis(
    values: list[str] | None, fields: Fields = API_FIELDS, param: str = "kpi"
) -> tuple[str, ...] | None:
    """KPI ids from repeated and comma-separated values ('all' or none: every KPI)."""
    ids = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    if not ids or "all" in ids:
        return None
    known = catalogue().kpis
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise fields.problem(
            param,
            _("Unknown KPI {kpi}; use 'all' or any of: {known}.").format(
                kpi=", ".join(unknown), known=", ".join(known)
            ),
        )
    return tuple(dict.fromkeys(ids))


def _parse_choice(kind: type[E], value: E | str, fields: Fields, param: str, message: str) -> E:
    """A member of ``kind``, or a problem on ``param``: ``message`` with {value} and {allowed} filled in."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise fields.problem(param, message.format(value=value, allowed=allowed)) from None


def parse_level(value: Level | str, fields: Fields = API_FIELDS) -> Level:
    """A hierarchy level, or a field problem naming the levels."""
    return _parse_choice(
        Level, value, fields, "by", _("{value} is not a hierarchy level; use one of: {allowed}.")
    )


def parse_per(value: Per | str, fields: Fields = API_FIELDS) -> Per:
    """A period kind, or a field problem naming the kinds."""
    return _parse_choice(Per, value, fields, "per", _("{value} is not a period; use one of: {allowed}."))


def parse_node(plant: Plant, node: str | None, fields: Fields = API_FIELDS) -> str | None:
    """A node of the plant's hierarchy (or None), or a field problem naming the nodes."""
    if node is None or node == "":
        return None
    ids = [n.id for n in build_tree(plant).walk()]
    if node in ids:
        return node
    known = [n.id for n in build_tree(plant).walk() if n.level is not Level.equipment]
    raise fields.problem(
        "node",
        _("No node {node} in plant {plant}; use one of {known} or an equipment id.").format(
            node=node, plant=plant.plant.id, known=", ".join(known)
        ),
    )


def _moment(text: str, param: str, fields: Fields) -> datetime:
    try:
        found: date | datetime = date.fromisoformat(text)
    except ValueError:
        try:
            found = datetime.fromisoformat(text)
        except ValueError:
            raise fields.problem(
                param,
                _("{value} is not a date or time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM.").format(value=text),
            ) from None
    if not isinstance(found, datetime):
        return datetime.combine(found, time())
    return found


def _to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """Plant-local wall clock; an explicit offset is converted, a naive time taken as local."""
    if moment.tzinfo is not None:
        return moment.astimezone(tz).replace(tzinfo=None)
    return moment


def utc_to_local(utc_naive: datetime, tz: ZoneInfo) -> datetime:
    """A naive UTC time of the store as a naive plant-local time."""
    return utc_naive.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)


def stored_days(snap: Snapshot, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Whole plant-local days around the stored events (the default period), or None."""
    first, last = snap.time_range()
    if first is None or last is None:
        return None
    lo = datetime.combine(utc_to_local(first, tz).date(), time())
    last_local = utc_to_local(last, tz)
    hi = datetime.combine(last_local.date(), time())
    if last_local != hi:
        hi += timedelta(days=1)
    return lo, max(hi, lo + timedelta(days=1))


def parse_window(
    snap: Snapshot, start: str | None, end: str | None, fields: Fields = API_FIELDS
) -> tuple[datetime, datetime]:
    """The plant-local period asked for; a missing end defaults to whole days around the data."""
    tz = ZoneInfo(snap.plant.plant.timezone)
    lo = _to_local(_moment(start, "from", fields), tz) if start else None
    hi = _to_local(_moment(end, "to", fields), tz) if end else None
    if lo is None or hi is None:
        days = stored_days(snap, tz)
        if days is None:
            raise fields.problem("from", _("The store holds no events yet; give from and to."))
        lo = lo if lo is not None else days[0]
        hi = hi if hi is not None else days[1]
    if hi <= lo:
        raise fields.problem(
            "to",
            _("The period is empty or inverted: 'to' ({end}) must be after 'from' ({start}).").format(
                start=lo.isoformat(sep=" "), end=hi.isoformat(sep=" ")
            ),
        )
    if fields.max_days is not None and hi - lo > timedelta(days=fields.max_days):
        raise fields.problem(
            "to", _("The period may span at most {days} days; ask for less.").format(days=fields.max_days)
        )
    return lo, hi


def kpi_query(
    snap: Snapshot,
    *,
    start: str | None = None,
    end: str | None = None,
    by: Level | str = Level.line,
    per: Per | str = Per.day,
    node: str | None = None,
    kpis: list[str] | None = None,
    fields: Fields = API_FIELDS,
) -> KpiQuery:
    """Check the parameters of ``GET /api/v1/kpis`` and ``smartfactory kpi`` (problems name the field)."""
    level, cut = parse_level(by, fields), parse_per(per, fields)
    chosen = parse_kpis(kpis, fields)
    where = parse_node(snap.plant, node, fields)
    lo, hi = parse_window(snap, start, end, fields)
    return KpiQuery(lo, hi, level, cut, where, chosen)


@contextmanager
def _in_language(lang: str | None) -> Iterator[None]:
    """Inside the block, ``lang`` (any zh or en tag) or, when None, the current language."""
    with use_language(language() if lang is None else resolve_language(lang)):
        yield


# --- KPIs ----------------------------------------------------------------------------------


def kpi_result(snap: Snapshot, query: KpiQuery) -> KpiResult:
    """``compute_result`` for these parameters (cached per store version)."""

    def compute() -> KpiResult:
        return compute_result(
            snap.db,
            query.start,
            query.end,
            by=query.by,
            per=query.per,
            kpis=list(query.kpis) if query.kpis else None,
            node=query.node,
            plant=snap.plant,
        )

    return snap.cached(("result", *query.key()), compute)


def node_names(plant: Plant) -> dict[str, Text]:
    """Every hierarchy node's names."""
    return {n.id: n.name for n in build_tree(plant).walk()}


def _aware(moment: datetime, tz: str) -> datetime:
    return moment.replace(tzinfo=ZoneInfo(tz)) if moment.tzinfo is None else moment


def _value(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def kpi_report(snap: Snapshot, query: KpiQuery) -> KpiReport:
    """The KPI rows in the request's language (cached per store version and language)."""
    lang = language()

    def build() -> KpiReport:
        result = kpi_result(snap, query)
        cat = catalogue()
        names = node_names(snap.plant)
        chain = cat.dependencies(result.kpis)
        elements = {e.id: e.column for k in chain for e in cat.elements_of(k)}
        rows = []
        for row in result.rows():
            nm = names.get(row["node"], Text(en=row["node"], zh=row["node"]))
            rows.append(
                KpiRow(
                    node=row["node"],
                    level=Level(row["level"]),
                    name=local_text(nm),
                    names=nm,
                    period_start=row["period_start"],
                    period_end=row["period_end"],
                    shift=row["shift"],
                    data_coverage=_value(row["data_coverage"]),
                    values={k.id: _value(row[k.id]) for k in result.kpis},
                    elements={e: _value(row.get(column)) for e, column in elements.items()},
                    why_null={
                        k.id: reason
                        for k in result.kpis
                        if (reason := why_null(cat, row, k, lang)) is not None
                    },
                )
            )
        tz = snap.plant.plant.timezone
        return KpiReport(
            plant=snap.plant.plant.id,
            timezone=tz,
            start=_aware(query.start, tz),
            end=_aware(query.end, tz),
            by=query.by,
            per=query.per,
            node=query.node,
            kpis=[k.id for k in result.kpis],
            rows=rows,
        )

    return snap.cached(("report", lang, *query.key()), build)


def kpi_report_json(snap: Snapshot, query: KpiQuery, compute: bool = True) -> bytes | None:
    """``kpi_report`` as JSON bytes (cached: a hit serialises nothing); None on a miss unless ``compute``."""
    key = ("report-json", language(), *query.key())

    def build(s: Snapshot) -> bytes:
        return kpi_report(s, query).model_dump_json().encode()

    if not compute:
        found = snap.peek_live(key, build)
        return None if found is MISSING else found
    return snap.cached_live(key, build)


def kpis_report(
    workspace: Workspace, *, lang: str | None = None, fields: Fields = API_FIELDS, **args: Unpack[KpiArgs]
) -> KpiReport:
    """The KPI rows of ``GET /api/v1/kpis`` and ``smartfactory kpi`` (lang None: the current language)."""
    with _in_language(lang), snapshot(workspace) as snap:
        return kpi_report(snap, kpi_query(snap, fields=fields, **args))


def kpis_json(workspace: Workspace, *, lang: str | None = None, **args: Unpack[KpiArgs]) -> bytes:
    """``kpis_report`` serialised as the API answers it (computed when not cached)."""
    with _in_language(lang), snapshot(workspace) as snap:
        body = kpi_report_json(snap, kpi_query(snap, **args))
        assert body is not None  # computed
        return body


async def cached_kpis_json(
    workspace: Workspace, *, lang: str | None = None, **args: Unpack[KpiArgs]
) -> bytes | None:
    """``kpis_json`` from the cache only, for the event loop: None when it must be computed.

    Bad parameters still raise their field problems here.
    """
    return await _from_cache(
        workspace, lang, lambda snap: kpi_report_json(snap, kpi_query(snap, **args), compute=False)
    )


async def _from_cache(
    workspace: Workspace, lang: str | None, peek: Callable[[Snapshot], bytes | None]
) -> bytes | None:
    """``peek`` on the cached snapshot, in ``lang``: None when the answer must be computed first."""
    snap = await cached_snapshot(workspace)
    with _in_language(lang):
        try:
            return peek(snap)
        except NeedsStore:
            return None


# --- one KPI explained -----------------------------------------------------------------------


class ExplainedRow(BaseModel):
    """One node and period of an explained KPI: the elements it reads and the KPIs on the way."""

    node: str
    name: str = Field(description="the node's name in the request's language")
    period_start: datetime
    period_end: datetime
    shift: str | None = None
    elements: dict[str, float | None] = Field(description="element id → value")
    values: dict[str, float | None] = Field(description="KPI id → value, the explained KPI last")
    why_null: str | None = Field(None, description="why the explained KPI has no value")


class KpiExplanation(BaseModel):
    """A KPI's definition, the KPIs and elements it reads, and their values (``kpi --explain``)."""

    kpi: str
    no: int = Field(description="number in ISO 22400-2")
    iso: str = Field(description="'ISO 22400-2 KPI <no>: <ISO name>'")
    name: str
    formulas: dict[str, str | None] = Field(description="KPI id → formula, the KPIs it reads first")
    needs: dict[str, str] = Field(description="KPI id → the data an unsupported KPI needs")
    valid_when: dict[str, str]
    unit: str
    range: tuple[float | None, float | None] = Field(description="the ISO range; null where open")
    trend: str = Field(description="higher or lower is better (the id)")
    note: str | None = None
    source: str = Field(description="the standard the definitions follow")
    elements: dict[str, ElementDefinition]
    by: Level
    per: Per
    start: datetime
    end: datetime
    rows: list[ExplainedRow]


def kpi_explanation(
    workspace: Workspace,
    kpi: str,
    *,
    lang: str | None = None,
    fields: Fields = API_FIELDS,
    **args: Unpack[PeriodArgs],
) -> KpiExplanation:
    """What ``kpi`` is, what it reads, and its values for the same query as ``kpis_report``."""
    with _in_language(lang):
        cat = catalogue()
        if kpi not in cat.kpis:
            raise fields.problem(
                "explain",
                _("{kpi} is not a KPI id; use any of: {known}.").format(kpi=kpi, known=", ".join(cat.kpis)),
            )
        chosen = cat.kpis[kpi]
        chain = cat.dependencies([chosen])
        report = kpis_report(workspace, kpis=[k.id for k in chain], fields=fields, **args)
        defs = {d.id: d for d in kpi_catalogue().elements}
        element_ids = [e.id for e in cat.elements_of(chosen)]
        lang_now = language()
        return KpiExplanation(
            kpi=chosen.id,
            no=chosen.no,
            iso=f"ISO 22400-2 KPI {chosen.no}: {chosen.iso}",
            name=chosen.name.get(lang_now),
            formulas={k.id: k.formula for k in chain},
            needs={k.id: k.needs.get(lang_now) for k in chain if k.needs},
            valid_when={k.id: k.valid_when for k in chain if k.valid_when},
            unit=chosen.unit,
            range=(_bound(chosen.low), _bound(chosen.high)),
            trend=chosen.trend,
            note=chosen.note.get(lang_now) if chosen.note else None,
            source=cat.source,
            elements={e: defs[e] for e in element_ids},
            by=report.by,
            per=report.per,
            start=report.start,
            end=report.end,
            rows=[
                ExplainedRow(
                    node=row.node,
                    name=row.name,
                    period_start=row.period_start,
                    period_end=row.period_end,
                    shift=row.shift,
                    elements={e: row.elements.get(e) for e in element_ids},
                    values={k.id: row.values.get(k.id) for k in chain},
                    why_null=row.why_null.get(chosen.id),
                )
                for row in report.rows
            ],
        )


# --- the catalogue ---------------------------------------------------------------------------


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def kpi_catalogue(lang: str | None = None) -> KpiCatalogue:
    """Every KPI and element definition, named in ``lang`` (None: the current language)."""
    with _in_language(lang):
        return _catalogue(language())


@cache  # the definitions are data shipped with the package: one catalogue per language
def _catalogue(lang: str) -> KpiCatalogue:
    cat = catalogue()
    kpis = [
        KpiDefinition(
            id=k.id,
            no=k.no,
            iso=k.iso,
            name=k.name.get(lang),
            names=k.name,
            unit=k.unit,
            low=_bound(k.low),
            high=_bound(k.high),
            trend=labels()["trend"][k.trend].get(lang) if k.trend in labels()["trend"] else k.trend,
            formula=k.formula,
            valid_when=k.valid_when,
            needs=k.needs.get(lang) if k.needs else None,
            note=k.note.get(lang) if k.note else None,
            supported=k.supported,
            elements=[e.id for e in cat.elements_of(k)],
        )
        for k in sorted(cat.kpis.values(), key=lambda k: k.no)
    ]
    elements = [
        ElementDefinition(
            id=e.id,
            name=e.name.get(lang),
            names=e.name,
            unit=e.unit,
            source=e.source,
            how=e.how.get(lang),
        )
        for e in cat.elements.values()
    ]
    return KpiCatalogue(source=cat.source, headline=list(cat.headline), kpis=kpis, elements=elements)


# --- losses --------------------------------------------------------------------------------


def loss_result(snap: Snapshot, start: datetime, end: datetime, by: Level, node: str | None) -> LossReport:
    """``kpi.losses.losses`` for these parameters (cached per store version)."""
    return snap.cached(
        ("losses", start, end, by, node),
        lambda: losses(snap.db, start, end, by=by, node=node, plant=snap.plant),
    )


def loss_response(
    snap: Snapshot, start: datetime, end: datetime, by: Level, node: str | None
) -> LossesResponse:
    """The waterfalls and the Pareto in the request's language (cached)."""
    lang = language()

    def build() -> LossesResponse:
        report = loss_result(snap, start, end, by, node)
        names = node_names(snap.plant)
        category = labels()["category"]
        tz = snap.plant.plant.timezone

        def name_of(node_id: str) -> str:
            nm = names.get(node_id)
            return local_text(nm) if nm else node_id

        return LossesResponse(
            plant=snap.plant.plant.id,
            start=_aware(start, tz),
            end=_aware(end, tz),
            by=by,
            node=node,
            waterfalls=[
                LossWaterfall(
                    node=w.node,
                    name=name_of(w.node),
                    pbt_calendar_h=w.pbt_calendar_h,
                    no_data_h=w.no_data_h,
                    pbt_h=w.pbt_h,
                    losses=[
                        LossBar(
                            category=x.category,
                            category_name=category[x.category].get(lang),
                            cause=x.cause,
                            name=x.name.get(lang),
                            hours=x.hours,
                        )
                        for x in w.losses
                    ],
                    productive_h=w.productive_h,
                    oee=_value(w.oee),
                )
                for w in report.waterfalls
            ],
            pareto=[
                ParetoBar(
                    cause=r.cause,
                    name=r.name.get(lang),
                    hours=r.hours,
                    share=r.share,
                    cumulative=r.cumulative,
                )
                for r in report.pareto
            ],
        )

    return snap.cached(("losses-report", lang, start, end, by, node), build)


def loss_query(
    snap: Snapshot,
    *,
    start: str | None = None,
    end: str | None = None,
    by: Level | str = Level.equipment,
    node: str | None = None,
    fields: Fields = API_FIELDS,
) -> LossQuery:
    """Check the parameters of ``GET /api/v1/kpis/losses``: the arguments of ``loss_response``."""
    level = parse_level(by, fields)
    where = parse_node(snap.plant, node, fields)
    lo, hi = parse_window(snap, start, end, fields)
    return lo, hi, level, where


def losses_report(
    workspace: Workspace, *, lang: str | None = None, fields: Fields = API_FIELDS, **args: Unpack[LossArgs]
) -> LossesResponse:
    """The loss waterfalls and the downtime Pareto of ``GET /api/v1/kpis/losses`` and ``kpi losses``."""
    with _in_language(lang), snapshot(workspace) as snap:
        return loss_response(snap, *loss_query(snap, fields=fields, **args))


def losses_json(workspace: Workspace, *, lang: str | None = None, **args: Unpack[LossArgs]) -> bytes:
    """The loss waterfall and the downtime Pareto as the API answers them (cached)."""
    with _in_language(lang), snapshot(workspace) as snap:
        query = loss_query(snap, **args)
        return snap.cached(
            _losses_json_key(query), lambda: loss_response(snap, *query).model_dump_json().encode()
        )


async def cached_losses_json(
    workspace: Workspace, *, lang: str | None = None, **args: Unpack[LossArgs]
) -> bytes | None:
    """``losses_json`` from the cache only, for the event loop: None when it must be computed."""

    def peek(snap: Snapshot) -> bytes | None:
        found = snap.peek(_losses_json_key(loss_query(snap, **args)))
        return None if found is MISSING else found

    return await _from_cache(workspace, lang, peek)


def _losses_json_key(query: LossQuery) -> tuple[Any, ...]:
    return ("losses-json", language(), *query)
