"""GB/T 39117 scoring of a CMMM (GB/T 39116) assessment, with every constant from the framework file.

For each level n:

1. a sub-domain's score is the mean of its level-n requirement scores (each one of the file's allowed
   values: 1 fully met, 0.8 mostly, 0.5 partly, 0 not met); a requirement without a score counts 0;
2. a domain's score is the weighted mean of its sub-domains' scores, a factor's of its domains', and
   the level score of the factors'. Weights are those of the industry type (discrete or process)
   and are renormalised over what applies: sub-domains tailored out, and sub-domains without
   requirements at level n, drop out of their parent's mean;
3. the level passes when its score reaches the pass threshold and every lower level passed.

The total S follows the research notes (levels.md §5.2, all [U] until checked against the standard):
level scores are summed from level 1 up while levels pass, and the score of the first level that
fails is added as a partial score; nothing above it counts. So S = 1 + 1 + 0.6 = 2.6 for levels 1
and 2 fully met and level 3 at 0.6. The grade is the highest band whose minimum S reaches; with
the shipped bands (grade g from S ≥ g - 0.2) two levels passed at exactly 0.8 give S = 1.6, grade 1:
the grade follows S, not the count of passed levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from math import fsum
from typing import Literal

from smartfactory.assess.schema import CmmmFramework, Strict, Subdomain
from smartfactory.model.errors import Problem, UserError

Industry = Literal["discrete", "process"]

# a weighted mean of judgements at exactly the threshold can land a hair below it in floating point
# (0.7999999999999999); such a level is at the threshold and must pass
_SLACK = 1e-9


class LevelScore(Strict):
    """The scores of one maturity level, from sub-domains up, and what it adds to S."""

    level: int
    score: float
    passed: bool
    counted: float
    factors: dict[str, float]
    domains: dict[str, float]
    subdomains: dict[str, float]


class CmmmScore(Strict):
    """A scored CMMM assessment: every level, the total S and the grade (None: not rated)."""

    framework: str
    industry: str
    levels: tuple[LevelScore, ...]
    total: float
    grade: int | None
    not_applicable: tuple[str, ...]
    unscored: tuple[str, ...]

    def level(self, no: int) -> LevelScore:
        """The scores of level ``no`` (1 = lowest)."""
        return self.levels[no - 1]

    @property
    def passed_levels(self) -> int:
        """How many levels passed, counted from level 1 up."""
        return sum(1 for level in self.levels if level.passed)


def score_cmmm(
    framework: CmmmFramework,
    requirement_scores: Mapping[str, float],
    industry: Industry,
    not_applicable: Set[str] = frozenset(),
) -> CmmmScore:
    """Score requirement judgements by GB/T 39117: level scores, pass/fail, the total S and the grade."""
    _check_industry(framework, industry)
    _check_tailoring(framework, not_applicable)
    _check_scores(framework, requirement_scores)
    applicable = [s for s in framework.subdomains if s.id not in not_applicable]
    threshold = framework.scoring.pass_threshold
    levels: list[LevelScore] = []
    climbing = True
    for level in framework.levels:
        subdomains, domains, factors, score = _level(
            framework, applicable, requirement_scores, industry, level.no
        )
        passed = climbing and score >= threshold - _SLACK
        levels.append(
            LevelScore(
                level=level.no,
                score=score,
                passed=passed,
                counted=score if climbing else 0.0,
                factors=factors,
                domains=domains,
                subdomains=subdomains,
            )
        )
        climbing = passed
    total = fsum(level.counted for level in levels)
    unscored = tuple(r.id for s in applicable for r in s.requirements if r.id not in requirement_scores)
    return CmmmScore(
        framework=framework.id,
        industry=industry,
        levels=tuple(levels),
        total=total,
        grade=grade_of(framework, total),
        not_applicable=tuple(s.id for s in framework.subdomains if s.id in not_applicable),
        unscored=unscored,
    )


def grade_of(framework: CmmmFramework, total: float) -> int | None:
    """The grade the framework's bands give a total S; None below the first band (not rated)."""
    reached = [band.grade for band in framework.scoring.bands if total >= band.min - _SLACK]
    return max(reached) if reached else None


def _level(
    framework: CmmmFramework,
    applicable: list[Subdomain],
    scores: Mapping[str, float],
    industry: str,
    no: int,
) -> tuple[dict[str, float], dict[str, float], dict[str, float], float]:
    subdomains: dict[str, float] = {}
    for s in applicable:
        judged = [float(scores.get(r.id, 0.0)) for r in s.requirements if r.level == no]
        if judged:
            subdomains[s.id] = fsum(judged) / len(judged)
    domains = {
        d.id: _weighted(
            (s.weight[industry], subdomains[s.id])
            for s in applicable
            if s.domain == d.id and s.id in subdomains
        )
        for d in framework.domains
        if any(s.domain == d.id and s.id in subdomains for s in applicable)
    }
    factors = {
        f.id: _weighted(
            (d.weight[industry], domains[d.id])
            for d in framework.domains
            if d.factor == f.id and d.id in domains
        )
        for f in framework.factors
        if any(d.factor == f.id and d.id in domains for d in framework.domains)
    }
    score = _weighted((f.weight[industry], factors[f.id]) for f in framework.factors if f.id in factors)
    return subdomains, domains, factors, score


def _weighted(pairs: Iterable[tuple[float, float]]) -> float:
    """The weighted mean; weights need not sum to 1, so dropping a child renormalises the rest."""
    items = list(pairs)
    if not items:
        return 0.0
    return fsum(w * x for w, x in items) / fsum(w for w, _ in items)


def _check_industry(framework: CmmmFramework, industry: str) -> None:
    if industry not in framework.scoring.industries:
        raise UserError(
            f"unknown industry type {industry!r}; {framework.id} has weights for: "
            + ", ".join(framework.scoring.industries)
        )


def _check_tailoring(framework: CmmmFramework, not_applicable: Set[str]) -> None:
    known = {s.id: s for s in framework.subdomains}
    tailorable = ", ".join(s.id for s in framework.subdomains if s.tailorable)
    unknown = sorted(set(not_applicable) - set(known))
    if unknown:
        raise UserError(
            f"unknown sub-domain(s) {', '.join(unknown)} in {framework.id}; "
            f"sub-domains that may be tailored out: {tailorable}"
        )
    fixed = [s for s in sorted(not_applicable) if not known[s].tailorable]
    if fixed:
        raise UserError(
            f"sub-domain(s) {', '.join(fixed)} always apply and cannot be tailored out; "
            f"sub-domains that may be: {tailorable}"
        )


def _check_scores(framework: CmmmFramework, scores: Mapping[str, float]) -> None:
    allowed = [v.value for v in framework.scoring.values]
    meaning = ", ".join(f"{v.value:g} ({v.name.en.lower()})" for v in framework.scoring.values)
    known = set(framework.requirement_ids())
    example = framework.requirement_ids()[0]
    problems = []
    for requirement, value in scores.items():
        if requirement not in known:
            problems.append(
                Problem(
                    "requirement scores",
                    requirement,
                    f"not a requirement of {framework.id} (ids look like {example})",
                )
            )
        elif isinstance(value, bool) or not isinstance(value, int | float) or value not in allowed:
            problems.append(
                Problem(
                    "requirement scores", requirement, f"score {value!r} is not allowed; allowed: {meaning}"
                )
            )
    if problems:
        raise UserError(f"requirement scores for {framework.id} are invalid", problems)
