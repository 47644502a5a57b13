"""A simulated reader study with a known, built-in AI effect (for demos and tests).

Model (binormal, in the spirit of Roe & Metz 1997). For reader ``r``, arm ``a``, case ``k``
with truth ``D_k`` in {0, 1}, the reader's latent suspicion is

    L = d_r * (D_k - 1/2) + b_r + C_k + RC_rk + E_rak  +  w_a * A_k

- ``d_r = separation + S_r``, ``S_r ~ N(0, reader_skill_sd^2)``: the reader's skill;
- ``b_r ~ N(0, reader_bias_sd^2)``: the reader's threshold (does not change the AUC);
- ``C_k ~ N(0, case_sd^2)``: case difficulty shared by all readers and both arms;
- ``RC_rk ~ N(0, reader_case_sd^2)``: how this reader sees this case, in both arms;
- ``E_rak ~ N(0, noise_sd^2)``: fresh noise in every read;
- ``A_k = ai_separation * (D_k - 1/2) + N_k``, ``N_k ~ N(0, ai_noise_sd^2)``: the AI's evidence,
  shown only in the aided arm, where readers lean on it with weight ``w = ai_weight``
  (``w = 0`` in the unaided arm). ``ai_weight = 0`` means the AI has no effect at all.

The rating is ``100 * logistic(L)`` (confidence 0-100, continuous, so no ties), the call is
``L >= 0`` (rating >= 50). The AI score is ``100 * logistic(A_k)``, its call ``A_k >= 0``;
cases where the AI's call is wrong are flagged as automation-bias cases.

Within a class, each (reader, arm) has normal latent values with variance
``s_a^2 = case_sd^2 + reader_case_sd^2 + noise_sd^2 + w_a^2 ai_noise_sd^2`` and a mean gap
``d_r + w_a * ai_separation``, so the true AUC is ``Phi(gap / sqrt(2 s_a^2))``. Over the
population of readers (``S_r`` normal) the expected AUC is ``Phi(mu_a / sqrt(2 s_a^2 +
reader_skill_sd^2))`` with ``mu_a = separation + w_a * ai_separation``: the quantity an RRRC
analysis estimates.

Reference:
    Roe CA, Metz CE (1997). Dorfman-Berbaum-Metz method for statistical analysis of
    multireader, multimodality receiver operating characteristic data: validation with
    computer simulation. Acad Radiol 4:298-303.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from study.design import UNAIDED_ARM

__all__ = ["SimulationSettings", "SimulatedStudy", "simulate_study"]


@dataclass(frozen=True)
class SimulationSettings:
    """Parameters of the simulated study (see the module docstring for the model).

    Attributes:
        n_readers: number of readers.
        n_diseased: number of diseased (RDS) cases.
        n_nondiseased: number of non-diseased cases.
        separation: mean latent gap between the classes without AI.
        ai_weight: how much readers add the AI's evidence in the aided arm (0 = no effect).
        ai_separation: the AI's own mean latent gap between the classes.
        ai_noise_sd: the AI's noise.
        reader_skill_sd: spread of the readers' separation.
        reader_bias_sd: spread of the readers' thresholds.
        case_sd: case difficulty, shared by all reads of a case.
        reader_case_sd: reader x case component, shared by a reader's two reads of a case.
        noise_sd: noise of each read.
        roles: reader roles, assigned in turn.
        unaided: label of the arm without AI.
        aided: label of the arm with the AI hint.
        median_time_s: median seconds per unaided read.
        aided_time_ratio: aided over unaided reading time (median).
    """

    n_readers: int = 6
    n_diseased: int = 40
    n_nondiseased: int = 60
    separation: float = 1.5
    ai_weight: float = 0.5
    ai_separation: float = 2.5
    ai_noise_sd: float = 1.0
    reader_skill_sd: float = 0.25
    reader_bias_sd: float = 0.3
    case_sd: float = 0.6
    reader_case_sd: float = 0.4
    noise_sd: float = 0.6
    roles: tuple[str, ...] = ("neonatologist", "radiologist")
    unaided: str = UNAIDED_ARM  # the study's own word for the arm without AI
    aided: str = "aided"
    median_time_s: float = 30.0
    aided_time_ratio: float = 0.8

    def within_class_sd(self, weight: float) -> float:
        """Latent SD within a class for a reader leaning on the AI with ``weight``."""
        return math.sqrt(self.case_sd**2 + self.reader_case_sd**2 + self.noise_sd**2
                         + (weight * self.ai_noise_sd) ** 2)

    def population_auc(self, weight: float) -> float:
        """Expected AUC over the population of readers in an arm with AI weight ``weight``."""
        gap = self.separation + weight * self.ai_separation
        spread = math.sqrt(2 * self.within_class_sd(weight) ** 2 + self.reader_skill_sd**2)
        return float(stats.norm.cdf(gap / spread))


@dataclass(frozen=True)
class SimulatedStudy:
    """A generated study and the truth about it.

    Attributes:
        reads: tidy table (reader, arm, case, truth, rating, call, ai_score, ai_call,
            flagged, time_s, reader_role), one row per read.
        settings: the parameters used.
        seed: the random seed used.
        true_auc: the true AUC of each generated (reader, arm).
        true_difference: population AUC difference aided - unaided (what RRRC estimates).
        true_reader_difference: mean over the generated readers of their true AUC
            difference (what FRRC estimates).
    """

    reads: pd.DataFrame
    settings: SimulationSettings
    seed: int
    true_auc: pd.DataFrame = field(repr=False)
    true_difference: float
    true_reader_difference: float


def simulate_study(settings: SimulationSettings | None = None, *, seed: int = 0) -> SimulatedStudy:
    """Generate a fully crossed two-arm reader study (every reader reads every case in both arms).

    Args:
        settings: model parameters; default `SimulationSettings()`.
        seed: random seed; the same seed and settings give the same study.

    Returns:
        The `SimulatedStudy`.

    Example:
        >>> study = simulate_study(SimulationSettings(ai_weight=0.0), seed=3)
        >>> study.true_difference
        0.0
    """
    s = settings or SimulationSettings()
    if s.n_readers < 1 or s.n_diseased < 1 or s.n_nondiseased < 1:
        raise ValueError("A simulated study needs at least one reader and one case of each class.")
    rng = np.random.default_rng(seed)
    n_cases = s.n_diseased + s.n_nondiseased
    truth = np.r_[np.ones(s.n_diseased, dtype=int), np.zeros(s.n_nondiseased, dtype=int)]
    rng.shuffle(truth)
    centred = truth - 0.5

    skill = rng.normal(0.0, s.reader_skill_sd, s.n_readers)
    bias = rng.normal(0.0, s.reader_bias_sd, s.n_readers)
    case_effect = rng.normal(0.0, s.case_sd, n_cases)
    reader_case = rng.normal(0.0, s.reader_case_sd, (s.n_readers, n_cases))
    ai_evidence = s.ai_separation * centred + rng.normal(0.0, s.ai_noise_sd, n_cases)
    ai_call = (ai_evidence >= 0).astype(int)

    readers = [f"R{r + 1:02d}" for r in range(s.n_readers)]
    cases = [f"C{k + 1:03d}" for k in range(n_cases)]
    frames, true_rows = [], []
    for arm, weight, time_factor in ((s.unaided, 0.0, 1.0), (s.aided, s.ai_weight, s.aided_time_ratio)):
        gap = s.separation + skill
        latent = (
            gap[:, None] * centred[None, :]
            + bias[:, None]
            + case_effect[None, :]
            + reader_case
            + rng.normal(0.0, s.noise_sd, (s.n_readers, n_cases))
            + weight * ai_evidence[None, :]
        )
        seconds = s.median_time_s * time_factor * np.exp(rng.normal(0.0, 0.4, latent.shape))
        frames.append(
            pd.DataFrame(
                {
                    "reader": np.repeat(readers, n_cases),
                    "arm": arm,
                    "case": np.tile(cases, s.n_readers),
                    "truth": np.tile(truth, s.n_readers),
                    "rating": (100 * special.expit(latent)).ravel(),
                    "call": (latent >= 0).astype(int).ravel(),
                    "ai_score": np.tile(100 * special.expit(ai_evidence), s.n_readers),
                    "ai_call": np.tile(ai_call, s.n_readers),
                    "flagged": np.tile((ai_call != truth).astype(int), s.n_readers),
                    "time_s": seconds.ravel(),
                    "reader_role": np.repeat(
                        [s.roles[r % len(s.roles)] for r in range(s.n_readers)], n_cases
                    ),
                }
            )
        )
        scale = math.sqrt(2) * s.within_class_sd(weight)
        auc = stats.norm.cdf((gap + weight * s.ai_separation) / scale)
        true_rows += [{"reader": r, "arm": arm, "auc": float(a)} for r, a in zip(readers, auc)]

    true_auc = pd.DataFrame(true_rows)
    by_arm = true_auc.pivot(index="reader", columns="arm", values="auc")
    return SimulatedStudy(
        reads=pd.concat(frames, ignore_index=True),
        settings=s,
        seed=seed,
        true_auc=true_auc,
        true_difference=s.population_auc(s.ai_weight) - s.population_auc(0.0),
        true_reader_difference=float((by_arm[s.aided] - by_arm[s.unaided]).mean()),
    )
