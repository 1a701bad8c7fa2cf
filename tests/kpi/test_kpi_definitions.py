"""The KPI definitions as data: complete, safe formulas, and docs generated from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartfactory.kpi import catalogue
from smartfactory.kpi.definitions import evaluate, names_in
from smartfactory.kpi.reference import render

ROOT = Path(__file__).resolve().parents[2]


def test_all_34_iso_kpis_are_defined_once_in_iso_order() -> None:
    kpis = catalogue().kpis
    assert sorted(k.no for k in kpis.values()) == list(range(1, 35))


def test_names_and_labels_are_the_one_bilingual_text() -> None:
    from smartfactory.kpi.labels import labels
    from smartfactory.kpi.targets import targets
    from smartfactory.model.text import Text

    cat = catalogue()
    texts = [
        *(t for k in cat.kpis.values() for t in (k.name, k.invalid, k.needs, k.note) if t is not None),
        *(t for e in cat.elements.values() for t in (e.name, e.how)),
        *(t for group in labels().values() for t in group.values()),
        *(t.note for t in targets().values()),
    ]
    assert texts and all(isinstance(t, Text) for t in texts)
    oee = cat.kpis["oee"].name
    assert oee.get("zh-CN") == oee.get("zh_Hans") == oee.zh != oee.get("en-GB") == oee.en


def test_every_formula_only_names_elements_or_kpis() -> None:
    cat = catalogue()
    for k in cat.kpis.values():
        for text in (k.formula, k.valid_when):
            if text:
                assert names_in(text) <= set(cat.elements) | set(cat.kpis), k.id


def test_unsupported_kpis_say_what_they_need() -> None:
    unsupported = {k.id for k in catalogue().kpis.values() if not k.supported}
    assert unsupported == {
        "worker_efficiency", "actual_to_planned_scrap_ratio", "inventory_turns", "finished_goods_ratio",
        "integrated_goods_ratio", "production_loss_ratio", "storage_and_transportation_loss_ratio",
        "other_loss_ratio",
    }  # fmt: skip
    assert all(catalogue().kpis[i].needs for i in unsupported)


@pytest.mark.parametrize(
    "formula",
    ["__import__('os').system('true')", "APT.real", "APT[0]", "lambda: 1", "open('x')", "APT if PBT else 1"],
)
def test_formulas_that_are_not_arithmetic_are_refused(formula: str) -> None:
    with pytest.raises(ValueError, match=r"not allowed|may be called"):
        names_in(formula)


def test_formula_arithmetic_and_division_by_zero() -> None:
    assert evaluate("APT / PBT", {"APT": 3.0, "PBT": 4.0}) == 0.75
    assert evaluate("APT / PBT", {"APT": 3.0, "PBT": 0.0}) is None
    assert evaluate("sqrt(max(A - 5, 0)) + abs(B) * min(2, 3)", {"A": 9.0, "B": -1.0}) == 4.0
    assert evaluate("A > 0 and B == 0", {"A": 1.0, "B": 0.0}) is True


def test_docs_kpi_md_is_generated_from_the_current_definitions() -> None:
    text = (ROOT / "docs" / "kpi.md").read_text("utf-8")
    assert render(text) == text, "run: python -m smartfactory.kpi.reference docs/kpi.md"
    for k in catalogue().kpis:
        assert f"`{k}`" in text
