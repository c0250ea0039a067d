"""validate's AMS sampler passes on the runs simulate.ams dropped (issue: no silent AMS
failure)."""

import numpy as np
import pytest

from simulate import AMSRunWarning, Status, zoo
from validate._samplers import AMS


def test_ams_sampler_propagates_dropped_runs():
    sampler = AMS(A="A", B="B", x0=[-0.8], dt=1e-2, options={"n_runs": 3, "max_iter": 1})
    with pytest.warns(AMSRunWarning, match="3 runs stopped at max_iter"):
        sample = sampler.sample(zoo.double_well(), 0.1, 10, seed=4)
    assert sample.meta["status"] == Status.MAX_ITER and sample.meta["success"] is False
    assert "left out" in sample.meta["message"] and np.isnan(sample.probability)
    ok = AMS(A="A", B="B", x0=[-0.8], dt=1e-2, options={"n_runs": 3}).sample(
        zoo.double_well(), 0.1, 10, seed=4
    )
    assert ok.meta["success"] is True and np.isfinite(ok.probability)
