"""The calibration cases: the project's estimators on problems with an exact answer.

Each case repeats the project's own estimator (the samplers, statistics and fits that the
studies use) with independent seeds and compares its intervals with the exact value
(:func:`validate.coverage`); ``benchmarks/coverage.py`` runs them all and prints the
table (``docs/statistics.md``). A case is a function returning ``(estimate, truth)``,
listed in :data:`CASES`. Cases:

- ``double_well``: AMS (:class:`validate.AMS`, 10 runs of 10 replicas, dt = 1e-3 with
  the Brownian-bridge test) on f = x - x^3, A = (-inf, -0.9], B = [0.9, inf), x0 = -0.8,
  at eps = 0.1, 0.07, 0.05. Rows: the probability at eps = 0.05 (exact committor
  by quadrature); the AMS-weighted mean duration of the paths from x0 to B and the
  weighted mean of their time integral of x (exact by quadrature on the conditioned,
  h-transformed diffusion); the eps -> 0 limit of -eps log P (exactly the barrier
  U(0) - U(x0) = 0.2176), by the straight line in eps and by the model with the
  eps log eps term.
- ``double_well_eps0.02``: the AMS probability and the weighted mean duration at
  eps = 0.02.
- ``double_well_mean_time``: the mean time from -1 to the first entry into [1, inf)
  (exact: ``mean_first_passage_1d`` by quadrature, reflecting at -3) measured by
  :func:`validate.mean_time`: brute force at eps = 0.1 (300 paths censored at t = 60,
  about a third of them) and the AMS loop decomposition at eps = 0.05 (A = (-inf, -0.9],
  Sigma at -0.8, 10 runs of 50 replicas, 400 loops).
- ``double_well_mean_time_eps0.025``: the same AMS estimator at eps = 0.025.
- ``double_well_mean_time_brute``: the brute-force estimator at few paths with the rates
  study's censoring (at 5 predicted mean times C e^{dV/eps}, about 1 % censored, the
  exponential tail from one predicted time): eps = 0.18 (a level of the earlier quick
  study; the present one, ``validate._rates_study.QUICK_EPS``, is checked by
  ``benchmarks/rates_quick_coverage.py``), 60 and 150 paths from -1.
- ``double_well_mean_time_study``: the AMS estimator at eps = 0.025 with the rates
  study's settings (20 runs of 100 replicas, 1000 loops; ``validate._rates_study``),
  whose single estimates read low in docs/rates.md.
- ``monostable_charges``: f = -x in R^2, D = I, paths (-2, 2) -> ball of radius eps about
  (2, 2) at T = 1 (dt = 0.01), importance-sampled along the instanton, 300 paths per
  level at eps = 0.2, 0.1, 0.05, as in the monostable study; intervals as in a sweep
  (value ± t se, accepted paths - 1 degrees of freedom; the limit's by
  Welch–Satterthwaite). Rows: the mean charges H and L at eps = 0.2 and 0.05 (exact:
  the Gaussian bridge of the Euler–Maruyama chain, averaged over the endpoint law on
  the ball by quadrature) and their eps -> 0 limits
  (exact: the charges of the chain's noiseless bridge, the instanton of the discretised
  problem).
- ``linear_tube``: the same system without endpoint condition (its instanton is the
  relaxation path); the exponent of the median L2 tube radius ~ eps^beta over
  eps = 0.2, 0.1, 0.05 (200 paths and 100 bootstrap replicates each), exactly 1/2
  (``docs/statistics.md``).

The discretisation bias of the AMS cases (dt = 1e-3, truth of the continuous process)
shows in the ``bias`` column: it is far below one estimate's standard error.
"""

from __future__ import annotations

import numpy as np

from simulate import Ball, zoo
from simulate import Interval as Segment

from ._coverage import Interval, rep_seed
from ._empirical_charges import empirical_charges
from ._mean_times import mean_time
from ._references import (
    committor_1d,
    conditioned_occupation_1d,
    expected_statistic,
    gaussian_bridge,
    mean_first_passage_1d,
)
from ._samplers import AMS, Endpoint
from ._scaling import fit_action, fit_scaling, limit_interval
from ._statistics import t_interval, weighted_mean_se
from ._sweep import level_seed
from ._tubes import tube_statistics

A_SET, B_SET, X0 = -0.9, 0.9, -0.8
N_RUNS = 10  # independent AMS runs per estimate


def _path_integral(paths, t):
    """int_0^tau x dt of each path (trapezoid on its own time grid)."""
    return np.array([np.trapezoid(x[:, 0], s) for x, s in zip(paths, t, strict=True)])


def _ams_level(eps, seed, n_replicas):
    smp = AMS(A="A", B="B", x0=[X0], dt=1e-3, options={"n_runs": N_RUNS, "progress": False})
    return smp.sample(zoo.double_well(), eps, n_replicas, level_seed(seed, eps))


def _weighted(sample, x):
    """The AMS-weighted mean with its run-clustered error and t interval (as in a sweep)."""
    m, se, _ = weighted_mean_se(x, sample.weights, groups=sample.groups)
    return Interval(float(m), float(se), *t_interval(float(m), float(se), sample.dof))


def _probability(sample):
    """The AMS probability with its interval from the runs' logs (as in a sweep)."""
    return Interval(sample.probability, sample.probability_se, *sample.probability_ci)


def double_well(eps_grid=(0.1, 0.07, 0.05), at=0.05, n_replicas=10):
    dw = zoo.double_well()

    def estimate(seed):
        samples = {e: _ams_level(e, seed, n_replicas) for e in eps_grid}
        s = samples[at]
        eps = np.array(eps_grid)
        p = np.array([samples[e].probability for e in eps_grid])
        log_se = np.array([samples[e].log_probability_se for e in eps_grid])
        dof = np.array([samples[e].log_probability_dof for e in eps_grid])
        return {
            f"P(eps={at:g})": _probability(s),
            f"duration(eps={at:g})": _weighted(s, s.duration),
            f"int x dt(eps={at:g})": _weighted(s, _path_integral(s.paths, s.t)),
            "S: -eps log P, line": fit_action(eps, p, log_se=log_se, dof=dof, model="linear"),
            "S: -eps log P, eps log eps": fit_action(
                eps, p, log_se=log_se, dof=dof, model="eps_log_eps"
            ),
        }

    x, q = committor_1d(dw, A_SET, B_SET, at, n=200001)
    barrier = 0.0 - (X0**4 / 4 - X0**2 / 2)  # U(0) - U(x0), U = x^4/4 - x^2/2
    truth = {
        f"P(eps={at:g})": float(np.interp(X0, x, q)),
        f"duration(eps={at:g})": conditioned_occupation_1d(dw, A_SET, B_SET, at, X0),
        f"int x dt(eps={at:g})": conditioned_occupation_1d(dw, A_SET, B_SET, at, X0, g=lambda y: y),
        "S: -eps log P, line": barrier,
        "S: -eps log P, eps log eps": barrier,
    }
    return estimate, truth


def double_well_small(eps=0.02, n_replicas=10):
    dw = zoo.double_well()

    def estimate(seed):
        s = _ams_level(eps, seed, n_replicas)
        return {
            f"P(eps={eps:g})": _probability(s),
            f"duration(eps={eps:g})": _weighted(s, s.duration),
        }

    x, q = committor_1d(dw, A_SET, B_SET, eps, n=200001)
    truth = {
        f"P(eps={eps:g})": float(np.interp(X0, x, q)),
        f"duration(eps={eps:g})": conditioned_occupation_1d(dw, A_SET, B_SET, eps, X0),
    }
    return estimate, truth


def _mean_time_ams(eps, seed, n_runs=10, n_replicas=50, n_loops=400):
    return mean_time(zoo.double_well(), "left", Segment(1.0, np.inf), eps, method="ams",
                     A=Segment(-np.inf, A_SET), sigma=Segment(X0, np.inf), n_runs=n_runs,
                     n_replicas=n_replicas, n_loops=n_loops, seed=seed)  # fmt: skip


def _exact_mean_time(eps):
    return mean_first_passage_1d(zoo.double_well(), -1.0, 1.0, eps, reflect=-3.0)


def double_well_mean_time(brute_eps=0.1, ams_eps=0.05):
    dw = zoo.double_well()
    brute_name, ams_name = f"E tau brute (eps={brute_eps:g})", f"E tau AMS (eps={ams_eps:g})"

    def estimate(seed):
        brute = mean_time(dw, "left", Segment(1.0, np.inf), brute_eps, n_paths=300,
                          t_max=60.0, seed=seed)  # fmt: skip
        return {brute_name: brute, ams_name: _mean_time_ams(ams_eps, seed)}

    truth = {brute_name: _exact_mean_time(brute_eps), ams_name: _exact_mean_time(ams_eps)}
    return estimate, truth


def double_well_mean_time_brute(eps=0.18, n_paths=(60, 150)):
    import theory

    dw = zoo.double_well()
    predicted = theory.rate(dw, "left", "saddle").mean_time(eps)
    names = {n: f"E tau brute (eps={eps:g}, {n} paths)" for n in n_paths}

    def estimate(seed):
        return {name: mean_time(dw, "left", Segment(1.0, np.inf), eps, n_paths=n,
                                t_max=5 * predicted, t_tail=predicted, seed=rep_seed(seed, n))
                for n, name in names.items()}  # fmt: skip

    return estimate, dict.fromkeys(names.values(), _exact_mean_time(eps))


def double_well_mean_time_small(eps=0.025, **settings):
    name = f"E tau AMS (eps={eps:g})"
    return (lambda seed: {name: _mean_time_ams(eps, seed, **settings)}), {
        name: _exact_mean_time(eps)
    }


def double_well_mean_time_study(eps=0.025):
    return double_well_mean_time_small(eps, n_runs=20, n_replicas=100, n_loops=1000)


def _ball_law(eps, dt, T, radius, n_r=40, n_theta=128):
    """Quadrature nodes and weights of the law of the chain's X_T on the target ball:
    X_T ~ N(M^n x0, s^2 I), M = 1 - dt, s^2 = 2 eps dt sum_k M^{2k} (f = -x, D = I)."""
    n = int(round(T / dt))
    m = (1 - dt) ** n * np.array([-2.0, 2.0])
    s2 = 2 * eps * dt * (1 - (1 - dt) ** (2 * n)) / (1 - (1 - dt) ** 2)
    r, wr = np.polynomial.legendre.leggauss(n_r)
    r, wr = radius * (r + 1) / 2, wr * radius / 2
    th = 2 * np.pi * np.arange(n_theta) / n_theta
    R, TH = np.meshgrid(r, th, indexing="ij")
    ends = np.column_stack([2 + (R * np.cos(TH)).ravel(), 2 + (R * np.sin(TH)).ravel()])
    dens = np.exp(-np.sum((ends - m) ** 2, axis=1) / (2 * s2))
    return ends, dens * (wr[:, None] * R).ravel()


def monostable_charges(eps_grid=(0.2, 0.1, 0.05), n_paths=300, T=1.0, dt=0.01):
    import theory

    ms = zoo.monostable()
    inst = theory.instanton(ms, "start", "end", T)
    t = np.linspace(0.0, T, int(round(T / dt)) + 1)

    def sampler(eps):
        return Endpoint("start", T, Ball([2.0, 2.0], eps), dt=dt, guide=inst)

    def estimate(seed):
        out, rows = {}, []
        for e in eps_grid:
            s = sampler(e).sample(ms, e, n_paths, level_seed(seed, e))
            w = s.weights / s.weights.sum()
            summ = empirical_charges(ms, s.paths, s.t, eps=e, weights=w).summary()
            summ = summ.set_index("statistic")
            dof = s.n - 1 if s.n >= 2 else np.nan  # as in a sweep: accepted paths - 1
            for c in ("H", "L"):
                v, se = summ.loc[f"charge_mean_{c}", ["value", "se"]]
                rows.append((c, e, v, se, dof))
                if e in (max(eps_grid), min(eps_grid)):
                    out[f"{c}(eps={e:g})"] = Interval(v, se, *t_interval(v, se, dof))
        for c in ("H", "L"):
            _, e, v, se, dof = zip(*[r for r in rows if r[0] == c], strict=True)
            lim, lim_se, lo, hi, _ = limit_interval(e, v, se, dof)  # the report's limit
            out[f"{c}: eps -> 0"] = Interval(lim, lim_se, lo, hi)
        return out

    truth = {}
    for e in (max(eps_grid), min(eps_grid)):
        br = gaussian_bridge(ms, "start", "end", t, e, dt=dt, joint=True)
        ends, wq = _ball_law(e, dt, T, e)

        def stat(P, e=e):
            return empirical_charges(ms, P, t, eps=e).path_mean

        exact = expected_statistic(stat, br, ends=ends, weights=wq)
        truth |= {f"H(eps={e:g})": exact[0], f"L(eps={e:g})": exact[1]}
    br = gaussian_bridge(ms, "start", "end", t, 1.0, dt=dt)
    # eps -> 0: the noise term (eps) and the debiasing (eps d / 2 Delta) vanish, the
    # endpoint tends to (2, 2): the charges of the chain's noiseless bridge
    limit = empirical_charges(ms, br.mean[None], t, eps=1e-300).path_mean[0]
    truth |= {"H: eps -> 0": limit[0], "L: eps -> 0": limit[1]}
    return estimate, truth


def linear_tube(eps_grid=(0.2, 0.1, 0.05), n_paths=200, T=1.0, dt=0.01, n_boot=100):
    ms = zoo.monostable()
    n = int(round(T / dt))
    t = np.linspace(0.0, T, n + 1)
    ref = ((1 - dt) ** np.arange(n + 1))[:, None] * np.array([-2.0, 2.0])  # noiseless chain

    def estimate(seed):
        y, reps = [], []
        for e in eps_grid:
            smp = Endpoint("start", T, Ball([0.0, 0.0], 1e6), dt=dt)
            s = smp.sample(ms, e, n_paths, level_seed(seed, e))
            tb = tube_statistics(s.paths, (ref, t), t=s.t)
            summ, rep = tb.summary(
                q=0.5, n_boot=n_boot, seed=level_seed(seed, e) % 2**32, return_replicates=True
            )
            y.append(float(summ.set_index("statistic").loc["tube_l2_q0.5", "value"]))
            reps.append(rep[rep["statistic"] == "tube_l2_q0.5"]["value"].to_numpy())
        fit = fit_scaling(eps_grid, y, replicates=np.array(reps), seed=seed % 2**32)
        return {"beta (tube ~ eps^beta)": fit}

    return estimate, {"beta (tube ~ eps^beta)": 0.5}


CASES = {
    "double_well": double_well,
    "double_well_eps0.02": double_well_small,
    "double_well_mean_time": double_well_mean_time,
    "double_well_mean_time_eps0.025": double_well_mean_time_small,
    "double_well_mean_time_brute": double_well_mean_time_brute,
    "double_well_mean_time_study": double_well_mean_time_study,
    "monostable_charges": monostable_charges,
    "linear_tube": linear_tube,
}
