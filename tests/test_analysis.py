"""Reader-study analyses besides MRMC: intervals, per-reader metrics, roles, switching,
agreement and kappa, reading time, automation-bias cases, and the simulator itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from study.analysis import (
    ReadTableError,
    SimulationSettings,
    ai_agreement,
    auc_with_ci,
    automation_bias_summary,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_by_arm,
    pairwise_kappa,
    reader_metrics,
    reading_time_summary,
    role_summary,
    simulate_study,
    switching,
    switching_by_arm,
    wilson_interval,
)


@pytest.fixture(scope="module")
def study():
    return simulate_study(SimulationSettings(n_readers=4, n_diseased=20, n_nondiseased=30), seed=4)


def _reads(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["reader", "arm", "case", "truth", "rating", "call"])


# Two readers, 4 cases (c1, c2 diseased), unaided (arm "none") and aided. Outcomes per pair are chosen so
# every switching cell is known: A: c1 wrong->correct, c2 correct->correct,
# c3 correct->wrong, c4 wrong->wrong; B: all correct->correct.
TOY = _reads([
    ("A", "none", "c1", 1, 30, 0), ("A", "aided", "c1", 1, 80, 1),
    ("A", "none", "c2", 1, 90, 1), ("A", "aided", "c2", 1, 95, 1),
    ("A", "none", "c3", 0, 10, 0), ("A", "aided", "c3", 0, 60, 1),
    ("A", "none", "c4", 0, 70, 1), ("A", "aided", "c4", 0, 75, 1),
    ("B", "none", "c1", 1, 60, 1), ("B", "aided", "c1", 1, 70, 1),
    ("B", "none", "c2", 1, 80, 1), ("B", "aided", "c2", 1, 90, 1),
    ("B", "none", "c3", 0, 20, 0), ("B", "aided", "c3", 0, 10, 0),
    ("B", "none", "c4", 0, 40, 0), ("B", "aided", "c4", 0, 30, 0),
])


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize("k, n", [(1, 10), (8, 10), (37, 50), (120, 121)])
def test_wilson_bounds_solve_the_score_equation(k: int, n: int) -> None:
    # The Wilson interval is the set of p whose score statistic |k/n - p| / sqrt(p(1-p)/n) is
    # at most z; so at each bound the statistic equals z exactly.
    z = stats.norm.ppf(0.975)
    for p in wilson_interval(k, n):
        assert abs(k / n - p) / np.sqrt(p * (1 - p) / n) == pytest.approx(z, rel=1e-10)


def test_wilson_at_the_edges() -> None:
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0
    assert all(np.isnan(wilson_interval(0, 0)))
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval(5, 3)


def test_auc_ci_is_wald_on_the_delong_se() -> None:
    truth = np.r_[np.zeros(30), np.ones(20)]
    scores = np.random.default_rng(1).normal(truth, 1.0)
    auc, se, low, high = auc_with_ci(truth, scores)
    assert low == pytest.approx(auc - stats.norm.ppf(0.975) * se)
    assert high == pytest.approx(min(1.0, auc + stats.norm.ppf(0.975) * se))
    assert np.isnan(auc_with_ci([1, 1], [0.1, 0.2])[0])


# --------------------------------------------------------------------------- reader metrics


def test_reader_metrics_counts_and_rates() -> None:
    table = reader_metrics(TOY).set_index(["reader", "arm"])
    a_aided = table.loc[("A", "aided")]
    # A aided: c1 TP, c2 TP, c3 FP, c4 FP
    assert (a_aided["tp"], a_aided["fn"], a_aided["tn"], a_aided["fp"]) == (2, 0, 0, 2)
    assert a_aided["accuracy"] == 0.5
    assert a_aided["sensitivity"] == 1.0 and a_aided["specificity"] == 0.0
    assert (a_aided["accuracy_low"], a_aided["accuracy_high"]) == pytest.approx(wilson_interval(2, 4))
    # A aided ratings: diseased 80, 95 vs non-diseased 60, 75 -> 4 of 4 pairs ordered.
    assert a_aided["auc"] == 1.0
    # A unaided: diseased 30, 90 vs non-diseased 10, 70 -> 30>10, 90>10, 90>70: 3 of 4 pairs.
    assert table.loc[("A", "none"), "auc"] == pytest.approx(0.75)


def test_reader_metrics_threshold_replaces_a_missing_call_column() -> None:
    derived = reader_metrics(TOY.drop(columns="call"), threshold=50)
    np.testing.assert_array_equal(derived["accuracy"], reader_metrics(TOY)["accuracy"])
    with pytest.raises(ReadTableError, match="no call column"):
        reader_metrics(TOY.drop(columns="call"))


def test_role_summary_averages_readers() -> None:
    reads = TOY.assign(reader_role=TOY["reader"].map({"A": "neonatologist", "B": "radiologist"}))
    reads = pd.concat([reads, reads.assign(reader="C")])  # C copies A and B's rows, role mixed
    with pytest.raises(ReadTableError, match="Reader C has more than one reader_role"):
        role_summary(reads)
    reads = pd.concat([TOY, TOY[TOY["reader"] == "A"].assign(reader="C")])
    reads["reader_role"] = reads["reader"].map({"A": "neo", "B": "rad", "C": "neo"})
    summary = role_summary(reads).set_index(["reader_role", "arm"])
    per_reader = reader_metrics(reads).set_index(["reader", "arm"])
    assert summary.loc[("neo", "aided"), "n_readers"] == 2
    assert summary.loc[("neo", "none"), "accuracy_mean"] == pytest.approx(
        per_reader.loc[[("A", "none"), ("C", "none")], "accuracy"].mean()
    )


# --------------------------------------------------------------------------- switching


def test_switching_counts_each_outcome() -> None:
    table = switching(TOY).set_index("reader")
    a = table.loc["A"]
    assert (a["correct_to_correct"], a["correct_to_wrong"], a["wrong_to_correct"],
            a["wrong_to_wrong"]) == (1, 1, 1, 1)
    assert table.loc["B", "correct_to_correct"] == 4 and table.loc["B", "n_pairs"] == 4
    assert a["net_change"] == 0.0


def test_switching_by_arm_sums_readers_and_tests_discordant_pairs() -> None:
    study = simulate_study(SimulationSettings(n_readers=3), seed=0)
    per_reader = switching(study.reads)
    arm = switching_by_arm(per_reader).iloc[0]
    assert arm["n_pairs"] == per_reader["n_pairs"].sum() == 3 * 100
    helped, hurt = arm["wrong_to_correct"], arm["correct_to_wrong"]
    assert arm["p_mcnemar"] == pytest.approx(stats.binomtest(helped, helped + hurt).pvalue)
    assert helped > hurt  # the simulated AI helps


def test_switching_pairs_only_reads_of_the_same_reader_and_case() -> None:
    partial = TOY[~((TOY["reader"] == "B") & (TOY["case"] == "c4") & (TOY["arm"] == "none"))]
    assert switching(partial).set_index("reader").loc["B", "n_pairs"] == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [({"unaided": "unaided"}, "unaided arm 'unaided' is not in the table"),
     ({"aided": ["heatmap"]}, "No aided arm heatmap")],
)
def test_switching_names_missing_arms(kwargs: dict, message: str) -> None:
    with pytest.raises(ReadTableError, match=message):
        switching(TOY, **kwargs)


# --------------------------------------------------------------------------- agreement


def test_cohen_kappa_textbook_table() -> None:
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15:
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    a = np.r_[np.ones(25), np.zeros(25)]
    b = np.r_[np.ones(20), np.zeros(5), np.ones(10), np.zeros(15)]
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == 1.0
    assert np.isnan(cohen_kappa(np.ones(5), np.ones(5)))


def test_fleiss_kappa_of_fleiss_1971_style_example() -> None:
    # The worked example on the Wikipedia page "Fleiss' kappa" (10 subjects, 14 raters,
    # 5 categories): P-bar = 0.378, P-e = 0.213, kappa = 0.210.
    counts = np.array([
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ])
    assert fleiss_kappa(counts) == pytest.approx(0.210, abs=5e-4)
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(np.array([[1, 2], [2, 2]]))


def test_fleiss_with_two_raters_equals_scotts_pi() -> None:
    # With two raters Fleiss' kappa reduces to Scott's pi (pooled marginals).
    a = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 1])
    b = np.array([1, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    pooled = np.r_[a, b].mean()
    p_e = pooled**2 + (1 - pooled) ** 2
    scott = ((a == b).mean() - p_e) / (1 - p_e)
    counts = np.column_stack([2 - (a + b), a + b])
    assert fleiss_kappa(counts) == pytest.approx(scott)


def test_pairwise_and_fleiss_kappa_by_arm() -> None:
    pairs = pairwise_kappa(TOY).set_index("arm")
    assert pairs.loc["none", "kappa"] == pytest.approx(
        cohen_kappa([0, 1, 0, 1], [1, 1, 0, 0])
    )
    assert pairs.loc["aided", "n_cases"] == 4
    fleiss = fleiss_kappa_by_arm(TOY).set_index("arm")
    assert fleiss.loc["aided", "n_readers"] == 2 and fleiss.loc["aided", "n_cases"] == 4


def test_ai_agreement_and_following_a_wrong_ai() -> None:
    reads = TOY.assign(ai_call=TOY["case"].map({"c1": 1, "c2": 1, "c3": 1, "c4": 0}))
    table = ai_agreement(reads).set_index(["reader", "arm"])
    a_aided = table.loc[("A", "aided")]
    assert a_aided["n_agree"] == 3  # c1, c2, c3 agree; c4 not
    assert a_aided["n_ai_wrong"] == 1  # the AI is wrong on c3 only
    assert a_aided["followed_ai_when_wrong"] == 1.0  # A called c3 positive with the AI
    assert table.loc[("B", "aided"), "followed_ai_when_wrong"] == 0.0
    with pytest.raises(ReadTableError, match="ai_call"):
        ai_agreement(TOY)


# --------------------------------------------------------------------------- time, bias


def test_reading_time_summary_per_arm() -> None:
    reads = TOY.assign(time_s=np.arange(len(TOY), dtype=float))
    summary = reading_time_summary(reads).set_index("arm")
    aided = reads.loc[reads["arm"] == "aided", "time_s"]
    assert summary.loc["aided", "median_s"] == aided.median()
    assert summary.loc["aided", "q3_s"] == aided.quantile(0.75)
    assert summary.loc["aided", "n_reads"] == 8
    with pytest.raises(ReadTableError, match=r"time_s -1 .* outside the scale"):
        reading_time_summary(reads.assign(time_s=-1.0))


def test_automation_bias_cases_are_reported_apart() -> None:
    reads = TOY.assign(flagged=TOY["case"].eq("c3").astype(int))
    summary = automation_bias_summary(reads).set_index(["subset", "arm"])
    flagged_aided = summary.loc[("flagged", "aided")]
    assert flagged_aided["n_cases"] == 1 and flagged_aided["n_reads"] == 2
    assert flagged_aided["accuracy"] == 0.5  # A wrong, B right on c3 with the hint
    assert flagged_aided["correct_to_wrong"] == 1  # A switched to wrong on c3
    assert summary.loc[("other", "aided"), "wrong_to_correct"] == 1  # A's c1
    assert np.isnan(summary.loc[("other", "none"), "n_pairs"])


# --------------------------------------------------------------------------- simulator


def test_simulator_is_reproducible_and_well_formed(study) -> None:
    again = simulate_study(study.settings, seed=study.seed)
    pd.testing.assert_frame_equal(study.reads, again.reads)
    assert not simulate_study(study.settings, seed=study.seed + 1).reads.equals(study.reads)
    reads = study.reads
    assert len(reads) == 4 * 50 * 2
    assert reads["rating"].between(0, 100).all()
    assert (reads["call"] == (reads["rating"] >= 50)).all()
    assert (reads["flagged"] == (reads["ai_call"] != reads["truth"])).all()
    assert reads.groupby("case")["truth"].nunique().eq(1).all()
    assert set(reads["reader_role"]) == {"neonatologist", "radiologist"}


def test_simulator_true_auc_follows_the_binormal_formula(study) -> None:
    s = study.settings
    assert study.true_difference == pytest.approx(s.population_auc(s.ai_weight) - s.population_auc(0))
    by_arm = study.true_auc.pivot(index="reader", columns="arm", values="auc")
    assert (by_arm["aided"] > by_arm["none"]).all()  # a helpful AI helps every reader
    assert study.true_reader_difference == pytest.approx((by_arm["aided"] - by_arm["none"]).mean())


# --- multiplicity plan and automation bias by AI correctness ----------------------------------


def test_holm_adjustment_matches_its_definition() -> None:
    from study.analysis.multiplicity import holm_adjust

    assert holm_adjust([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.01]).tolist() == pytest.approx([0.5, 0.02])
    out = holm_adjust([float("nan"), 0.02])
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.02)


def test_multiplicity_plan_claims_nothing_when_the_global_test_fails() -> None:
    from study.analysis import mrmc, simulate_study
    from study.analysis.multiplicity import multiplicity_plan
    from study.analysis.simulated_readers import SimulationSettings

    reads = simulate_study(SimulationSettings(n_readers=4, n_diseased=20, n_nondiseased=20,
                                              ai_weight=0.0), seed=3).reads
    third = reads[reads["arm"] == "aided"].assign(arm="other")
    result = mrmc(pd.concat([reads, third]))
    passed, decisions = multiplicity_plan(result)
    assert len(decisions) == 3
    if not passed:
        assert not any(d.significant for d in decisions)
    assert all(d.p_holm >= d.p for d in decisions)


def test_ai_right_wrong_auc_splits_by_the_ai_call_shown() -> None:
    from study.analysis import ai_right_wrong_auc

    rows = []
    for reader in ("A", "B"):
        for case in range(8):
            truth = case % 2
            ai_call = truth if case < 4 else 1 - truth
            for arm in ("none", "score"):
                # With the AI, the reader follows it; without, the reader is right.
                rating = (ai_call if arm == "score" else truth) * 10 + case / 100
                rows.append((reader, arm, case, truth, rating, ai_call))
    reads = pd.DataFrame(rows, columns=["reader", "arm", "case", "truth", "rating", "ai_call"])
    table = ai_right_wrong_auc(reads).set_index(["subset", "arm"])
    assert table.at[("AI right", "score"), "auc"] == 1.0
    assert table.at[("AI wrong", "score"), "auc"] == 0.0
    assert table.at[("AI wrong", "none"), "auc"] == 1.0
    assert table.at[("AI wrong", "none"), "n_cases"] == 4
