"""Reference instantons computed once and cached on disk.

Converged instantons of the paper's systems take from seconds (monostable) to minutes
(reverse diffusion, T = 40 decision memory): the studies compute each once, with fixed
settings. A file holds every local minimum found (the tidy ``Instanton.to_frame()``) and
a JSON sidecar with the call, the action and the solver's message; the charges are
recomputed from the stored path and momenta on load.

Two places are searched, in order:

- the user's cache folder (:func:`cache_dir`: ``$NOISY_NOETHER_CACHE`` if set, else the
  platform's cache directory, e.g. ``~/.cache/noisy-noether/instantons``), where newly
  computed instantons are written; a write error there is an error, not a silent
  recomputation next time;
- the repository's reference instantons, ``data/reference/instantons/`` (committed, so
  that the quick studies of a fresh clone start from them), read as data and never
  written by a run.

The key of a call holds the system's name, parameters, end points, T, the solver's
options and revision, and :attr:`simulate.System.code_key` (the drift's, Jacobian's and
schedule's code and constants): editing a drift never returns the old drift's instanton.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

#: The repository's reference instantons (read-only data).
REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference" / "instantons"
#: Environment variable naming the folder of computed instantons.
CACHE_ENV = "NOISY_NOETHER_CACHE"


def cache_dir() -> Path:
    """Where computed instantons are stored: ``$NOISY_NOETHER_CACHE`` when set, else
    the user's cache directory (platformdirs: ``~/.cache/noisy-noether/instantons`` on
    Linux)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("noisy-noether")) / "instantons"


#: Part of every cache key: bump it when the solver's results change, so that stored
#: instantons from an older solver are recomputed rather than trusted.
SOLVER_REVISION = 4  # 4: T=None exact chord-penalty Hessian; 3: polish first, unconverged
# candidates out of .minima (2: Galerkin)


def _key(system, x_start, x_end, T, options) -> tuple[str, dict]:
    call = {
        "system": system.name,
        "params": [float(v) for v in system.params],
        "x_start": np.asarray(system.point(x_start), dtype=float).round(12).tolist(),
        "x_end": np.asarray(system.point(x_end), dtype=float).round(12).tolist(),
        "T": None if T is None else float(T),
        "options": options,
        "code": system.code_key,
        "solver_revision": SOLVER_REVISION,
    }
    digest = hashlib.sha1(json.dumps(call, sort_keys=True).encode()).hexdigest()[:10]
    return f"{system.name}_{digest}", call


def _from_frame(system, frame: pd.DataFrame, meta: dict):
    from theory import Instanton, charges
    from theory._noether import charges_of

    d = system.dim
    out = []
    for rank, sub in frame.groupby("minimum", sort=True):
        path = sub[[f"x{i}" for i in range(d)]].to_numpy()
        P = sub[[f"p{i}" for i in range(d)]].to_numpy()
        t = sub["t"].to_numpy() if sub["t"].notna().all() else None
        s = sub["s"].to_numpy() if sub["s"].notna().all() else None
        ch = charges(system, path, t, p=P) if t is not None else None
        if ch is None:  # infinite time: the charges along the arc-length parameter
            s_axis = s if s is not None else np.linspace(0, 1, len(sub))
            ch = charges_of(system, path, P, s_axis, at=0.0)
        info = meta["minima"][int(rank)]
        out.append(
            Instanton(
                path=path,
                t=t,
                p=P,
                action=float(info["action"]),
                T=meta["call"]["T"],
                charges=ch,
                s=s,
                success=bool(info["success"]),
                message=str(info["message"]),
                label=str(info["label"]),
                diagnostics={"cached": True},
            )
        )
    return replace(out[0], minima=tuple(out))


def cached_instanton(system, x_start, x_end, T=None, *, cache=None, refresh=False, **options):
    """:func:`theory.instanton` (system, x_start, x_end, T, **options), read from the
    cache when this exact call (system code, parameters, end points, T, options) was
    computed before, else computed and stored in ``cache`` (default :func:`cache_dir`).

    The repository's reference instantons (:data:`REFERENCE`) are searched too, after
    ``cache``, and never written. ``refresh=True`` recomputes. An ``OSError`` naming the
    folder and :data:`CACHE_ENV` when the result cannot be stored.
    """
    from theory import instanton

    stem, call = _key(system, x_start, x_end, T, options)
    cache = cache_dir() if cache is None else Path(cache)
    if not refresh:
        for folder in (cache, REFERENCE):
            csv, js = folder / f"{stem}.csv", folder / f"{stem}.json"
            if csv.exists() and js.exists():
                meta = json.loads(js.read_text())
                if meta.get("call") == call:
                    return _from_frame(system, pd.read_csv(csv), meta)
    inst = instanton(system, x_start, x_end, T, **options)
    store(inst, call, cache / stem)
    return inst


def store(inst, call: dict, stem: Path) -> None:
    """Write ``inst`` (every minimum) to ``<stem>.csv`` and its call and actions to
    ``<stem>.json``; an OSError naming the folder if it cannot be written."""
    from ._study import atomic_write, write_csv

    meta = {
        "call": call,
        "source": "theory.instanton (Newton MAM, Galerkin polish, BVP fallback; T=None: gMAM)",
        "minima": [
            {"action": m.action, "success": m.success, "message": m.message, "label": m.label}
            for m in (inst.minima or (inst,))
        ],
    }
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        write_csv(inst.to_frame(), stem.with_suffix(".csv"))
        atomic_write(
            stem.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2))
        )
    except OSError as exc:
        raise OSError(
            f"cannot store the instanton in the cache folder {str(stem.parent)!r} "
            f"({exc.strerror or exc}); set {CACHE_ENV} to a writable folder"
        ) from exc
