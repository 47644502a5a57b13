"""Plain-text report of an MRMC result (what ``python -m study mrmc`` prints)."""

from __future__ import annotations

import math

from study.analysis.mrmc import DifferenceTest, GlobalTest, MrmcResult

__all__ = ["format_mrmc"]


def _f(value: float, digits: int = 5) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def _p(value: float) -> str:
    return "<0.0001" if value < 0.0001 else _f(value, 4)


def _row(test: DifferenceTest) -> str:
    ci = f"({_f(test.ci_low)}, {_f(test.ci_high)})"
    df = _df(test.df)
    statistic = f"{test.statistic_name} = {_f(test.statistic, 3)}"
    return (f"{test.analysis:<8} {_f(test.estimate):>9} {_f(test.se):>8}  {ci:<22} "
            f"{statistic:<14} {df:>6}  {_p(test.p)}")


def _df(value: float) -> str:
    if not math.isfinite(value):
        return "inf"
    return str(int(value)) if float(value).is_integer() else _f(value, 2)


def _global_row(test: GlobalTest) -> str:
    ddf = "" if test.statistic_name == "chi2" else f", {_df(test.ddf)}"
    return (f"{test.analysis:<8} {test.statistic_name} = {_f(test.statistic, 3):<9} "
            f"df ({_df(test.ndf)}{ddf})  p = {_p(test.p)}")


def _pair_row(test: DifferenceTest) -> str:
    a, b = test.arms
    ci = f"({_f(test.ci_low)}, {_f(test.ci_high)})"
    return (f"  {f'{a} - {b}':<16} {_f(test.estimate):>9} {_f(test.se):>8}  {ci:<22} "
            f"{_df(test.df):>6}  {_p(test.p)}")


def _format_multi(result: MrmcResult, level: int) -> list[str]:
    """Global tests and the pooled-error pairwise tables of a study with > 2 arms."""
    lines = ["", "Global test that all arms have the same AUC"]
    lines += [_global_row(a.global_test) for a in (result.rrrc, result.frrc, result.rrfc)]
    for analysis in (result.rrrc, result.frrc, result.rrfc):
        lines += ["", f"{analysis.difference.analysis} pairwise differences (error term pooled "
                  "over all arms)",
                  f"  {'Comparison':<16} {'Estimate':>9} {'SE':>8}  {f'{level}% CI':<22} "
                  f"{'df':>6}  p"]
        lines += [_pair_row(test) for test in analysis.pairwise]
    return lines


def format_mrmc(result: MrmcResult) -> str:
    """Format the per-arm AUCs and the RRRC / FRRC / RRFC tests.

    Two arms: the difference and its three tests. More: the global tests and every
    pairwise difference with the pooled error term.

    Args:
        result: an `MrmcResult`.

    Returns:
        Multi-line text, ending with a newline.
    """
    first, second = result.arms[:2]
    level = round(100 * (1 - result.alpha))
    names = ", ".join(map(str, result.arms[:-1])) + f" and {result.arms[-1]}"
    measure = {"auc": "empirical AUC"}.get(result.endpoint, f"{result.endpoint} of the calls")
    lines = [
        f"Obuchowski-Rockette MRMC analysis ({measure}, jackknife covariance, Hillis ddf)",
        f"{len(result.readers)} readers, {result.n_cases} cases ({result.n_diseased} diseased, "
        f"{result.n_nondiseased} non-diseased), arms {names}",
        "",
        f"{'AUC' if result.endpoint == 'auc' else result.endpoint.capitalize()} by arm "
        f"(RRRC {level}% CI)",
    ]
    for estimate in result.rrrc.arms:
        lines.append(f"  {str(estimate.arm):<12} {_f(estimate.auc)}  "
                     f"({_f(estimate.ci_low)}, {_f(estimate.ci_high)})")
    if len(result.arms) > 2:
        lines += _format_multi(result, level)
        lines += ["", "RRRC: random readers and cases; FRRC: fixed readers (chi-square, normal CI); "
                  "RRFC: fixed cases. Unadjusted p-values."]
        return "\n".join(lines) + "\n"
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
