"""Plain-text report of an MRMC result (what ``python -m study mrmc`` prints)."""

from __future__ import annotations

import math

from study.analysis.mrmc import DifferenceTest, MrmcResult

__all__ = ["format_mrmc"]


def _f(value: float, digits: int = 5) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def _p(value: float) -> str:
    return "<0.0001" if value < 0.0001 else _f(value, 4)


def _row(test: DifferenceTest) -> str:
    ci = f"({_f(test.ci_low)}, {_f(test.ci_high)})"
    if not math.isfinite(test.df):
        df = "inf"
    else:
        df = str(int(test.df)) if float(test.df).is_integer() else _f(test.df, 2)
    statistic = f"{test.statistic_name} = {_f(test.statistic, 3)}"
    return (f"{test.analysis:<8} {_f(test.estimate):>9} {_f(test.se):>8}  {ci:<22} "
            f"{statistic:<14} {df:>6}  {_p(test.p)}")


def format_mrmc(result: MrmcResult) -> str:
    """Format the per-modality AUCs, the difference and the RRRC / FRRC / RRFC tests.

    Args:
        result: an `MrmcResult`.

    Returns:
        Multi-line text, ending with a newline.
    """
    first, second = result.modalities
    level = round(100 * (1 - result.alpha))
    lines = [
        "Obuchowski-Rockette MRMC analysis (empirical AUC, jackknife covariance, Hillis ddf)",
        f"{len(result.readers)} readers, {result.n_cases} cases ({result.n_diseased} diseased, "
        f"{result.n_nondiseased} non-diseased), modalities {first} and {second}",
        "",
        f"AUC by modality (RRRC {level}% CI)",
    ]
    for estimate in result.rrrc.modalities:
        lines.append(f"  {str(estimate.modality):<12} {_f(estimate.auc)}  "
                     f"({_f(estimate.ci_low)}, {_f(estimate.ci_high)})")
    lines += [
        "",
        f"Difference {first} - {second}: {_f(result.difference)}",
        "",
        f"{'Analysis':<8} {'Estimate':>9} {'SE':>8}  {f'{level}% CI':<22} {'Statistic':<14} "
        f"{'df':>6}  p",
    ]
    lines += [_row(analysis.difference) for analysis in (result.rrrc, result.frrc, result.rrfc)]
    lines += [
        "",
        "RRRC: random readers and cases; FRRC: fixed readers (chi-square, normal CI); "
        "RRFC: fixed cases.",
    ]
    return "\n".join(lines) + "\n"
