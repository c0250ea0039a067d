"""The oscillator ring's phase turn (issue 15, item 4): the twisted state q = 1 of the
N = 16 ring conditioned on the phase of Z_1 having turned past 1 rad at T = 2.

The 32-D instanton against the exact 2-D reduction (action, U(1) charge, H, and the
free end's transversality in all 32 dimensions), the end set's geometry, the importance
sampler's probability against brute force, the study's configuration, and (slow) the quick
study's U(1) verdict."""

from dataclasses import replace

import numpy as np
import pytest

from simulate import HalfSpace, zoo
from theory import instanton
from validate._catalogue import parts
from validate._report import write_report
from validate._ring_phase import TURN_A, TURN_N, TURN_T, phase_turn, phase_turn_normal
from validate._runner import ReferenceStudy
from validate._samplers import Endpoint

Z = 4.0  # tolerance in standard errors


def _phase_turn_part(quick):
    (cfg,) = [c for c in parts("oscillator_ring", quick=quick) if c.name == "phase_turn"]
    return cfg


@pytest.fixture(scope="module")
def turn():
    return phase_turn()


@pytest.fixture(scope="module")
def ring():
    return zoo.oscillator_ring(TURN_N)


def test_reduction_is_the_32d_instanton_and_its_end_is_free(turn, ring):
    # the banded Newton solver on all 32 coordinates knows nothing of the reduction
    inst = instanton(ring, "twist_1", turn.end, TURN_T)
    assert inst.success
    assert inst.action == pytest.approx(turn.action, rel=1e-9)
    assert inst.charges.mean("U1") == pytest.approx(turn.U1, rel=1e-8)
    assert inst.charges.mean("H") == pytest.approx(turn.H, rel=1e-8)
    assert inst.charges.holds(1e-8)["U1"]
    assert turn.U1 > 2.9  # not zero: the turn carries U(1) charge
    # free end on the boundary of G_a: dS/dx_end = p(T) is normal to it, in 32 dimensions
    nu = phase_turn_normal(TURN_N, TURN_A)
    nu /= np.linalg.norm(nu)
    p = inst.p[-1]
    assert np.linalg.norm(p - (p @ nu) * nu) < 1e-7 * np.linalg.norm(p)
    assert p @ nu > 0.5  # pushing the end further into G_a would cost more
    # the free end is cheaper than the twisted state itself turned (rho = 1)
    fixed = phase_turn(free_end=False)
    assert 0.9 < turn.rho < 1.0 and turn.action < fixed.action


def test_the_end_set_is_the_phase_of_z1_past_a(ring):
    nu = phase_turn_normal(TURN_N, TURN_A)
    x = np.random.default_rng(0).normal(size=(50, 2 * TURN_N))
    z = x[:, 0::2] + 1j * x[:, 1::2]
    z1 = np.mean(z * np.exp(-2j * np.pi * np.arange(TURN_N) / TURN_N), axis=1)
    np.testing.assert_allclose(x @ nu, TURN_N * np.imag(np.exp(-1j * TURN_A) * z1), atol=1e-12)
    for da, inside in ((-0.01, False), (0.01, True), (np.pi - 0.01, True), (np.pi + 0.01, False)):
        state = zoo.twisted_state(1, TURN_N, 1.0, 1.0, TURN_A + da)
        assert (state @ nu >= 0) == inside


def test_guided_probability_matches_brute_force(turn, ring):
    # eps = 0.4, where brute force sees the event (P ~ 0.03): the importance-sampled
    # estimate (paths along the instanton, reweighted) is the same probability
    target = HalfSpace(phase_turn_normal(TURN_N, TURN_A), 0.0)
    guide = instanton(ring, "twist_1", turn.end, TURN_T)
    guided = Endpoint("twist_1", TURN_T, target, dt=0.01, guide=guide).sample(ring, 0.4, 1500, 1)
    brute = Endpoint("twist_1", TURN_T, target, dt=0.01, save=200).sample(ring, 0.4, 6000, 2)
    assert brute.n > 100 and guided.n > 1000
    se = np.hypot(guided.probability_se, brute.probability_se)
    assert abs(guided.probability - brute.probability) < Z * se
    assert 0.02 < guided.probability < 0.04


@pytest.mark.parametrize("quick", [True, False])
def test_phase_turn_study_configuration(quick, turn, ring):
    cfg = _phase_turn_part(quick)
    eps = np.array(cfg.eps_grid)
    assert eps.size >= 4 and eps.max() / eps.min() >= 8
    assert cfg.theory["U1"] == pytest.approx(turn.U1, abs=1e-9)
    assert cfg.theory["action"] == pytest.approx(turn.action, abs=1e-9)
    np.testing.assert_allclose(cfg.instanton["x_end"], turn.end, atol=1e-12)
    normal = np.array(cfg.sampler_options["target"]["normal"])  # rounded: the identity
    np.testing.assert_array_equal(normal, normal.round(12))
    study = ReferenceStudy(cfg)
    smp = study.sampler(reference="the reference")
    assert isinstance(smp.target, HalfSpace) and smp.guide == "the reference"
    assert smp.target.contains(zoo.twisted_state(1, TURN_N, 1.0, 1.0, 1.1))
    assert not smp.target.contains(zoo.twisted_state(1, TURN_N, 1.0, 1.0, 0.9))


@pytest.mark.slow
def test_quick_phase_turn_u1_charge_converges_to_the_reduction(tmp_path, turn):
    cfg = replace(_phase_turn_part(True), root=str(tmp_path))
    ReferenceStudy(cfg).run(figures=False)
    _, v = write_report(tmp_path / cfg.name)
    v = v.set_index("quantity")
    u1 = v.loc["U1"]
    assert u1.ci_low <= turn.U1 <= u1.ci_high and u1.ci_low > 2.0
    assert v.loc["S"].ci_low <= turn.action <= v.loc["S"].ci_high


def test_a_2d_instanton_that_fails_inside_the_root_search_is_an_error(monkeypatch):
    import theory

    real, calls = theory.instanton, []

    def fails_once(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # a trial radius of the root search
            out = replace(out, success=False, message="forced failure")
        return out

    monkeypatch.setattr(theory, "instanton", fails_once)
    with pytest.raises(RuntimeError, match="did not converge: forced failure"):
        phase_turn()


def test_study_sets_in_json_name_what_is_wrong():
    from validate._runner import _stop_set

    h = _stop_set({"kind": "halfspace", "normal": [0.0, 2.0], "offset": 1.0})
    assert isinstance(h, HalfSpace) and h.contains([0.0, 0.5]) and not h.contains([0.0, 0.4])
    with pytest.raises(ValueError, match="halfspace"):
        _stop_set({"kind": "cylinder"})
