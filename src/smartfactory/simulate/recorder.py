"""What one machine did, kept column-wise so it turns into Arrow batches cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field

from smartfactory.model.events import State


@dataclass
class StateLog:
    """Closed state intervals plus the open one, with the wear that shapes the signals."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)
    orders: list[str | None] = field(default_factory=list)
    products: list[str | None] = field(default_factory=list)
    # operating age and life at the interval start: wear = age / life, growing while running
    ages: list[float] = field(default_factory=list)
    lives: list[float] = field(default_factory=list)
    open_state: State | None = None
    open_start: float = 0.0
    open_reason: str | None = None
    open_order: str | None = None
    open_product: str | None = None
    open_age: float = 0.0
    open_life: float = 1.0

    def switch(
        self,
        now: float,
        state: State,
        reason: str | None,
        order: str | None,
        product: str | None,
        age: float,
        life: float,
    ) -> None:
        """Enter ``state`` at ``now``; a repeat of the open state changes nothing."""
        if self.open_state is state and self.open_reason == reason and self.open_order == order:
            return
        self.close(now)
        self.open_state, self.open_start, self.open_reason = state, now, reason
        self.open_order, self.open_product = order, product
        self.open_age, self.open_life = age, life

    def close(self, now: float) -> None:
        """Close the open interval at ``now`` (dropping it if it has no length)."""
        if self.open_state is None:
            return
        if now > self.open_start:
            self.starts.append(self.open_start)
            self.ends.append(now)
            self.states.append(self.open_state)
            self.reasons.append(self.open_reason)
            self.orders.append(self.open_order)
            self.products.append(self.open_product)
            self.ages.append(self.open_age)
            self.lives.append(self.open_life)
        self.open_state = None


@dataclass
class CountLog:
    """One row per finished (or lost) cycle."""

    ts: list[float] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    good: list[int] = field(default_factory=list)
    scrap: list[int] = field(default_factory=list)
    rework: list[int] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)


@dataclass
class CycleSignalLog:
    """Per-cycle values (process parameters, measured characteristics)."""

    ts: list[float] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class AlarmLog:
    """Alarm transitions raised by the machine itself (failures)."""

    ts: list[float] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, ts: float, code: str, severity: str, action: str, message: str) -> None:
        """Append one alarm transition."""
        self.ts.append(ts)
        self.codes.append(code)
        self.severities.append(severity)
        self.actions.append(action)
        self.messages.append(message)
