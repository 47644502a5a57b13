"""Analysis of the reader study: metrics, ROC/AUC, MRMC (Obuchowski-Rockette), switching,
agreement, reading time, automation bias, export, study planning (`power`), the multiplicity
plan and a simulated study. No Streamlit here.

All functions take the tidy table of reads described in `study.analysis.table`.
"""

from __future__ import annotations

from study.analysis.agreement import (
    ai_agreement,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_by_arm,
    pairwise_kappa,
)
from study.analysis.auc import auc_from_scores, delong_variance, empirical_auc, jackknife_aucs
from study.analysis.automation_bias import (
    ai_right_wrong_auc,
    automation_bias_summary,
    readers_harmed,
)
from study.analysis.errors import AnalysisError, ReadTableError
from study.analysis.export import (
    read_imrmc,
    read_long_csv,
    to_long_format,
    write_imrmc,
    write_long_csv,
)
from study.analysis.intervals import auc_with_ci, wilson_interval
from study.analysis.mrmc import MrmcResult, mrmc, or_analysis
from study.analysis.reader_metrics import reader_metrics, role_summary
from study.analysis.simulated_readers import SimulatedStudy, SimulationSettings, simulate_study
from study.analysis.switching import switching, switching_by_arm
from study.analysis.table import DEFAULT_SCALE, MRMC_COLUMNS, MrmcData, mrmc_data
from study.analysis.timing import reading_time_summary

__all__ = [
    "AnalysisError",
    "ReadTableError",
    "DEFAULT_SCALE",
    "MRMC_COLUMNS",
    "MrmcData",
    "MrmcResult",
    "SimulatedStudy",
    "SimulationSettings",
    "ai_agreement",
    "auc_from_scores",
    "auc_with_ci",
    "ai_right_wrong_auc",
    "automation_bias_summary",
    "readers_harmed",
    "cohen_kappa",
    "delong_variance",
    "empirical_auc",
    "fleiss_kappa",
    "fleiss_kappa_by_arm",
    "jackknife_aucs",
    "mrmc",
    "mrmc_data",
    "or_analysis",
    "pairwise_kappa",
    "read_imrmc",
    "read_long_csv",
    "reader_metrics",
    "reading_time_summary",
    "role_summary",
    "simulate_study",
    "switching",
    "switching_by_arm",
    "to_long_format",
    "wilson_interval",
    "write_imrmc",
    "write_long_csv",
]
