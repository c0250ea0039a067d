"""`System.autonomous`: declared by the user or checked numerically, never assumed."""

import numpy as np
import pytest

from simulate import System, zoo
from theory import instanton


def forced_ou(**kw) -> System:
    """dX = (-X + a cos(omega t)) dt + sqrt(2 eps) dW: a drift that reads t."""

    def drift(x, t, p, out):
        out[0] = -x[0] + p[0] * np.cos(p[1] * t)

    def jac(x, t, p, out):
        out[0, 0] = -1.0

    return System(drift=drift, jac=jac, D=1.0, dim=1, params=[0.8, 2.0], **kw)


def forced_ou_action(x0: float, x1: float, T: float, a: float, omega: float) -> float:
    """Closed form: y = x - m(t) with m' = -m + a cos(omega t) is an OU process, so
    S_T = (y1 - y0 e^{-T})^2 / (2 (1 - e^{-2T})), m(t) = a (cos wt + w sin wt) / (1 + w^2)."""

    def m(t):
        return a * (np.cos(omega * t) + omega * np.sin(omega * t)) / (1 + omega**2)

    y0, y1 = x0 - m(0.0), x1 - m(T)
    return (y1 - y0 * np.exp(-T)) ** 2 / (2 * (1 - np.exp(-2 * T)))


def test_a_drift_that_reads_t_is_not_autonomous():
    s = forced_ou()
    assert s.autonomous is False
    assert forced_ou(autonomous=False).autonomous is False
    with pytest.raises(ValueError, match="autonomous"):
        forced_ou(autonomous=True)
    # a parameter that switches the forcing off makes it autonomous, checked again
    assert s.with_params().autonomous is False
    off = System(drift=s.drift, jac=s.jac, D=1.0, dim=1, params=[0.0, 2.0])
    assert off.autonomous is True
    # the zoo: only the reverse diffusion (schedule and score depend on t) reads t
    assert not zoo.get("reverse_diffusion_ring").autonomous
    assert zoo.get("monostable").autonomous and zoo.get("maier_stein").autonomous


def test_declared_non_autonomous_is_kept():
    s = zoo.get("monostable")
    t = System(drift=s.drift, D=s.D, params=s.params, autonomous=False)
    assert t.autonomous is False
    assert t.with_params().autonomous is False


def test_instanton_of_a_drift_that_reads_t_gets_no_energy_retiming():
    s = forced_ou()
    T = 2.0
    inst = instanton(s, [0.0], [1.0], T=T)
    assert inst.success, inst.message
    assert inst.diagnostics["galerkin_energy_drift"] == []  # no re-timing at one energy
    assert not inst.charges.conserved["H"]
    assert inst.action == pytest.approx(forced_ou_action(0.0, 1.0, T, 0.8, 2.0), rel=1e-8)


def test_a_schedule_counts_only_when_it_changes_with_t():
    s = zoo.get("monostable")

    def constant(t, p):
        return 2.0

    def growing(t, p):
        return 1.0 + t

    assert System(drift=s.drift, D=s.D, params=s.params, schedule=constant).autonomous is True
    assert System(drift=s.drift, D=s.D, params=s.params, schedule=growing).autonomous is False
    with pytest.raises(ValueError, match="autonomous"):
        System(drift=s.drift, D=s.D, params=s.params, schedule=growing, autonomous=True)
