"""Validation layer: transition tubes, empirical charges, noise sweeps with scaling fits,
exact finite-noise references, and studies that write tables and figures to ``data/``.

Conventions (docs/conventions.md): dX = f(X, t) dt + sqrt(2 eps D(t)) dW, p = 1/2 D^{-1}(xdot - f).
"""

from ._censored import CensoredMean, CensoringWarning, censored_mean
from ._coverage import COVERAGE_COLUMNS, Interval, coverage, rep_seed
from ._empirical_charges import (
    DEFAULT_WINDOW,
    EmpiricalCharges,
    coarse_momentum,
    empirical_charges,
    window_study,
)
from ._mean_times import MeanTime, mean_time
from ._references import (
    DriftDiffusionBridge,
    GaussianBridge,
    absorbed_density,
    committor_1d,
    conditioned_occupation_1d,
    drift_diffusion_bridge,
    expected_statistic,
    gaussian_bridge,
    hitting_cdf,
    hitting_density,
    reactive_duration_1d,
)
from ._runner import StudyRun, run_study
from ._samplers import AMS, SAMPLERS, Endpoint, Reactive, Sample
from ._scaling import ScalingFit, fit_action, fit_scaling, scaling_table
from ._statistics import ess, weighted_mean_se, weighted_quantile
from ._study import Study, StudyConfig
from ._sweep import Level, level_seed, noise_sweep, run_level
from ._tubes import Tube, tube_statistics

__all__ = [
    "coverage",
    "Interval",
    "rep_seed",
    "COVERAGE_COLUMNS",
    "noise_sweep",
    "Study",
    "StudyConfig",
    "run_study",
    "StudyRun",
    "run_level",
    "Level",
    "level_seed",
    "fit_scaling",
    "fit_action",
    "scaling_table",
    "ScalingFit",
    "tube_statistics",
    "Tube",
    "empirical_charges",
    "EmpiricalCharges",
    "coarse_momentum",
    "window_study",
    "DEFAULT_WINDOW",
    "gaussian_bridge",
    "GaussianBridge",
    "expected_statistic",
    "drift_diffusion_bridge",
    "DriftDiffusionBridge",
    "absorbed_density",
    "hitting_cdf",
    "hitting_density",
    "committor_1d",
    "conditioned_occupation_1d",
    "reactive_duration_1d",
    "mean_time",
    "MeanTime",
    "censored_mean",
    "CensoredMean",
    "CensoringWarning",
    "Endpoint",
    "Reactive",
    "AMS",
    "SAMPLERS",
    "Sample",
    "ess",
    "weighted_mean_se",
    "weighted_quantile",
]
