"""One bilingual text type and one rule for what a language tag asks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from smartfactory.model.text import Text, choose, language_tag, parse_language, resolve_language

SRC = Path(__file__).resolve().parents[2] / "src" / "smartfactory"

CHINESE = ["zh", "zh-CN", "zh_cn", "zh_CN", "zh_Hans", "zh-Hans-CN", "zh-Hant-TW", "ZH", " zh-cn "]
ENGLISH = ["en", "en-GB", "EN_us"]
OTHER = ["fr", "de-DE", "zhx", "chinese", "", None]


@pytest.mark.parametrize("tag", CHINESE)
def test_every_zh_tag_is_chinese(tag: str) -> None:
    assert parse_language(tag) == resolve_language(tag) == "zh"
    assert language_tag(tag) == "zh-CN"


@pytest.mark.parametrize("tag", ENGLISH)
def test_en_tags_are_english(tag: str) -> None:
    assert parse_language(tag) == resolve_language(tag) == "en"
    assert language_tag(tag) == "en"


@pytest.mark.parametrize("tag", OTHER)
def test_any_other_tag_is_none_of_ours_and_resolves_to_english(tag: str | None) -> None:
    assert parse_language(tag) is None
    assert resolve_language(tag) == "en"
    assert language_tag(tag) == "en"


def test_text_gives_the_language_a_tag_asks_for() -> None:
    name = Text(en="Line 1", zh="一号线")
    tag: str | None
    for tag in CHINESE:
        assert name.get(tag) == "一号线"
        assert choose(tag, "Line 1", "一号线") == "一号线"
    for tag in [*ENGLISH, *OTHER]:
        assert name.get(tag) == "Line 1"
        assert choose(tag, "Line 1", "一号线") == "Line 1"
    assert name.get() == str(name) == "Line 1"


def test_text_needs_both_languages() -> None:
    with pytest.raises(ValidationError):
        Text(en="Line 1")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Text.model_validate({"zh": "一号线"})
    with pytest.raises(ValidationError):
        Text(en="Line 1", zh="")
    with pytest.raises(ValidationError):
        Text.model_validate({"en": "Line 1", "zh": "一号线", "fr": "Ligne 1"})


def test_text_is_a_frozen_value_serialised_as_en_and_zh() -> None:
    name = Text(en="Line 1", zh="一号线")
    with pytest.raises(ValidationError):
        name.en = "Line 2"  # type: ignore[misc]
    assert name == Text(en="Line 1", zh="一号线")
    assert len({name, Text(en="Line 1", zh="一号线")}) == 1
    # the JSON shape every API response with a name has
    assert name.model_dump(mode="json") == {"en": "Line 1", "zh": "一号线"}
    assert Text.model_validate_json('{"en": "Line 1", "zh": "一号线"}') == name


def test_every_bilingual_data_type_is_the_one_text() -> None:
    from smartfactory.app import kpis, plant, scenarios
    from smartfactory.assess import schema
    from smartfactory.kpi import definitions
    from smartfactory.model import plant as plant_model
    from smartfactory.scenarios import base

    assert plant_model.Name is Text
    assert schema.Text is Text
    assert kpis.KpiRow.model_fields["names"].annotation is Text
    assert definitions.Element.__annotations__["name"] in ("Text", Text)
    assert base.ScenarioCard.__annotations__["title"] in ("Text", Text)
    assert plant.PlantSummary.model_fields["name"].annotation is Text
    assert scenarios.ScenarioInfo.model_fields["title"].annotation is Text


# the ways code used to decide a language by itself, each with its own idea of what zh-CN is
OWN_RULES = re.compile(
    r"""startswith\(\(?\s*["']zh"""  # lang.startswith("zh")
    r"""|[!=]=\s*["']zh"""  # lang == "zh", lang != "zh-CN"
    r"""|["']zh["']\s*[!=]="""  # "zh" == lang
    r"""|\bin\s*\(\s*["']zh["']\s*,\s*["']en["']"""  # lang in ("zh", "en"): zh-CN is neither
)


def test_no_module_decides_a_language_by_itself() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "model" / "text.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OWN_RULES.search(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not found, (
        "use model.text (resolve_language, choose, Text.get) or app.i18n (language, local_text) instead:\n"
        + "\n".join(found)
    )
