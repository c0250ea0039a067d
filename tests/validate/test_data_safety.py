"""Results you can keep: caches keyed by the drift's code, studies that move, umask,
temporary files, degenerate work refused."""

import numpy as np
import pytest

from simulate import System, zoo
from validate._instanton_cache import CACHE_ENV, REFERENCE, cache_dir, cached_instanton


def _linear(rate):
    def drift(x, t, p, out):
        out[0] = -rate * x[0]

    return drift


def test_instanton_cache_is_keyed_by_the_drift_code(tmp_path):
    # two drifts of one name and qualified name that differ only in a closure constant
    old = System(drift=_linear(1.0), D=np.eye(1), name="ou1")
    new = System(drift=_linear(3.0), D=np.eye(1), name="ou1")
    first = cached_instanton(old, [0.0], [1.0], 1.0, cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    again = cached_instanton(old, [0.0], [1.0], 1.0, cache=tmp_path)
    assert again.diagnostics.get("cached") and again.action == pytest.approx(first.action)
    edited = cached_instanton(new, [0.0], [1.0], 1.0, cache=tmp_path)
    assert not edited.diagnostics.get("cached")
    assert edited.action > 2 * first.action  # a stiffer drift costs more to climb against
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_reference_instantons_are_read_not_written(tmp_path):
    before = sorted(p.name for p in REFERENCE.iterdir())
    inst = cached_instanton(zoo.monostable(), "start", "end", 10.0, cache=tmp_path)
    assert inst.diagnostics.get("cached")
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.name for p in REFERENCE.iterdir()) == before


def test_cache_folder_from_the_environment_and_write_errors_are_loud(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the cache folder should be
    with pytest.raises(OSError, match=CACHE_ENV):
        cached_instanton(System(drift=_linear(2.0), D=np.eye(1)), [0.0], [1.0], 1.0, cache=blocked)
