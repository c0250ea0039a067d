"""Parameter continuation of instantons, infinite time and finite T (issue 14)."""

import numpy as np
import pytest

from simulate import zoo
from tests.closed_forms import OU_END, OU_START, diagonal_ou_action
from theory import continuation


@pytest.fixture(scope="module")
def maier_stein():
    return continuation(
        zoo.get("maier_stein"), "left", "saddle", param="alpha", values=np.linspace(1, 10, 91)
    )


def test_maier_stein_pitchfork_at_alpha_4(maier_stein):
    # For mu = 1 the on-axis exit path is a minimum of the geometric action for alpha < 4
    # and a saddle beyond (Maier & Stein): the off-axis pair branches off there.
    c = maier_stein
    (ex,) = c.events[c.events.event == "stability exchange"].itertuples()
    assert ex.branch == 0 and "minimum -> saddle" in ex.detail
    assert abs(ex.param - 4.0) < 1e-3 and ex.error < 1e-3
    assert abs(ex.param - 4.0) <= ex.error
    appears = c.events[c.events.event == "appears"]
    assert len(appears) == 2 and np.allclose(appears.param, ex.param)
    f = c.frame
    axis = f[f.branch == 0]
    assert np.allclose(axis.action, 0.25, atol=1e-9)
    assert (axis.kind == np.where(axis.param < ex.param, "minimum", "saddle")).all()
    # the off-axis pair: mirror images, equal actions, below the axis' 1/4, minima
    pair = f[f.branch.isin(appears.branch)]
    assert (pair.kind == "minimum").all() and (pair.action < 0.25).all()
    a, b = (pair[pair.branch == k].action.to_numpy() for k in appears.branch)
    assert np.allclose(a, b, rtol=1e-9)
    assert f.success.all()


def test_continuation_agrees_with_direct_solves(maier_stein):
    from theory import instanton

    f = maier_stein.frame
    for alpha in (6.0, 10.0):
        direct = instanton(zoo.get("maier_stein", alpha=alpha), "left", "saddle", T=None)
        row = f[np.isclose(f.param, alpha) & (f.kind == "minimum")].iloc[0]
        assert row.action == pytest.approx(direct.action, rel=1e-7)


def test_continuation_refuses_bad_input():
    s = zoo.get("maier_stein")
    with pytest.raises(ValueError, match="`param`"):
        continuation(s, "left", "saddle", param="beta", values=[1, 2])
    with pytest.raises(ValueError, match="`values`"):
        continuation(s, "left", "saddle", param="alpha", values=[1, 3, 2])
    with pytest.raises(ValueError, match="`T`"):
        continuation(s, "left", "saddle", param="alpha", values=[1, 2], T=-1.0)
    with pytest.raises(ValueError, match="`waypoints`.*finite `T`"):
        continuation(s, "left", "saddle", param="alpha", values=[1, 2], waypoints=["right"])


def test_finite_t_follows_the_ou_minimum_exactly():
    # f = -diag(k, 1) x (monostable's K00 = k), T = 1: one minimum, its action in closed
    # form at every k, H conserved; warm starts from the previous k.
    values = [1.0, 1.5, 2.0]
    c = continuation(zoo.monostable(), OU_START, OU_END, T=1.0, param="K00", values=values, n=40)
    f = c.frame
    assert list(f.param) == values and (f.branch == 0).all() and f.success.all()
    assert (f.kind == "minimum").all() and c.events.empty
    exact = [diagonal_ou_action([k, 1.0], 1.0) for k in values]
    assert np.allclose(f.action, exact, rtol=1e-7, atol=0)
    assert (f.H_scaled_drift <= 1e-6).all()


def test_finite_t_reports_the_saddle_and_the_pair_that_appears():
    # Maier–Stein at T = 10 from the straight start: on the axis a minimum at alpha = 2,
    # a saddle at alpha = 8, where the solver leaves it to the mirror pair of minima.
    c = continuation(
        zoo.get("maier_stein"), "left", "saddle", T=10.0, param="alpha", values=[2.0, 8.0]
    )
    f, ev = c.frame, c.events
    axis = f[f.branch == 0]
    assert list(axis.kind) == ["minimum", "saddle"] and axis.success.all()
    assert axis.min_eig.iloc[1] < 0 and np.isnan(axis.min_eig.iloc[0])
    (ex,) = ev[ev.event == "stability exchange"].itertuples()
    assert ex.branch == 0 and ex.param == 5.0 and ex.error == 3.0
    appears = ev[ev.event == "appears"]
    assert len(appears) == 2
    pair = f[f.branch.isin(appears.branch)]
    assert (pair.kind == "minimum").all() and (pair.param == 8.0).all()
    assert np.allclose(pair.action, pair.action.iloc[0], rtol=1e-6)
    assert (pair.action < axis.action.iloc[1]).all()
