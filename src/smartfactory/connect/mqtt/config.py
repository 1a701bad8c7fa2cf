"""The ``[[source]]`` settings of an MQTT source (``kind = "mqtt"``), checked in the plant file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from smartfactory.model.events import State

DEFAULT_TOPIC = "{enterprise}/{site}/{area}/{line}/{equipment}/{signal}"
THIRTY_DAYS_S = 30 * 86400.0
_STATES = tuple(s.value for s in State)


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is: host, port and whether the connection uses TLS."""

    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]`` as a BrokerAddress (ValueError if neither)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"broker url {url!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"broker url {url!r} has no host; write mqtt://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"broker url {url!r} may only hold a host and a port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"broker url {url!r} has a bad port") from None
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname, port or (8883 if tls else 1883), tls)


class MqttConfig(BaseModel):
    """An MQTT source: the broker, the session, and how topics and payloads map to the plant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Broker address: mqtt://host:port, or mqtts://host:port for TLS.")
    ca: Path | None = Field(default=None, description="mqtts only: CA certificate file (PEM).")
    cert: Path | None = Field(default=None, description="mqtts only: client certificate file (PEM).")
    key: Path | None = Field(default=None, description="mqtts only: client private key file (PEM).")
    client_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Fixed client id, so the broker keeps the session (and queues messages) across "
        "restarts; default smartfactory-<plant id>-<source id>.",
    )
    username: str | None = Field(default=None, description="Broker user name.")
    password: SecretStr | None = Field(default=None, description="Broker password.")
    protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        description="MQTT version. 5 lets the ingester ask for up to receive_maximum unacknowledged "
        "messages; with 3.1.1 the broker's max_inflight_messages (Mosquitto: 20) limits throughput.",
    )
    session_expiry_s: int = Field(
        default=7 * 86400,
        ge=0,
        le=2**32 - 1,
        description="MQTT 5: how long the broker keeps the session and queues messages while the "
        "ingester is away.",
    )
    receive_maximum: int = Field(
        default=65535,
        ge=1,
        le=65535,
        description="MQTT 5: most messages the broker may send before they are acknowledged "
        "(acknowledged only once committed).",
    )
    format: Literal["json", "sparkplug"] = Field(default="json", description="Payload format.")
    topic: str = Field(
        default=DEFAULT_TOPIC,
        description="json: topic template; {equipment} and {signal} are required, {enterprise}, "
        "{site}, {area}, {line}, {work_cell} are checked against the plant.",
    )
    subscriptions: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Topic filters to subscribe to; default derived from the template (or "
        "spBv1.0/<group_id>/# for sparkplug).",
    )
    qos: Literal[0, 1, 2] = Field(default=1, description="Subscription QoS; 1 or 2 for no loss.")
    keepalive_s: int = Field(default=30, ge=5, le=65535, description="MQTT keepalive in seconds.")
    max_future_s: float = Field(
        default=3600.0, ge=0, description="Reject points more than this far in the future."
    )
    max_age_s: float = Field(default=THIRTY_DAYS_S, gt=0, description="Reject points older than this.")
    group_id: str | None = Field(default=None, description="sparkplug: the Sparkplug group id (required).")
    devices: dict[str, str] = Field(
        default_factory=dict,
        description="sparkplug: device id (or edge node id) -> equipment id; default: the id is the "
        "equipment id.",
    )
    state_metric: str = Field(default="state", description="sparkplug: the metric holding the state.")
    state_codes: dict[str, str] = Field(
        default_factory=dict,
        description="sparkplug: integer state code (as text) -> state, for PLCs that report numbers.",
    )
    good_count_metric: str = Field(default="good_count", description="sparkplug: cumulative good parts.")
    scrap_count_metric: str = Field(default="scrap_count", description="sparkplug: cumulative scrap.")
    rework_count_metric: str = Field(default="rework_count", description="sparkplug: cumulative rework.")
    alarm_metric: str = Field(default="alarm", description="sparkplug: the metric carrying alarms.")
    rebirth_interval_s: float = Field(
        default=5.0, gt=0, description="sparkplug: at most one rebirth request per edge node this often."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parse_broker_url(value)
        return value

    @field_validator("subscriptions")
    @classmethod
    def _filters(cls, value: list[str] | None) -> list[str] | None:
        for f in value or []:
            if (
                not f
                or any(
                    ("#" in level and level != "#") or ("+" in level and level != "+")
                    for level in f.split("/")
                )
                or ("#" in f and not f.endswith("#"))
            ):
                raise ValueError(f"subscription {f!r} is not a valid MQTT topic filter")
        return value

    @model_validator(mode="after")
    def _format_fields(self) -> MqttConfig:
        if self.format == "sparkplug" and not self.group_id:
            raise ValueError("format 'sparkplug' needs group_id (the Sparkplug group to subscribe to)")
        if self.group_id is not None and (
            "/" in self.group_id or "+" in self.group_id or "#" in self.group_id
        ):
            raise ValueError(f"group_id {self.group_id!r} may not contain '/', '+' or '#'")
        if not parse_broker_url(self.url).tls and (self.ca or self.cert or self.key):
            raise ValueError("ca, cert and key are for mqtts:// urls only")
        if (self.cert is None) != (self.key is None):
            raise ValueError("give cert and key together")
        for code, state in self.state_codes.items():
            if not code.lstrip("-").isdigit():
                raise ValueError(f"state_codes key {code!r} must be an integer code")
            if state not in _STATES:
                raise ValueError(f"state_codes maps {code} to {state!r}; states: {', '.join(_STATES)}")
        return self
