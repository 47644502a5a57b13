"""study.design: the pure design rules every study is created from (no database)."""

from __future__ import annotations

from collections import Counter

import pytest

from study.design import StudyConfigError, flagged_cases, reading_plan, split_halves, validate_design

CASES = [(cid, cid % 3 == 0) for cid in range(1, 13)]  # 4 RDS, 8 non-RDS


def test_halves_are_stratified_by_truth_and_seeded() -> None:
    halves = split_halves([(c, int(t)) for c, t in CASES], "s1")
    assert set(halves) == {c for c, _ in CASES} and set(halves.values()) == {0, 1}
    for truth in (True, False):
        counts = Counter(halves[c] for c, t in CASES if t == truth)
        assert abs(counts[0] - counts[1]) <= 1
    assert halves == split_halves([(c, int(t)) for c, t in CASES], "s1")
    assert halves != split_halves([(c, int(t)) for c, t in CASES], "another seed")


def test_flagged_cases_are_the_stated_fraction_and_seeded() -> None:
    ids = [c for c, _ in CASES]
    assert len(flagged_cases(ids, 0.25, "s")) == 3 and flagged_cases(ids, 0.25, "s") == flagged_cases(ids, 0.25, "s")
    assert flagged_cases(ids, 0.0, "s") == set()


def test_sequential_plan_reads_each_case_unaided_first_then_aided() -> None:
    halves = split_halves([(c, int(t)) for c, t in CASES], "s")
    plan = reading_plan("sequential", ("none", "score", "score_heatmap"), "s", 1, halves, 0, 7)
    assert len(plan) == 3 * len(CASES) and {session for session, _, _ in plan} == {1}
    for start in range(0, len(plan), 3):
        assert [arm for _, _, arm in plan[start:start + 3]] == ["none", "score", "score_heatmap"]
        assert len({cid for _, cid, _ in plan[start:start + 3]}) == 1
    other = reading_plan("sequential", ("none", "score"), "s", 1, halves, 1, 8)
    assert [c for _, c, _ in other[::2]] != [c for _, c, _ in plan[::3]], "each reader has their own order"


def test_crossover_swaps_the_arms_between_sessions_and_counterbalances_readers() -> None:
    halves = split_halves([(c, int(t)) for c, t in CASES], "s")
    arms = ("none", "score_heatmap")
    even = reading_plan("crossover", arms, "s", 1, halves, 0, 10)
    odd = reading_plan("crossover", arms, "s", 1, halves, 1, 11)
    for plan in (even, odd):
        by_case: dict[int, list[tuple[int, str]]] = {}
        for session, cid, arm in plan:
            by_case.setdefault(cid, []).append((session, arm))
        assert all(sorted(s for s, _ in reads) == [1, 2] and {a for _, a in reads} == set(arms)
                   for reads in by_case.values())
    first_arm = {cid: arm for session, cid, arm in even if session == 1}
    assert all(arm != first_arm[cid] for session, cid, arm in odd if session == 1), "odd readers start the other way"


@pytest.mark.parametrize(("design", "arms", "fraction", "washout", "message"), [
    ("parallel", ("none", "score"), 0.0, 28, "Design must be one of"),
    ("sequential", ("score", "none"), 0.0, 28, "starts with the unaided arm"),
    ("sequential", ("none", "none"), 0.0, 28, "only once"),
    ("crossover", ("none", "score", "score_heatmap"), 0.0, 28, "exactly two arms"),
    ("crossover", ("none", "magic"), 0.0, 28, "Unknown arm"),
    ("crossover", ("none", "score"), 0.6, 28, "0 to 0.5"),
    ("crossover", ("none", "score"), 0.1, -1, "cannot be negative"),
])
def test_invalid_designs_are_refused_with_a_sentence(design, arms, fraction, washout, message) -> None:
    with pytest.raises(StudyConfigError, match=message):
        validate_design(design, arms, fraction, washout)
    assert validate_design("sequential", ["none", "score"], 0.1, 0) == ("none", "score")
