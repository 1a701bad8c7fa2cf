"""Languages of the web app and the API: zh-CN and en, from Babel catalogues.

English is the source language; every visible string is wrapped in ``gettext`` and has its
Chinese in a PO catalogue under ``locale/zh_CN/LC_MESSAGES/`` (one file per part of the app,
merged at start). The language of a request is set by ``use_language`` (a context variable),
so services, routes and templates translate without passing it around.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from smartfactory.model.text import (
    LANGUAGES,
    Lang,
    Text,
    choose,
    language_tag,
    parse_language,
    resolve_language,
)

LOCALES: dict[Lang, str] = {"zh": "zh_CN", "en": "en"}
CATALOGUES = Path(__file__).with_name("locale")

_current: ContextVar[Lang] = ContextVar("smartfactory_language", default="en")


@cache
def translations(lang: Lang) -> NullTranslations:
    """The merged catalogue of one language (English needs none)."""
    if lang == "en":
        return NullTranslations()
    merged: Translations | None = None
    for po in sorted((CATALOGUES / LOCALES[lang] / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALES[lang], domain=po.stem)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        # one domain for the whole app, so templates need not know which file holds a string
        part = Translations(buffer, domain="messages")
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged or NullTranslations()


def language() -> Lang:
    """The language of the request being served."""
    return _current.get()


@contextmanager
def use_language(lang: Lang) -> Iterator[None]:
    """Translate into ``lang`` inside the block."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(lang: Lang) -> None:
    """Translate into ``lang`` for the rest of this context (one request)."""
    _current.set(lang)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of ``message`` for ``n``, in the current language."""
    return translations(language()).ngettext(singular, plural, n)


_ = gettext


def local_text(text: Text) -> str:
    """A bilingual data text (a plant, KPI or scenario name …) in the current language."""
    return text.get(language())


def pick(en: str, zh: str) -> str:
    """Of a text given as an English and a Chinese string, the one of the current language."""
    # a missing Chinese text falls back to the English one rather than leaving a blank
    return choose(language(), en, zh or en)


__all__ = ["LANGUAGES", "Lang", "Text", "language_tag", "parse_language", "resolve_language"]


def negotiate(accept_language: str | None) -> Lang:
    """The best of our languages for an Accept-Language header (English when none fits)."""
    if not accept_language:
        return "en"
    wanted: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            wanted.append((quality, tag))
    for _quality, tag in sorted(wanted, key=lambda item: -item[0]):
        found = parse_language(tag)
        if found is not None and _quality > 0:
            return found
    return "en"


def _locale() -> Locale:
    try:
        return Locale.parse(LOCALES[language()])
    except UnknownLocaleError:  # pragma: no cover - both locales ship with Babel
        return Locale("en")


def number(value: float | int | None, digits: int = 0) -> str:
    """A number with the locale's grouping and ``digits`` decimals; an em dash for none."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale())


def percent(value: float | None, digits: int = 1) -> str:
    """A ratio as a percentage in the locale's format; an em dash for none."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=_locale())


def when(moment: datetime | date | None, tz: str | None = None, with_time: bool = True) -> str:
    """A date or time in the locale's medium format, in the plant's time zone when given."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        if tz is not None and moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(tz))
        if with_time:
            return format_datetime(moment, format="medium", locale=_locale())
        moment = moment.date()
    return format_date(moment, format="medium", locale=_locale())
