"""``assess(...)``: one assessment from an answers file, the plant and its data, end to end.

1. load the ladder, its CMMM framework and scenario catalogue, and check the answers against them;
2. measure live evidence from the plant model, the telemetry store and the scenario registry;
3. score the CMMM part (GB/T 39117) and judge every ladder criterion, rung by rung;
4. list the blocking gaps to the next rung and plan the roadmap (ranked, and within a budget).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from smartfactory.assess.answers import DEFAULT_FRAMEWORK, INDUSTRIES, Answers, load_answers, resolve
from smartfactory.assess.evaluate import evaluate_ladder, score_cmmm_part, summarise_scenarios
from smartfactory.assess.evidence import Evidence, live_evidence
from smartfactory.assess.framework import Library
from smartfactory.assess.gaps import blocking_gaps, position_of, targets_of
from smartfactory.assess.plan import ActionCatalogue, plan_roadmap
from smartfactory.assess.result import Assessment
from smartfactory.assess.scoring import Industry
from smartfactory.kpi.compute import stored_plant
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.model.text import choose, resolve_language
from smartfactory.store import EventStore, Registry


def assess(
    framework_id: str = DEFAULT_FRAMEWORK,
    answers: Answers | str | Path | None = None,
    plant: Plant | str | Path | None = None,
    store: EventStore | None = None,
    registry: Registry | None = None,
    industry: str | None = None,
    budget_cny: int | None = None,
    lang: str = "en",
    *,
    allow_missing: bool = False,
    library: Library | None = None,
    actions: ActionCatalogue | None = None,
    as_of: datetime | None = None,
    days: int = 30,
) -> Assessment:
    """Assess a factory against a gradient ladder: level, CMMM grade, evidence, gaps and roadmap.

    ``answers`` is a loaded ``Answers`` or the path of an answers file; ``plant`` a ``Plant`` or a
    plant file. With a ``store`` (and the ``registry`` of scenario runs) the live metrics are
    measured over the ``days`` up to ``as_of``; a store without a plant uses the plant saved in
    the store's registry. ``industry`` (discrete or process) overrides the plant's and the
    answers file's. ``budget_cny`` adds the best set of actions within that budget.
    """
    lang = resolve_language(lang)
    fw = resolve(framework_id, library)
    if answers is None:
        raise UserError("give the answers: a file written from `smartfactory assess template`")
    if isinstance(answers, str | Path):
        answers = load_answers(answers, fw, allow_missing=allow_missing, lang=lang)
    elif answers.framework != fw.gradient.id:
        raise UserError(
            f"the answers were checked for {answers.framework}, not {fw.gradient.id}; "
            f"load them again for {fw.gradient.id}"
        )
    if budget_cny is not None and budget_cny < 0:
        raise UserError(f"the budget must be 0 or more yuan, not {budget_cny}")
    if isinstance(plant, str | Path):
        plant = load_plant(plant)
    if plant is None and store is not None:
        # the registry given holds the plant; without one, the registry beside the telemetry file
        given = registry.get_plant() if registry is not None else None
        plant = given if given is not None else stored_plant(store)
    live: dict[str, Evidence] = (
        live_evidence(plant, store, registry, as_of=as_of, days=days, lang=lang) if plant else {}
    )
    notices: list[str] = []
    if answers.missing:
        notices.append(
            _t(
                lang,
                f"{len(answers.missing)} missing answer(s) scored 0 (--allow-missing): "
                + ", ".join(answers.missing[:5])
                + (" …" if len(answers.missing) > 5 else ""),
                f"{len(answers.missing)} 项未作答，按 0 计（--allow-missing）："
                + "、".join(answers.missing[:5])
                + (" …" if len(answers.missing) > 5 else ""),
            )
        )
    chosen, source = _industry(industry, plant, answers)
    if plant is not None and chosen != plant.plant.industry:
        notices.append(
            _t(
                lang,
                f"industry {chosen} ({source}) differs from the plant's {plant.plant.industry}",
                f"行业类型 {chosen}（{source}）与工厂模型的 {plant.plant.industry} 不同",
            )
        )
    scenarios = summarise_scenarios(fw, answers, live, lang)
    cmmm = score_cmmm_part(fw, answers, cast(Industry, chosen), source, lang)
    criteria, levels = evaluate_ladder(fw, answers, live, scenarios, cmmm, lang)
    order: list[str] = [lv.id for lv in fw.gradient.levels]
    reached = None
    for lv in levels:
        if not lv.passed:
            break
        reached = lv.id
    next_level = (
        order[0] if reached is None else (order[order.index(reached) + 1] if reached != order[-1] else None)
    )
    names: dict[str, str] = {lv.id: lv.name.get(lang) for lv in fw.gradient.levels}
    gaps = blocking_gaps(criteria, levels, next_level, scenarios, cmmm, live, lang, fw)
    position = position_of(fw, criteria, scenarios, cmmm)
    targets, info, uncovered = targets_of(gaps, criteria, position, fw, lang)
    roadmap = plan_roadmap(position, targets, info, uncovered, next_level, fw, budget_cny, lang, actions)
    disagreements = [c.id for c in criteria if c.disagreement is not None]
    if disagreements:
        notices.append(
            _t(
                lang,
                f"live data and declared answers disagree on {', '.join(disagreements)}: "
                "the live values are used",
                f"实测与申报不一致：{'、'.join(disagreements)}，采用实测值",
            )
        )
    return Assessment(
        framework=fw.gradient.id,
        framework_title=fw.gradient.title.get(lang),
        layers=fw.gradient.layers,
        cmmm_framework=fw.cmmm.id,
        scenario_catalogue=fw.scenarios.id,
        lang=lang,
        generated_at=datetime.now(UTC),
        plant_id=plant.plant.id if plant is not None else None,
        industry=chosen,
        industry_from=source,
        answers_file=answers.source,
        allow_missing=answers.allow_missing,
        missing=answers.missing,
        level=reached,
        level_name=names.get(reached) if reached else None,
        next_level=next_level,
        next_level_name=names.get(next_level) if next_level else None,
        levels=levels,
        criteria=criteria,
        cmmm=cmmm,
        scenarios=scenarios,
        live=live,
        gaps=gaps,
        roadmap=roadmap,
        notices=tuple(notices),
    )


def _t(lang: str, en: str, zh: str) -> str:
    return choose(lang, en, zh)


def _industry(industry: str | None, plant: Plant | None, answers: Answers) -> tuple[str, str]:
    if industry is not None:
        if industry not in INDUSTRIES:
            raise UserError(f"unknown industry type {industry!r}; allowed: {' | '.join(INDUSTRIES)}")
        return industry, "--industry"
    if plant is not None:
        return plant.plant.industry, f"plant {plant.plant.id}"
    if answers.industry is not None:
        where = f"{answers.source}:{answers.industry_line}" if answers.industry_line else answers.source
        return answers.industry, where
    raise UserError(
        "no industry type for the CMMM weights: give --industry discrete|process, a plant "
        f"(--plant or --store), or industry: in the answers file {answers.source}"
    )
