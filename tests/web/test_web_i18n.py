"""Every string the web app and the API show has its Chinese in the Babel catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from smartfactory.app import i18n
from translations import catalogue

SRC = Path(__file__).resolve().parents[2] / "src" / "smartfactory"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext.babel_extract")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extracted() -> dict[str, str]:
    """Every message id in the use cases, the API and the web sources, with where it first appears."""
    found: dict[str, str] = {}
    for package in ("app", "api", "web"):
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
        ("zh-Hans-CN", "zh"),
        ("zh_TW;q=0.8, en;q=0.9", "en"),
        ("zh;q=0, en;q=0.1", "en"),
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


@pytest.mark.parametrize(
    ("tag", "expected"), [("zh", "zh"), ("zh-CN", "zh"), ("zh_Hans", "zh"), ("en-GB", "en")]
)
def test_the_lang_query_and_cookie_read_tags_like_accept_language(tag: str, expected: str) -> None:
    # one rule for ?lang=, the sf_lang cookie and Accept-Language: model.text.parse_language
    assert i18n.parse_language(tag) == expected == i18n.negotiate(tag)


def test_data_texts_follow_the_language() -> None:
    name = i18n.Text(en="Line 1", zh="一号线")
    with i18n.use_language("zh"):
        assert i18n.local_text(name) == "一号线"
        assert i18n.pick("Line 1", "") == "Line 1"  # no Chinese: the English rather than a blank
    with i18n.use_language("en"):
        assert i18n.local_text(name) == i18n.pick("Line 1", "一号线") == "Line 1"
