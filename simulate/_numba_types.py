"""Numba settings, the fixed signatures (function types) of user-supplied functions and
the argument prefix shared by the engine kernels, in one place,
with the address cache that passes them to kernels cheaply (:func:`compiled`).

Drifts, Jacobians and diffusion schedules are compiled for one signature each, so that
the engine kernels receive them as first-class function values: one kernel, compiled
and cached once (``cache=True``), serves every system (the ensemble kernel: every
system of one dimension).
"""

from __future__ import annotations

from numba import types
from numba.core.types.function_type import WrapperAddressProtocol
from numba.core.typing.typeof import typeof_impl
from numba.experimental.function_type import _get_wrapper_address

# cache: tests and workers reuse compiled kernels; nogil: threads in joblib's threading
# backend run concurrently; numpy error model: 1/0 gives inf (a flagged non-finite path)
# instead of an exception. No fastmath: it could reorder sums and change the bits.
JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_vec = types.float64[::1]
_mat = types.float64[:, ::1]

#: ``f(x, t, params, out)``: writes the drift f(x, t) into ``out``.
DRIFT_SIGNATURE = types.void(_vec, types.float64, _vec, _vec)
#: ``jac(x, t, params, out)``: writes ``out[i, j] = d f_i / d x_j``.
JACOBIAN_SIGNATURE = types.void(_vec, types.float64, _vec, _mat)
#: ``d(t, params)``: the scalar schedule of D(t) = d(t) D.
SCHEDULE_SIGNATURE = types.float64(types.float64, _vec)

#: The drift as a C function of raw pointers, ``f(x, t, params, n_params, out)``, which is
#: how the ensemble kernel calls it: a first-class function taking arrays costs ~8 ns
#: per call in argument packing, several times a small drift's own arithmetic.
_ptr = types.CPointer(types.float64)
RAW_DRIFT_SIGNATURE = types.void(_ptr, types.float64, _ptr, types.intp, _ptr)

DriftType = types.FunctionType(DRIFT_SIGNATURE)
RawDriftType = types.FunctionType(RAW_DRIFT_SIGNATURE)
JacobianType = types.FunctionType(JACOBIAN_SIGNATURE)
ScheduleType = types.FunctionType(SCHEDULE_SIGNATURE)


#: The arguments every engine kernel starts with, in this order: the system (raw drift,
#: schedule d(t), whether there is one, params) and the step (the Cholesky factor L of
#: D, eps, t0, dt); :func:`simulate._driver.kernel_prefix` builds the values.
KERNEL_PREFIX = (
    RawDriftType,
    ScheduleType,
    types.boolean,
    _vec,
    _mat,
    types.float64,
    types.float64,
    types.float64,
)


class _Compiled(WrapperAddressProtocol):
    """A compiled function with its wrapper address looked up once: numba otherwise
    recomputes it on every call of a kernel that takes the function as an argument."""

    def __init__(self, fn, sig):
        self.fn = fn  # keeps the code alive
        self.sig = sig
        self.addr = _get_wrapper_address(fn, sig)
        self.type = types.FunctionType(sig)

    def __wrapper_address__(self):
        return self.addr

    def signature(self):
        return self.sig


@typeof_impl.register(_Compiled)
def _typeof_compiled(val, c):
    return val.type


_CACHE: dict = {}


def compiled(fn, sig):
    """The :class:`_Compiled` of ``fn`` for ``sig``, cached by function (the entry keeps
    ``fn`` alive, so its id is not reused)."""
    key = (id(fn), id(sig))
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = _Compiled(fn, sig)
    return hit
