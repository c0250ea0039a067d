"""Every theory result type prints compactly: at most 15 lines, no array dumped whole."""

from dataclasses import replace

import numpy as np
import pytest

from simulate import Generator, zoo
from theory import (
    Charges,
    FixedPoint,
    FixedPoints,
    Instanton,
    Symmetries,
    find_symmetries,
    fixed_points,
    hamilton_flow,
    instanton,
)


def _check(obj, *must):
    text = repr(obj)
    lines = text.splitlines()
    assert len(lines) <= 15, text
    assert "array(" not in text, text
    for word in must:
        assert word in text, (word, text)
    return text


def test_results_of_real_calls_fit_in_15_lines():
    s = zoo.get("monostable")
    inst = instanton(s, "start", "end", T=1.0)
    _check(inst, "Instanton(", f"{inst.action:.10g}", "success=True", "converged")
    _check(inst.charges, "Charges(", "H: mean", "L: mean")
    _check(fixed_points(zoo.get("maier_stein")), "FixedPoints(3 found", "saddle")
    _check(fixed_points(zoo.get("maier_stein"))[0], "FixedPoint(", "eigenvalues")
    _check(find_symmetries(s), "Symmetries(1 generator", "rotation")
    _check(hamilton_flow(s, [1.0, 0.5], [0.1, 0.2], (0.0, 1.0)), "HamiltonFlow(", "action")
    _check(instanton(s, "start", "end", T=None, n=20), "T=None")


@pytest.mark.parametrize("many", [1, 40])
def test_long_results_are_cut_to_15_lines(many):
    t = np.linspace(0.0, 1.0, 2001)
    path = np.column_stack([t, t**2])
    ch = Charges(
        t=t,
        values={f"Q{i}": np.full(t.size, float(i)) for i in range(many)},
        conserved={f"Q{i}": True for i in range(many)},
        drift={f"Q{i}": 0.0 for i in range(many)},
        relative_drift={f"Q{i}": 0.0 for i in range(many)},
    )
    base = Instanton(path=path, t=t, p=path, action=1.0, T=1.0, charges=ch, label="x")
    inst = replace(base, minima=(base,) * many, saddles=(base,) * many)
    _check(inst, f"minima: {many}")
    _check(ch, "Charges(2001 points")
    point = FixedPoint(np.zeros(2), np.array([-1.0 + 2j, -1.0 - 2j]), "stable", 0, 0.0)
    _check(FixedPoints((point,) * many), f"FixedPoints({many} found")
    gens = tuple(Generator(A=np.zeros((2, 2)), b=np.ones(2), name=f"T{i}") for i in range(many))
    sym = Symmetries(
        generators=gens,
        residuals=np.zeros(many),
        kinds=("translation",) * many,
        status=("exact",) * many,
        notes=("",) * many,
        singular_values=np.zeros(6),
    )
    _check(sym, f"{many} exact")
    assert len(repr(ch).splitlines()) == min(1 + many, 15)
