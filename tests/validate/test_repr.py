"""Every validate result type prints compactly: at most 15 lines, no array dumped whole."""

import numpy as np

from simulate import Ball, zoo
from theory import instanton
from validate import (
    Endpoint,
    Interval,
    drift_diffusion_bridge,
    empirical_charges,
    fit_scaling,
    gaussian_bridge,
    run_level,
    tube_statistics,
)
from validate._runner import StudyRun


def _check(obj):
    text = repr(obj)
    assert len(text.splitlines()) <= 15, text
    assert "array(" not in text and "\n0 " not in text, text
    assert text.startswith(type(obj).__name__ + "("), text
    return text


def test_validate_results_fit_in_15_lines():
    ms = zoo.get("monostable")
    eps = 0.2
    inst = instanton(ms, "start", "end", T=1.0)
    smp = Endpoint("start", 1.0, Ball([2.0, 2.0], 0.5 * np.sqrt(eps)), dt=0.02, guide=inst)
    sample = smp.sample(ms, eps, 200, seed=1)
    _check(sample)
    w = sample.weights
    _check(tube_statistics(sample.paths, inst, t=sample.t, weights=w))
    _check(empirical_charges(ms, sample.paths, sample.t, eps=eps, weights=w, reference=inst))
    _check(gaussian_bridge(ms, "start", "end", sample.t, eps))
    _check(drift_diffusion_bridge(zoo.get("drift_diffusion"), 1.0, np.linspace(0, 1, 11)))
    level = run_level(ms, eps, smp, n_paths=200, seed=2, reference=inst, n_boot=20)
    text = _check(level)
    assert "frame" in text  # the level's tables by their size
    fit = fit_scaling([0.1, 0.05, 0.025], [0.3, 0.21, 0.15], se=[0.01, 0.01, 0.01])
    _check(fit)
    _check(Interval(1.0, 0.1, 0.8, 1.2))
    run = StudyRun("x", None, tuple(f"part{i}" for i in range(40)), (), None, 1.0, None)
    assert "tuple of 40" in _check(run)
