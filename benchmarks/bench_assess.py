"""Scoring a province's register: GB/T 39117 CMMM scores of 50,000 factories' answers.

The answers are generated once, outside the timers: for each factory a maturity profile (how far
up the ladder it tends to be met) and a judgement per requirement of ``cmmm/2020/national``
(1 / 0.8 / 0.5 / 0, about 5% left unanswered, a quarter of factories tailoring out one or two
manufacturing sub-domains), reproducible from a seed.

* batch: ``assess.batch.matrix`` (answer dicts → matrix) + ``score_cmmm_batch``, all 50,000;
* baseline: ``assess.score_cmmm`` one factory at a time, on the first 5,000 factories (the rate
  is compared; the whole register one at a time would take half a minute).

The batch result must equal the one-at-a-time result on those 5,000 (grades and totals), or the
benchmark fails. Target: all 50,000 in under 10 s.

An info row times the whole per-factory assessment (``assess.run.assess``: ladder, CMMM,
scenarios, gaps and the ranked roadmap, declared answers only, no store) on the three worked
factories of ``examples/factories/``, and what 50,000 of those would take one after another.

Run alone: ``.venv/bin/python benchmarks/bench_assess.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

from common import ROOT, Row, environment, markdown, times, verdict
from smartfactory.assess import load_cmmm, score_cmmm
from smartfactory.assess.answers import load_answers
from smartfactory.assess.batch import matrix, score_cmmm_batch, subdomain_order
from smartfactory.assess.run import assess

TARGET_S = 10.0
SEED = 7


def register(n: int, seed: int) -> tuple[list[dict[str, float]], list[set[str]]]:
    """``n`` factories' requirement answers and tailored-out sub-domains."""
    fw = load_cmmm()
    rng = random.Random(seed)
    values = sorted((v.value for v in fw.scoring.values), reverse=True)
    tailorable = [s.id for s in fw.subdomains if s.tailorable]
    answers, tailored = [], []
    for _ in range(n):
        reach = rng.uniform(0.5, 5.5)  # the level up to which requirements are mostly met
        given: dict[str, float] = {}
        for s in fw.subdomains:
            for r in s.requirements:
                if rng.random() < 0.05:
                    continue
                shift = 0 if r.level <= reach else min(3, int(r.level - reach) + 1)
                given[r.id] = values[min(3, shift + (rng.random() < 0.3))]
        answers.append(given)
        tailored.append(set(rng.sample(tailorable, rng.choice((0, 0, 0, 1, 2)))))
    return answers, tailored


def _framework_of(path: Path) -> str:
    """The gradient framework an answers file names in its header."""
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("framework:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    return "gradient/2025/national"


def run(quick: bool = False) -> str:
    """Run the benchmark; return its markdown table and notes."""
    n, sample = (5_000, 1_000) if quick else (50_000, 5_000)
    fw = load_cmmm()
    clock = time.perf_counter()
    answers, tailored = register(n, SEED)
    made_s = time.perf_counter() - clock
    subs = subdomain_order(fw)

    clock = time.perf_counter()
    applicable = np.array([[s not in t for s in subs] for t in tailored], dtype=bool)
    batch = score_cmmm_batch(fw, matrix(fw, answers), "discrete", applicable)
    batch_s = time.perf_counter() - clock

    clock = time.perf_counter()
    one = [score_cmmm(fw, answers[i], "discrete", tailored[i]) for i in range(sample)]
    one_s = time.perf_counter() - clock

    examples = sorted((ROOT / "examples" / "factories").glob("*/answers.yaml"))
    loaded = [(str(p), load_answers(p, _framework_of(p))) for p in examples]
    rounds = 10 if quick else 40
    clock = time.perf_counter()
    for _ in range(rounds):
        for path, answers_file in loaded:
            assess(_framework_of(Path(path)), answers_file)
    per_factory = (time.perf_counter() - clock) / (rounds * len(loaded))

    grades = np.array([s.grade or 0 for s in one])
    totals = np.array([s.total for s in one])
    if not (
        np.array_equal(grades, batch.grade[:sample]) and np.allclose(totals, batch.total[:sample], atol=1e-9)
    ):
        raise RuntimeError("batch and one-at-a-time scoring disagree")
    batch_rate, one_rate = n / batch_s, sample / one_s
    counts = np.bincount(batch.grade, minlength=6)
    rows = [
        Row(
            f"assess CMMM, {n:,} factories",
            "batch: answers → matrix → scores",
            f"{batch_s:.2f} s ({batch_rate:,.0f}/s)",
            f"one at a time: {one_rate:,.0f}/s ({sample:,} in {one_s:.2f} s)",
            times(batch_rate / one_rate) + " faster",
            f"< {TARGET_S:g} s",
            verdict(batch_s < TARGET_S),
        )
    ]
    rows.append(
        Row(
            f"assess, {len(loaded)} worked factories",
            "whole assessment per factory (ladder, CMMM, gaps, roadmap)",
            f"{per_factory * 1000:.1f} ms",
            f"50,000 one after another: {per_factory * 50_000:.0f} s",
            "—",
        )
    )
    notes = [
        f"answers generated in {made_s:.1f} s (seed {SEED}, not timed); "
        f"{sum(len(a) for a in answers):,} requirement answers",
        "grades of the register: "
        + ", ".join(f"{'not rated' if g == 0 else f'L{g}'} {c:,}" for g, c in enumerate(counts) if c),
        f"batch equals one-at-a-time on the first {sample:,} factories (grades equal, totals within 1e-9)",
    ]
    head = f"### Assessment scoring ({n:,} factories)\n\n"
    return head + markdown(rows) + "\n\n" + "\n".join(f"- {x}" for x in notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5,000 factories")
    args = parser.parse_args(argv)
    print(environment())
    print(run(args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
