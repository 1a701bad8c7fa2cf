"""Pydantic errors of a framework file in plain words, at the location a reader finds in the file."""

from __future__ import annotations

import types
import typing
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from smartfactory.assess import schema

Loc = tuple[int | str, ...]


class Issue(NamedTuple):
    """One problem found in a file, before it is given a file name and a line."""

    loc: Loc
    message: str


_PATTERNS = {
    schema.SLUG: "use lower-case letters, digits and '_', starting with a letter (at most 64)",
    schema.FRAMEWORK_ID: "write framework/edition/jurisdiction, e.g. 'gradient/2025/national'",
    schema.CRITERION_ID: "write upper-case parts joined by '-', e.g. 'G25-ADV-CMMM'",
    schema.REQUIREMENT_ID: "write CM-<sub-domain code>-L<level>-<n>, e.g. 'CM-EQUIP-L3-1'",
    schema.CODE: "use 1-16 upper-case letters and digits, starting with a letter",
    schema.SYSTEM_ID: "use a system's upper-case abbreviation, e.g. 'MES'",
    schema.URL: "use an http(s) URL",
    schema.DATA_SIGNAL: "write kind or kind:what, e.g. 'states' or 'measurements:energy'",
}


def explain(exc: ValidationError, model: Any) -> list[Issue]:
    """Each error of ``exc`` with its location as written in the file and a plain message."""
    out = []
    for err in exc.errors():
        loc, target = _walk(model, tuple(err["loc"]))
        if err["type"] == "extra_forbidden":
            _, target = _walk(model, tuple(err["loc"])[:-1])
        out.append(Issue(loc, _message(err, loc, target)))
    return out


def locate(loc: Loc) -> str:
    """A location as one string: criterion[3].params.value."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any, loc: Loc, target: Any) -> str:
    kind = err["type"]
    field = loc[-1] if loc else ""
    got = err.get("input")
    ctx = err.get("ctx", {})
    if kind == "extra_forbidden":
        allowed = _fields(target)
        return f"unknown field '{field}'" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return f"required field '{field}' is missing"
    if kind == "union_tag_invalid":
        return f"unknown type {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        types = ", ".join(schema.CRITERION_TYPES)
        return f"required field {ctx.get('discriminator')} is missing; types: {types}"
    if kind == "string_pattern_mismatch":
        hint = _PATTERNS.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return f"{got!r} is not allowed here: {hint}"
    if kind in ("greater_than", "greater_than_equal") and "weight" in loc:
        return f"weights must be positive numbers (> 0); got {got!r}"
    if kind == "literal_error":
        return f"{got!r} is not allowed; expected {ctx.get('expected')}"
    message = str(err["msg"]).removeprefix("Value error, ")
    if got is not None and not isinstance(got, dict | list) and kind != "value_error":
        return f"{message} (got {got!r})"
    return message


def _walk(model: Any, loc: Loc) -> tuple[Loc, Any]:
    """The location without pydantic's union tags, and the type found at its end."""
    clean: list[int | str] = []
    current: Any = model
    for part in loc:
        current = _plain(current)
        members = _tagged_members(current)
        if isinstance(part, str) and part in members:
            current = members[part]
            continue
        clean.append(part)
        current = _child(current, part)
    return tuple(clean), _plain(current)


def _child(annotation: Any, part: int | str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(part, int):
        return args[0] if origin in (tuple, list) and args else None
    if origin is dict and len(args) == 2:
        return args[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
    return None


def _plain(annotation: Any) -> Any:
    """The annotation without Annotated and Optional wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _tagged_members(annotation: Any) -> dict[str, Any]:
    """For a union of models told apart by a literal field: tag → model."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return {}
    members = {}
    for option in typing.get_args(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            for field in ("type", "kind"):
                info = option.model_fields.get(field)
                if info is not None:
                    members.update({str(tag): option for tag in typing.get_args(info.annotation)})
    return members


def _fields(model: Any) -> list[str]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return sorted(info.alias or name for name, info in model.model_fields.items())
