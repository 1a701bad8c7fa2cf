"""Invariants of the ladder: a better answer never lowers the level, and no level skips the one below."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answers_helpers import MINI, answers_text, mini_library, write
from smartfactory.assess.answers import load_answers
from smartfactory.assess.run import assess

LADDER = ["basic", "advanced", "excellent", "leading"]
JUDGEMENTS = ["0", "0.5", "0.8", "1"]
RATES = ["0.3", "0.6", "0.7", "0.8", "0.9", "1"]
SCENARIOS = ["monitoring", "inspection", "maintenance", "tracking", "energy_control"]

answers = st.fixed_dictionaries(
    {
        "size": st.sampled_from(["no", "yes"]),
        "info": st.sampled_from(JUDGEMENTS),
        "bench": st.sampled_from(["no", "yes"]),
        "future": st.sampled_from(JUDGEMENTS),
        "net": st.sampled_from(RATES),
        "cnc": st.sampled_from(RATES),
        "built": st.fixed_dictionaries({s: st.sampled_from([("no", ""), ("yes", "no"), ("yes", "yes")]) for s in SCENARIOS}),
        "level3": st.sampled_from(["0", "0.5", "0.8", "1"]),
    }
)  # fmt: skip


def better(choice: dict[str, object], key: str) -> dict[str, object] | None:
    """The same answers with one of them one step better, or None when it is already the best."""
    ladders = {"size": ["no", "yes"], "bench": ["no", "yes"], "info": JUDGEMENTS, "future": JUDGEMENTS,
               "net": RATES, "cnc": RATES, "level3": JUDGEMENTS}  # fmt: skip
    if key in ladders:
        steps = ladders[key]
        i = steps.index(str(choice[key]))
        return None if i + 1 == len(steps) else {**choice, key: steps[i + 1]}
    built = dict(choice["built"])  # type: ignore[call-overload]
    for s in SCENARIOS:  # build one more scenario, or add AI to a built one
        if built[s] == ("no", ""):
            return {**choice, "built": {**built, s: ("yes", "no")}}
        if built[s] == ("yes", "no"):
            return {**choice, "built": {**built, s: ("yes", "yes")}}
    return None


def level_of(tmp: Path, choice: dict[str, object]) -> str | None:
    level3 = str(choice["level3"])
    text = answers_text(
        size=str(choice["size"]), info=str(choice["info"]), bench=str(choice["bench"]),
        future=str(choice["future"]), net=str(choice["net"]), cnc=str(choice["cnc"]),
        built=choice["built"],  # type: ignore[arg-type]
        cmmm={f"CM-{c}-L3-1": level3 for c in ("ORG", "OPS", "ENERGY")},
    )  # fmt: skip
    library = mini_library(tmp / "frameworks")
    parsed = load_answers(write(tmp, text), MINI, library=library)
    result = assess(MINI, parsed, library=library)
    reached = [r.id for r in result.levels if r.passed]
    # no level without the level below it
    assert reached == LADDER[: len(reached)]
    return result.level


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers, st.sampled_from(["size", "info", "bench", "future", "net", "cnc", "built", "level3"]))
def test_one_better_answer_never_lowers_the_level(
    tmp_path: Path, choice: dict[str, object], key: str
) -> None:
    improved = better(choice, key)
    if improved is None:
        return
    before = level_of(tmp_path / "a", choice)
    after = level_of(tmp_path / "b", improved)
    rank: dict[str | None, int] = {None: -1, **{lv: i for i, lv in enumerate(LADDER)}}
    assert rank[after] >= rank[before], (key, before, after)
