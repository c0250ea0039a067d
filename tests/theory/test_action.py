"""Pin the conventions of the action, momentum and quasi-energy (docs/conventions.md) to
closed forms."""

import numpy as np
import pytest

from simulate import zoo
from tests.closed_forms import ou_instanton
from theory import action, charges, hamilton_flow, hamiltonian, momentum

OU1 = ou_instanton(1.0)


def test_drift_diffusion_paper_path():
    s = zoo.get("drift_diffusion")
    t = np.linspace(0.0, 1.0, 41)
    x = 0.5 - 1.5 * t
    assert action(s, x, t) == pytest.approx(1.6**2 / 2, rel=1e-12)  # p^T D p T, D = 1/2
    np.testing.assert_allclose(momentum(s, x, t), -1.6, rtol=1e-12)
    np.testing.assert_allclose(momentum(s, x, t, at="midpoints"), -1.6, rtol=1e-12)


def test_monostable_closed_form_values():
    s = zoo.get("monostable")
    t = np.linspace(0.0, 1.0, 4001)
    X = OU1.path(t)
    assert action(s, X, t) == pytest.approx(OU1.action, rel=1e-6)
    c = charges(s, X, t)
    assert c.mean("H") == pytest.approx(OU1.energy, rel=1e-6)
    assert c.mean("L") == pytest.approx(OU1.angular_momentum, rel=1e-6)
    frame = c.to_frame()
    assert set(frame["charge"]) == {"H", "L"}
    assert len(frame) == 2 * t.size


def test_nonuniform_grid_and_time_dependent_D():
    # For f = 0 and D(t) = d(t), the action of x = t is 1/4 ∫ 1/d(t) dt.
    s = zoo.get("reverse_diffusion_ring")
    t1 = s.params[2]
    tau = np.sort(t1 - np.logspace(1.5, -0.4, 400))
    d = s.diffusion_scale(tau)
    assert np.allclose(d, t1 - tau)
    p = momentum(s, np.column_stack([tau, tau]), tau)
    assert p.shape == (400, 2)


def test_hamiltonian_formula():
    s = zoo.get("monostable")
    x, p = np.array([1.0, 2.0]), np.array([0.5, -0.25])
    assert hamiltonian(s, x, p) == pytest.approx(p @ p + p @ (-x))
    H = hamiltonian(s, np.array([x, x]), np.array([p, p]))
    assert H.shape == (2,)


def test_hamilton_flow_retraces_closed_form():
    s = zoo.get("monostable")
    t = np.linspace(0.0, 1.0, 2001)
    X = OU1.path(t)
    P = momentum(s, X, t)
    flow = hamilton_flow(s, X[1000], P[1000], (0.5, 1.0), t_eval=t[1000:])
    assert flow.success
    np.testing.assert_allclose(flow.x, X[1000:], atol=1e-6)
    back = hamilton_flow(s, X[1000], P[1000], (0.5, 0.0), t_eval=t[1000::-1])
    np.testing.assert_allclose(back.x, X[1000::-1], atol=1e-6)
    assert "action" in flow.to_frame()


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(path=np.zeros((5, 3))), "path"),
        (dict(t=np.zeros(5)), "t"),
        (dict(path=np.full((5, 2), np.nan)), "path"),
    ],
)
def test_errors_name_the_argument(bad, match):
    s = zoo.get("monostable")
    kw = dict(path=np.zeros((5, 2)), t=np.linspace(0, 1, 5))
    kw.update(bad)
    with pytest.raises(ValueError, match=f"`{match}`"):
        action(s, kw["path"], kw["t"])


@pytest.mark.parametrize(
    "name, params", [("maier_stein", {"alpha": 6.0}), ("reverse_diffusion_ring", {})]
)
def test_hamilton_jacobian_matches_finite_differences(name, params):
    from theory._hamilton import hamilton_jac, hamilton_rhs

    s = zoo.get(name, **params)
    d = s.dim
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(2 * d + 1, 7))
    Y[:d] *= 2.0
    t = np.linspace(1.0, 3.0, 7)
    J = hamilton_jac(s, t, Y)
    for c in range(2 * d + 1):
        e = np.zeros_like(Y)
        e[c] = 1e-6
        fd = (hamilton_rhs(s, t, Y + e) - hamilton_rhs(s, t, Y - e)) / 2e-6
        np.testing.assert_allclose(J[:, c], fd, rtol=1e-5, atol=1e-6)
