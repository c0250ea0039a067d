"""The rotating_ring reactive study (issue 5 Must-show): its noise levels lie in the
small-noise regime by the a-priori criterion of :func:`validate._ring_regime.ring_end_ratios`,
its reference is the instanton, and (slow) its quick run gives a tube exponent whose 95 %
interval contains 1/2 and charges H, L that centre on the instanton's 0."""

import numpy as np
import pandas as pd
import pytest

from validate._catalogue import parts
from validate._ring_regime import RING_MAX_RATIO, RING_RB, RING_X0, ring_end_ratios, ring_spiral
from validate._runner import run_study

Z = 5.0  # tolerance in standard errors


def test_ring_end_ratios_closed_form():
    # rho_A = eps / ((r_a - r0) r0 (1 - r0^2)), rho_B = eps / (r_b^2 (1 - r_b^2))
    ra, rb = ring_end_ratios(0.04, r0=0.85, r_a=0.9, r_b=0.1)
    assert ra == pytest.approx(0.04 / (0.05 * 0.85 * (1 - 0.85**2)))
    assert rb == pytest.approx(0.04 / (0.01 * 0.99))
    # the former design (x0 = 0.85, B = {r < 0.1}) had no level of 0.04 ... 0.005 in regime
    assert all(max(ring_end_ratios(e, r0=0.85, r_b=0.1)) > RING_MAX_RATIO for e in (0.04, 0.005))


@pytest.mark.parametrize("quick", [True, False])
def test_ring_study_levels_are_in_the_small_noise_regime(quick):
    (cfg,) = parts("rotating_ring", quick=quick)
    eps = np.array(cfg.eps_grid)
    assert eps.size >= 4 and eps.max() / eps.min() >= 8
    assert np.all(np.maximum(*ring_end_ratios(eps)) <= RING_MAX_RATIO)
    assert cfg.sampler_options["x0"] == [RING_X0, 0.0]
    assert cfg.sampler_options["B"]["radius"] == RING_RB


def test_ring_reference_is_the_instanton():
    # xdot = grad U + omega J x with U = (r^2 - 1)^2 / 4: dtheta/dr = omega / (r (r^2 - 1))
    x = ring_spiral(r_start=RING_X0, r_end=RING_RB, n=4000)
    r = np.hypot(x[:, 0], x[:, 1])
    theta = np.unwrap(np.arctan2(x[:, 1], x[:, 0]))
    rm = 0.5 * (r[1:] + r[:-1])
    slope = np.diff(theta) / np.diff(r)
    np.testing.assert_allclose(slope, 1.0 / (rm * (rm**2 - 1)), rtol=1e-4)
    assert r[0] == pytest.approx(RING_X0) and r[-1] == pytest.approx(RING_RB)


@pytest.mark.slow
def test_ring_quick_study_tube_exponent_and_charges(tmp_path):
    run_study("rotating_ring", quick=True, out=tmp_path, progress=False)
    folder = tmp_path / "rotating_ring" / "ams"
    fits = pd.read_parquet(folder / "scaling.parquet").set_index("statistic")
    beta = fits.loc["tube_l2_q0.5"]
    assert beta.ci_low <= 0.5 <= beta.ci_high
    summary = pd.read_parquet(folder / "summary.parquet")
    small = summary[summary.eps == summary.eps.min()].set_index("statistic")
    for charge in ("H", "L"):
        row = small.loc[f"charge_mean_{charge}"]
        assert abs(row.value - 0.0) <= Z * row.se
