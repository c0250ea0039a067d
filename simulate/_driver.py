"""What every sampler does around its numba kernels, in one place: the input checks, the
time grid, the worker layout, chunking, the progress bar and the joblib dispatch.

The samplers (:func:`~simulate.ensemble`, :func:`~simulate.transitions`,
:func:`~simulate.ams`; :func:`~simulate.condition` runs :func:`~simulate.ensemble`)
split their work into chunks whose results depend only on (inputs, chunk start): each
path or run draws from its own counter-based stream. :func:`dispatch` runs the chunks
in this process (``n_jobs=1``) or over joblib workers, whose backend is the user's
(``joblib.parallel_config``), so results are bit-identical whatever the layout. The
calling convention the checks enforce is written in ``docs/sampling.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import joblib
import numba as nb
import numpy as np
from tqdm.auto import tqdm

from ._system import System, as_points

#: Bytes a sampler's result may take unless the caller says otherwise (2 GiB).
DEFAULT_MEMORY_BUDGET = 2 * 1024**3

#: Default time-out of the first-passage samplers (``transitions``, ``ams``): paths
#: still undecided at t = 1000 stop and are counted as timed out.
DEFAULT_FIRST_PASSAGE_SPAN = 1e3

#: A span that is a whole number of steps up to round-off gets that many steps, not one
#: more: (t1 - t0) / dt = 1000.0000000000001 is 1000 steps.
_STEP_SLACK = 1e-9


class MemoryBudgetError(ValueError):
    """A request whose arrays would not fit in the stated memory budget."""


def grid_steps(duration, dt: float):
    """Steps of size ``dt`` needed to cover ``duration``: ceil(duration / dt), forgiving
    round-off (a ratio within 1e-9 above an integer counts as that integer). Works on
    scalars and arrays; returns floats (NaN stays NaN)."""
    return np.ceil(np.asarray(duration, dtype=float) / dt - _STEP_SLACK)


# --------------------------------------------------------------------------------------
# input checks (a ValueError naming the argument, before any work)


def check_system(system) -> System:
    if not isinstance(system, System):
        raise ValueError(f"`system` must be a System, got {type(system).__name__}")
    return system


def check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"`eps` must be positive and finite, got {eps}")
    return float(eps)


def check_dt(dt: float) -> float:
    if isinstance(dt, bool) or not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be positive and finite, got {dt}")
    return float(dt)


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"`seed` must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def check_count(value, what: str) -> int:
    """A positive integer (bools refused), or a ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{what}` must be a positive integer, got {value!r}")
    return int(value)


def save_stride(save) -> int:
    """``save`` as a stride: 0 for ``"final"`` (nothing in between), 1 for ``"all"``, k
    for an integer k >= 1."""
    if isinstance(save, str) and save in ("final", "all"):
        return 0 if save == "final" else 1
    if isinstance(save, (int, np.integer)) and not isinstance(save, bool) and save >= 1:
        return int(save)
    raise ValueError(f"`save` must be 'final', 'all' or a positive integer, got {save!r}")


def fixed_time_grid(system: System, t_span, dt: float) -> tuple[float, float, int, float]:
    """The grid of a fixed-horizon sampler: (t0, t1, n_steps, dt) with
    n_steps = ceil((t1 - t0) / dt) and dt adjusted down so the steps end at t1.
    ``t_span`` None takes ``system.t_span``; a scalar T means (0, T)."""
    if t_span is None:
        if system.t_span is None:
            raise ValueError(f"`t_span` is required: {system.name!r} has no default window")
        t_span = system.t_span
    t0, t1 = _span(t_span)
    dt = check_dt(dt)
    if dt > (t1 - t0) * (1 + 1e-9):
        raise ValueError(
            f"`dt` = {dt:g} is larger than the time span t1 - t0 = {t1 - t0:g}: the run would "
            "be a single step; give a smaller `dt` or a longer `t_span`"
        )
    n_steps = max(1, int(grid_steps(t1 - t0, dt)))
    return t0, t1, n_steps, (t1 - t0) / n_steps


def first_passage_span(t_span, dt: float) -> tuple[float, float, int]:
    """The time-out of a first-passage sampler: (t0, t_end, max_steps), a scalar t_end
    meaning (0, t_end). ``dt`` is kept as given: paths stop after
    ceil((t_end - t0) / dt) steps, at or just after t_end."""
    t0, t_end = _span(t_span)
    dt = check_dt(dt)
    return t0, t_end, max(1, int(grid_steps(t_end - t0, dt)))


def _span(t_span) -> tuple[float, float]:
    if np.ndim(t_span) == 0:
        t_span = (0.0, t_span)
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"`t_span` must be (t0, t_end) or t_end, got {t_span!r}") from None
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise ValueError(f"`t_span` must be finite with t_end > t0, got {t_span}")
    return t0, t1


def kernel_prefix(system: System, eps: float, t0: float, dt: float) -> tuple:
    """The values of :data:`simulate._numba_types.KERNEL_PREFIX` for ``system``."""
    return (
        system.raw_drift,
        system.schedule_function,
        system.schedule is not None,
        system.params,
        np.ascontiguousarray(system.cholesky),
        float(eps),
        float(t0),
        float(dt),
    )


def check_memory(need: float, budget: float, what: str, advice: str) -> None:
    """Refuse a request of ``need`` bytes over ``budget`` before any work."""
    if need > budget:
        raise MemoryBudgetError(
            f"{what} needs {need / 1024**3:.2f} GiB, over `memory_budget` = "
            f"{budget / 1024**3:.2f} GiB: {advice}"
        )


# --------------------------------------------------------------------------------------
# workers, threads, chunks


def worker_layout(n_jobs, n_threads) -> tuple[int, int | None]:
    """(joblib workers, numba threads per worker): ``n_jobs`` workers (a positive
    integer; bools refused), each with ``n_threads`` threads, by default the cores
    divided among the workers (all of them for one worker)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"`n_jobs` must be a positive integer, got {n_jobs!r}")
    if n_threads is not None:
        n_threads = check_count(n_threads, "n_threads")
    n_workers = int(n_jobs)
    if n_threads is None and n_workers > 1:
        n_threads = max(1, (os.cpu_count() or 1) // n_workers)
    return n_workers, n_threads


@contextmanager
def numba_threads(n: int | None):
    """Run the block with ``n`` numba threads (all when None), restoring the count."""
    old = nb.get_num_threads()
    nb.set_num_threads(max(1, min(n or nb.config.NUMBA_NUM_THREADS, nb.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        nb.set_num_threads(old)


def chunk_starts(total: int, chunk_size) -> list[int]:
    """First indices of the chunks of ``chunk_size`` items out of ``total``."""
    return list(range(0, total, check_count(chunk_size, "chunk_size")))


def progress_bar(total: int, desc: str, unit: str, n_chunks: int, progress: bool | None):
    """A tqdm bar over ``total`` items; by default shown for runs of several chunks that
    last more than 2 s."""
    show = progress if progress is not None else n_chunks > 1
    return tqdm(total=total, desc=desc, unit=unit, disable=not show, delay=2.0)


def dispatch(task: Callable, items: Iterable, n_workers: int) -> Iterator[tuple]:
    """Yield ``(item, task(item))`` in the order of ``items``: in this process for one
    worker, else over ``n_workers`` joblib workers (results streamed as they finish in
    order, so a caller can store each one at once)."""
    items = list(items)
    if n_workers == 1:
        for item in items:
            yield item, task(item)
        return
    results = joblib.Parallel(n_jobs=n_workers, return_as="generator")(
        joblib.delayed(task)(item) for item in items
    )
    yield from zip(items, results, strict=True)


@dataclass(frozen=True)
class FixedHorizon:
    """The checked inputs of a fixed-horizon ensemble (:func:`fixed_horizon`)."""

    eps: float
    seed: int
    n_paths: int
    x0: np.ndarray  # (1, d) or (n_paths, d), contiguous
    t0: float
    t1: float
    n_steps: int
    dt: float
    save_every: int  # 0: final state only
    n_saved: int


def fixed_horizon(
    system, x0, eps, *, seed, n_paths, t_span, dt, save, memory_budget
) -> FixedHorizon:
    """Check a fixed-horizon ensemble's inputs (ValueErrors naming them, before any work):
    the start points, the time grid (:func:`fixed_time_grid`), the save stride, and the
    memory its saved states, final states and stop data take against ``memory_budget``."""
    check_system(system)
    eps = check_eps(eps)
    seed = check_seed(seed)
    n_paths = check_count(n_paths, "n_paths")
    d = system.dim
    x0 = system.point(x0) if isinstance(x0, str) else as_points(x0, d, "x0")
    x0 = np.ascontiguousarray(np.atleast_2d(x0))
    if x0.shape[0] not in (1, n_paths):
        raise ValueError(f"`x0` has {x0.shape[0]} rows; give 1 or n_paths = {n_paths}")
    t0, t1, n_steps, dt = fixed_time_grid(system, t_span, dt)
    save_every = save_stride(save)
    n_saved = n_steps // save_every + 1 if save_every else 0
    check_memory(
        n_paths * (n_saved * d * 8 + d * 8 + 1 + 8 + 8),
        memory_budget,
        "this ensemble",
        "save fewer steps (save='final' or a larger k), use fewer paths, or raise the budget",
    )
    return FixedHorizon(eps, seed, n_paths, x0, t0, t1, n_steps, dt, save_every, n_saved)
