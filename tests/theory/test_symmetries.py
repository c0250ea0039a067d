"""find_symmetries finds exactly the continuous symmetries of the zoo's systems."""

import numpy as np
import pytest

from simulate import zoo
from theory import find_symmetries, fixed_points


@pytest.mark.parametrize("name", ["monostable", "rotating_ring", "reverse_diffusion_ring"])
def test_rotation(name):
    sym = find_symmetries(zoo.get(name))
    assert len(sym) == 1
    assert sym.kinds == ("rotation",)
    assert sym.status == ("exact",)
    assert sym.residuals[0] < 1e-10
    # Oriented like simulate.rotation: the charge is L = x p_y - y p_x.
    np.testing.assert_allclose(sym.generators[0].A, [[0.0, -1.0], [1.0, 0.0]], atol=1e-12)


def test_drift_diffusion_one_translation_reported_approximate():
    sym = find_symmetries(zoo.get("drift_diffusion"))
    assert len(sym) == 1
    assert sym.kinds == ("translation",)
    assert sym.status == ("approximate",)
    assert "bounds" in sym.notes[0]


def test_isotropic_ou_so3():
    sym = find_symmetries(zoo.get("ornstein_uhlenbeck", dim=3))
    assert len(sym) == 3
    assert set(sym.kinds) == {"rotation"}
    for g in sym.generators:
        np.testing.assert_allclose(g.A, -g.A.T, atol=1e-12)


@pytest.mark.parametrize(
    "name, kw",
    [
        ("maier_stein", {}),
        ("maier_stein", {"alpha": 5.0}),
        ("decision_memory", {}),
        ("double_well", {}),
    ],
)
def test_no_continuous_symmetry(name, kw):
    sym = find_symmetries(zoo.get(name, **kw))
    assert len(sym) == 0
    assert "name" in sym.to_frame().columns or len(sym.to_frame()) == 0


def test_fixed_points_classified():
    fp = fixed_points(zoo.get("maier_stein"))
    kinds = sorted((p.kind, p.index) for p in fp)
    assert kinds == [("saddle", 1), ("stable", 0), ("stable", 0)]
    saddle = fp.of_kind("saddle")[0]
    np.testing.assert_allclose(saddle.x, [0.0, 0.0], atol=1e-10)
    dw = fixed_points(zoo.get("double_well"))
    assert sorted(p.kind for p in dw) == ["stable", "stable", "unstable"]
    assert len(fixed_points(zoo.get("decision_memory")).of_kind("stable")) == 4
    assert len(fixed_points(zoo.get("drift_diffusion"))) == 0
    assert {"kind", "index", "eig0"} <= set(fp.to_frame().columns)


def test_fixed_points_guesses_as_an_array():
    # a grid of one point and no nullcline scan: only the guesses can find the saddle
    fp = fixed_points(zoo.get("maier_stein"), guesses=np.array([[0.05, 0.02]]), n_grid=1, n_scan=0)
    np.testing.assert_allclose(fp.of_kind("saddle")[0].x, [0.0, 0.0], atol=1e-10)


def test_fixed_points_decision_memory_saddles():
    # The saddles sit in the width-n = 0.01 switching layers (u = c = 1.5), between grid
    # points: found from the nullcline scan, with the x <-> y exchange symmetry.
    s = zoo.get("decision_memory")
    fp = fixed_points(s)
    assert sorted((p.kind, p.index) for p in fp) == [("saddle", 1)] * 4 + [("stable", 0)] * 4 + [
        ("unstable", 2)
    ]
    saddles = np.array([p.x for p in fp.of_kind("saddle")])
    for x in saddles:
        assert np.max(np.abs(s.f(x))) < 1e-10
        assert np.min(np.abs(x - 1.5)) < 0.05  # one coordinate in a switching layer
        assert np.min(np.linalg.norm(saddles - x[::-1], axis=1)) < 1e-8  # exchange partner
    np.testing.assert_allclose(
        sorted(map(tuple, saddles.round(4))),
        [(1.1467, 1.4796), (1.4796, 1.1467), (1.5031, 2.7311), (2.7311, 1.5031)],
        atol=1e-4,
    )
    node = fp.of_kind("unstable")[0].x
    np.testing.assert_allclose(node, [node[0], node[0]], atol=1e-10)


def test_fixed_points_bad_bounds():
    with pytest.raises(ValueError, match="`bounds`"):
        fixed_points(zoo.get("monostable"), bounds=([1, 1], [0, 0]))


def test_oscillator_ring_u1_and_none_for_a_random_rate_network():
    # 2N = 16: the ring's one continuous symmetry is the global phase rotation
    ring = zoo.oscillator_ring(n=8)
    sym = find_symmetries(ring)
    assert sym.kinds == ("rotation",) and sym.status == ("exact",)
    np.testing.assert_allclose(sym.generators[0].A, ring.generators[0].A, atol=1e-10)
    rng = np.random.default_rng(0)
    net = zoo.rate_network(rng.normal(size=(12, 12)) / np.sqrt(12), rng.normal(size=12))
    assert len(find_symmetries(net)) == 0


def test_symmetries_under_anisotropic_noise():
    # D = diag(1, 4): x -> rotation is a symmetry of f = -x only in the metric of D,
    # A = S D^{-1} with S antisymmetric (A D + D A^T = 0)
    ou = zoo.ornstein_uhlenbeck(K=np.eye(2), D=np.diag([1.0, 4.0]))
    sym = find_symmetries(ou)
    assert len(sym) == 1 and sym.status == ("exact",)
    A = sym.generators[0].A
    np.testing.assert_allclose(A @ ou.D + ou.D @ A.T, 0.0, atol=1e-12)
    assert abs(A[0, 1]) > 0.1


def test_fixed_points_beyond_32_dimensions():
    # 2N = 40 > 32 axes (np.meshgrid's limit). Twisted states are circles of equilibria:
    # one eigenvalue is 0, so the kind is non-hyperbolic and the index says stability.
    ring = zoo.oscillator_ring(n=20)
    fp = fixed_points(ring, guesses=["origin", "twist_1", "twist_3"], n_scan=0)
    by_radius = {round(float(np.hypot(*p.x[:2])), 6): p for p in fp}
    # at the origin the modes m grow at rate mu - 4 K sin^2(pi m / N), twice each
    growing = 2 * np.count_nonzero(1.0 - 4.0 * np.sin(np.pi * np.arange(20) / 20) ** 2 > 0)
    assert by_radius[0.0].kind == "saddle" and by_radius[0.0].index == growing
    for q in (1, 3):
        p = by_radius[round(float(np.hypot(*ring.point(f"twist_{q}")[:2])), 6)]
        assert p.kind == "non-hyperbolic"
        assert p.index == np.count_nonzero(zoo.twisted_spectrum(q, 20) > 1e-9)
    assert by_radius[round(float(np.hypot(*ring.point("twist_3")[:2])), 6)].index > 0
