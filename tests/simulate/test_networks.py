"""Network-sized systems: the oscillator ring's twisted states against the closed-form
spectrum, the rate network, and the batched engine (bit-identical to the per-path engine
where it should be, and whatever the chunking)."""

import dataclasses

import joblib
import numpy as np
import pytest

from simulate import Status, System, ensemble, ensemble_batched, standard_normals, zoo
from simulate._random import WORDS_PER_REFILL


@pytest.mark.parametrize("n", [8, 16, 32])
def test_twisted_spectrum_matches_the_jacobian(n):
    ring = zoo.oscillator_ring(n=n)
    twists = [k for k in ring.states if k.startswith("twist_")]
    assert len(twists) >= 3
    for name in twists:
        q = int(name.removeprefix("twist_"))
        x = ring.point(name)
        np.testing.assert_allclose(ring.f(x), 0.0, atol=1e-13)
        eig = np.sort(np.linalg.eigvals(ring.jacobian(x)).real)[::-1]
        np.testing.assert_allclose(eig, zoo.twisted_spectrum(q, n), atol=1e-11)
        # stable iff all but the one zero (U(1)) eigenvalue are negative
        assert zoo.twist_is_stable(q, n) == (eig[1] < -1e-12 and abs(eig[0]) < 1e-11)


def test_stable_twists_at_the_defaults():
    assert [q for q in range(-7, 9) if zoo.twist_is_stable(q, 16)] == [-1, 0, 1]
    assert [q for q in range(-15, 17) if zoo.twist_is_stable(q, 32)] == [-2, -1, 0, 1, 2]


def test_phase_rotation_is_a_symmetry_of_the_ring():
    ring = zoo.oscillator_ring(n=8, mu=0.7, coupling=0.3)
    (g,) = ring.generators
    np.testing.assert_allclose(g.A, -g.A.T)
    x = np.random.default_rng(1).normal(size=(20, 16))
    np.testing.assert_allclose(
        np.einsum("nij,nj->ni", ring.jacobian(x), g(x)), ring.f(x) @ g.A.T, atol=1e-12
    )


def _random_rate_network(d, seed=0, phi="tanh"):
    rng = np.random.default_rng(seed)
    return zoo.rate_network(rng.normal(size=(d, d)) * 1.5 / np.sqrt(d), rng.normal(size=d), phi)


@pytest.mark.parametrize("phi", ["tanh", "logistic"])
def test_rate_network_drift_jacobian_and_batched_drift(phi):
    net = _random_rate_network(6, phi=phi)
    W, b = net.params[:36].reshape(6, 6), net.params[36:42]
    x = np.random.default_rng(2).normal(size=(5, 6))
    act = np.tanh(x) if phi == "tanh" else 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(net.f(x), -x + act @ W.T + b, atol=1e-13)
    out = np.empty_like(x)
    net.batched_drift(x, 0.0, net.params, out)
    np.testing.assert_allclose(out, net.f(x), atol=1e-13)
    numeric = dataclasses.replace(net, jac=None).jacobian(x)
    np.testing.assert_allclose(net.jacobian(x), numeric, rtol=1e-6, atol=1e-8)


def test_bad_network_input_names_the_argument():
    with pytest.raises(ValueError, match="`W`"):
        zoo.rate_network(np.ones((2, 3)))
    with pytest.raises(ValueError, match="`b`"):
        zoo.rate_network(np.eye(2), [1.0])
    with pytest.raises(ValueError, match="`phi`"):
        zoo.rate_network(np.eye(2), phi="relu")
    with pytest.raises(ValueError, match="`n`"):
        zoo.oscillator_ring(n=1)


def test_batched_drift_checked_against_drift():
    def decay(x, t, p, out):
        out[0] = -x[0]

    def wrong(X, t, p, out):
        out[:] = 2 * X

    with pytest.raises(ValueError, match="`batched_drift` disagrees"):
        System(drift=decay, D=np.eye(1), batched_drift=wrong)
    with pytest.raises(ValueError, match="no `batched_drift`"):
        ensemble_batched(zoo.monostable(), [0.0, 0.0], 1.0, t_span=1.0)


def test_batched_engine_equals_the_per_path_engine_bit_for_bit():
    # the ring's batched drift does the per-path drift's operations in its order, D = I
    ring = zoo.oscillator_ring(n=4, mu=1.0, coupling=0.1)
    kw = {"t_span": 0.5, "dt": 0.01, "n_paths": 50, "seed": 5, "save": 3}
    a = ensemble(ring, "sync", 0.2, **kw)
    b = ensemble_batched(ring, "sync", 0.2, block_paths=16, **kw)
    np.testing.assert_array_equal(a.paths, b.paths)
    np.testing.assert_array_equal(a.final, b.final)
    np.testing.assert_array_equal(a.path_status, b.path_status)


@pytest.mark.parametrize("d", [48, 200])
def test_noise_layout_is_the_per_path_streams(d):
    # x' = -x with W = 0: x_1 = x_0 (1 - dt) + amp z_0, so x_n - x_{n-1}(1 - dt) = amp z_n
    net = zoo.rate_network(np.zeros((d, d)))
    dt, eps, n = 0.01, 0.5, 4
    res = ensemble_batched(net, np.zeros(d), eps, t_span=n * dt, dt=dt, n_paths=3, save="all")
    z = (res.paths[:, 1:] - res.paths[:, :-1] * (1 - dt)) / np.sqrt(2 * eps * dt)
    words = standard_normals(0, 3, 2 * n * WORDS_PER_REFILL)
    if d <= WORDS_PER_REFILL:
        per_refill = WORDS_PER_REFILL // d
        idx = [(k // per_refill) * WORDS_PER_REFILL + (k % per_refill) * d for k in range(n)]
    else:
        idx = [k * 2 * WORDS_PER_REFILL for k in range(n)]
    expect = np.stack([words[:, i : i + d] for i in idx], axis=1)
    np.testing.assert_allclose(z, expect, atol=1e-10)


REPRO = {"t_span": 0.3, "dt": 0.01, "n_paths": 200, "seed": 9, "save": 4, "block_paths": 64}


def _reproduce(**kwargs):
    res = ensemble_batched(_random_rate_network(64), np.zeros(64), 0.3, **REPRO, **kwargs)
    return res.paths, res.final


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_threads": 2},
        {"n_threads": 1, "chunk_size": 64},
        {"n_threads": 2, "chunk_size": 100},
        {"n_jobs": 2, "n_threads": 1, "chunk_size": 64},
    ],
)
def test_batched_bit_identical_whatever_the_parallelism(kwargs):
    ref = _reproduce(n_threads=1)
    for r, g in zip(ref, _reproduce(**kwargs), strict=True):
        np.testing.assert_array_equal(r, g)


def test_batched_bit_identical_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    ref = _reproduce(n_threads=1)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        got = _reproduce(n_jobs=2, n_threads=1, chunk_size=64)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_array_equal(r, g)


def _cubic(x, t, p, out):
    out[0] = x[0] ** 3


def _cubic_block(X, t, p, out):
    out[:] = X**3


def test_batched_nonfinite_paths_are_flagged_and_frozen():
    system = System(drift=_cubic, batched_drift=_cubic_block, D=np.eye(1), name="cubic")
    x0 = np.array([[0.0], [5.0]])
    res = ensemble_batched(system, x0, 0.01, t_span=1.0, dt=0.01, n_paths=2, save="all")
    assert res.path_status.tolist() == [Status.RUNNING, Status.NON_FINITE]
    assert res.status == Status.NON_FINITE and not res.success
    assert not np.isfinite(res.final[1, 0]) and np.isfinite(res.stop_time[1])
    last = int(round((res.stop_time[1] - 0.0) / res.dt))
    assert np.all(np.isnan(res.paths[1, last + 1 :]))
