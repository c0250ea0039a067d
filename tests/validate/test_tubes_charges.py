"""Tubes and empirical charges on synthetic and exactly solvable ensembles."""

import numpy as np
import pytest
from scipy.linalg import expm

from simulate import rotation, zoo
from validate import empirical_charges, tube_statistics
from validate._tubes import _rotation_eigen, symmetry_flow


def test_symmetry_alignment_recovers_the_rotation():
    s = np.linspace(0, 1, 200)
    ref = np.column_stack([1 - s, 0.3 * np.sin(3 * s)])
    angles = np.array([0.3, -1.2, 2.5])
    gen = rotation(2, 0, 1)
    paths = [ref @ symmetry_flow(gen, a)[0].T for a in angles]
    tb = tube_statistics(paths, ref, align="progress", symmetry=gen)
    np.testing.assert_allclose(tb.theta, angles, atol=1e-4)
    assert tb.l2.max() < 1e-3


def test_rotation_flow_is_the_exponential_and_its_cached_eigenbasis_read_only():
    gens = [rotation(3, 0, 1), rotation(3, 1, 2)]
    for _ in range(2):  # interleaved: each generator its own cache entry
        for gen in gens:
            R, c = symmetry_flow(gen, 0.7)
            np.testing.assert_allclose(R, expm(0.7 * gen.A), atol=1e-12)
            np.testing.assert_array_equal(c, 0.0)
    w, U = _rotation_eigen(gens[0])  # shared with every later caller
    with pytest.raises(ValueError, match="read-only"):
        w[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        U[0, 0] = 0.0


def test_time_tube_of_shifted_paths():
    t = np.linspace(0, 1, 11)
    ref = np.column_stack([t, 0 * t])
    paths = np.stack([ref + [0, 0.1], ref - [0, 0.3]])
    tb = tube_statistics(paths, ref, t=t, ref_t=t)
    np.testing.assert_allclose(tb.l2, [0.1, 0.3])
    np.testing.assert_allclose(tb.mean[:, 1], -0.1)


def test_profile_frame_is_long_one_row_per_grid_point_and_coordinate():
    t = np.linspace(0, 1, 11)
    ref = np.column_stack([t, 2 * t, 0 * t])  # three coordinates, each told apart
    paths = np.stack([ref + [0, 0, 0.1], ref - [0, 0, 0.3], ref + [0.2, 0, 0]])
    tb = tube_statistics(paths, ref, t=t, ref_t=t, quantiles=(0.5, 0.9))
    frame = tb.to_frame("profile")
    assert list(frame.columns) == [
        "t", "coordinate", "reference", "mean", "mean_se", "median", "radius_q0.5", "radius_q0.9"
    ]  # fmt: skip
    assert len(frame) == 11 * 3
    for j in range(3):
        rows = frame[frame["coordinate"] == j]
        np.testing.assert_array_equal(rows["t"], t)
        np.testing.assert_array_equal(rows["reference"], ref[:, j])
        np.testing.assert_array_equal(rows["mean"], tb.mean[:, j])
        np.testing.assert_array_equal(rows["mean_se"], tb.mean_se[:, j])
        np.testing.assert_array_equal(rows["median"], tb.median[:, j])
        np.testing.assert_array_equal(rows["radius_q0.9"], tb.radius[1])  # per point
    np.testing.assert_allclose(frame.loc[frame["coordinate"] == 2, "mean"], -0.2 / 3)


def test_debias_removes_the_window_noise_of_h():
    ms = zoo.monostable()
    rng = np.random.Generator(np.random.PCG64(0))
    t = np.linspace(0, 1, 101)
    paths = rng.normal(size=(5, 101, 2)).cumsum(1) * 0.01
    a = empirical_charges(ms, paths, t, window=0.05, eps=0.2, debias=False)
    b = empirical_charges(ms, paths, t, window=0.05, eps=0.2, debias=True)
    np.testing.assert_allclose(a.path_mean[:, 0] - b.path_mean[:, 0], 0.2 * 2 / (2 * 0.05))


def test_cluster_bootstrap_and_se_over_groups():
    """AMS replicas of one run are dependent: groups are resampled whole, and the
    cluster-robust se of a mean of perfectly correlated copies is that of the groups."""
    from validate._statistics import bootstrap, weighted_mean_se

    rng = np.random.default_rng(0)
    g_vals = rng.normal(size=40)
    groups = np.repeat(np.arange(40), 10)
    x = g_vals[groups]  # 10 identical copies per group
    _, se_iid, _ = weighted_mean_se(x)
    _, se_grp, _ = weighted_mean_se(x, groups=groups)
    assert np.isclose(se_grp, g_vals.std(ddof=1) / np.sqrt(40), rtol=1e-10)
    assert se_grp > 3 * se_iid
    reps = bootstrap(lambda idx, w: np.mean(x[idx]), x.size, 200, 1, groups=groups)
    assert abs(reps.std() / se_grp - 1) < 0.25
    # each replicate is made of whole groups
    bootstrap(
        lambda idx, w: np.testing.assert_equal(np.bincount(groups[idx]) % 10, 0),
        400,
        5,
        2,
        groups=groups,
    )
