"""Batch scoring of many factories gives exactly what scoring one factory at a time gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartfactory.assess import load_cmmm, score_cmmm
from smartfactory.assess.batch import matrix, requirement_order, score_cmmm_batch, subdomain_order
from smartfactory.model.errors import UserError

FRAMEWORK = load_cmmm()
VALUES = [v.value for v in FRAMEWORK.scoring.values]
TAILORABLE = [s.id for s in FRAMEWORK.subdomains if s.tailorable]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([*VALUES, None]), min_size=103, max_size=103), min_size=1, max_size=6),
    st.sampled_from(["discrete", "process"]),
    st.sets(st.sampled_from(TAILORABLE), max_size=3),
    st.floats(0.0, 1.0),
)
def test_batch_equals_one_at_a_time(
    rows: list[list[float | None]], industry: str, tailored: set[str], bias: float
) -> None:
    reqs = requirement_order(FRAMEWORK)
    # bias some rows towards high scores so passed levels and grades occur, not only "not rated"
    answers = [
        {r: (1.0 if (i * 7 + j) % 100 < bias * 100 else v) for j, (r, v) in enumerate(zip(reqs, row, strict=True))
         if v is not None}
        for i, row in enumerate(rows)
    ]  # fmt: skip
    applicable = np.array([[s not in tailored for s in subdomain_order(FRAMEWORK)]] * len(rows))
    batch = score_cmmm_batch(FRAMEWORK, matrix(FRAMEWORK, answers), industry, applicable)  # type: ignore[arg-type]
    for i, given_scores in enumerate(answers):
        one = score_cmmm(FRAMEWORK, given_scores, industry, tailored)  # type: ignore[arg-type]
        assert batch.level_scores[i] == pytest.approx([lv.score for lv in one.levels], abs=1e-9)
        assert list(batch.passed[i]) == [lv.passed for lv in one.levels]
        assert batch.total[i] == pytest.approx(one.total, abs=1e-9)
        assert batch.grade[i] == (one.grade or 0)


def test_all_fully_met_passes_every_level() -> None:
    scores = np.ones((2, len(requirement_order(FRAMEWORK))))
    batch = score_cmmm_batch(FRAMEWORK, scores, "discrete")
    assert batch.passed.all()
    assert batch.total == pytest.approx([5.0, 5.0])


def test_bad_batches_are_refused() -> None:
    width = len(requirement_order(FRAMEWORK))
    with pytest.raises(UserError, match="must be one of"):
        score_cmmm_batch(FRAMEWORK, np.full((1, width), 0.3), "discrete")
    with pytest.raises(UserError, match="requirements"):
        score_cmmm_batch(FRAMEWORK, np.ones((1, 3)), "discrete")
    fixed = next(i for i, s in enumerate(FRAMEWORK.subdomains) if not s.tailorable)
    applicable = np.ones((1, len(FRAMEWORK.subdomains)), dtype=bool)
    applicable[0, fixed] = False
    with pytest.raises(UserError, match="tailorable"):
        score_cmmm_batch(FRAMEWORK, np.ones((1, width)), "discrete", applicable)
