"""Find, read, layer and check framework files: ``load_framework("gradient/2025/national")``.

A framework id is ``framework/edition/jurisdiction`` and names the file
``frameworks/<framework>/<edition>/<jurisdiction>.toml``; the first part says what kind of file it is
(gradient ladder, CMMM model, scenario catalogue). ``frameworks/metrics.toml`` lists the metrics,
countables and benchmarks criteria may name. Every problem of a file is reported at once, with
file, line, field and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from smartfactory.assess import checks
from smartfactory.assess.explain import Issue, explain, locate
from smartfactory.assess.schema import (
    FILE_MODELS,
    CmmmFile,
    CmmmFramework,
    Criterion,
    Framework,
    GradientFile,
    GradientFramework,
    MetricCatalogue,
    ScenarioCatalogue,
    ScenarioFile,
)
from smartfactory.model.errors import Problem, UserError
from smartfactory.model.plant_file import TomlLocator, parse_toml

M = TypeVar("M", bound=BaseModel)
_CRITERION = TypeAdapter(Criterion)


class FrameworkFileError(UserError):
    """A framework file that cannot be loaded: every problem in it, listed at once."""


class Library:
    """The framework files under one folder (the shipped ones, or a folder of your own)."""

    def __init__(self, root: Traversable | Path) -> None:
        self.root = root
        self._loaded: dict[str, GradientFramework | CmmmFramework | ScenarioCatalogue] = {}
        self._loading: list[str] = []
        self._metrics: MetricCatalogue | None = None
        self._ids: list[str] | None = None

    def ids(self) -> list[str]:
        """Every framework id under the folder, sorted (listed once per library)."""
        if self._ids is not None:
            return self._ids
        found = []
        for kind in _dirs(self.root):
            for edition in _dirs(kind):
                found += [
                    f"{kind.name}/{edition.name}/{f.name[:-5]}"
                    for f in edition.iterdir()
                    if f.is_file() and f.name.endswith(".toml")
                ]
        self._ids = sorted(found)
        return self._ids

    def metrics(self) -> MetricCatalogue:
        """The metrics, countables and benchmarks of metrics.toml."""
        if self._metrics is None:
            file = self.root / "metrics.toml"
            raw, source, locator = _read(file)
            catalogue, issues = _validate(MetricCatalogue, raw)
            if catalogue is not None:
                issues += list(checks.metric_issues(catalogue))
            _raise_if_any(issues, source, locator, "metrics file")
            assert catalogue is not None
            self._metrics = catalogue
        return self._metrics

    def load(self, framework_id: str) -> GradientFramework | CmmmFramework | ScenarioCatalogue:
        """The framework with this id, checked and with its variant layers applied."""
        if framework_id in self._loaded:
            return self._loaded[framework_id]
        known = self.ids()
        if framework_id not in known:
            raise UserError(f"unknown framework {framework_id!r}; known: {', '.join(known) or 'none'}")
        if framework_id in self._loading:
            chain = " → ".join([*self._loading[self._loading.index(framework_id) :], framework_id])
            raise UserError(f"framework files refer to each other in a cycle: {chain}")
        self._loading.append(framework_id)
        try:
            loaded = self._load(framework_id)
        finally:
            self._loading.pop()
        self._loaded[framework_id] = loaded
        return loaded

    def gradient(self, framework_id: str) -> GradientFramework:
        """A gradient ladder by id; a user error if the id names another kind."""
        return _expect(self.load(framework_id), GradientFramework)

    def cmmm(self, framework_id: str) -> CmmmFramework:
        """A CMMM framework by id; a user error if the id names another kind."""
        return _expect(self.load(framework_id), CmmmFramework)

    def scenarios(self, framework_id: str) -> ScenarioCatalogue:
        """A scenario catalogue by id; a user error if the id names another kind."""
        return _expect(self.load(framework_id), ScenarioCatalogue)

    def _load(self, framework_id: str) -> GradientFramework | CmmmFramework | ScenarioCatalogue:
        kind, edition, jurisdiction = framework_id.split("/")
        raw, source, locator = _read(self.root / kind / edition / f"{jurisdiction}.toml")
        if kind not in FILE_MODELS:
            raise FrameworkFileError(
                f"framework file {source} is of an unknown kind {kind!r}; kinds: {', '.join(FILE_MODELS)}"
            )
        file, issues = _validate(FILE_MODELS[kind], raw)
        loaded: GradientFramework | CmmmFramework | ScenarioCatalogue | None = None
        if isinstance(file, GradientFile):
            loaded = self._layer(framework_id, file, issues)
        elif isinstance(file, CmmmFile):
            issues += list(checks.cmmm_issues(file))
            loaded = CmmmFramework.model_validate({**raw, "id": framework_id})
        elif isinstance(file, ScenarioFile):
            issues += list(checks.scenario_issues(file))
            loaded = ScenarioCatalogue.model_validate({**raw, "id": framework_id})
        _raise_if_any(issues, source, locator, "framework file")
        assert loaded is not None
        return loaded

    def _layer(self, framework_id: str, file: GradientFile, issues: list[Issue]) -> GradientFramework | None:
        """The ladder of a gradient file: its own, or its base's with the variant's changes."""
        base: GradientFramework | None = None
        if file.extends is not None:
            if file.extends not in self.ids():
                issues.append(
                    Issue(
                        ("extends",),
                        f"unknown framework {file.extends!r}; gradient frameworks: "
                        + ", ".join(i for i in self.ids() if i.startswith("gradient/")),
                    )
                )
                return None
            loaded = self.load(file.extends)
            if not isinstance(loaded, GradientFramework):
                issues.append(Issue(("extends",), f"{file.extends!r} is not a gradient framework"))
                return None
            base = loaded
        issues += list(checks.gradient_head_issues(file, base))
        scenarios = file.scenarios or (base.scenarios if base else None)
        catalogue = None
        if scenarios is not None:
            if scenarios in self.ids() and scenarios.startswith("scenarios/"):
                catalogue = self.scenarios(scenarios)
            else:
                issues.append(
                    Issue(
                        ("scenarios",),
                        f"unknown scenario catalogue {scenarios!r}; catalogues: "
                        + ", ".join(i for i in self.ids() if i.startswith("scenarios/")),
                    )
                )
        context = checks.CriterionContext(
            self.metrics(),
            catalogue,
            self._prerequisite_levels,
            (*(base.layers if base else ()), framework_id),
        )
        criteria, lineage = _add(framework_id, file, base, context, issues)
        _override(framework_id, file, criteria, lineage, context, issues)
        levels = base.levels if base else file.levels
        judgement = base.judgement if base else file.judgement
        if issues or scenarios is None or judgement is None:
            return None
        return GradientFramework(
            id=framework_id,
            title=file.title,
            source=file.source,
            confidence=file.confidence,
            note=file.note,
            extends=file.extends,
            layers=(*(base.layers if base else ()), framework_id),
            scenarios=scenarios,
            levels=levels,
            judgement=judgement,
            criteria=tuple(criteria),
            lineage=lineage,
        )

    def _prerequisite_levels(self, framework_id: str) -> tuple[str, tuple[str, ...]] | None:
        """The kind and level names of a framework a prerequisite names; None if unknown."""
        if framework_id not in self.ids():
            return None
        target = self.load(framework_id)
        if isinstance(target, GradientFramework):
            return "gradient", tuple(level.id for level in target.levels)
        if isinstance(target, CmmmFramework):
            return "cmmm", tuple(str(level.no) for level in target.levels)
        return target.kind, ()


def _add(
    framework_id: str,
    file: GradientFile,
    base: GradientFramework | None,
    context: checks.CriterionContext,
    issues: list[Issue],
) -> tuple[list[Criterion], dict[str, tuple[str, ...]]]:
    """The base's criteria followed by the file's new ones, and which framework defined each."""
    criteria = list(base.criteria) if base else []
    lineage = dict(base.lineage) if base else {}
    for i, criterion in enumerate(file.criteria):
        if criterion.id in lineage:
            issues.append(
                Issue(
                    ("criterion", i, "id"),
                    f"{criterion.id} is already defined in {lineage[criterion.id][0]}; "
                    "change it with an [[override]] instead",
                )
            )
            continue
        issues += [Issue(("criterion", i, *found.loc), found.message) for found in context.issues(criterion)]
    issues += list(checks.duplicate_issues(("criterion",), [c.id for c in file.criteria], "criterion id"))
    for criterion in file.criteria:
        if criterion.id not in lineage:
            criteria.append(criterion)
            lineage[criterion.id] = (framework_id,)
    return criteria, lineage


def _override(
    framework_id: str,
    file: GradientFile,
    criteria: list[Criterion],
    lineage: dict[str, tuple[str, ...]],
    context: checks.CriterionContext,
    issues: list[Issue],
) -> None:
    """Apply the file's [[override]] tables to the inherited criteria, in place."""
    inherited = {c for c, defined in lineage.items() if defined[0] != framework_id}
    for i, override in enumerate(file.overrides):
        if override.id not in inherited:
            issues.append(
                Issue(
                    ("override", i, "id"),
                    f"no inherited criterion {override.id!r} to override; "
                    f"inherited: {', '.join(sorted(inherited)) or 'none'}",
                )
            )
            continue
        at = next(k for k, c in enumerate(criteria) if c.id == override.id)
        merged, found = _apply(criteria[at], override.model_dump(exclude_none=True, exclude={"id"}))
        if merged is not None:
            found += context.issues(merged)
            criteria[at] = merged
            lineage[override.id] = (*lineage[override.id], framework_id)
        issues += [Issue(("override", i, *f.loc), f.message) for f in found]
    issues += list(checks.duplicate_issues(("override",), [o.id for o in file.overrides], "override id"))


def _apply(criterion: Criterion, changes: dict[str, Any]) -> tuple[Criterion | None, list[Issue]]:
    """The criterion with an override's fields replaced and its params merged key by key."""
    data = criterion.model_dump(by_alias=True, exclude_none=True)
    params = changes.pop("params", None)
    data.update(changes)
    if params is not None:
        data["params"] = {**data.get("params", {}), **params}
    try:
        return _CRITERION.validate_python(data), []
    except ValidationError as exc:
        return None, [Issue(loc, message) for loc, message in explain(exc, Criterion)]


def _expect(loaded: Any, kind: type[M]) -> M:
    if not isinstance(loaded, kind):
        raise UserError(
            f"{loaded.id} is a {loaded.kind} framework, not a {kind.model_fields['kind'].default} one"
        )
    return loaded


def _dirs(folder: Traversable | Path) -> Iterator[Traversable | Path]:
    if not folder.is_dir():
        return
    yield from sorted(
        (d for d in folder.iterdir() if d.is_dir() and not d.name.startswith((".", "_"))),
        key=lambda d: d.name,
    )


def _read(file: Traversable | Path) -> tuple[dict[str, Any], str, TomlLocator]:
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FrameworkFileError(f"cannot read framework file {source}: {exc}") from None
    return parse_toml(text, source, "framework file", FrameworkFileError), source, TomlLocator(text)


def _validate(model: type[M], raw: dict[str, Any]) -> tuple[M | None, list[Issue]]:
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [Issue(loc, message) for loc, message in explain(exc, model)]


def _raise_if_any(issues: Sequence[Issue], source: str, locator: TomlLocator, what: str) -> None:
    if issues:
        problems = _dedupe(Problem(source, locate(i.loc), i.message, locator.line_of(i.loc)) for i in issues)
        raise FrameworkFileError(f"{what} {source} is invalid", problems)


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# --- the shipped frameworks --------------------------------------------------------------


@cache
def shipped() -> Library:
    """The frameworks shipped in smartfactory/assess/frameworks (each file read once)."""
    return Library(resources.files("smartfactory.assess") / "frameworks")


def list_frameworks() -> list[str]:
    """The ids of the shipped frameworks, e.g. 'gradient/2025/national'."""
    return shipped().ids()


def load_framework(framework_id: str) -> Framework:
    """A shipped framework by id; a UserError naming the known ids if there is none."""
    return shipped().load(framework_id)


def load_gradient(framework_id: str) -> GradientFramework:
    """A shipped gradient ladder by id."""
    return shipped().gradient(framework_id)


def load_cmmm(framework_id: str = "cmmm/2020/national") -> CmmmFramework:
    """A shipped CMMM framework by id."""
    return shipped().cmmm(framework_id)


def load_scenarios(framework_id: str = "scenarios/2024/national") -> ScenarioCatalogue:
    """A shipped scenario catalogue by id."""
    return shipped().scenarios(framework_id)


def load_metrics() -> MetricCatalogue:
    """The shipped metrics, countables and benchmarks."""
    return shipped().metrics()
