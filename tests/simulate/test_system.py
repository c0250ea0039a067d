"""System validation, the zoo's Jacobians and parameters, and the Bessel ratio."""

import dataclasses
import warnings

import numpy as np
import pytest
from scipy.special import ive

from simulate import (
    Ball,
    Box,
    DiscreteCheckWarning,
    DiscreteSymmetry,
    HalfSpace,
    Interval,
    MemoryBudgetError,
    Shell,
    System,
    ensemble,
    zoo,
)
from simulate._sets import _probe_points, check_disjoint, encode_sets, first_set_containing
from simulate.zoo import bessel_ratio


def _linear(x, t, p, out):
    out[0] = -x[0]
    out[1] = -x[1]


def _blows_up(x, t, p, out):
    out[0] = 1.0 / (x[0] - 0.1)
    out[1] = 0.0


def _first_only(x, t, p, out):
    out[0] = -x[0]


def _writes_third(x, t, p, out):
    out[0] = -x[0]
    out[1] = -x[1]
    out[2] = 0.0


def _reads_param_3(x, t, p, out):
    out[0] = -p[3] * x[0]
    out[1] = -x[1]


def _reads_x2(x, t, p, out):
    out[0] = -x[2]
    out[1] = -x[1]


def _half_jacobian(x, t, p, out):
    out[0, 0] = -1.0


def _schedule_param_2(t, p):
    return p[2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"D": np.eye(2), "drift": _first_only}, "`drift` leaves out[1] unwritten"),
        ({"D": np.eye(3)}, "`drift` leaves out[2] unwritten"),  # 2-component drift, 3-D D
        ({"D": np.eye(2), "drift": _writes_third}, "`drift` indexes outside its arrays"),
        ({"D": np.eye(2), "drift": _reads_param_3}, "`drift` indexes outside its arrays"),
        ({"D": np.eye(2), "drift": _reads_x2}, "`drift` indexes outside its arrays"),
        ({"D": np.eye(2), "jac": _half_jacobian}, "`jac` leaves out[0, 1], out[1, 0]"),
        (
            {"D": np.eye(2), "params": [1.0], "schedule": _schedule_param_2},
            "`schedule` indexes outside its arrays",
        ),
        ({"D": np.ones((2, 3))}, "`D` must be a square"),
        ({"D": np.array([[1.0, 0.5], [0.0, 1.0]])}, "`D` must be symmetric"),
        ({"D": np.array([[1.0, 2.0], [2.0, 1.0]])}, "`D` must be positive definite"),
        ({"D": np.array([[np.nan, 0], [0, 1.0]])}, "`D` has non-finite"),
        ({"D": np.eye(2), "params": [np.inf]}, "`params` has non-finite"),
        ({"D": np.eye(2), "dim": 3}, "`dim` = 3"),
        ({"D": np.eye(2), "states": {"a": [1.0]}}, "`states['a']`"),
        ({"D": np.eye(2), "probe": [0.1, 0.1], "drift": _blows_up}, "`drift` returns non-finite"),
        ({"D": np.eye(2), "drift": 3}, "`drift` must be a callable"),
        ({"D": np.eye(2), "probe": [np.nan, 0.1]}, "`probe` must be finite"),
    ],
)
def test_bad_system_arguments_raise_named_errors(kwargs, message):
    kwargs = {"drift": _linear} | kwargs
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        System(**kwargs)


# drifts for the swap (x0, x1) -> (x1, x0); System checks it at the probe (0.1, 0.1) and at
# four points around it, one of them (1.404, 1.047), with x0 + x1 > 2 and x0 > 1.2
def _swap_symmetric_off_domain(x, t, p, out):
    if x[0] + x[1] > 2.0:  # a domain the swap maps to itself
        out[0] = np.nan
        out[1] = np.nan
    else:
        out[0] = -x[0]
        out[1] = -x[1]


def _undefined_for_large_x0(x, t, p, out):
    out[0] = np.nan if x[0] > 1.2 else -x[0]
    out[1] = -x[1]


_SWAP = DiscreteSymmetry(np.array([[0.0, 1.0], [1.0, 0.0]]), "swap")


# not odd, f(-x) != -f(x), but odd where it is infinite: in 1-D, checked at 0.1 and at
# -0.032, 0.740, 0.205, -0.436
def _infinite_far_out(x, t, p, out):
    if x[0] > 0.5:
        out[0] = np.inf
    elif x[0] < -0.5:
        out[0] = -np.inf
    else:
        out[0] = 1.0 - x[0]


def test_discrete_check_never_passes_on_non_finite_drift_values():
    # an infinite f(M x) = M f(x) is no evidence, and must not scale the tolerance
    parity = DiscreteSymmetry(-np.eye(1), "parity")
    with pytest.warns(DiscreteCheckWarning, match="'parity' checked at 4 of 5 points"):
        with pytest.raises(ValueError, match="'parity' is not a symmetry of the drift"):
            System(drift=_infinite_far_out, D=np.eye(1), discrete=(parity,))
    # not finite at x and at M x: consistent with the symmetry, left out with a warning
    with pytest.warns(DiscreteCheckWarning, match=r"\[\[1\.404"):
        System(drift=_swap_symmetric_off_domain, D=np.eye(2), discrete=(_SWAP,))
    # not finite at one of them only: not a symmetry, and the error says where
    with pytest.raises(ValueError, match=r"at x = \[1\.404.*one finite and the other not"):
        System(drift=_undefined_for_large_x0, D=np.eye(2), discrete=(_SWAP,))


# swap-symmetric except at (1.404, 1.047) and its image, where the drift is not finite in
# one component and its finite one breaks the swap: f(M x) = (-7, nan), M f(x) = (5, nan)
def _swap_broken_where_half_undefined(x, t, p, out):
    if x[0] > 1.2:
        out[0] = np.nan
        out[1] = 5.0
    elif x[1] > 1.2:
        out[0] = -7.0
        out[1] = np.nan
    else:
        out[0] = -x[0]
        out[1] = -x[1]


# infinite at 0.740 and -0.740 (a checked point and its image) with the same sign: not odd
def _infinite_even_far_out(x, t, p, out):
    out[0] = np.inf if abs(x[0]) > 0.5 else -x[0]


# a quarter turn R, f(x) = -x but for f = (nan, -x1) where x0 > 1.2 and its image there,
# f(R x) = R f(x) = (x1, nan): checked at (1.404, 1.047) and R of it
def _quarter_turn_half_undefined(x, t, p, out):
    if x[0] > 1.2:
        out[0] = np.nan
        out[1] = -x[1]
    elif x[1] > 1.2:
        out[0] = -x[0]
        out[1] = np.nan
    else:
        out[0] = -x[0]
        out[1] = -x[1]


def test_discrete_check_compares_what_it_can_where_the_drift_is_not_finite():
    # not finite at x and at M x, but the finite components, or the infinities' signs,
    # still show that f(M x) != M f(x): not left out as consistent
    parity = DiscreteSymmetry(-np.eye(1), "parity")
    for drift, g, dim in ((_swap_broken_where_half_undefined, _SWAP, 2),
                          (_infinite_even_far_out, parity, 1)):  # fmt: skip
        with pytest.warns(DiscreteCheckWarning):
            with pytest.raises(ValueError, match=f"{g.name!r} is not a symmetry of the drift"):
                System(drift=drift, D=np.eye(dim), discrete=(g,))
    # M from cos and sin, 6e-17 for its zeros: the NaN of f(x) must not spread through them
    c, s = np.cos(np.pi / 2), np.sin(np.pi / 2)
    turn = DiscreteSymmetry(np.array([[c, -s], [s, c]]), "quarter turn")
    with pytest.warns(DiscreteCheckWarning, match="checked at 4 of 5 points"):
        System(drift=_quarter_turn_half_undefined, D=np.eye(2), discrete=(turn,))


def test_bad_ensemble_arguments_raise_named_errors():
    system = zoo.monostable()
    good = {"x0": [0.0, 0.0], "eps": 0.1, "t_span": 1.0, "dt": 0.1, "n_paths": 4}
    for change, message in [
        ({"eps": 0.0}, "`eps` must be positive"),
        ({"eps": -1.0}, "`eps` must be positive"),
        ({"x0": [0.0]}, "`x0` must have shape"),
        ({"x0": [np.nan, 0.0]}, "`x0` has non-finite"),
        ({"dt": -0.1}, "`dt` must be positive"),
        ({"t_span": (1.0, 0.0)}, "`t_span` must be finite"),
        ({"n_paths": 0}, "`n_paths` must be a positive"),
        ({"seed": -1}, "`seed` must be an integer"),
        ({"save": "some"}, "`save` must be"),
        ({"stop": [Ball([0.0], 1.0)]}, "lives in R\\^1"),
        ({"stop": "nowhere"}, "no set named"),
    ]:
        with pytest.raises(ValueError, match=message):
            ensemble(system, **(good | change))


def test_memory_budget_refused_up_front_with_the_size():
    with pytest.raises(MemoryBudgetError, match=r"needs 14\.9\d GiB"):
        ensemble(zoo.monostable(), [0.0, 0.0], 1.0, t_span=1.0, dt=1e-3, n_paths=10**6, save="all")


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_jacobians_match_finite_differences(name):
    system = zoo.get(name)
    no_jac = dataclasses.replace(system, jac=None)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.uniform(-2, 2, system.dim)
        if name == "decision_memory":  # keep away from the steep sigmoid at u = c
            x = np.where(np.abs(x - 1.5) < 0.1, x + 0.3, x)
        t = rng.uniform(0, 10)
        analytic = system.jacobian(x, t)
        numeric = no_jac.jacobian(x, t)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def test_zoo_defaults_are_the_papers():
    dd = zoo.drift_diffusion()
    assert dd.params.tolist() == [0.1, 1.0] and dd.D[0, 0] == 0.5
    dm = zoo.decision_memory()
    np.testing.assert_allclose(dm.D, 0.16 * np.eye(2))
    assert dict(zip(dm.param_names, dm.params, strict=True)) == {
        "tau": 1.0,
        "mu0": 1.25,
        "c": 1.5,
        "A": 2.0,
        "I": 0.9,
        "n": 0.01,
        "sigma": 0.4,
    }
    ring = zoo.reverse_diffusion_ring()
    assert ring.params.tolist()[:2] == [5.0, 0.55]
    assert ring.t_span[1] == pytest.approx(10**1.5 - 10**-0.4)
    assert ring.diffusion_scale(0.0) == pytest.approx(10**1.5)
    assert not ring.autonomous and zoo.monostable().autonomous
    assert [g.kind for g in zoo.rotating_ring().generators] == ["rotation"]


def test_reverse_diffusion_drift_is_twice_t_times_the_score():
    # score = grad log p_t, p_t(x) ∝ exp(-(r^2 + R^2) / (2 s^2)) I0(R r / s^2), by differences
    ring = zoo.reverse_diffusion_ring()
    R, s0, t1 = ring.params

    def log_p(x, t):
        s2 = s0**2 + t**2
        r = np.hypot(*x)
        return -(r**2) / (2 * s2) + np.log(ive(0, R * r / s2)) + R * r / s2

    for x, tau in [((0.3, 9.0), 0.0), ((4.0, -3.0), 25.0), ((1e-9, 2e-9), 31.0)]:
        t = t1 - tau
        h = 1e-6
        grad = [
            (log_p(np.add(x, e), t) - log_p(np.subtract(x, e), t)) / (2 * h)
            for e in (np.array([h, 0]), np.array([0, h]))
        ]
        np.testing.assert_allclose(
            ring.f(np.array(x), tau), 2 * t * np.array(grad), rtol=1e-6, atol=1e-9
        )


def test_bessel_ratio_matches_scipy_to_1e12():
    z = np.concatenate([[0.0], np.logspace(-12, 5, 5000), np.linspace(24, 26, 501)])
    ours = np.array([bessel_ratio(v) for v in z])
    reference = ive(1, z) / ive(0, z)
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=0)


def test_sets_membership_matches_numpy_reference():
    sets = [
        Ball([0.5, -0.2], 0.7),
        Shell([0.0, 0.0], 0.9, 1.1),
        HalfSpace([1.0, 2.0], 0.5),
        Box([-1.0, -np.inf], [0.0, 0.3]),
        Interval(1.5, np.inf, axis=1, dim=2) | Ball([-2.0, -2.0], 0.5),
    ]
    kinds, owners, data = encode_sets(sets, 2)
    rng = np.random.default_rng(1)
    pts = rng.uniform(-3, 3, (4000, 2))
    got = np.array([first_set_containing(kinds, owners, data, p) for p in pts])
    member = np.array([s.contains(pts) for s in sets])
    expected = np.where(member.any(0), member.argmax(0), -1)
    np.testing.assert_array_equal(got, expected)


def test_set_arguments_checked():
    with pytest.raises(ValueError, match="`radius`"):
        Ball([0.0], -1.0)
    with pytest.raises(ValueError, match="lower <= upper"):
        Box([1.0], [0.0])
    with pytest.raises(ValueError, match="`normal`"):
        HalfSpace([0.0, 0.0], 1.0)


def test_drift_evaluates_many_points_and_times():
    system = zoo.reverse_diffusion_ring()
    rng = np.random.default_rng(2)
    xs = rng.normal(size=(5, 2))
    ts = rng.uniform(0, 30, 5)
    many = system.f(xs, ts)
    one_by_one = np.array([system.f(x, t) for x, t in zip(xs, ts, strict=True)])
    np.testing.assert_array_equal(many, one_by_one)
    np.testing.assert_array_equal(system.f(xs, 3.0)[2], system.f(xs[2], 3.0))


def test_overlap_probes_of_unbounded_boxes_compute_cleanly():
    # a coordinate unbounded both ways has no middle: 0 there, without computing
    # -inf + inf (a RuntimeWarning, e.g. in AMS with such a set); the rest as before
    box = Box([0.0, -np.inf, 1.0, -np.inf], [2.0, 5.0, np.inf, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        points = _probe_points(box)
        check_disjoint([box, Ball([9.0, 0.0, 0.0, 0.0], 1.0)], ["box", "ball"])
    np.testing.assert_array_equal(points[0], [1.0, 4.0, 2.0, 0.0])
    np.testing.assert_array_equal(points[1:4], [[0.0, 4, 2, 0], [2.0, 4, 2, 0], [1.0, 5, 2, 0]])
    assert len(points) == 1 + 4 + 2**4 and np.all(np.isfinite(points))


def test_overlapping_stop_sets_are_refused():
    dd = zoo.drift_diffusion()
    with pytest.raises(ValueError, match="sets 'target' and 'absorbing' of `stop` overlap"):
        ensemble(
            dd,
            "start",
            1.0,
            t_span=1.0,
            dt=0.1,
            n_paths=2,
            stop={"target": "lower_bound", "absorbing": "bounds"},
        )
    with pytest.raises(ValueError, match="overlap"):
        ensemble(
            zoo.monostable(),
            [0.0, 0.0],
            1.0,
            t_span=1.0,
            dt=0.1,
            n_paths=2,
            stop=[Ball([1.0, 1.0], 0.5), Box([1.2, 1.2], [3.0, 3.0])],
        )
    # touching is allowed only when the closed sets share no probe point: these are apart
    ensemble(dd, "start", 1.0, t_span=1.0, dt=0.1, n_paths=2, stop=["lower_bound", "upper_bound"])
