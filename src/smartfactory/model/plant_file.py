"""Load a plant file: TOML syntax, schema and cross-references, every problem at once."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from smartfactory.model.errors import PlantFileError, Problem, UserError
from smartfactory.model.plant import (
    LEVEL_PARENT,
    WEEKDAYS,
    Level,
    Plant,
    ReasonRole,
    clock_minutes,
)

_HIERARCHY_KEYS: tuple[tuple[str, Level], ...] = (
    ("site", Level.site),
    ("area", Level.area),
    ("line", Level.line),
    ("work_cell", Level.work_cell),
    ("equipment", Level.equipment),
)


RawCheck = Callable[[dict[str, Any]], Iterable[tuple[tuple[int | str, ...], str]]]


def load_plant(path: str | Path, checks: Sequence[RawCheck] = ()) -> Plant:
    """Read and validate a plant file; raise PlantFileError listing every problem.

    ``checks`` are more checks over the raw document from higher layers (the connectors check
    their ``[[source]]`` settings), reported with the same ``file:line [field]`` locations.
    """
    path = Path(path)
    return parse_plant(read_text_file(path, "plant file", PlantFileError), str(path), checks)


def read_text_file(path: Path, what: str, error: type[UserError] = UserError) -> str:
    """The text of a UTF-8 file the user named (``what``: "plant file"); ``error`` if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


def parse_toml(text: str, source: str, what: str, error: type[UserError] = UserError) -> dict[str, Any]:
    """The TOML ``text`` of the file ``source`` (``what``: "plant file"); ``error`` at its line if invalid."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise error(
            f"{what} {source} is not valid TOML", [Problem(source, "", f"TOML syntax: {exc}", line)]
        ) from None


def parse_plant(text: str, source: str = "<plant>", checks: Sequence[RawCheck] = ()) -> Plant:
    """Validate plant-file text; ``source`` names the file in error messages."""
    raw = parse_toml(text, source, "plant file", PlantFileError)
    locator = TomlLocator(text)
    problems: list[Problem] = []
    plant: Plant | None = None
    try:
        plant = Plant.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(source, dotted(loc), _explain(err, loc), locator.line_of(loc)))
    for check in (_cross_reference_problems, *checks):
        for loc, message in check(raw):
            problems.append(Problem(source, dotted(loc), message, locator.line_of(loc)))
    if problems or plant is None:
        raise PlantFileError(f"plant file {source} is invalid", _dedupe(problems))
    return plant


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        key = (p.location, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def dotted(loc: Sequence[int | str]) -> str:
    """A Pydantic error location as a dotted field path, list items as [i]."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(err: Any, loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(loc[:-1])
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown field '{loc[-1]}'{hint}"
    if kind == "missing":
        return f"required field '{loc[-1]}' is missing"
    if kind == "string_pattern_mismatch" and "A-Za-z0-9" in str(err.get("ctx", {}).get("pattern")):
        return (
            f"{err['input']!r} is not an id: use 1-64 letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    if kind == "string_pattern_mismatch":
        return f"{err['input']!r} is not a clock time: use HH:MM from 00:00 to 23:59"
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "literal_error" or kind == "enum":
        return f"{err['input']!r} is not allowed: {message.removeprefix('Input should be ')}"
    return (
        f"{message} (got {err['input']!r})"
        if "input" in err and not isinstance(err["input"], dict | list)
        else message
    )


def _allowed_fields(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = Plant
    for part in loc:
        if isinstance(part, int):
            continue
        model = _field_model(model, part)
        if model is None:
            return []
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return sorted((f.alias or name) for name, f in model.model_fields.items())


def _field_model(model: Any, key: str) -> Any:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return _unwrap(info.annotation)
    return None


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation


class TomlLocator:
    """Finds where a table, an entry of a table array or a key is written in one TOML text: tomllib
    gives no line for valid TOML."""

    _header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [
            (n, m.group(1)) for n, line in enumerate(self.lines, 1) if (m := self._header.match(line))
        ]

    def line_of(self, loc: Sequence[int | str]) -> int | None:
        """The line of the deepest part of ``loc`` found; keys inside inline tables give their key's line."""
        lo, hi, prefix, best = 1, len(self.lines) + 1, "", None
        for i, part in enumerate(loc):
            if isinstance(part, int):
                continue
            after = loc[i + 1] if i + 1 < len(loc) else None
            name = f"{prefix}.{part}" if prefix else part
            starts = [n for n, header in self.headers if header == name and lo <= n < hi]
            if not starts:
                line = self._key(part, lo, hi)
                if line is not None and isinstance(after, int):
                    # an element of an array written over several lines
                    return self._element_line(line, after, hi)
                return line or best
            index = after if isinstance(after, int) else 0
            if index >= len(starts):
                return best
            start = starts[index]
            # a table runs to the next header that is not one of its own sub-tables
            end = next((n for n, h in self.headers if n > start and not h.startswith(f"{name}.")), hi)
            lo, hi, prefix, best = start, min(end, hi), name, start
        return best

    def _key(self, key: str, lo: int, hi: int) -> int | None:
        # a table's own keys come before its first sub-table
        stop = next((n for n, _ in self.headers if lo < n < hi), hi)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*(\.|=)")
        return next((n for n in range(lo, stop) if pattern.match(self.lines[n - 1])), None)

    def _element_line(self, number: int, index: int, hi: int) -> int:
        """The line where element ``index`` of the array assigned on line ``number`` starts."""
        depth, count, expecting, quote = 0, -1, False, ""
        for line_no in range(number, hi):
            text = self.lines[line_no - 1]
            if line_no == number:
                text = text.split("=", 1)[1] if "=" in text else ""
            j = 0
            while j < len(text):
                c = text[j]
                if quote:
                    if c == "\\" and quote == '"':
                        j += 1
                    elif c == quote:
                        quote = ""
                elif c == "#":
                    break
                elif c == "," and depth == 1:
                    expecting = True
                elif c in "]}" and depth > 0:
                    depth -= 1
                    if depth == 0:
                        return number
                elif not c.isspace():
                    if depth == 1 and expecting:
                        count, expecting = count + 1, False
                        if count == index:
                            return line_no
                    if c in "[{":
                        depth += 1
                        expecting = expecting or depth == 1
                    elif c in "\"'":
                        quote = c
                j += 1
        return number


# --- cross references ---------------------------------------------------------------


def _entries(raw: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _cross_reference_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    yield from _hierarchy_problems(raw)
    yield from _reason_problems(raw)
    yield from _calendar_problems(raw)
    yield from _production_problems(raw)
    yield from _equipment_problems(raw)
    yield from _source_problems(raw)
    tz = raw.get("plant", {}).get("timezone") if isinstance(raw.get("plant"), dict) else None
    if isinstance(tz, str):
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            yield ("plant", "timezone"), f"unknown time zone {tz!r}; use an IANA name such as 'Asia/Shanghai'"


def _source_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    seen: set[str] = set()
    for i, entry in _entries(raw, "source"):
        source_id = entry.get("id")
        if isinstance(source_id, str):
            if source_id in seen:
                yield ("source", i, "id"), f"duplicate source id {source_id!r}"
            seen.add(source_id)


def _hierarchy_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    level_of: dict[str, Level] = {}
    parent_of: dict[str, str] = {}
    where: dict[str, tuple[int | str, ...]] = {}
    enterprise = raw.get("enterprise")
    if isinstance(enterprise, dict) and isinstance(enterprise.get("id"), str):
        level_of[enterprise["id"]] = Level.enterprise
        where[enterprise["id"]] = ("enterprise", "id")
    seen: Counter[str] = Counter()
    for key, level in _HIERARCHY_KEYS:
        for i, item in _entries(raw, key):
            node_id = item.get("id")
            if not isinstance(node_id, str):
                continue
            seen[node_id] += 1
            if node_id in level_of:
                yield (
                    (key, i, "id"),
                    (
                        f"duplicate id {node_id!r}: ids must be unique across the whole hierarchy "
                        f"(first used at {dotted(where[node_id])})"
                    ),
                )
                continue
            level_of[node_id] = level
            where[node_id] = (key, i, "id")
            if isinstance(item.get("parent"), str):
                parent_of[node_id] = item["parent"]
    # cycles first: a node in a cycle also has a parent at the wrong level, but the cycle is
    # the real mistake
    in_cycle: set[str] = set()
    for start in parent_of:
        path = [start]
        node = start
        while node in parent_of and parent_of[node] not in path:
            node = parent_of[node]
            path.append(node)
        if node in parent_of and parent_of[node] in path and start == parent_of[node]:
            cycle = [*path[path.index(parent_of[node]) :], parent_of[node]]
            if not in_cycle.intersection(cycle):
                in_cycle.update(cycle)
                yield (
                    (*where[start][:2], "parent"),
                    (
                        "the hierarchy has a cycle: "
                        + " → ".join(cycle)
                        + "; each parent must be one level up: "
                        "site → enterprise, area → site, line → area, work_cell → line, equipment → work_cell"
                    ),
                )
    for key, level in _HIERARCHY_KEYS:
        want = LEVEL_PARENT[level]
        assert want is not None
        options = sorted(n for n, lv in level_of.items() if lv == want)
        for i, item in _entries(raw, key):
            node_id = item.get("id")
            parent = item.get("parent")
            if node_id in in_cycle or not isinstance(parent, str):
                if parent is None and isinstance(node_id, str):
                    yield (
                        (key, i, "parent"),
                        (f"{level.value} {node_id!r} needs a parent {want.value}; one of {options}"),
                    )
                continue
            if parent not in level_of:
                yield (
                    (key, i, "parent"),
                    (
                        f"parent {parent!r} of {level.value} {node_id!r} does not exist; "
                        f"{want.value}s are: {options}"
                    ),
                )
            elif level_of[parent] != want:
                yield (
                    (key, i, "parent"),
                    (
                        f"parent {parent!r} of {level.value} {node_id!r} is a "
                        f"{level_of[parent].value}, not a {want.value}; {want.value}s are: {options}"
                    ),
                )
    # a line needs cells and a cell needs equipment, or nothing can flow
    for key, child_key in (("line", "work_cell"), ("work_cell", "equipment")):
        parents = {item.get("parent") for _, item in _entries(raw, child_key)}
        for i, item in _entries(raw, key):
            if isinstance(item.get("id"), str) and item["id"] not in parents:
                yield (key, i, "id"), f"{key} {item['id']!r} has no {child_key}"


def _reason_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    reasons = _entries(raw, "reason")
    codes = Counter(r.get("code") for _, r in reasons)
    parent_of = {r["code"]: r.get("parent") for _, r in reasons if isinstance(r.get("code"), str)}
    roles: dict[str, int] = {}
    for i, r in reasons:
        code = r.get("code")
        if codes[code] > 1:
            yield ("reason", i, "code"), f"duplicate reason code {code!r}"
        parent = r.get("parent")
        if parent is None and r.get("kind") is None:
            yield ("reason", i, "kind"), (f"root reason {code!r} needs kind = 'planned' or 'unplanned'")
        if parent is not None and parent not in parent_of:
            yield (
                ("reason", i, "parent"),
                (f"parent {parent!r} of reason {code!r} does not exist; codes are: {sorted(parent_of)}"),
            )
        node, steps = code, 0
        while node in parent_of and parent_of[node] is not None and steps <= len(parent_of):
            node, steps = parent_of[node], steps + 1
        if steps > len(parent_of):
            yield ("reason", i, "parent"), f"reason {code!r} is in a cycle of parents"
        role = r.get("role")
        if isinstance(role, str):
            if role in roles:
                yield (
                    ("reason", i, "role"),
                    (f"role {role!r} is already given to reason[{roles[role]}]; one reason per role"),
                )
            roles[role] = i
    kind = _reason_kinds(reasons)
    for i, r in reasons:
        code = r.get("code")
        if r.get("parent") is not None and r.get("kind") is not None and code in kind:
            root_kind = kind.get(_root(parent_of, code))
            if root_kind and r["kind"] != root_kind:
                yield (
                    ("reason", i, "kind"),
                    (f"reason {code!r} says {r['kind']!r} but its root is {root_kind!r}"),
                )
        if r.get("role") in {"no_shift", "break", "holiday", "planned_maintenance"} and (
            kind.get(_root(parent_of, code)) == "unplanned"
        ):
            yield ("reason", i, "role"), f"role {r['role']!r} needs a planned reason"
        if r.get("role") == "micro_stop" and kind.get(_root(parent_of, code)) == "planned":
            yield ("reason", i, "role"), "role 'micro_stop' needs an unplanned reason"
    # the twin and the KPI time model need these to tell planned from unplanned time
    needed = {"no_shift"}
    calendars = _entries(raw, "calendar")
    if any(c.get("breaks") for _, c in calendars):
        needed.add("break")
    if any(c.get("holidays") for _, c in calendars):
        needed.add("holiday")
    if any(c.get("maintenance") for _, c in calendars):
        needed.add("planned_maintenance")
    for _, e in _entries(raw, "equipment"):
        rel = e.get("reliability")
        if isinstance(rel, dict) and rel.get("micro_stops_per_h"):
            needed.add("micro_stop")
        q = e.get("quality")
        if isinstance(q, dict) and q.get("tool_life_cycles"):
            needed.add("tool_change")
    for role in sorted(needed - set(roles)):
        yield (
            ("reason",),
            (
                f"no reason has role = {role!r}; the plant needs one "
                f"(roles: {', '.join(r.value for r in ReasonRole)})"
            ),
        )


def _root(parent_of: dict[str, Any], code: Any) -> Any:
    steps = 0
    while code in parent_of and parent_of[code] is not None and steps <= len(parent_of):
        code, steps = parent_of[code], steps + 1
    return code


def _reason_kinds(reasons: list[tuple[int, dict[str, Any]]]) -> dict[str, str]:
    return {r["code"]: r["kind"] for _, r in reasons if r.get("kind") and isinstance(r.get("code"), str)}


def _calendar_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    calendars = _entries(raw, "calendar")
    ids = Counter(c.get("id") for _, c in calendars)
    equipment_ids = {e.get("id") for _, e in _entries(raw, "equipment")}
    for i, cal in calendars:
        if ids[cal.get("id")] > 1:
            yield ("calendar", i, "id"), f"duplicate calendar id {cal.get('id')!r}"
        shifts = [s for s in cal.get("shifts", []) if isinstance(s, dict)]
        shift_ids = Counter(s.get("id") for s in shifts)
        for j, s in enumerate(shifts):
            if shift_ids[s.get("id")] > 1:
                yield ("calendar", i, "shifts", j, "id"), f"duplicate shift id {s.get('id')!r}"
        days = [d for d in cal.get("days", []) if d in WEEKDAYS]
        spans: list[tuple[int, int, str]] = []
        for s in shifts:
            try:
                start, end = clock_minutes(s["start"]), clock_minutes(s["end"])
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
            length = (end - start) % (24 * 60) or 24 * 60
            for d in days:
                begin = WEEKDAYS.index(d) * 24 * 60 + start
                spans.append((begin, begin + length, str(s.get("id"))))
        week = 7 * 24 * 60
        spans.sort()
        reported: set[tuple[str, str]] = set()
        # compare each span with the next ones, and with the first ones shifted by a week
        wrapped = spans + [(a + week, b + week, n) for a, b, n in spans]
        for k, (_a0, b0, n0) in enumerate(spans):
            for a1, _b1, n1 in wrapped[k + 1 :]:
                if a1 >= b0:
                    break
                pair = tuple(sorted((n0, n1)))
                if n0 != n1 and pair not in reported:
                    reported.add((pair[0], pair[1]))
                    j = next(idx for idx, s in enumerate(shifts) if str(s.get("id")) == n1)
                    yield (
                        ("calendar", i, "shifts", j),
                        (
                            f"shift {n1!r} overlaps shift {n0!r}; shifts of one calendar must not "
                            "overlap (an end at or before the start crosses midnight)"
                        ),
                    )
        for j, window in enumerate(cal.get("maintenance", []) or []):
            if not isinstance(window, dict):
                continue
            for eq in window.get("equipment", []) or []:
                if eq not in equipment_ids:
                    yield (
                        ("calendar", i, "maintenance", j, "equipment"),
                        (f"maintenance names unknown equipment {eq!r}"),
                    )
    calendar_ids = set(ids)
    for i, line in _entries(raw, "line"):
        if "calendar" in line and line["calendar"] not in calendar_ids:
            yield (
                ("line", i, "calendar"),
                (
                    f"line {line.get('id')!r} uses calendar {line['calendar']!r}, which does not "
                    f"exist; calendars are: {sorted(str(c) for c in calendar_ids)}"
                ),
            )


def _production_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    products = _entries(raw, "product")
    product_ids = Counter(p.get("id") for _, p in products)
    for i, p in products:
        if product_ids[p.get("id")] > 1:
            yield ("product", i, "id"), f"duplicate product id {p.get('id')!r}"
    known = sorted(str(p) for p in product_ids)
    line_ids = {line.get("id") for _, line in _entries(raw, "line")}
    cells_by_line: dict[Any, list[Any]] = {}
    for _, cell in _entries(raw, "work_cell"):
        cells_by_line.setdefault(cell.get("parent"), []).append(cell.get("id"))
    routed = Counter(r.get("product") for _, r in _entries(raw, "routing"))
    for i, r in _entries(raw, "routing"):
        product = r.get("product")
        if product not in product_ids:
            yield ("routing", i, "product"), f"routing for unknown product {product!r}; products are: {known}"
        elif routed[product] > 1:
            yield ("routing", i, "product"), f"product {product!r} has more than one routing"
        line = r.get("line")
        if line not in line_ids:
            yield ("routing", i, "line"), f"routing names unknown line {line!r}"
            continue
        steps = [s.get("work_cell") for s in r.get("steps", []) if isinstance(s, dict)]
        cells = cells_by_line.get(line, [])
        if steps != cells:
            yield (
                ("routing", i, "steps"),
                (
                    f"the steps of {product!r} must visit every work cell of line {line!r} once, in "
                    f"flow order: {cells}; got {steps}"
                ),
            )
    for _, p in products:
        if p.get("id") in product_ids and p.get("id") not in routed:
            yield ("product",), f"product {p.get('id')!r} has no routing"
    orders = _entries(raw, "order")
    order_ids = Counter(o.get("id") for _, o in orders)
    for i, o in orders:
        if order_ids[o.get("id")] > 1:
            yield ("order", i, "id"), f"duplicate order id {o.get('id')!r}"
        if o.get("product") not in product_ids:
            yield (
                ("order", i, "product"),
                (f"order {o.get('id')!r} is for unknown product {o.get('product')!r}; products are: {known}"),
            )
        due, release = o.get("due"), o.get("release")
        if (
            isinstance(due, date | datetime)
            and isinstance(release, date | datetime)
            and _moment(release) > _moment(due)
        ):
            yield (
                ("order", i, "release"),
                f"order {o.get('id')!r} is released after it is due; release must be at or before due {due}",
            )
    demand = raw.get("demand")
    if isinstance(demand, dict):
        for j, p in enumerate(demand.get("products", []) or []):
            if p not in product_ids:
                yield ("demand", "products", j), f"demand names unknown product {p!r}; products are: {known}"
    if not orders and not isinstance(demand, dict):
        yield ("order",), "the plant has no orders and no [demand]: nothing would be produced"


def _moment(value: date | datetime) -> datetime:
    # TOML allows a date or a date-time; compare them as the start of that day
    moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())
    return moment.replace(tzinfo=None)


def _equipment_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    reasons = _entries(raw, "reason")
    parent_of = {r["code"]: r.get("parent") for _, r in reasons if isinstance(r.get("code"), str)}
    kinds = _reason_kinds(reasons)
    unplanned = sorted(c for c in parent_of if kinds.get(_root(parent_of, c)) == "unplanned")
    cell_line = {c.get("id"): c.get("parent") for _, c in _entries(raw, "work_cell")}
    for i, e in _entries(raw, "equipment"):
        signals = [s for s in e.get("signal", []) or [] if isinstance(s, dict)]
        names = Counter(s.get("name") for s in signals)
        per_cycle = {s.get("name") for s in signals if s.get("per_cycle")}
        for j, s in enumerate(signals):
            if names[s.get("name")] > 1:
                yield (
                    ("equipment", i, "signal", j, "name"),
                    f"duplicate signal {s.get('name')!r}; signal names must be unique within one equipment",
                )
        energy = e.get("energy")
        if isinstance(energy, dict) and energy.get("signal", "energy_kwh") in names:
            yield (
                ("equipment", i, "energy", "signal"),
                (f"energy signal {energy.get('signal', 'energy_kwh')!r} clashes with a declared signal"),
            )
        rel = e.get("reliability")
        if isinstance(rel, dict):
            for j, mode in enumerate(rel.get("modes", []) or []):
                code = mode.get("reason") if isinstance(mode, dict) else None
                if code is None:
                    continue
                if code not in parent_of:
                    yield (
                        ("equipment", i, "reliability", "modes", j, "reason"),
                        (f"failure mode names unknown reason {code!r}; unplanned reasons are: {unplanned}"),
                    )
                elif kinds.get(_root(parent_of, code)) != "unplanned":
                    yield (
                        ("equipment", i, "reliability", "modes", j, "reason"),
                        (f"failure mode reason {code!r} must be an unplanned reason"),
                    )
        quality = e.get("quality")
        if isinstance(quality, dict):
            for j, param in enumerate(quality.get("parameters", []) or []):
                sig = param.get("signal") if isinstance(param, dict) else None
                if sig is not None and sig not in per_cycle:
                    yield (
                        ("equipment", i, "quality", "parameters", j, "signal"),
                        (f"process parameter {sig!r} must be a declared signal with per_cycle = true"),
                    )
            ch = quality.get("characteristic")
            if isinstance(ch, dict) and ch.get("signal") not in per_cycle:
                yield (
                    ("equipment", i, "quality", "characteristic", "signal"),
                    (f"characteristic {ch.get('signal')!r} must be a declared signal with per_cycle = true"),
                )
            if isinstance(ch, dict) and isinstance(ch.get("target_key"), str):
                line = cell_line.get(e.get("parent"))
                made_here = {r.get("product") for _, r in _entries(raw, "routing") if r.get("line") == line}
                for k, p in _entries(raw, "product"):
                    if p.get("id") in made_here and ch["target_key"] not in (p.get("targets") or {}):
                        yield (
                            ("product", k, "targets"),
                            (
                                f"product {p.get('id')!r} has no target {ch['target_key']!r}, which "
                                f"equipment {e.get('id')!r} measures"
                            ),
                        )
