"""Browse a server and write the ``[[source]]`` mapping for the user (nobody types 500 NodeIds).

A variable is mapped when its browse name is a signal of an equipment whose id is the browse name
of an object above it (``.../OP10-M1/spindle_temp`` or ``.../OP10-M1/Spindle/spindle_temp``), or
when its browse name is ``<equipment>.<signal>`` itself. The reserved signals (state and the
counters) match the same way. Entries use browse paths, which survive a PLC download that
renumbers NodeIds; the NodeId seen now is written beside each as a comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.uaerrors import UaError

from smartfactory.connect.opcua.config import RESERVED_ORDER, RESERVED_SIGNALS
from smartfactory.connect.plant_refs import signal_names
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant

_CHUNK = 200


@dataclass(frozen=True)
class Found:
    """One server variable that feeds an equipment signal."""

    equipment: str
    signal: str
    browse_path: str
    node_id: str


async def browse_mapping(
    endpoint: str,
    plant: Plant,
    root: str = "0:Objects",
    *,
    source_id: str = "opcua",
    max_depth: int = 16,
    timeout_s: float = 4.0,
) -> str:
    """TOML text of a ``[[source]] kind = "opcua"`` table: every variable matched below ``root``."""
    client = Client(endpoint, timeout=timeout_s)
    try:
        await client.connect()
    except (OSError, TimeoutError, UaError) as exc:
        raise UserError(f"cannot browse OPC UA server {endpoint}: {type(exc).__name__}: {exc}") from None
    try:
        found = await _walk(client, plant, root, max_depth)
    finally:
        await client.disconnect()
    return mapping_toml(endpoint, plant, found, source_id=source_id, root=root)


def mapping_toml(endpoint: str, plant: Plant, found: list[Found], *, source_id: str, root: str) -> str:
    """The ``[[source]]`` table for what was found, in plant order, one node per line."""
    order = {e.id: i for i, e in enumerate(plant.equipment)}
    signal_order = {
        e.id: {s: i for i, s in enumerate([*signal_names(e), *RESERVED_ORDER])} for e in plant.equipment
    }
    chosen: dict[tuple[str, str], Found] = {}
    duplicates: list[Found] = []
    for item in found:
        key = (item.equipment, item.signal)
        if key in chosen:
            duplicates.append(item)
        else:
            chosen[key] = item
    rows = sorted(chosen.values(), key=lambda f: (order[f.equipment], signal_order[f.equipment][f.signal]))
    lines = [
        f"# OPC UA mapping browsed from {endpoint} below {root}: {len(rows)} node(s) for "
        f"{len({r.equipment for r in rows})} equipment.",
        "# 'state' nodes that give integer codes need a table, e.g.",
        '# state_codes = { 1 = "running", 2 = "idle" }',
        "[[source]]",
        f"id = {_text(source_id)}",
        'kind = "opcua"',
        f"endpoint = {_text(endpoint)}",
        "nodes = [",
    ]
    for row in rows:
        lines.append(
            f"  {{ browse_path = {_text(row.browse_path)}, equipment = {_text(row.equipment)}, "
            f"signal = {_text(row.signal)} }},  # {row.node_id}"
        )
    lines.append("]")
    for item in duplicates:
        lines.append(
            f"# also found for {item.equipment}.{item.signal}, not used: {item.browse_path} ({item.node_id})"
        )
    if not rows:
        lines.insert(
            0, "# nothing matched: no variable is named after a signal of an equipment of this plant"
        )
    return "\n".join(lines) + "\n"


async def _walk(client: Client, plant: Plant, root: str, max_depth: int) -> list[Found]:
    signals = {e.id: set(signal_names(e)) | RESERVED_SIGNALS for e in plant.equipment}
    start = await _root_node(client, root)
    found: list[Found] = []
    # (node, browse path, equipment whose object is above it)
    frontier: list[tuple[ua.NodeId, str, str | None]] = [(start, root, None)]
    for _ in range(max_depth):
        if not frontier:
            break
        following: list[tuple[ua.NodeId, str, str | None]] = []
        for begin in range(0, len(frontier), _CHUNK):
            chunk = frontier[begin : begin + _CHUNK]
            for (_, path, equipment), references in zip(
                chunk, await _browse(client, [n for n, _, _ in chunk]), strict=True
            ):
                for ref in references:
                    name = ref.BrowseName
                    if name.NamespaceIndex == 0:
                        continue  # the standard address space (Server, Aliases...) holds no plant data
                    child_path = f"{path}/{name.NamespaceIndex}:{name.Name}"
                    node_id = ua.NodeId(
                        ref.NodeId.Identifier, ref.NodeId.NamespaceIndex, ref.NodeId.NodeIdType
                    )
                    if ref.NodeClass == ua.NodeClass.Variable:
                        match = _match(name.Name, equipment, signals)
                        if match is not None:
                            found.append(Found(match[0], match[1], child_path, node_id.to_string()))
                    elif ref.NodeClass == ua.NodeClass.Object:
                        below = name.Name if name.Name in signals else equipment
                        following.append((node_id, child_path, below))
        frontier = following
    return found


def _match(name: str, equipment: str | None, signals: dict[str, set[str]]) -> tuple[str, str] | None:
    if equipment is not None and name in signals[equipment]:
        return equipment, name
    head, dot, tail = name.rpartition(".")
    if dot and head in signals and tail in signals[head]:
        return head, tail
    return None


async def _root_node(client: Client, root: str) -> ua.NodeId:
    results = await client.translate_browsepaths(standard_node(ObjectIds.RootFolder), [relative_path(root)])
    result = results[0]
    if not result.StatusCode.is_good() or not result.Targets:
        raise UserError(f"browse root {root!r} does not exist on the server ({result.StatusCode.name})")
    target = result.Targets[0].TargetId
    return ua.NodeId(target.Identifier, target.NamespaceIndex, target.NodeIdType)


async def _browse(client: Client, nodes: list[ua.NodeId]) -> list[list[ua.ReferenceDescription]]:
    """Forward hierarchical references of each node, following continuation points."""
    parameters = ua.BrowseParameters(
        View=ua.ViewDescription(),
        RequestedMaxReferencesPerNode=0,
        NodesToBrowse=[
            ua.BrowseDescription(
                NodeId=node,
                BrowseDirection=ua.BrowseDirection.Forward,
                ReferenceTypeId=standard_node(ObjectIds.HierarchicalReferences),
                IncludeSubtypes=True,
                NodeClassMask=int(ua.NodeClass.Object) | int(ua.NodeClass.Variable),
                ResultMask=int(ua.BrowseResultMask.All),
            )
            for node in nodes
        ],
    )
    out: list[list[ua.ReferenceDescription]] = []
    for result in await client.uaclient.browse(parameters):
        references = list(result.References or [])
        point = result.ContinuationPoint
        while point:
            more = await client.uaclient.browse_next(
                ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[point])
            )
            references.extend(more[0].References or [])
            point = more[0].ContinuationPoint
        out.append(references)
    return out


def _text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def relative_path(path: str) -> ua.RelativePath:
    """A browse path "0:Objects/2:Name/..." as hierarchical forward references."""
    elements = [
        ua.RelativePathElement(
            ReferenceTypeId=standard_node(ObjectIds.HierarchicalReferences),
            IsInverse=cast(ua.Boolean, False),
            IncludeSubtypes=cast(ua.Boolean, True),
            TargetName=ua.QualifiedName.from_string(part),
        )
        for part in path.split("/")
    ]
    return ua.RelativePath(Elements=elements)


def standard_node(object_id: int) -> ua.NodeId:
    """The NodeId of a node of the standard address space (namespace 0), e.g. ``ObjectIds.RootFolder``."""
    return ua.NodeId(ua.Int32(object_id))
