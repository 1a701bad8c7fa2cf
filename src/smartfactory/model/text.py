"""Bilingual text and the one rule that turns a language tag into zh or en.

Data that ships in both languages (framework criteria, KPI and element names, scenario cards,
plant names, labels) is a ``Text``; user-facing interface strings are in the Babel catalogues
of ``smartfactory.app.i18n``. Both resolve a language tag with ``resolve_language``: ``zh``,
``zh-CN``, ``zh_Hans``, ``zh-Hans-CN`` … are Chinese, everything else English.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["zh", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh", "en")
# the BCP 47 tag of each language, for HTML ``lang`` attributes and Content-Language
TAGS: dict[Lang, str] = {"zh": "zh-CN", "en": "en"}


def parse_language(tag: str | None) -> Lang | None:
    """``zh``, ``zh-CN``, ``zh_Hans``, ``en-GB`` … as one of our languages; None for any other tag."""
    if not tag:
        return None
    head = tag.strip().replace("_", "-").split("-")[0].lower()
    if head == "zh":
        return "zh"
    if head == "en":
        return "en"
    return None


def resolve_language(tag: str | None) -> Lang:
    """The language a tag asks for: Chinese for any zh tag, English otherwise (and when none)."""
    return parse_language(tag) or "en"


def choose(lang: str | None, en: str, zh: str) -> str:
    """``zh`` or ``en`` as ``lang`` resolves: for messages built in code, with values in them."""
    return zh if resolve_language(lang) == "zh" else en


def language_tag(tag: str | None) -> str:
    """The BCP 47 tag of the language ``tag`` resolves to: ``zh-CN`` or ``en``."""
    return TAGS[resolve_language(tag)]


class Text(BaseModel):
    """A text in Chinese and English; zh-CN is first-class, so both are required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    def get(self, lang: str | None = "en") -> str:
        """The text in ``lang`` (any tag ``resolve_language`` reads)."""
        return choose(lang, self.en, self.zh)

    def __str__(self) -> str:
        return self.en
