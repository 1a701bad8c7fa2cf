"""Every string the web app and the API show has its Chinese in the Babel catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from smartfactory.app import i18n

SRC = Path(__file__).resolve().parents[2] / "src" / "smartfactory"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext.babel_extract")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extracted() -> dict[str, str]:
    """Every message id in the API and web sources, with where it first appears."""
    found: dict[str, str] = {}
    for package in ("api", "web"):
        folder = SRC / package
        for filename, lineno, message, _comments, _context in extract_from_dir(
            folder,
            METHODS,
            keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for text in ids:
                if text:
                    found.setdefault(text, f"{package}/{filename}:{lineno}")
    return found


def catalogue() -> dict[str, str]:
    """The zh_CN translations of every PO file, merged."""
    merged: dict[str, str] = {}
    for po in sorted((i18n.CATALOGUES / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                if message.id and not message.fuzzy:
                    key = message.id[0] if isinstance(message.id, tuple) else message.id
                    value = message.string[0] if isinstance(message.string, tuple) else message.string
                    if value:
                        merged[str(key)] = str(value)
    return merged


def test_every_visible_string_has_chinese() -> None:
    messages = extracted()
    assert len(messages) > 10  # the extraction itself works
    zh = catalogue()
    missing = sorted(f"{where}: {text!r}" for text, where in messages.items() if text not in zh)
    assert not missing, "no zh_CN translation for:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    import re

    zh = catalogue()
    wrong = [
        f"{en!r} → {cn!r}"
        for en, cn in zh.items()
        if sorted(re.findall(r"\{[a-z_]*\}", en)) != sorted(re.findall(r"\{[a-z_]*\}", cn))
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,zh;q=0.5", "zh"),
        ("", "en"),
        ("de", "en"),
    ],
)
def test_accept_language_picks_our_language(header: str, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_numbers_and_dates_follow_the_language() -> None:
    from datetime import date

    with i18n.use_language("en"):
        assert i18n.number(1234567.891, 1) == "1,234,567.9"
        assert i18n.percent(0.8532) == "85.3%"
        assert i18n.when(date(2026, 3, 2), with_time=False) == "Mar 2, 2026"
    with i18n.use_language("zh"):
        assert i18n.when(date(2026, 3, 2), with_time=False) == "2026年3月2日"
        assert i18n.gettext("Sign in") == "登录"
