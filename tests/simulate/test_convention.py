"""One calling convention and one result protocol for every sampler (docs/sampling.md)."""

import inspect

import numpy as np
import pandas as pd
import pytest

from simulate import Interval, Status, ams, condition, ensemble, transitions, zoo

SAMPLERS = {"ensemble": ensemble, "condition": condition, "transitions": transitions, "ams": ams}
#: What each sampler takes positionally, in order: the system, what is sampled, eps.
POSITIONAL = {
    "ensemble": ["system", "x0", "eps"],
    "condition": ["system", "x0", "target", "eps"],
    "transitions": ["system", "A", "B", "eps"],
    "ams": ["system", "A", "B", "eps"],
}
SHARED = {
    "t_span",
    "dt",
    "seed",
    "bridge",
    "n_jobs",
    "n_threads",
    "chunk_size",
    "memory_budget",
    "progress",
}

LOWER = Interval(-np.inf, -1.0)
UPPER = Interval(1.0, np.inf)


def _small_runs():
    """One small call of each sampler with every shared keyword given."""
    dd, dw = zoo.drift_diffusion(), zoo.double_well()
    common = dict(dt=0.01, seed=3, bridge=True, n_jobs=1, n_threads=1, chunk_size=8)
    common |= dict(memory_budget=10**8, progress=False)
    return {
        "ensemble": ensemble(dd, [0.5], 1.0, t_span=1.0, n_paths=20, save="all", **common),
        "condition": condition(
            dd,
            [0.5],
            LOWER,
            1.0,
            window=(0.5, 1.0),
            absorbing=UPPER,
            t_span=(0.0, 1.0),
            n_paths=50,
            save=5,
            **common,
        ),  # fmt: skip
        "transitions": transitions(
            dw, "A", "B", 0.2, x0=[-0.9], t_span=100.0, n_paths=6, save=3, **common
        ),
        "ams": ams(dw, "A", "B", 0.1, x0=[-0.8], n_replicas=10, n_runs=3, t_span=100.0, **common),
    }


@pytest.fixture(scope="module")
def results():
    return _small_runs()


@pytest.mark.parametrize("name", SAMPLERS)
def test_signature_is_positional_essentials_then_keyword_only(name):
    params = inspect.signature(SAMPLERS[name]).parameters
    positional = [
        p.name for p in params.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert positional == POSITIONAL[name]
    keyword_only = {p.name for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert SHARED <= keyword_only
    assert ("n_paths" in keyword_only) == (name != "ams")  # AMS: n_replicas x n_runs
    if name in ("transitions", "ams"):
        assert params["x0"].default is inspect.Parameter.empty  # required, never None


def test_shared_keywords_have_one_default():
    for key in SHARED - {"t_span"}:
        defaults = {SAMPLERS[n].__name__: inspect.signature(SAMPLERS[n]).parameters[key].default
                    for n in SAMPLERS}  # fmt: skip
        assert len(set(defaults.values())) == 1, (key, defaults)
    assert inspect.signature(ensemble).parameters["bridge"].default is True
    # t_span: a fixed horizon (the system's window) for ensemble and condition; a time-out
    # for the first-passage samplers (docs/sampling.md says why they differ)
    spans = {n: inspect.signature(f).parameters["t_span"].default for n, f in SAMPLERS.items()}
    assert spans["ensemble"] is None and spans["condition"] is None
    assert spans["transitions"] == spans["ams"] == 1e3


def test_options_given_positionally_are_refused():
    dd, dw = zoo.drift_diffusion(), zoo.double_well()
    with pytest.raises(TypeError):
        ensemble(dd, [0.5], 1.0, 1.0)  # t_span positionally
    with pytest.raises(TypeError):
        condition(dd, [0.5], LOWER, 1.0, (0.5, 1.0))  # window positionally
    with pytest.raises(TypeError):
        transitions(dw, "A", "B", 0.2, [-0.9])  # x0 positionally
    with pytest.raises(TypeError):
        ams(dw, "A", "B", 0.1, [-0.8])
    with pytest.raises(TypeError):
        transitions(dw, "A", "B", 0.2)  # x0 is required


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("n_jobs", [True, False, 0, -1, 1.5, "2"])
def test_bad_n_jobs_is_refused_before_any_work(name, n_jobs):
    dd, dw = zoo.drift_diffusion(), zoo.double_well()
    calls = {
        "ensemble": lambda: ensemble(dd, [0.5], 1.0, t_span=1.0, n_jobs=n_jobs),
        "condition": lambda: condition(dd, [0.5], LOWER, 1.0, t_span=1.0, n_jobs=n_jobs),
        "transitions": lambda: transitions(dw, "A", "B", 0.2, x0=[-0.9], n_jobs=n_jobs),
        "ams": lambda: ams(dw, "A", "B", 0.1, x0=[-0.8], n_jobs=n_jobs),
    }
    with pytest.raises(ValueError, match="`n_jobs` must be a positive integer"):
        calls[name]()


@pytest.mark.parametrize("name", SAMPLERS)
def test_results_carry_status_success_message_and_a_summary_frame(results, name):
    res = results[name]
    assert isinstance(res.status, Status) and res.status == Status.OK
    assert res.success is True and isinstance(res.message, str) and res.message
    frame = res.to_frame()  # the default is the one-row summary for every result
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1
    assert {"status", "success", "message"} <= set(frame.columns)
    assert frame.loc[0, "status"] == "OK"


def test_standard_errors_are_named_quantity_se(results):
    assert np.isfinite(results["condition"].acceptance_se)
    assert np.isfinite(results["ams"].probability_se)
    assert "mean_duration_se" in results["transitions"].to_frame().columns
    for res in results.values():
        assert not hasattr(res, "standard_error")


def test_every_result_repr_is_compact(results):
    reprs = [repr(res) for res in results.values()] + [repr(results["ams"].ensemble)]
    for text in reprs:
        assert len(text.splitlines()) <= 15, text
        assert "status" in text and "array(" not in text


def test_non_finite_paths_make_an_ensemble_unsuccessful():
    def blow_up(x, t, p, out):
        out[0] = x[0] ** 3

    from simulate import System

    system = System(drift=blow_up, D=np.eye(1))
    res = ensemble(system, [[0.0], [3.0]], 1e-4, t_span=2.0, dt=0.1, n_paths=2)
    assert res.status == Status.NON_FINITE and not res.success
    assert "1 turned non-finite" in res.message and "1 ran to the end" in res.message
