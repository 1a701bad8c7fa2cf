"""The freshness indicator of the overview and the machine pages: what it says and how often it asks again.

The indicator polls ``/overview/freshness`` (HTMX, ``every Ns``); each answer renders the next
poll's interval, so the server slows a page down while nothing changes (``idle_poll_s`` after
``idle_after_s`` without a new commit) and speeds it up when data flows again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from smartfactory.app.freshness import EquipmentFreshness, Freshness, live_settings
from smartfactory.app.i18n import gettext as _

FRESHNESS_URL = "/overview/freshness"
STALE_SHOWN = 6  # stale machines named on the overview; more are counted


@dataclass(frozen=True)
class Indicator:
    """The indicator as the template renders it."""

    state: str  # "live", "stale" or "empty" (the CSS class and data-state)
    label: str  # the badge
    text: str
    as_of: str  # ISO with offset, "" when nothing is stored
    age_s: float | None
    stale_after_s: float
    version: str
    poll_s: int
    url: str
    stale_machines: str  # the overview's "no new data from …", "" when none


def span(seconds: float) -> str:
    """A length of time in the unit a reader wants for it (s, min, h, d), rounded down."""
    s = abs(seconds)
    if s < 120:
        return _("{n} s").format(n=int(s))
    if s < 7_200:
        return _("{n} min").format(n=int(s // 60))
    if s < 172_800:
        return _("{n} h").format(n=int(s // 3_600))
    return _("{n} d").format(n=int(s // 86_400))


def clock(moment: datetime, now: datetime) -> str:
    """HH:MM:SS on the server's day (plant time), with the date on any other day."""
    return f"{moment:%H:%M:%S}" if moment.date() == now.date() else f"{moment:%Y-%m-%d %H:%M:%S}"


def indicator(fresh: Freshness, equipment: str | None = None) -> Indicator:
    """The indicator of the plant (the overview) or of one machine (its page)."""
    settings = live_settings()
    machine: EquipmentFreshness | None = None
    if equipment is not None:
        machine = next((m for m in fresh.equipment if m.equipment == equipment), None)
    newest = fresh.as_of if equipment is None else (machine.newest if machine else None)
    age = fresh.age_s if equipment is None else (machine.age_s if machine else None)
    stale = fresh.stale if equipment is None else (machine.stale if machine else True)
    if newest is None or age is None:
        state, label = "empty", _("No data")
        text = _("No data stored yet.") if equipment is None else _("No data stored for this machine yet.")
    else:
        state, label = ("stale", _("Stale")) if stale else ("live", _("Live"))
        when = clock(newest, fresh.now)
        if age < -1:  # the source's clock runs ahead of the server's
            text = _("Data as of {time} ({age} ahead of the server's clock)").format(time=when, age=span(age))
        else:
            text = _("Data as of {time} ({age} ago)").format(time=when, age=span(max(age, 0.0)))
        if stale:
            text += " · " + _("no new data for more than {limit}").format(limit=span(fresh.stale_after_s))
    quiet = [m.equipment for m in fresh.equipment if m.stale]
    stale_machines = ""
    if equipment is None and state == "live" and quiet:
        named = ", ".join(quiet[:STALE_SHOWN]) + (" …" if len(quiet) > STALE_SHOWN else "")
        stale_machines = _("No new data from {machines}").format(machines=named)
    idle = fresh.unchanged_s >= settings.idle_after_s
    query = urlencode({"equipment": equipment}) if equipment is not None else ""
    return Indicator(
        state=state,
        label=label,
        text=text,
        as_of=newest.isoformat() if newest is not None else "",
        age_s=age,
        stale_after_s=fresh.stale_after_s,
        version=fresh.version,
        poll_s=max(1, round(settings.idle_poll_s if idle else settings.poll_s)),
        url=FRESHNESS_URL + (f"?{query}" if query else ""),
        stale_machines=stale_machines,
    )
