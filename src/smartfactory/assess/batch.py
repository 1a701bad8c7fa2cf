"""GB/T 39117 scoring of many factories at once (a province's register), as array arithmetic.

The same rules as ``scoring.score_cmmm`` — sub-domain means, weighted roll-ups renormalised over
what applies, pass at the threshold only above passed levels, cumulative S, bands — written over a
factories × requirements matrix so 50,000 answer sets score in well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smartfactory.assess.schema import CmmmFramework
from smartfactory.assess.scoring import _SLACK, Industry, _check_industry
from smartfactory.model.errors import UserError


@dataclass(frozen=True)
class BatchScores:
    """Per factory: the level scores, which levels passed, the total S and the grade (0: not rated)."""

    level_scores: np.ndarray  # factories × levels
    passed: np.ndarray  # factories × levels, bool
    total: np.ndarray  # factories
    grade: np.ndarray  # factories, int; 0 = not rated


def requirement_order(framework: CmmmFramework) -> list[str]:
    """The column order of the requirement matrix."""
    return [r.id for s in framework.subdomains for r in s.requirements]


def subdomain_order(framework: CmmmFramework) -> list[str]:
    """The column order of the applicability matrix."""
    return [s.id for s in framework.subdomains]


def score_cmmm_batch(
    framework: CmmmFramework,
    scores: np.ndarray,
    industry: Industry,
    applicable: np.ndarray | None = None,
) -> BatchScores:
    """Score a factories × requirements matrix (columns in ``requirement_order``; NaN = not scored)."""
    _check_industry(framework, industry)
    reqs = requirement_order(framework)
    subs = framework.subdomains
    n = scores.shape[0]
    if scores.ndim != 2 or scores.shape[1] != len(reqs):
        raise UserError(f"scores must be factories × {len(reqs)} requirements, not {scores.shape}")
    allowed = np.array([v.value for v in framework.scoring.values])
    x = np.nan_to_num(scores.astype(np.float64), nan=0.0)
    if not np.isin(x, allowed).all():
        raise UserError(f"requirement scores must be one of {', '.join(f'{v:g}' for v in allowed)}")
    if applicable is None:
        applicable = np.ones((n, len(subs)), dtype=bool)
    if applicable.shape != (n, len(subs)):
        raise UserError(f"applicability must be factories × {len(subs)} sub-domains, not {applicable.shape}")
    fixed = np.array([not s.tailorable for s in subs])
    if (~applicable[:, fixed]).any():
        raise UserError("only tailorable sub-domains may be marked not applicable")
    sub_of_req = np.array([i for i, s in enumerate(subs) for _ in s.requirements])
    level_of_req = np.array([r.level for s in subs for r in s.requirements])
    domains = [d.id for d in framework.domains]
    factors = [f.id for f in framework.factors]
    sub_domain = np.array([domains.index(s.domain) for s in subs])
    dom_factor = np.array([factors.index(d.factor) for d in framework.domains])
    w_sub = np.array([s.weight[industry] for s in subs])
    w_dom = np.array([d.weight[industry] for d in framework.domains])
    w_fac = np.array([f.weight[industry] for f in framework.factors])

    level_scores = np.zeros((n, len(framework.levels)))
    for k, level in enumerate(framework.levels):
        at = level_of_req == level.no
        count = np.bincount(sub_of_req[at], minlength=len(subs))
        member = np.zeros((len(reqs), len(subs)))
        member[np.flatnonzero(at), sub_of_req[at]] = 1.0
        sub_score = (x @ member) / np.maximum(count, 1)
        present = applicable & (count > 0)
        dom_score, dom_present = _roll(sub_score, present, w_sub, sub_domain, len(domains))
        fac_score, fac_present = _roll(dom_score, dom_present, w_dom, dom_factor, len(factors))
        top, _ = _roll(fac_score, fac_present, w_fac, np.zeros(len(factors), dtype=int), 1)
        level_scores[:, k] = top[:, 0]

    threshold = framework.scoring.pass_threshold
    reached = level_scores >= threshold - _SLACK
    passed = np.cumprod(reached, axis=1).astype(bool)
    climbing = np.concatenate([np.ones((n, 1), dtype=bool), passed[:, :-1]], axis=1)
    total = (level_scores * climbing).sum(axis=1)
    grade = np.zeros(n, dtype=int)
    for band in framework.scoring.bands:
        grade = np.where(total >= band.min - _SLACK, np.maximum(grade, band.grade), grade)
    return BatchScores(level_scores, passed, total, grade)


def _roll(
    child: np.ndarray, present: np.ndarray, weight: np.ndarray, parent: np.ndarray, parents: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of children into parents, over the children present in each row."""
    into = np.zeros((len(parent), parents))
    into[np.arange(len(parent)), parent] = 1.0
    w = present * weight
    num = (child * w) @ into
    den = w @ into
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0), den > 0


def matrix(framework: CmmmFramework, answers: Sequence[dict[str, float]]) -> np.ndarray:
    """Answer dicts (requirement id → score) as a factories × requirements matrix (NaN: missing)."""
    index = {r: i for i, r in enumerate(requirement_order(framework))}
    out = np.full((len(answers), len(index)), np.nan)
    for row, given in enumerate(answers):
        for rid, value in given.items():
            out[row, index[rid]] = value
    return out
