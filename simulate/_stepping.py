"""One Euler–Maruyama step and the set-contact tests, shared by the conditioned samplers.

These are the engine's formulas (:mod:`simulate._ensemble`) written as small
``@njit`` helpers so that the reactive-trajectory and splitting kernels step paths the
same way, and can *replay* a stretch of a path bit for bit from a snapshot of its
random stream:

    X_{n+1} = X_n + f(X_n, t_n) dt + sqrt(2 eps d(t_n) dt) L Z_n,     L L^T = D.

A snapshot is the stream state before the latest refill of the normal buffer (``pre``),
the state now, and the buffer position; :func:`restore` rebuilds the buffer from them.
"""

from __future__ import annotations

import math

import numba as nb

from ._numba_types import JIT
from ._random import NEGLIGIBLE_EXPONENT, WORDS_PER_REFILL, aux_uniform, fill_normals
from ._sets import signed_distance


@nb.njit(inline="always", **JIT)  # inlined: a call with 7 arrays costs more than the step
def em_step(
    drift, schedule, has_schedule, params, chol, eps, dt, x, t, fx, x_new, state, pre, lanes, z, pos
):
    """Write X_{n+1} into ``x_new``; return (new buffer position, d(t_n))."""
    scale = 1.0
    if has_schedule:
        scale = schedule(t, params)
    amp = math.sqrt(2.0 * eps * scale * dt)
    pos = em_step_amp(drift, params, chol, dt, amp, x, t, fx, x_new, state, pre, lanes, z, pos)
    return pos, scale


@nb.njit(inline="always", **JIT)
def em_step_amp(drift, params, chol, dt, amp, x, t, fx, x_new, state, pre, lanes, z, pos):
    """:func:`em_step` with the noise amplitude ``amp`` = sqrt(2 eps d(t_n) dt) given, for
    callers that compute it once (without a schedule it is a constant: a square root per
    step saved); returns the new buffer position."""
    d = x.shape[0]
    drift(x.ctypes, t, params.ctypes, params.shape[0], fx.ctypes)  # raw pointers: cheap call
    if pos + d > WORDS_PER_REFILL:
        for j in range(state.shape[0]):
            pre[j] = state[j]
        fill_normals(state, lanes, z)
        pos = 0
    for j in range(d):
        noise = 0.0
        for m in range(j + 1):
            noise += chol[j, m] * z[pos + m]
        x_new[j] = x[j] + fx[j] * dt + amp * noise
    return pos + d


@nb.njit(**JIT)
def restore(state, pre, snap_state, snap_pre, lanes, z):
    """Point ``state`` (and its normal buffer ``z``) back at a snapshot."""
    for j in range(state.shape[0]):
        state[j] = snap_pre[j]
    fill_normals(state, lanes, z)
    for j in range(state.shape[0]):
        state[j] = snap_state[j]
        pre[j] = snap_pre[j]


@nb.njit(inline="always", **JIT)
def crossing_fraction(a, b):
    """The fraction a / (a + |b|) of the step at which the segment from signed distance
    a > 0 to b <= 0 (or a bridge between two points outside) meets the boundary (linear
    interpolation; 1 in the degenerate case a = b = 0)."""
    return a / (a + abs(b)) if a + abs(b) > 0.0 else 1.0


@nb.njit(inline="always", **JIT)
def bridge_crosses(a, b, normal, chol, noise_var, state):
    """Whether the Brownian bridge between two points at signed distances a, b > 0 from
    a boundary with unit normal ``normal`` touches it: probability exp(-expo),

        expo = 2 a b / (2 noise_var nu^T D nu),     noise_var = eps d(t) dt,

    drawn from the path's auxiliary stream only when expo < NEGLIGIBLE_EXPONENT (beyond,
    the probability is below the uniform's resolution and nothing is drawn)."""
    d = normal.shape[0]
    var = 0.0
    for j in range(d):
        proj = 0.0
        for m in range(j, d):
            proj += chol[m, j] * normal[m]
        var += proj * proj
    expo = 2.0 * a * b / (2.0 * noise_var * var)
    return expo < NEGLIGIBLE_EXPONENT and aux_uniform(state) < math.exp(-expo)


@nb.njit(inline="always", **JIT)
def bridge_far(chol, noise_var):
    """A bound ``far`` such that a b >= far implies that :func:`bridge_crosses` draws
    nothing and returns False, for any unit normal: nu^T D nu <= tr D = sum of L_ij^2,
    so a b >= 2 NEGLIGIBLE_EXPONENT noise_var tr D gives expo >= 2 NEGLIGIBLE_EXPONENT
    tr D / nu^T D nu, twice the threshold up to round-off (the factor 2 absorbs it).
    Infinite (no shortcut) unless noise_var > 0."""
    if not noise_var > 0.0:
        return math.inf
    trace = 0.0
    for j in range(chol.shape[0]):
        for m in range(j + 1):
            trace += chol[j, m] * chol[j, m]
    return 2.0 * NEGLIGIBLE_EXPONENT * noise_var * trace


@nb.njit(inline="always", **JIT)
def contact(kinds, data, x, x_new, bridge, noise_var, chol, state, normal):
    """Whether the step x -> x_new touches the set (a union of primitives).

    Returns -1.0 when it does not, else the fraction of the step at which it does:
    0 when ``x`` is already inside, ``a / (a + |b|)`` (a, b the signed distances of x and
    x_new to the boundary, linear interpolation) when ``x_new`` is inside or the
    Brownian bridge crosses (probability exp(-2 a b / (2 noise_var nu^T D nu)) with
    ``noise_var = eps d(t) dt``, drawn from the auxiliary stream, as in the engine).
    """
    for k in range(kinds.shape[0]):
        a = signed_distance(kinds[k], data[k], x, normal)
        if a <= 0.0:
            return 0.0
        b = signed_distance(kinds[k], data[k], x_new, normal)
        crossed = b <= 0.0
        if not crossed and bridge:
            crossed = bridge_crosses(a, b, normal, chol, noise_var, state)
        if crossed:
            return crossing_fraction(a, b)
    return -1.0


@nb.njit(inline="always", **JIT)
def contact_cached(kinds, data, dist, x_new, bridge, noise_var, far, chol, state, normal):
    """:func:`contact` for all primitives of several sets at once, with the old point's
    signed distances kept from the previous step: ``dist[k]`` holds primitive k's signed
    distance of x on entry and of x_new on return (x_new's distance becomes the next
    step's a, bit for bit the value :func:`contact` would recompute). The bridge test is
    skipped where a b >= ``far`` (:func:`bridge_far`), where it could not cross nor draw.

    Returns (fraction, k): the fraction of the step at the first primitive k (in the
    order of ``kinds``) the step touches, as :func:`contact` would return it for k's set
    with the same random draws, or (-1.0, -1). After a contact the entries past k are
    not updated.
    """
    for k in range(kinds.shape[0]):
        a = dist[k]
        if a <= 0.0:
            return 0.0, k
        b = signed_distance(kinds[k], data[k], x_new, normal)
        dist[k] = b
        crossed = b <= 0.0
        if not crossed and bridge and not a * b >= far:
            crossed = bridge_crosses(a, b, normal, chol, noise_var, state)
        if crossed:
            return crossing_fraction(a, b), k
    return -1.0, -1


@nb.njit(inline="always", **JIT)
def signed_distances(kinds, data, x, normal, dist):
    """Write into ``dist`` the signed distance of ``x`` to each primitive of a set
    (:func:`~simulate._sets.signed_distance`): the old point's distances that
    :func:`contact_cached` and :func:`clearance` read."""
    for k in range(kinds.shape[0]):
        dist[k] = signed_distance(kinds[k], data[k], x, normal)


@nb.njit(**JIT)
def set_extent(data):
    """The largest finite |coordinate| in the primitives' data (0 if none): the sets'
    scale in :func:`clearance`'s round-off margin."""
    extent = 0.0
    for k in range(data.shape[0]):
        for i in range(data.shape[1]):
            if math.isfinite(data[k, i]):
                extent = max(extent, abs(data[k, i]))
    return extent


@nb.njit(inline="always", **JIT)
def clearance(dist, far, bridge, x, extent):
    """How far (in the L1 norm, which bounds the Euclidean) a path at ``x``, with signed
    distances ``dist`` to the primitives of its sets, can move before a step could touch
    a set or draw a bridge test in :func:`contact_cached`; negative if it cannot move.

    Signed distances are 1-Lipschitz, so on the way every point stays at least
    c = sqrt(far) (1 + 1e-9) from every primitive (0 without the bridge test): both
    ends of each step are outside with a b >= far, the exact test's condition for a
    clear step. The margin 1e-6 (1 + |x|_1 + extent), ``extent`` the sets' largest
    finite coordinate, covers the round-off of the computed distances and of the
    summed steps, so that the skipped exact tests would have found nothing, bit for bit.
    """
    least = math.inf
    for k in range(dist.shape[0]):
        least = min(least, dist[k])
    size = 1.0 + extent
    for j in range(x.shape[0]):
        size += abs(x[j])
    c = math.sqrt(far) * (1.0 + 1e-9) if bridge else 0.0
    return least - c - 1e-6 * size
