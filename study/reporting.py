"""What the results page shows, as data: where the reads come from, filters, tables and sentences.

The results page (``pages/results.py``) stays thin: it asks this module for the answer
sources (real studies with answers, and a simulated study), loads a tidy table of reads,
filters it, and turns `study.analysis` results into tables and one plain-language line.
No Streamlit here, so everything can be tested directly.

The simulated study (`simulated_study`) is the binormal model of `study.analysis.simulated_readers`
with the study's own arm names (``none`` and ``score_heatmap``) and a fixed seed, so the team
sees the dashboard recover the effect that was put in before any real answer exists.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from study.analysis.errors import ReadTableError
from study.analysis.export import to_imrmc_text, write_long_csv
from study.analysis.mrmc import DifferenceTest, MrmcResult, mrmc
from study.analysis.multiplicity import multiplicity_plan
from study.analysis.simulated_readers import SimulatedStudy, SimulationSettings, simulate_study
from study.analysis.table import sorted_labels
from study.design import ARMS

__all__ = [
    "ARM_NAMES",
    "UNKNOWN_ROLE",
    "SIMULATION_SEED",
    "AnswerSource",
    "arm_name",
    "arm_order",
    "role_order",
    "filter_reads",
    "prepare_reads",
    "simulated_study",
    "list_answer_sources",
    "load_study_reads",
    "crossed_reads",
    "default_comparison",
    "mrmc_table",
    "global_table",
    "pairwise_table",
    "chart_readiness",
    "binary_endpoint_table",
    "arm_auc_table",
    "conclusion_sentence",
    "simulation_check",
    "long_csv_bytes",
    "imrmc_bytes",
]

#: Plain names of the study arms, for legends, tables and sentences.
ARM_NAMES: dict[str, str] = {
    "none": "No AI",
    "score": "AI score",
    "score_heatmap": "AI score + heatmap",
}

#: Role shown for readers who have not filled in their profile.
UNKNOWN_ROLE = "not given"

#: Seed of the simulated study shown before a real study exists (any seed works; a fixed
#: one keeps the numbers on the page the same from one visit to the next).
SIMULATION_SEED = 1

# The simulated study uses the study's own arm names so every chart and default applies.
_SIMULATION = SimulationSettings(aided="score_heatmap")


@dataclass(frozen=True)
class AnswerSource:
    """One table of reads the results page can show.

    Attributes:
        key: stable identifier (``"study:<id>"`` or ``"simulated"``).
        label: what the admin sees in the picker.
        simulated: True for the generated study.
        study_id: database id of a real study, else None.
        n_answers: answers stored (real) or generated (simulated).
    """

    key: str
    label: str
    simulated: bool
    study_id: int | None
    n_answers: int


def arm_name(arm: Hashable) -> str:
    """The plain name of an arm (``"score_heatmap"`` -> ``"AI score + heatmap"``).

    Args:
        arm: arm label as stored; unknown labels are returned as text.
    """
    return ARM_NAMES.get(str(arm), str(arm))


def arm_order(arms: Iterable[Hashable]) -> list[Hashable]:
    """Arms in the study's reading order (none, score, score_heatmap), others sorted after.

    Args:
        arms: arm labels (duplicates allowed).
    """
    present = sorted_labels(arms)
    known = [arm for arm in ARMS if arm in present]
    return known + [arm for arm in present if arm not in known]


def role_order(roles: Iterable[Hashable]) -> list[Hashable]:
    """Reader roles sorted, with `UNKNOWN_ROLE` last.

    Args:
        roles: role labels (duplicates allowed).
    """
    present = sorted_labels(roles)
    return [r for r in present if r != UNKNOWN_ROLE] + [r for r in present if r == UNKNOWN_ROLE]


def prepare_reads(reads: pd.DataFrame) -> pd.DataFrame:
    """Make an answer table ready for filtering: every read gets a reader role.

    Args:
        reads: tidy table of reads (`study.answers.export_answers` or a simulated study).

    Returns:
        A copy with ``reader_role`` filled (`UNKNOWN_ROLE` where missing).
    """
    table = reads.copy()
    if "reader_role" not in table.columns:
        table["reader_role"] = UNKNOWN_ROLE
    table["reader_role"] = table["reader_role"].fillna(UNKNOWN_ROLE).astype(str)
    return table


def filter_reads(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Keep the reads of the chosen arms and reader roles.

    Args:
        reads: tidy table with ``arm`` (and ``reader_role`` when ``roles`` is given).
        arms: arms to keep; None keeps all.
        roles: reader roles to keep; None keeps all.

    Returns:
        The matching rows (same columns).

    Raises:
        ReadTableError: an empty choice, a role filter on a table without roles, or no read
            left after filtering.
    """
    kept = reads
    if arms is not None:
        if len(arms) == 0:
            raise ReadTableError("Choose at least one arm to show.")
        kept = kept[kept["arm"].isin(list(arms))]
    if roles is not None:
        if "reader_role" not in kept.columns:
            raise ReadTableError("These reads have no reader_role column, so they cannot be filtered by role.")
        if len(roles) == 0:
            raise ReadTableError("Choose at least one reader role to show.")
        kept = kept[kept["reader_role"].isin(list(roles))]
    if kept.empty:
        chosen = []
        if arms is not None:
            chosen.append("arms " + ", ".join(arm_name(a) for a in arms))
        if roles is not None:
            chosen.append("roles " + ", ".join(map(str, roles)))
        raise ReadTableError(f"No reads match the filter ({'; '.join(chosen)}).")
    return kept


def simulated_study(seed: int = SIMULATION_SEED) -> SimulatedStudy:
    """The simulated study of the results page: unaided arm ``none``, aided ``score_heatmap``.

    Args:
        seed: random seed (the page uses `SIMULATION_SEED`).

    Returns:
        The `SimulatedStudy`; its ``true_difference`` is the built-in AUC gain of the
        heatmap arm over the unaided arm.
    """
    return simulate_study(_SIMULATION, seed=seed)


def list_answer_sources(db_file: str | Path) -> list[AnswerSource]:
    """Real studies that have answers, then the simulated study (always last).

    The database is only opened when the file exists, so looking does not create one.

    Args:
        db_file: the study database file (`study.config.db_path`).
    """
    # Imported here: the sqlite layer is only needed when a database is there.
    from study.admin import list_studies
    from study.db import connect

    sources: list[AnswerSource] = []
    path = Path(db_file)
    if path.is_file():
        db = connect(path)
        try:
            for study in list_studies(db):
                count = db["answers"].count_where("study_id = ?", [study.study_id])
                if count:
                    sources.append(AnswerSource(
                        key=f"study:{study.study_id}",
                        label=f"{study.name} ({study.design}, {count} answers)",
                        simulated=False, study_id=study.study_id, n_answers=count,
                    ))
        finally:
            db.conn.close()
    s = _SIMULATION
    n_simulated = 2 * s.n_readers * (s.n_diseased + s.n_nondiseased)
    sources.append(AnswerSource(
        key="simulated",
        label=f"SIMULATED study ({s.n_readers} generated readers, known AI effect)",
        simulated=True, study_id=None, n_answers=n_simulated,
    ))
    return sources


def load_study_reads(db_file: str | Path, study_id: int) -> pd.DataFrame:
    """All answers of a real study joined with truth (`study.answers.export_answers`).

    Args:
        db_file: the study database file.
        study_id: the study.

    Returns:
        The tidy table of reads, prepared with `prepare_reads`.
    """
    from study.answers import export_answers
    from study.db import connect

    db = connect(db_file)
    try:
        return prepare_reads(export_answers(db, study_id))
    finally:
        db.conn.close()


def crossed_reads(
    reads: pd.DataFrame, arms: Sequence[Hashable]
) -> tuple[pd.DataFrame, list[Hashable]]:
    """The fully crossed part of a study for an MRMC comparison of ``arms``.

    While a study runs, some readers have not read every case in both arms; MRMC needs a
    fully crossed block, so those readers are left out (and named, so the page can say so).
    With one complete reader the analysis is the fixed-reader one; with none, the reads are
    returned unchanged and the MRMC check explains what is missing.

    Args:
        reads: tidy table with reader, arm, case.
        arms: the arms to compare.

    Returns:
        ``(reads of the complete readers in those arms, readers left out)``.
    """
    part = reads[reads["arm"].isin(list(arms))]
    cells = part.drop_duplicates(["reader", "arm", "case"])
    needed = part["case"].nunique() * len(set(arms))
    per_reader = cells.groupby("reader").size()
    complete = [r for r in sorted_labels(part["reader"]) if per_reader.get(r, 0) == needed]
    if not complete:
        return part, []
    left_out = [r for r in sorted_labels(part["reader"]) if r not in complete]
    return part[part["reader"].isin(complete)], left_out


def default_comparison(arms: Sequence[Hashable]) -> tuple[Hashable, Hashable] | None:
    """The default MRMC pair ``(arm with AI, reference arm)``: score_heatmap vs none when present.

    Args:
        arms: the arms available.

    Returns:
        The pair, or None with fewer than two arms.
    """
    ordered = arm_order(arms)
    if len(ordered) < 2:
        return None
    reference = "none" if "none" in ordered else ordered[0]
    aided = "score_heatmap" if "score_heatmap" in ordered else ordered[-1]
    if aided == reference:
        aided = next(a for a in reversed(ordered) if a != reference)
    return aided, reference


_GENERALISES = {
    "RRRC": "new readers and new cases",
    "FRRC": "these readers, new cases",
    "RRFC": "new readers, these cases",
}


def _df_text(df: float) -> str:
    if not math.isfinite(df):
        return "inf"
    return f"{df:.0f}" if float(df).is_integer() else f"{df:.2f}"


def mrmc_table(result: MrmcResult) -> pd.DataFrame:
    """The three OR tests of the AUC difference as a table for the page.

    Args:
        result: an `MrmcResult` (difference = first arm minus second).

    Returns:
        One row per analysis (RRRC, FRRC, RRFC): ``analysis``, ``generalises_to``,
        ``difference``, ``se``, ``ci_low``, ``ci_high``, ``statistic`` (e.g. ``"F = 12.3"``),
        ``df`` (text, ``inf`` for chi-square) and ``p``.
    """
    rows = []
    for analysis in (result.rrrc, result.frrc, result.rrfc):
        test: DifferenceTest = analysis.difference
        rows.append({
            "analysis": test.analysis,
            "generalises_to": _GENERALISES.get(test.analysis, ""),
            "difference": test.estimate,
            "se": test.se,
            "ci_low": test.ci_low,
            "ci_high": test.ci_high,
            "statistic": f"{test.statistic_name} = {test.statistic:.3f}",
            "df": _df_text(test.df),
            "p": test.p,
        })
    return pd.DataFrame(rows)


def global_table(result: MrmcResult) -> pd.DataFrame:
    """The global tests that all arms have the same mean AUC (one row per analysis).

    Args:
        result: an `MrmcResult` of two or more arms.

    Returns:
        Columns ``analysis``, ``generalises_to``, ``statistic`` (text), ``df`` (text) and ``p``.
    """
    rows = []
    for analysis in (result.rrrc, result.frrc, result.rrfc):
        g = analysis.global_test
        df = _df_text(g.ndf) if g.statistic_name == "chi2" else f"{_df_text(g.ndf)}, {_df_text(g.ddf)}"
        rows.append({"analysis": g.analysis, "generalises_to": _GENERALISES.get(g.analysis, ""),
                     "statistic": f"{g.statistic_name} = {g.statistic:.3f}", "df": df, "p": g.p})
    return pd.DataFrame(rows)


def pairwise_table(result: MrmcResult) -> pd.DataFrame:
    """Every pair of arms under the multiplicity plan (RRRC, pooled error term, Holm).

    Args:
        result: an `MrmcResult` of two or more arms.

    Returns:
        One row per pair: ``comparison`` (plain names), ``difference``, ``ci_low``,
        ``ci_high`` (unadjusted), ``p``, ``p_holm``, ``significant`` (after the gate).
    """
    _, decisions = multiplicity_plan(result)
    return pd.DataFrame([
        {"comparison": f"{arm_name(d.arms[0])} - {arm_name(d.arms[1])}",
         "difference": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high, "p": d.p,
         "p_holm": d.p_holm, "significant": d.significant}
        for d in decisions
    ])


def binary_endpoint_table(reads: pd.DataFrame, arms: Sequence[Hashable], *,
                          alpha: float = 0.05) -> pd.DataFrame:
    """MRMC (OR, RRRC) of sensitivity and specificity of the yes/no calls, first arm minus second.

    Args:
        reads: the fully crossed reads (with the ``call`` column).
        arms: the analysed arms; the difference is ``arms[0] - arms[1]`` (error term pooled
            over all of them).
        alpha: significance level.

    Returns:
        One row per endpoint: ``endpoint``, ``first``, ``second`` (reader-averaged values),
        ``difference``, ``ci_low``, ``ci_high``, ``p``.
    """
    rows = []
    for endpoint in ("sensitivity", "specificity"):
        result = mrmc(reads, arms=list(arms), endpoint=endpoint, alpha=alpha)
        test = result.rrrc.difference
        rows.append({"endpoint": endpoint, arm_name(arms[0]): result.mean_auc[0],
                     arm_name(arms[1]): result.mean_auc[1], "difference": test.estimate,
                     "ci_low": test.ci_low, "ci_high": test.ci_high, "p": test.p})
    return pd.DataFrame(rows)


def chart_readiness(reads: pd.DataFrame) -> str | None:
    """What is still missing before the comparison charts mean anything, or None when ready.

    The charts need reads of both diseased and non-diseased cases (an AUC needs both) and
    at least two arms (a comparison needs two).

    Args:
        reads: tidy table with arm, case, truth (may be empty).

    Returns:
        One sentence with the progress so far and what is missing, or None.
    """
    if reads.empty:
        return "No answers yet: the charts appear once readers have read cases in two arms."
    truth = reads.drop_duplicates("case")["truth"].astype(int)
    missing = []
    if not (truth == 1).any():
        missing.append("a case with RDS")
    if not (truth == 0).any():
        missing.append("a case without RDS")
    n_arms = reads["arm"].nunique()
    if n_arms < 2:
        missing.append("a second arm")
    if not missing:
        return None
    return (f"So far {len(reads)} reads of {reads['case'].nunique()} cases by "
            f"{reads['reader'].nunique()} reader(s) in {n_arms} arm(s). The charts need "
            f"{' and '.join(missing)} read first.")


def arm_auc_table(result: MrmcResult) -> pd.DataFrame:
    """Reader-averaged AUC per arm with its RRRC confidence interval.

    Args:
        result: an `MrmcResult`.

    Returns:
        One row per arm: ``arm``, ``name``, ``auc``, ``se``, ``ci_low``, ``ci_high``.
    """
    return pd.DataFrame([
        {"arm": m.arm, "name": arm_name(m.arm), "auc": m.auc, "se": m.se,
         "ci_low": m.ci_low, "ci_high": m.ci_high}
        for m in result.rrrc.arms
    ])


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def conclusion_sentence(result: MrmcResult) -> str:
    """One plain-language line: did the readers do better with the first arm than the second?

    Uses the RRRC analysis (random readers and cases), the one that speaks for readers and
    cases beyond this study.

    Args:
        result: an `MrmcResult` whose difference is (arm with AI) - (reference arm).

    Returns:
        A sentence with both mean AUCs, the difference, its confidence interval, the p-value
        and what that means.

    Example:
        >>> from study.analysis import mrmc
        >>> study = simulated_study()
        >>> line = conclusion_sentence(mrmc(study.reads, arms=("score_heatmap", "none")))
        >>> line.startswith("With AI score + heatmap")
        True
    """
    test = result.rrrc.difference
    first, second = result.arms[:2]
    auc_first, auc_second = result.mean_auc[:2]
    level = round(100 * (1 - result.alpha))
    numbers = (
        f"With {arm_name(first)} the readers' mean AUC was {auc_first:.3f}, against "
        f"{auc_second:.3f} with {arm_name(second)}: a difference of {test.estimate:+.3f} "
        f"({level}% CI {test.ci_low:+.3f} to {test.ci_high:+.3f}, {_p_text(test.p)})"
    )
    if not (math.isfinite(test.p) and math.isfinite(test.ci_low)):
        return numbers + "; the study is too small or too uniform to test the difference."
    if len(result.arms) > 2:
        # More than two arms: the multiplicity plan decides (global test, then Holm).
        passed, decisions = multiplicity_plan(result)
        decision = decisions[0]
        numbers += (f"; Holm-adjusted p = {decision.p_holm:.3f}, global test "
                    f"{'passed' if passed else 'not significant'}")
        if not decision.significant:
            return (f"{numbers} - no clear difference under the multiplicity plan: this study "
                    "cannot tell whether it helps.")
    if test.p < result.alpha and test.estimate > 0:
        verdict = f"readers were more accurate with {arm_name(first)}, and chance alone is an unlikely explanation."
    elif test.p < result.alpha:
        verdict = f"readers were less accurate with {arm_name(first)}, and chance alone is an unlikely explanation."
    else:
        verdict = "no clear difference: the interval includes zero, so this study cannot tell whether it helps."
    return f"{numbers} - {verdict}"


def simulation_check(study: SimulatedStudy, result: MrmcResult) -> str:
    """Whether the MRMC analysis recovered the effect built into the simulated study.

    Args:
        study: the simulated study.
        result: MRMC result on (a subset of) its reads.

    Returns:
        One sentence: the built-in effect, the estimate and whether the RRRC interval
        contains the built-in effect.
    """
    aided, unaided = study.settings.aided, study.settings.unaided
    if tuple(result.arms[:2]) == (aided, unaided):
        truth = study.true_difference
    elif tuple(result.arms[:2]) == (unaided, aided):
        truth = -study.true_difference
    else:
        return "The built-in effect is defined between the simulated arms only."
    test = result.rrrc.difference
    inside = test.ci_low <= truth <= test.ci_high
    return (
        f"Built-in effect (population AUC difference): {truth:+.3f}. Estimated: "
        f"{test.estimate:+.3f} (95% CI {test.ci_low:+.3f} to {test.ci_high:+.3f}). "
        + ("The interval contains the built-in effect: the analysis recovers it."
           if inside else "The interval misses the built-in effect (expected in 5% of seeds).")
    )


def long_csv_bytes(reads: pd.DataFrame) -> bytes:
    """The long-format CSV of `study.analysis.export` (iMRMC, MRMCaov, RJafroc) as bytes.

    Args:
        reads: tidy table with reader, arm, case, truth, rating.
    """
    # Written through write_long_csv so the file format has one definition.
    with tempfile.TemporaryDirectory() as folder:
        return write_long_csv(reads, Path(folder) / "reads.csv").read_bytes()


def imrmc_bytes(reads: pd.DataFrame, *, description: str) -> bytes:
    """The iMRMC input file of `study.analysis.export` as bytes.

    Args:
        reads: tidy table with reader, arm, case, truth, rating.
        description: free text at the top of the file.
    """
    return to_imrmc_text(reads, description=description).encode("utf-8")
