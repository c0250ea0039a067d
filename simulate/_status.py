"""One status vocabulary for every sampler: the fate of a path or replica, the fate of an
AMS run, and the overall status of a result.

The numba kernels store these values as plain integers; they read them from the
module-level constants below (numba freezes global integers at compile time), so every
engine uses the same numbers from this one place.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Status(IntEnum):
    """Fate of a path, a replica or a run, and the overall status of a sampling result.

    Path and replica fates: ``RUNNING`` (reached the end of a fixed-horizon ``t_span``
    without being stopped), ``STOPPED`` (entered a stopping set), ``NON_FINITE``,
    ``TIMED_OUT`` (a first-passage sampler's path still undecided at the end of
    ``t_span``), ``IN_A``, ``IN_B`` (entered B; for :func:`~simulate.transitions`,
    after a visit to A). AMS run fates: ``OK``, ``EXTINCT`` (every replica killed: a
    valid estimate 0), ``MAX_ITER`` (stopped by ``max_iter``: no estimate). A result's
    overall status is ``OK`` or the failure that makes ``success`` false.
    """

    RUNNING = 0
    STOPPED = 1
    NON_FINITE = 2
    TIMED_OUT = 3
    IN_A = 4
    IN_B = 5
    OK = 6
    EXTINCT = 7
    MAX_ITER = 8

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.RUNNING: "ran to the end of t_span",
    Status.STOPPED: "stopped in a set",
    Status.NON_FINITE: "turned non-finite",
    Status.TIMED_OUT: "still undecided at the end of t_span",
    Status.IN_A: "entered A",
    Status.IN_B: "entered B",
    Status.OK: "ok",
    Status.EXTINCT: "extinct: every replica was killed (a valid estimate 0)",
    Status.MAX_ITER: "stopped at max_iter before every replica was decided (no estimate)",
}

# Plain integers for the numba kernels.
RUNNING = int(Status.RUNNING)
STOPPED = int(Status.STOPPED)
NON_FINITE = int(Status.NON_FINITE)
TIMED_OUT = int(Status.TIMED_OUT)
IN_A = int(Status.IN_A)
IN_B = int(Status.IN_B)
OK = int(Status.OK)
EXTINCT = int(Status.EXTINCT)
MAX_ITER = int(Status.MAX_ITER)


def counts(codes) -> str:
    """'n1 ran to the end of t_span, n2 stopped in a set, ...' for the codes present."""
    values, n = np.unique(np.asarray(codes, dtype=np.int64), return_counts=True)
    return ", ".join(f"{c} {Status(v).message}" for v, c in zip(values, n, strict=True))
