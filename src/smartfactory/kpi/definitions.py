"""The KPI and element definitions of data/*.toml, and their formulas as engine expressions.

A formula is a small arithmetic expression over element ids and other KPI ids. It is parsed
once with Python's ``ast`` (never evaluated as code) and turned into an Ibis expression, so the
same definition runs on DuckDB, PostgreSQL or any other Ibis engine.
"""

from __future__ import annotations

import ast
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import ibis
import ibis.expr.types as ir

from smartfactory.model.errors import UserError
from smartfactory.model.events import State
from smartfactory.model.text import Text


@dataclass(frozen=True)
class Element:
    """An ISO 22400-2 time element or quantity, with where smartfactory takes it from."""

    id: str
    column: str
    unit: str
    name: Text
    source: str
    how: Text


@dataclass(frozen=True)
class Kpi:
    """One ISO 22400-2 KPI: its formula, or what it needs when the data cannot support it."""

    id: str
    no: int
    iso: str
    name: Text
    unit: str
    low: float
    high: float
    trend: str
    formula: str | None = None
    valid_when: str | None = None
    invalid: Text | None = None
    needs: Text | None = None
    note: Text | None = None
    refs: tuple[str, ...] = field(default=())

    @property
    def supported(self) -> bool:
        """Whether smartfactory can compute it from stored events."""
        return self.formula is not None


@dataclass(frozen=True)
class StateRule:
    """Which element a state's time inside planned busy time adds to."""

    element: str
    with_order: str


@dataclass(frozen=True)
class Catalogue:
    """All element and KPI definitions, loaded from the data files."""

    elements: dict[str, Element]
    kpis: dict[str, Kpi]
    state_map: dict[State, StateRule]
    state_map_source: str
    source: str
    headline: tuple[str, ...]

    def kpi(self, kpi_id: str) -> Kpi:
        """A KPI by id, or a user error naming the known ones."""
        try:
            return self.kpis[kpi_id]
        except KeyError:
            raise UserError(f"unknown KPI {kpi_id!r}; known: {', '.join(self.kpis)}") from None

    def select(self, ids: list[str] | None) -> list[Kpi]:
        """The KPIs asked for (all when None), in ISO order, with the KPIs they refer to resolved."""
        if not ids:
            return sorted(self.kpis.values(), key=lambda k: k.no)
        unknown = [i for i in ids if i not in self.kpis]
        if unknown:
            raise UserError(f"unknown KPI {', '.join(map(repr, unknown))}; known: {', '.join(self.kpis)}")
        return [self.kpis[i] for i in dict.fromkeys(ids)]

    def dependencies(self, kpis: list[Kpi]) -> list[Kpi]:
        """``kpis`` plus every KPI their formulas use, each after the ones it uses."""
        order: list[Kpi] = []
        seen: set[str] = set()

        def visit(k: Kpi) -> None:
            if k.id in seen:
                return
            seen.add(k.id)
            for ref in k.refs:
                if ref in self.kpis:
                    visit(self.kpis[ref])
            order.append(k)

        for k in kpis:
            visit(k)
        return order

    def elements_of(self, kpi: Kpi) -> list[Element]:
        """The elements a KPI reads, directly or through the KPIs it uses."""
        out: dict[str, Element] = {}
        for k in self.dependencies([kpi]):
            for ref in k.refs:
                if ref in self.elements:
                    out[ref] = self.elements[ref]
        return list(out.values())


def _text(value: Any, where: str) -> Text:
    if not isinstance(value, dict) or not {"en", "zh"} <= value.keys():
        raise ValueError(f"{where}: needs en and zh texts")
    return Text(en=str(value["en"]), zh=str(value["zh"]))


def _bound(value: Any) -> float:
    return float(value)  # "inf" and "-inf" are open bounds


@cache
def catalogue() -> Catalogue:
    """The definitions shipped in smartfactory/kpi/data (read once)."""
    data = resources.files("smartfactory.kpi") / "data"
    raw_elements = tomllib.loads((data / "elements.toml").read_text("utf-8"))
    raw_kpis = tomllib.loads((data / "kpis.toml").read_text("utf-8"))
    elements = {
        e["id"]: Element(
            e["id"], e["column"], e["unit"], _text(e["name"], e["id"]), e["from"], _text(e["how"], e["id"])
        )
        for e in raw_elements["element"]
    }
    raw_map = dict(raw_elements["state_map"])
    map_source = f"{raw_map.pop('source')} [{raw_map.pop('confidence')}]"
    state_map = {
        State(state): StateRule(rule["element"], rule.get("with_order", rule["element"]))
        for state, rule in raw_map.items()
    }
    missing = [s.value for s in State if s not in state_map]
    if missing:
        raise ValueError(f"elements.toml state_map misses states {missing}")
    kpis: dict[str, Kpi] = {}
    for k in raw_kpis["kpi"]:
        formula = k.get("formula")
        refs: set[str] = set()
        for text in (formula, k.get("valid_when")):
            if text:
                refs |= names_in(text)
        kpis[k["id"]] = Kpi(
            id=k["id"],
            no=int(k["no"]),
            iso=k["iso"],
            name=_text(k["name"], k["id"]),
            unit=k["unit"],
            low=_bound(k["range"][0]),
            high=_bound(k["range"][1]),
            trend=k["trend"],
            formula=formula,
            valid_when=k.get("valid_when"),
            invalid=_text(k["invalid"], k["id"]) if "invalid" in k else None,
            needs=_text(k["needs"], k["id"]) if "needs" in k else None,
            note=_text(k["note"], k["id"]) if "note" in k else None,
            refs=tuple(sorted(refs)),
        )
    for k in kpis.values():
        unknown = [r for r in k.refs if r not in elements and r not in kpis]
        if unknown:
            raise ValueError(f"kpis.toml: {k.id} refers to unknown names {unknown}")
        if (k.formula is None) == (k.needs is None):
            raise ValueError(f"kpis.toml: {k.id} needs exactly one of formula and needs")
    headline = tuple(raw_kpis.get("headline", []))
    if unknown_headline := [h for h in headline if h not in kpis]:
        raise ValueError(f"kpis.toml: headline names unknown KPIs {unknown_headline}")
    return Catalogue(elements, kpis, state_map, map_source, raw_kpis["source"], headline)


# --- formulas ----------------------------------------------------------------------------

_FUNCTIONS = {"sqrt", "abs", "min", "max"}


def names_in(formula: str) -> set[str]:
    """The element and KPI ids a formula uses."""
    tree = _parse(formula)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS}


@cache
def _parse(formula: str) -> ast.Expression:
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"formula {formula!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        allowed = (
            ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Call, ast.Load,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.Compare, ast.BoolOp, ast.And, ast.Or,
            ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq,
        )  # fmt: skip
        if not isinstance(node, allowed):
            raise ValueError(f"formula {formula!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        ):
            raise ValueError(f"formula {formula!r}: only {sorted(_FUNCTIONS)} may be called")
    return tree


Resolve = Callable[[str], Any]


def to_ibis(formula: str, resolve: Resolve) -> ir.Value:
    """The formula as an Ibis expression; ``resolve`` gives the expression of each name."""
    result: ir.Value = _Compiler(resolve, _ibis_ops()).visit(_parse(formula).body)
    return result


def evaluate(formula: str, values: Mapping[str, float | None]) -> float | bool | None:
    """The formula on plain numbers (None propagates; a division by zero gives None)."""
    result: float | bool | None = _Compiler(lambda n: values[n], _python_ops()).visit(_parse(formula).body)
    return result


@dataclass(frozen=True)
class _Ops:
    div: Callable[[Any, Any], Any]
    sqrt: Callable[[Any], Any]
    abs: Callable[[Any], Any]
    min: Callable[[Any, Any], Any]
    max: Callable[[Any, Any], Any]
    const: Callable[[float], Any]
    both: Callable[[Any, Any], Any]
    either: Callable[[Any, Any], Any]


def _ibis_ops() -> _Ops:
    return _Ops(
        div=lambda a, b: a / b.nullif(0) if isinstance(b, ir.Value) else (a / b if b else ibis.null()),
        sqrt=lambda a: a.sqrt(),
        abs=lambda a: a.abs(),
        min=lambda a, b: ibis.least(a, b),
        max=lambda a, b: ibis.greatest(a, b),
        const=lambda v: ibis.literal(float(v), type="float64"),
        both=lambda a, b: a & b,
        either=lambda a, b: a | b,
    )


def _none_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        return None if any(a is None for a in args) else fn(*args)

    return wrapped


def _python_ops() -> _Ops:
    return _Ops(
        div=_none_safe(lambda a, b: a / b if b else None),
        sqrt=_none_safe(math.sqrt),
        abs=_none_safe(abs),
        min=_none_safe(min),
        max=_none_safe(max),
        const=lambda v: float(v),
        both=lambda a, b: None if a is None or b is None else bool(a and b),
        either=lambda a, b: None if a is None or b is None else bool(a or b),
    )


class _Compiler:
    def __init__(self, resolve: Resolve, ops: _Ops) -> None:
        self.resolve = resolve
        self.ops = ops

    def visit(self, node: ast.AST) -> Any:
        o = self.ops
        if isinstance(node, ast.Constant):
            return o.const(float(node.value))  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            return self.resolve(node.id)
        if isinstance(node, ast.UnaryOp):
            value = self.visit(node.operand)
            return None if value is None else -value
        if isinstance(node, ast.BinOp):
            a, b = self.visit(node.left), self.visit(node.right)
            if isinstance(node.op, ast.Div):
                return o.div(a, b)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            return a * b
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [self.visit(a) for a in node.args]
            return getattr(o, node.func.id)(*args)
        if isinstance(node, ast.BoolOp):
            values = [self.visit(v) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = o.both(out, v) if isinstance(node.op, ast.And) else o.either(out, v)
            return out
        if isinstance(node, ast.Compare):
            left = self.visit(node.left)
            result = None
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.visit(comparator)
                if left is None or right is None:
                    return None
                step = _compare(op, left, right)
                result = step if result is None else o.both(result, step)
                left = right
            return result
        raise ValueError(f"cannot compile {ast.dump(node)}")


def _compare(op: ast.cmpop, a: Any, b: Any) -> Any:
    if isinstance(op, ast.Lt):
        return a < b
    if isinstance(op, ast.LtE):
        return a <= b
    if isinstance(op, ast.Gt):
        return a > b
    if isinstance(op, ast.GtE):
        return a >= b
    if isinstance(op, ast.Eq):
        return a == b
    return a != b
