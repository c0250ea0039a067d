"""The issue's Must-show items that fit in a fast test: the monostable (OU) bridge, the
drift-diffusion experiment and the resumable study."""

import filecmp

import numpy as np
import pytest

import theory
from simulate import Ball, zoo
from tests.closed_forms import ou_instanton
from validate import (
    Endpoint,
    Study,
    StudyConfig,
    drift_diffusion_bridge,
    empirical_charges,
    expected_statistic,
    gaussian_bridge,
    tube_statistics,
)

Z = 5.0  # tolerance in standard errors


@pytest.fixture(scope="module")
def mono():
    ms = zoo.monostable()
    return ms, theory.instanton(ms, "start", "end", 1.0)


@pytest.mark.parametrize("eps", [0.2, 0.05])
def test_monostable_endpoint_bridge_is_exact(mono, eps):
    ms, inst = mono
    smp = Endpoint("start", 1.0, Ball([2.0, 2.0], 0.5 * np.sqrt(eps)), dt=0.01, guide=inst)
    s = smp.sample(ms, eps, 4000, seed=11)
    w = s.weights / s.weights.sum()
    tb = tube_statistics(s.paths, inst, t=s.t, weights=w)
    br = gaussian_bridge(ms, "start", "end", s.t, eps, dt=0.01, joint=True)
    ends = s.paths[:, -1]
    pred = np.einsum("k,kni->ni", w, br.mean_given(ends))
    z = (tb.mean - pred) / tb.mean_se
    assert np.nanmax(np.abs(z)) < Z, np.nanmax(np.abs(z))
    # endpoint-corrected paths (exact for a linear system): their mean is the instanton
    corrected = s.paths - np.einsum("nij,kj->kni", br.gain, ends - br.mean[-1])
    tc = tube_statistics(corrected, inst, t=s.t, weights=w)
    inst_em = br.mean  # the instanton of the Euler–Maruyama chain (within dt of inst)
    zc = (tc.mean - inst_em) / tc.mean_se
    assert np.nanmax(np.abs(zc)) < Z
    # charges: exact finite-noise prediction, and close to the instanton's 2.896 / -3.404
    ec = empirical_charges(ms, s.paths, s.t, eps=eps, weights=w, reference=inst)
    summ = ec.summary().set_index("statistic")

    def stat(P):
        return empirical_charges(ms, P, s.t, eps=eps).path_mean

    exact = expected_statistic(stat, br, ends=ends, weights=w)
    for j, name in enumerate(ec.names):
        row = summ.loc[f"charge_mean_{name}"]
        assert abs(row["value"] - exact[j]) < Z * row["se"], (name, row["value"], exact[j])
    ou = ou_instanton(1.0)
    assert abs(ec.theory["H"] - ou.energy) < 1e-5
    assert abs(ec.theory["L"] - ou.angular_momentum) < 1e-5
    # the bias of the exact prediction comes from the window (radius ~ sqrt(eps)) and eps
    bound = 1.2 * np.sqrt(eps)
    assert abs(exact[0] - ou.energy) < bound and abs(exact[1] - ou.angular_momentum) < bound


def test_drift_diffusion_conditioned_mean_matches_image_sums():
    dd = zoo.drift_diffusion()
    smp = Endpoint(
        "start",
        1.0,
        "lower_bound",
        dt=0.005,
        window=(0.95, 1.0),
        absorbing=(dd.states["upper_bound"],),
        snap=[-1.0],
    )
    s = smp.sample(dd, 1.0, 60000, seed=5)
    ref = (np.array([[0.5], [-1.0]]), np.array([0.0, 1.0]))
    tb = tube_statistics(s.paths, ref, t=s.t)
    grid = tb.grid
    exact = drift_diffusion_bridge(dd, 1.0, grid)
    k = grid <= 0.9
    z = (tb.mean[k, 0] - exact.mean[k]) / tb.mean_se[k, 0]
    assert np.nanmax(np.abs(z)) < Z, np.nanmax(np.abs(z))
    mid = np.searchsorted(grid, 0.5)
    assert tb.mean[mid, 0] - exact.straight[mid] > Z * tb.mean_se[mid, 0]  # bows away
    ec = empirical_charges(dd, s.paths, s.t, eps=1.0)
    row = ec.summary().set_index("statistic").loc["charge_mean_p"]
    assert abs(row["value"] - exact.momentum_mean) < Z * row["se"]
    assert abs(s.probability - exact.acceptance) < Z * s.probability_se + 0.001


def test_study_resumes_bit_identically(tmp_path):
    common = dict(
        system="monostable",
        eps_grid=(0.2, 0.1),
        sampler_options=dict(
            x0="start",
            T=1.0,
            target_center=[2.0, 2.0],
            target_radius=0.5,
            target_exponent=0.5,
            dt=0.02,
            guide="instanton",
        ),
        instanton=dict(x_start="start", x_end="end", T=1.0),
        n_paths=600,
        seed=4,
        n_boot=50,
        root=str(tmp_path),
    )
    full = Study(StudyConfig(name="full", **common))
    full.run(figures=False)
    part = Study(StudyConfig(name="part", **common))
    assert part.run(figures=False, max_levels=1) is None  # "interrupted" after one level
    assert part.missing() == [0.1]
    part.run(figures=True)
    for table in ("summary", "replicates", "profile", "charges", "paths", "scaling"):
        name = f"{table}.parquet"
        assert filecmp.cmp(full.folder / name, part.folder / name, False)
    assert (part.folder / "figures" / "tubes.png").exists()
    assert (part.folder / "config.json").exists()
