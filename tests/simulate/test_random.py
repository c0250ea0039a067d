"""Counter-based streams: known-answer tests, distribution, independence, engine usage."""

import numpy as np
import pytest
from scipy import stats

from simulate import System, ensemble, standard_normals
from simulate._random import philox4x32

U = np.uint64
M = U(0xFFFFFFFF)


@pytest.mark.parametrize(
    ("counter", "key", "expected"),
    [  # Random123 known-answer vectors for Philox4x32-10
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((M, M, M, M), (M, M), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(counter, key, expected):
    out = philox4x32(*(U(c) for c in counter), *(U(k) for k in key))
    assert tuple(int(v) for v in out) == expected


def test_normals_mean_variance_and_ks():
    z = standard_normals(seed=11, n_paths=400, n_per_path=2500).ravel()
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # the tails (beyond the ziggurat's base strip at r = 3.654) have the right mass
    tail = np.mean(np.abs(z) > 3.6541528853610088)
    p = 2 * stats.norm.sf(3.6541528853610088)
    assert abs(tail - p) < 5 * np.sqrt(p / n)


def test_streams_independent_across_paths_and_seeds():
    z = standard_normals(seed=3, n_paths=200, n_per_path=5000)
    corr = np.corrcoef(z)[np.triu_indices(200, 1)]
    # each correlation has standard error 1/sqrt(5000); the max over 19900 pairs stays < 5 se
    assert np.max(np.abs(corr)) < 5.5 / np.sqrt(5000)
    assert abs(corr.mean()) < 5 / np.sqrt(5000 * corr.size)
    other = standard_normals(seed=4, n_paths=200, n_per_path=5000)
    assert abs(np.corrcoef(z.ravel(), other.ravel())[0, 1]) < 5 / np.sqrt(z.size)


def test_stream_depends_only_on_seed_and_path_index():
    full = standard_normals(seed=9, n_paths=10, n_per_path=300)
    part = standard_normals(seed=9, n_paths=3, n_per_path=300, first_path=4)
    np.testing.assert_array_equal(full[4:7], part)


def _free(x, t, p, out):
    out[:] = 0.0


def test_engine_consumes_the_documented_normals():
    # f = 0, D = I, eps = 1/2, dt = 1: X_n = sum of the path's normals, d per step.
    system = System(drift=_free, D=np.eye(3), name="free")
    res = ensemble(
        system, np.zeros(3), 0.5, t_span=(0.0, 5.0), dt=1.0, n_paths=7, seed=5, save="all"
    )
    z = standard_normals(seed=5, n_paths=7, n_per_path=15).reshape(7, 5, 3)
    np.testing.assert_allclose(res.paths[:, 1:], np.cumsum(z, axis=1), rtol=0, atol=1e-12)
