"""The oscillator_ring study (issue 15, item 4): the twist transition sync -> twist_1.

Its configuration (JSON unions of balls, a zoo reaction coordinate, in the study's
identity), the ring's discrete symmetry, the tube quotiented by U(1) x Z_N, its levels
by the a-priori criterion, and (slow) its quick run judged by the one rule."""

import json
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pandas as pd
import pytest

from simulate import DiscreteSymmetry, System, Union, zoo
from validate import tube_statistics
from validate._catalogue import parts
from validate._report import judge
from validate._runner import ReferenceStudy, _reaction_coordinate, _stop_set, run_study
from validate._study import check_same_study
from validate._tubes import symmetry_flow
from validate._twist import TWIST_MAX_RATIO, sync_distance, twist_end_ratio, twist_geometry


def test_ring_shift_is_a_declared_symmetry_of_order_n():
    ring = zoo.oscillator_ring(8)
    (shift,) = ring.discrete
    assert shift.name == "shift" and shift.order == 8
    x = zoo.twisted_state(1, 8, 1.0, 1.0, 0.3)
    # z_k -> z_{k+1} turns twist_1 by 2 pi / N
    np.testing.assert_allclose(x @ shift.M.T, zoo.twisted_state(1, 8, 1.0, 1.0, 0.3 + np.pi / 4))


def test_system_refuses_a_discrete_map_that_is_no_symmetry():
    ring = zoo.oscillator_ring(4)
    swap = np.eye(8)[[1, 0, 2, 3, 4, 5, 6, 7]]  # Re z_0 <-> Im z_0: no symmetry of the drift
    with pytest.raises(ValueError, match="not a symmetry of the drift"):
        System(drift=ring.drift, D=np.eye(8), params=ring.params,
               discrete=(DiscreteSymmetry(swap, "swap"),))  # fmt: skip
    # complex conjugation on every site is one: f(conj z) = conj f(z)
    conj = np.kron(np.eye(4), np.diag([1.0, -1.0]))
    ok = System(drift=ring.drift, D=np.eye(8), params=ring.params,
                discrete=(DiscreteSymmetry(conj, "conj"),))  # fmt: skip
    assert ok.discrete[0].order == 2


def test_tube_aligns_paths_by_ring_shift_and_phase():
    """Images of the reference under U(1) x Z_N, plus small noise: aligned, each path is
    as close to the reference as its noise; without the quotient it is far."""
    ring = zoo.oscillator_ring(8)
    (u1,), (shift,) = ring.generators, ring.discrete
    s = np.linspace(0, 1, 120)[:, None]
    a, b = zoo.twisted_state(0, 8, 1, 1, 0.0), zoo.twisted_state(1, 8, 1, 1, 0.0)
    ref = (1 - s) * a + s * b + 0.2 * np.sin(np.pi * s) * np.roll(a, 3)
    rng = np.random.default_rng(0)
    elements = shift.elements()
    paths, truth = [], []
    for k, angle in ((3, 0.7), (5, -2.0), (0, 1.1), (6, 2.9)):
        R = symmetry_flow(u1, angle)[0]
        # the path is g ref, g = R M^(-k): mapped back by M^k and the flow -angle
        paths.append(ref @ (R @ elements[-k % 8]).T + 0.01 * rng.normal(size=ref.shape))
        truth.append((k, angle))
    tb = tube_statistics(paths, ref, align="progress", symmetry=u1, discrete=ring.discrete)
    assert tb.l2.max() < 0.05
    for (k, angle), j, th in zip(truth, tb.element, tb.theta, strict=True):
        # the path R(angle) M^(-k) ref is mapped back by R(-theta) M^j
        assert j == k
        assert np.angle(np.exp(1j * (th - angle))) == pytest.approx(0.0, abs=1e-2)
    one = tube_statistics(paths, ref, align="progress", symmetry=u1, discrete=shift)
    np.testing.assert_array_equal(one.element, tb.element)  # one DiscreteSymmetry as is
    only_phase = tube_statistics(paths, ref, align="progress", symmetry=u1)
    assert np.median(only_phase.l2) > 10 * tb.l2.max()


def test_json_sets_and_zoo_reaction_coordinate():
    balls = [{"kind": "ball", "center": [float(i), 0.0], "radius": 0.5} for i in range(3)]
    u = _stop_set({"kind": "union", "sets": balls})
    assert isinstance(u, Union) and len(u.primitives()) == 3
    assert u.contains(np.array([[2.2, 0.1], [1.5, 0.2]])).tolist() == [True, False]
    with pytest.raises(ValueError, match="non-empty list"):
        _stop_set({"kind": "union", "sets": []})
    with pytest.raises(ValueError, match="of kind 'ball', 'halfspace' or 'union'"):
        _stop_set({"kind": "shell"})
    rc = _reaction_coordinate({"kind": "zoo", "name": "ring_fourier_power", "params": [1.0]})
    x = zoo.twisted_state(1, 16, 1.0, 1.0)
    assert rc(x) == pytest.approx(1 - 4 * np.sin(np.pi / 16) ** 2)
    with pytest.raises(ValueError, match="no function"):
        _reaction_coordinate({"kind": "zoo", "name": "nope"})
    with pytest.raises(ValueError, match="could not be compiled"):  # not an xi(x, params)
        _reaction_coordinate({"kind": "zoo", "name": "oscillator_ring"})


def test_a_changed_set_is_another_study(tmp_path):
    """The sets are in the study's identity: a folder holding the study with other balls
    is refused before any work."""
    cfg = parts("oscillator_ring", quick=True)[0]  # the AMS part (then phase_turn)
    cfg = replace(cfg, root=str(tmp_path))
    opts = dict(cfg.sampler_options)
    B = json.loads(json.dumps(opts["B"]))
    B["sets"][0]["radius"] = 1.3
    other = replace(cfg, sampler_options=opts | {"B": B})
    folder = tmp_path / cfg.name
    folder.mkdir()
    (folder / "config.json").write_text(cfg.to_json())
    check_same_study(folder, json.loads(cfg.to_json()), cfg.to_json())  # the same: fine
    with pytest.raises(ValueError, match="sampler_options"):
        ReferenceStudy(other).run()


def test_twist_geometry_and_levels():
    g = twist_geometry()
    ring = zoo.oscillator_ring(16)
    assert g.barrier == pytest.approx(1.2840063355, abs=1e-9)  # docs/networks.md
    assert sync_distance(g.x0) == pytest.approx(2.8, abs=0.01)
    ref = g.reference
    assert np.allclose(ref[0], g.x0) and zoo.ring_winding(ref[-1]) == 1
    # the reference passes the saddle, the highest point of V on it
    v = zoo.ring_potential(ref)
    assert v.max() == pytest.approx(zoo.ring_potential(g.saddle), abs=1e-3)
    assert g.action == pytest.approx(zoo.ring_potential(g.saddle) - zoo.ring_potential(
        g.x0))  # fmt: skip
    assert np.linalg.norm(ring.f(g.saddle, 0.0)) < 1e-10
    for quick in (True, False):
        cfg = parts("oscillator_ring", quick=quick)[0]
        eps = np.array(cfg.eps_grid)
        assert eps.size == (3 if quick else 4)
        assert np.all(twist_end_ratio(eps) <= TWIST_MAX_RATIO)
        assert cfg.symmetry == ["U1", "shift"]
        # rounded: the study's identity (JSON, compared on resume) must not carry the
        # last bits of an ODE solve
        assert cfg.theory == {"H": 0.0, "U1": 0.0, "action": round(g.action, 10)}
        assert cfg.sampler_options["x0"] == g.x0.round(12).tolist()
        assert cfg.instanton["path"] == g.reference.round(12).tolist()
        for part in ("A", "B"):
            c = np.array([b["center"] for b in cfg.sampler_options[part]["sets"]])
            np.testing.assert_array_equal(c, c.round(12))


def test_twist_geometry_is_shared_and_cannot_be_changed():
    g = twist_geometry()
    assert twist_geometry() is g  # computed once (an ODE solve)
    x0 = g.x0.copy()
    for name in ("saddle", "x0", "reference"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(g, name)[0] += 1.0
    with pytest.raises(FrozenInstanceError):
        g.action = 0.0
    np.testing.assert_array_equal(twist_geometry().x0, x0)


@pytest.mark.slow
def test_quick_study_runs_and_is_judged_by_the_rule(tmp_path):
    res = run_study("oscillator_ring", quick=True, out=tmp_path, progress=False)
    v = res.verdicts
    assert set(v["kind"]) == {"charge", "tube", "action"}
    assert set(v.loc[v["kind"] == "charge", "quantity"]) == {"H", "U1"}
    for r in v.itertuples():
        inside, verdict = judge(r.theory, r.ci_low, r.ci_high, r.asymptotic)
        assert verdict == r.verdict
    paths = pd.read_parquet(tmp_path / "oscillator_ring" / "ams" / "summary.parquet")
    assert (paths.query("statistic == 'tube_l2_q0.5'")["value"] > 0).all()
