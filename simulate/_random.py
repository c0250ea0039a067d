"""Counter-based random streams: Philox4x32-10 keyed by (seed, path index).

Every path owns two streams. Block ``k`` of stream ``s`` under ``seed`` is

    Philox4x32-10(counter = (k_lo, k_hi, s_lo, s_hi), key = (seed_lo, seed_hi)),

with ``s = i`` (the *main* stream of path ``i``, which feeds the Brownian increments) and
``s = i + 2**63`` (its *auxiliary* stream: ziggurat rejections, Brownian-bridge tests).
The numbers a path sees therefore depend on nothing but (seed, i): not on threads,
workers or chunks; and switching the bridge test on or off leaves the Brownian
increments unchanged, so the two can be compared path by path.

Normal variates come from a 256-layer ziggurat (Marsaglia & Tsang 2000, in the 64-bit
form numpy uses): one 64-bit word per variate in about 99 % of draws. The main stream is
generated in batches of ``WORDS_PER_REFILL`` words, in loops LLVM vectorises.

A path's stream is a small ``uint64`` state array plus scratch and a normal buffer
refilled together (:func:`fill_normals`); kernels keep one of each per path and never
allocate per step.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._numba_types import JIT

_MASK32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_SHIFT32 = np.uint64(32)
_AUX_FLAG = np.uint64(1 << 63)

WORDS_PER_REFILL = 128
# State layout: key, path, next main block, next auxiliary block, auxiliary position,
# two auxiliary words.
_KEY, _PATH, _BLOCK, _AUX_BLOCK, _AUX_POS, _AUX0 = 0, 1, 2, 3, 4, 5
STREAM_SIZE = 7


@nb.njit(**JIT)
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 block function (Salmon et al. 2011); all words are uint64 < 2**32."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _SHIFT32
        lo0 = p0 & _MASK32
        hi1 = p1 >> _SHIFT32
        lo1 = p1 & _MASK32
        c0 = hi1 ^ c1 ^ k0
        c1 = lo1
        c2 = hi0 ^ c3 ^ k1
        c3 = lo0
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


_LANES = WORDS_PER_REFILL // 2  # Philox blocks per refill


@nb.njit(**JIT)
def _philox_lanes(key, stream, first_block, lanes):
    """Philox4x32-10 on blocks ``first_block .. + _LANES`` of ``stream``, lane by lane.

    ``lanes`` (uint64, 4 * _LANES) holds counter word ``w`` of block ``j`` at
    ``lanes[w * _LANES + j]`` and receives the output words in the same places. Rounds
    outside, blocks inside: the inner loop is element-wise, so LLVM vectorises it in any
    calling context (the block-by-block form vectorised only in some).
    """
    k0 = key & _MASK32
    k1 = key >> _SHIFT32
    for j in range(_LANES):
        block = first_block + np.uint64(j)
        lanes[j] = block & _MASK32
        lanes[_LANES + j] = block >> _SHIFT32
        lanes[2 * _LANES + j] = stream & _MASK32
        lanes[3 * _LANES + j] = stream >> _SHIFT32
    for _ in range(10):
        for j in range(_LANES):
            c0 = lanes[j]
            c1 = lanes[_LANES + j]
            c2 = lanes[2 * _LANES + j]
            c3 = lanes[3 * _LANES + j]
            p0 = _M0 * c0
            p1 = _M1 * c2
            lanes[j] = (p1 >> _SHIFT32) ^ c1 ^ k0
            lanes[_LANES + j] = p1 & _MASK32
            lanes[2 * _LANES + j] = (p0 >> _SHIFT32) ^ c3 ^ k1
            lanes[3 * _LANES + j] = p0 & _MASK32
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32


@nb.njit(**JIT)
def init_stream(state, seed, path):
    """Point ``state`` at the start of both streams of ``path`` under ``seed``."""
    state[_KEY] = np.uint64(seed)
    state[_PATH] = np.uint64(path)
    state[_BLOCK] = np.uint64(0)
    state[_AUX_BLOCK] = np.uint64(0)
    state[_AUX_POS] = np.uint64(2)


def new_stream(seed: int, path: int) -> np.ndarray:
    """A fresh stream state, for tests and Python-side use."""
    state = np.zeros(STREAM_SIZE, dtype=np.uint64)
    init_stream(state, np.uint64(seed), np.uint64(path))
    return state


@nb.njit(**JIT)
def _aux_word(state):
    """Next 64-bit word of the path's auxiliary stream, as int64."""
    pos = np.int64(state[_AUX_POS])
    if pos >= 2:
        block = state[_AUX_BLOCK]
        stream = state[_PATH] | _AUX_FLAG
        key = state[_KEY]
        r0, r1, r2, r3 = philox4x32(
            block & _MASK32,
            block >> _SHIFT32,
            stream & _MASK32,
            stream >> _SHIFT32,
            key & _MASK32,
            key >> _SHIFT32,
        )
        state[_AUX0] = (r0 << _SHIFT32) | r1
        state[_AUX0 + 1] = (r2 << _SHIFT32) | r3
        state[_AUX_BLOCK] = block + np.uint64(1)
        pos = 0
    state[_AUX_POS] = np.uint64(pos + 1)
    return np.int64(state[_AUX0 + pos])


#: Beyond this exponent exp(-x) < 2**-53, the spacing of :func:`aux_uniform`'s values, so a
#: test ``aux_uniform(state) < exp(-x)`` can succeed only for u = 0 (probability 2**-53):
#: callers skip the draw there, which keeps random numbers away from far-off boundaries.
NEGLIGIBLE_EXPONENT = 53 * math.log(2.0)


@nb.njit(**JIT)
def aux_uniform(state):
    """Uniform on [0, 1) with 53 bits, from the auxiliary stream of the path."""
    return float((_aux_word(state) >> 11) & 0x1FFFFFFFFFFFFF) * (1.0 / 9007199254740992.0)


def _ziggurat_tables(n: int = 256, r: float = 3.6541528853610088, v: float = 0.00492867323399):
    """Tables of the 256-layer ziggurat for the half-normal exp(-x^2/2) (Marsaglia & Tsang)."""
    two52 = 2.0**52
    ki = np.zeros(n, dtype=np.int64)
    wi = np.zeros(n)
    fi = np.zeros(n)
    dn = tn = r
    q = v / math.exp(-0.5 * dn * dn)
    ki[0] = int((dn / q) * two52)
    wi[0] = q / two52
    wi[n - 1] = dn / two52
    fi[0] = 1.0
    fi[n - 1] = math.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = int((dn / tn) * two52)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / two52
    return ki, wi, fi, r


_ZIG_K, _ZIG_W, _ZIG_F, _ZIG_R = _ziggurat_tables()
_ZIG_INV_R = 1.0 / _ZIG_R


@nb.njit(**JIT)
def _ziggurat(r, state):
    """Normal variate from the word ``r``; a rejected attempt retries on the aux stream."""
    while True:
        idx = r & 255
        negative = (r >> 8) & 1
        rabs = (r >> 9) & 0x000FFFFFFFFFFFFF
        x = float(rabs) * _ZIG_W[idx]
        if negative:
            x = -x
        if rabs < _ZIG_K[idx]:
            return x
        if idx == 0:
            while True:
                xx = -_ZIG_INV_R * math.log1p(-aux_uniform(state))
                yy = -math.log1p(-aux_uniform(state))
                if yy + yy > xx * xx:
                    return -(_ZIG_R + xx) if negative else _ZIG_R + xx
        if (_ZIG_F[idx - 1] - _ZIG_F[idx]) * aux_uniform(state) + _ZIG_F[idx] < math.exp(
            -0.5 * x * x
        ):
            return x
        r = _aux_word(state)


@nb.njit(**JIT)
def _word(lanes, k):
    """Word ``k`` of a refill: words 2j and 2j + 1 are the two halves of block j."""
    j = k >> 1
    if k & 1:
        return np.int64((lanes[2 * _LANES + j] << _SHIFT32) | lanes[3 * _LANES + j])
    return np.int64((lanes[j] << _SHIFT32) | lanes[_LANES + j])


@nb.njit(inline="always", **JIT)
def _rectangle(r):
    """The ziggurat's first attempt from the word ``r``: the normal, or NaN if rejected.

    Branch-free, so that the loop over a refill vectorises (with table gathers).
    """
    idx = r & 255
    sign = 1.0 - 2.0 * float((r >> 8) & 1)
    rabs = (r >> 9) & 0x000FFFFFFFFFFFFF
    x = float(rabs) * _ZIG_W[idx] * sign
    return x if rabs < _ZIG_K[idx] else np.nan


@nb.njit(**JIT)
def fill_normals(state, lanes, z):
    """Fill ``z`` (length WORDS_PER_REFILL) with the next normals of the path's main stream.

    Normal ``k`` of the stream is made from main word ``k`` (a ziggurat attempt); the ~1 %
    of attempts that are rejected retry on the auxiliary stream, so the mapping from
    words to variates stays one to one. ``lanes`` is uint64 scratch of length
    ``2 * WORDS_PER_REFILL``.
    """
    _philox_lanes(state[_KEY], state[_PATH], state[_BLOCK], lanes)
    state[_BLOCK] += np.uint64(_LANES)
    # Two passes: the rectangle test alone vectorises; the words it rejects are marked NaN
    # and finished by the full ziggurat afterwards.
    for j in range(_LANES):
        z[2 * j] = _rectangle(_word(lanes, 2 * j))
        z[2 * j + 1] = _rectangle(_word(lanes, 2 * j + 1))
    for k in range(WORDS_PER_REFILL):
        if np.isnan(z[k]):
            z[k] = _ziggurat(_word(lanes, k), state)


def new_buffers() -> tuple[np.ndarray, np.ndarray]:
    """Scratch (lanes, normals) for :func:`fill_normals`."""
    return np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64), np.empty(WORDS_PER_REFILL)


@nb.njit(**JIT)
def _standard_normals(seed, first_path, out):
    state = np.zeros(STREAM_SIZE, dtype=np.uint64)
    lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
    z = np.empty(WORDS_PER_REFILL)
    for i in range(out.shape[0]):
        init_stream(state, seed, np.uint64(first_path + i))
        for j0 in range(0, out.shape[1], WORDS_PER_REFILL):
            fill_normals(state, lanes, z)
            for j in range(min(WORDS_PER_REFILL, out.shape[1] - j0)):
                out[i, j0 + j] = z[j]


def standard_normals(seed: int, n_paths: int, n_per_path: int, first_path: int = 0) -> np.ndarray:
    """The first ``n_per_path`` normals of each path's main stream, shape (n_paths, n).

    For ``d <= WORDS_PER_REFILL`` the Euler–Maruyama engine uses these numbers in blocks
    of ``WORDS_PER_REFILL``, ``d`` per step, skipping the ``WORDS_PER_REFILL mod d`` left
    at the end of each block; this is the reference for its reproducibility tests.
    """
    out = np.empty((n_paths, n_per_path))
    _standard_normals(np.uint64(seed), first_path, out)
    return out
