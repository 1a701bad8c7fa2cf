"""The ``[[source]]`` config of an OPC UA server: where it is, how to secure it, which nodes feed what.

Checks that need only the config (one of node / browse_path, NodeId syntax, security files) live in
the Pydantic model; checks that need the plant (equipment ids, signal names) in
:func:`plant_problems`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlparse

from asyncua import ua
from asyncua.ua.uaerrors import UaStringParsingError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smartfactory.connect.plant_refs import reference_problems
from smartfactory.model.errors import Problem
from smartfactory.model.events import State
from smartfactory.model.plant import Plant

STATE_SIGNAL = "state"
GOOD_COUNT = "good_count"
SCRAP_COUNT = "scrap_count"
REWORK_COUNT = "rework_count"
COUNTER_SIGNALS = frozenset({GOOD_COUNT, SCRAP_COUNT, REWORK_COUNT})
# in the order the twin server and browse_mapping list them after an equipment's own signals
RESERVED_ORDER = (STATE_SIGNAL, GOOD_COUNT, SCRAP_COUNT, REWORK_COUNT)
RESERVED_SIGNALS = frozenset(RESERVED_ORDER)

# one element of a browse path: "<namespace index>:<browse name>", e.g. "2:OP10-M1"
_PATH_ELEMENT = re.compile(r"^\d+:[^/]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeEntry(_Strict):
    """One monitored node and the equipment signal it feeds."""

    node: str | None = Field(
        default=None, description='NodeId in OPC UA text form, e.g. "ns=2;s=OP10-M1.spindle_load".'
    )
    browse_path: str | None = Field(
        default=None,
        description=(
            'Path of browse names from the Root folder, e.g. "0:Objects/2:OP10-M1/2:spindle_load"; '
            "resolved again after every reconnect, so it survives a PLC download that renumbers NodeIds."
        ),
    )
    equipment: str = Field(description="Equipment id from the plant file.")
    signal: str = Field(
        description=(
            "A signal of that equipment, or a reserved one: 'state' (a state name, or an integer code "
            "mapped by state_codes), 'good_count' / 'scrap_count' / 'rework_count' (cumulative counters)."
        )
    )
    sampling_ms: float | None = Field(
        default=None,
        gt=0,
        description="Sampling interval of this node in ms; the source's sampling_ms if not given.",
    )

    @property
    def label(self) -> str:
        """``equipment.signal`` for messages."""
        return f"{self.equipment}.{self.signal}"

    @property
    def address(self) -> str:
        """The NodeId or browse path, as written in the config."""
        return self.node if self.node is not None else str(self.browse_path)

    @field_validator("node")
    @classmethod
    def _node_id(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ua.NodeId.from_string(value)
        except (ValueError, UaStringParsingError) as exc:
            raise ValueError(
                f"{value!r} is not a NodeId ({exc}); write 'ns=<index>;s=<name>' or 'ns=<index>;i=<number>'"
            ) from None
        return value

    @field_validator("browse_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return value
        bad = [part for part in value.split("/") if not _PATH_ELEMENT.match(part)]
        if bad:
            raise ValueError(
                f"browse path element(s) {bad} are not '<namespace index>:<browse name>'; "
                'write e.g. "0:Objects/2:OP10-M1/2:spindle_load"'
            )
        return value

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.node is None) == (self.browse_path is None):
            raise ValueError(f"{self.label}: give exactly one of node (a NodeId) or browse_path")
        return self


class OpcUaConfig(_Strict):
    """An OPC UA server whose nodes are subscribed to (``kind = "opcua"`` in the plant file)."""

    endpoint: str = Field(description="Server endpoint URL, opc.tcp://host:port[/path].")
    security: Literal["None", "Basic256Sha256"] = Field(
        default="None", description="Security policy; Basic256Sha256 needs certificate and private_key."
    )
    mode: Literal["Sign", "SignAndEncrypt"] = Field(
        default="SignAndEncrypt", description="Message security mode when security is Basic256Sha256."
    )
    certificate: Path | None = Field(default=None, description="This client's certificate (DER or PEM).")
    private_key: Path | None = Field(default=None, description="This client's private key (PEM or DER).")
    server_certificate: Path | None = Field(
        default=None,
        description="The server's certificate; if not given it is taken from the server's endpoint list.",
    )
    username: str | None = Field(default=None, description="User name, if the server wants one.")
    password: str | None = Field(default=None, description="Password for username.")
    sampling_ms: float = Field(
        default=500.0, gt=0, description="Default sampling interval of every node, ms."
    )
    publishing_ms: float | None = Field(
        default=None,
        gt=0,
        description="Publishing interval of the subscription, ms; the smallest sampling_ms if not given.",
    )
    watchdog_s: float = Field(
        default=2.0, gt=0, description="How often the watchdog checks the connection and the keep-alives, s."
    )
    timeout_s: float = Field(default=4.0, gt=0, description="How long to wait for a request's answer, s.")
    reconnect_max_s: float = Field(
        default=30.0, gt=0, description="Longest wait between reconnect attempts, s."
    )
    max_future_s: float = Field(
        default=3600.0, gt=0, description="Reject values whose timestamp is further ahead than this, s."
    )
    max_age_s: float = Field(
        default=30 * 86400.0, gt=0, description="Reject values whose timestamp is older than this, s."
    )
    state_codes: dict[int, State] = Field(
        default_factory=dict,
        description="Integer state code -> state, for 'state' nodes that give codes (PackML, OPC 40001-1).",
    )
    nodes: list[NodeEntry] = Field(min_length=1, description="The nodes to subscribe to.")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        url = urlparse(value)
        if url.scheme != "opc.tcp" or not url.hostname:
            raise ValueError(f"{value!r} is not an OPC UA endpoint; write opc.tcp://host:port[/path]")
        try:
            url.port  # noqa: B018 (parsing the port is the check)
        except ValueError:
            raise ValueError(f"{value!r} has an invalid port") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.security == "Basic256Sha256":
            if self.certificate is None or self.private_key is None:
                raise ValueError("security = 'Basic256Sha256' needs certificate and private_key (file paths)")
        elif any(p is not None for p in (self.certificate, self.private_key, self.server_certificate)):
            raise ValueError(
                "certificate, private_key and server_certificate need security = 'Basic256Sha256'"
            )
        if self.password is not None and self.username is None:
            raise ValueError("password is given without username")
        seen: dict[tuple[str, str], int] = {}
        for i, entry in enumerate(self.nodes):
            key = (entry.equipment, entry.signal)
            if key in seen:
                raise ValueError(f"nodes[{i}] feeds {entry.label} again (nodes[{seen[key]}] does already)")
            seen[key] = i
        return self

    def sampling(self, entry: NodeEntry) -> float:
        """The sampling interval of a node, ms."""
        return entry.sampling_ms if entry.sampling_ms is not None else self.sampling_ms

    def publishing(self) -> float:
        """The subscription's publishing interval, ms."""
        if self.publishing_ms is not None:
            return self.publishing_ms
        return min(self.sampling(entry) for entry in self.nodes)


def plant_problems(config: OpcUaConfig, plant: Plant, source: str) -> list[Problem]:
    """Nodes whose equipment or signal the plant does not have (empty when all fit)."""
    references = ((f"nodes[{i}]", entry.equipment, entry.signal) for i, entry in enumerate(config.nodes))
    return reference_problems(references, plant, source, RESERVED_SIGNALS)
