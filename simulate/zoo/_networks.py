"""Network-sized systems: a ring of Stuart–Landau oscillators and a rate network.

Both come with a per-path drift (for every analysis) and a *batched* drift
``f(X, t, params, out)`` on an (n_paths, d) block for :func:`simulate.ensemble_batched`;
the derivation of the ring's twisted-state spectrum is in ``docs/networks.md``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .._numba_types import DRIFT_SIGNATURE, JACOBIAN_SIGNATURE, JIT
from .._reaction_coordinates import xi_fn
from .._system import DiscreteSymmetry, Generator, System

drift_fn = nb.njit(DRIFT_SIGNATURE, **JIT)
jac_fn = nb.njit(JACOBIAN_SIGNATURE, **JIT)


# --- ring of Stuart–Landau oscillators ------------------------------------------------
# State layout: x = (Re z_0, Im z_0, Re z_1, Im z_1, ...), params = (mu, K).


@drift_fn
def _oscillator_ring_drift(x, t, p, out):
    mu = p[0]
    coupling = p[1]
    n = x.shape[0] // 2
    for k in range(n):
        up = 2 * (k + 1 if k + 1 < n else 0)
        down = 2 * (k - 1 if k > 0 else n - 1)
        re = x[2 * k]
        im = x[2 * k + 1]
        a = mu - (re * re + im * im)
        out[2 * k] = a * re + coupling * (x[up] - 2.0 * re + x[down])
        out[2 * k + 1] = a * im + coupling * (x[up + 1] - 2.0 * im + x[down + 1])


@jac_fn
def _oscillator_ring_jacobian(x, t, p, out):
    mu = p[0]
    coupling = p[1]
    n = x.shape[0] // 2
    out[:, :] = 0.0
    for k in range(n):
        up = 2 * (k + 1 if k + 1 < n else 0)
        down = 2 * (k - 1 if k > 0 else n - 1)
        re = x[2 * k]
        im = x[2 * k + 1]
        a = mu - (re * re + im * im)
        out[2 * k, 2 * k] += a - 2.0 * re * re - 2.0 * coupling
        out[2 * k, 2 * k + 1] += -2.0 * re * im
        out[2 * k + 1, 2 * k] += -2.0 * re * im
        out[2 * k + 1, 2 * k + 1] += a - 2.0 * im * im - 2.0 * coupling
        # += so that N = 2 (up == down) gets both neighbours
        for m in range(2):
            out[2 * k + m, up + m] += coupling
            out[2 * k + m, down + m] += coupling


def _oscillator_ring_batched(X, t, p, out):
    """The ring's drift on a block (n_paths, 2N), the same operations in the same order
    as the per-path drift (so the two agree bit for bit)."""
    mu, coupling = p[0], p[1]
    Z = X.reshape(X.shape[0], -1, 2)
    a = mu - (Z[..., 0] * Z[..., 0] + Z[..., 1] * Z[..., 1])
    lap = np.roll(Z, -1, axis=1) - 2.0 * Z + np.roll(Z, 1, axis=1)
    out.reshape(Z.shape)[...] = a[..., None] * Z + coupling * lap


def twisted_state(q: int, n: int, mu: float, coupling: float, phase: float = 0.0) -> np.ndarray:
    """The twisted state z_k = r exp(i (2 pi q k / N + phase)) of the oscillator ring,
    r^2 = mu - 4 K sin^2(pi q / N), as a point (Re z_0, Im z_0, ...); a ValueError if
    r^2 <= 0 (no such state)."""
    r2 = mu - 4.0 * coupling * math.sin(math.pi * q / n) ** 2
    if r2 <= 0:
        raise ValueError(f"no twisted state q = {q}: r^2 = mu - 4 K sin^2(pi q/N) = {r2:g}")
    angle = 2.0 * math.pi * q * np.arange(n) / n + phase
    return np.column_stack([np.cos(angle), np.sin(angle)]).ravel() * math.sqrt(r2)


def twisted_spectrum(q: int, n: int, mu: float = 1.0, coupling: float = 1.0) -> np.ndarray:
    """Eigenvalues (2N, real, descending) of the ring's Jacobian at the twisted state q.

    With theta = 2 pi q / N, r^2 = mu - 4 K sin^2(theta/2) and the perturbation's
    wavenumbers p = 2 pi m / N (m = 0 .. N-1), each p gives two eigenvalues

        lambda_pm(p) = -r^2 - 4 K cos(theta) sin^2(p/2) +- sqrt(r^4 + 4 K^2 sin^2(theta) sin^2(p)),

    (derived in ``docs/networks.md``); p = 0 gives 0 (the U(1) phase) and -2 r^2.
    """
    theta = 2.0 * math.pi * q / n
    r2 = mu - 4.0 * coupling * math.sin(theta / 2) ** 2
    p = 2.0 * math.pi * np.arange(n) / n
    mean = -r2 - 4.0 * coupling * math.cos(theta) * np.sin(p / 2) ** 2
    root = np.sqrt(r2**2 + 4.0 * coupling**2 * math.sin(theta) ** 2 * np.sin(p) ** 2)
    return np.sort(np.concatenate([mean + root, mean - root]))[::-1]


def twist_is_stable(q: int, n: int, mu: float = 1.0, coupling: float = 1.0) -> bool:
    """Whether the twisted state q is linearly stable (apart from its U(1) direction).

    From :func:`twisted_spectrum`: r^2 > 0, cos(theta) > 0 and
    r^2 cos(theta) > 2 K (sin^2(theta) - sin^2(pi / N)) (the worst wavenumber p = 2 pi / N).
    """
    theta = 2.0 * math.pi * q / n
    r2 = mu - 4.0 * coupling * math.sin(theta / 2) ** 2
    return bool(
        r2 > 0
        and math.cos(theta) > 0
        and r2 * math.cos(theta)
        > 2.0 * coupling * (math.sin(theta) ** 2 - math.sin(math.pi / n) ** 2)
    )


def ring_potential(x, mu: float = 1.0, coupling: float = 1.0) -> np.ndarray | float:
    """The oscillator ring's potential, f = -grad V (the ring is a gradient system, D = I):

        V = sum_k (-mu |z_k|^2 / 2 + |z_k|^4 / 4) + K/2 sum_k |z_{k+1} - z_k|^2,

    for points x (..., 2N) laid out as (Re z_0, Im z_0, ...). With dX = f dt + sqrt(2 eps) dW
    the infinite-time action between an attractor and a saddle of index 1 is the difference
    of V (``docs/networks.md``, "The twist transition")."""
    x = np.asarray(x, dtype=float)
    z = x[..., 0::2] + 1j * x[..., 1::2]
    a2 = np.abs(z) ** 2
    bond = np.abs(np.roll(z, -1, axis=-1) - z) ** 2
    return np.sum(-0.5 * mu * a2 + 0.25 * a2**2 + 0.5 * coupling * bond, axis=-1)


def ring_winding(x) -> np.ndarray | int:
    """Winding number of ring states x (..., 2N): the sum of the neighbour phase differences
    arg(z_{k+1} / z_k), each in (-pi, pi], over 2 pi (an integer; q for ``twist_q``)."""
    x = np.asarray(x, dtype=float)
    z = x[..., 0::2] + 1j * x[..., 1::2]
    total = np.sum(np.angle(np.roll(z, -1, axis=-1) * np.conj(z)), axis=-1)
    return np.rint(total / (2.0 * math.pi)).astype(int)


@xi_fn
def ring_fourier_power(x, p):
    """Reaction coordinate sync -> twist_q for AMS: xi = |Z_q|^2 - |Z_0|^2 with
    Z_m = (1/N) sum_k z_k e^{-2 pi i m k / N} and q = p[0] (``reaction_coordinate(
    ring_fourier_power, (q,))``). Smooth, and invariant under the U(1) rotation and the
    ring's translation z_k -> z_{k+1} (each multiplies Z_m by a phase), so it treats every
    phase and every slip site alike; -mu at sync, r^2 at twist_q."""
    n = x.shape[0] // 2
    q = p[0]
    a0r = 0.0
    a0i = 0.0
    aqr = 0.0
    aqi = 0.0
    for k in range(n):
        c = math.cos(2.0 * math.pi * q * k / n)
        s = math.sin(2.0 * math.pi * q * k / n)
        re = x[2 * k]
        im = x[2 * k + 1]
        a0r += re
        a0i += im
        aqr += re * c + im * s
        aqi += im * c - re * s
    return (aqr * aqr + aqi * aqi - a0r * a0r - a0i * a0i) / (n * n)


def phase_rotation(n: int) -> Generator:
    """The U(1) generator of the oscillator ring: the global phase rotation z_k -> e^{i a} z_k,
    A = block-diagonal [[0, -1], [1, 0]] (antisymmetric), b = 0. Its charge is
    Q = sum_k (Re z_k p_{Im z_k} - Im z_k p_{Re z_k})."""
    A = np.kron(np.eye(n), np.array([[0.0, -1.0], [1.0, 0.0]]))
    return Generator(A, np.zeros(2 * n), "U1")


def ring_shift(n: int) -> DiscreteSymmetry:
    """The ring's translation z_k -> z_{k+1} (indices mod N) as a discrete symmetry: the
    permutation (M x)_{2k + c} = x_{2(k+1 mod N) + c}, of order N. It maps twist_q at
    phase phi to twist_q at phi + 2 pi q / N and the N phase-slip saddles of
    docs/networks.md onto each other."""
    perm = np.roll(np.arange(n), -1)
    M = np.kron(np.eye(n)[perm], np.eye(2))
    return DiscreteSymmetry(M, "shift")


def oscillator_ring(n: int = 16, mu: float = 1.0, coupling: float = 1.0) -> System:
    """A ring of N Stuart–Landau oscillators (2N real dimensions), D = I:

        z_k' = (mu - |z_k|^2) z_k + K (z_{k+1} - 2 z_k + z_{k-1}),   k mod N,

    with x = (Re z_0, Im z_0, Re z_1, ...) and params (mu, K). The global phase rotation is
    an exact U(1) symmetry (:func:`phase_rotation`); the translation z_k -> z_{k+1} a
    discrete one (:func:`ring_shift`). Named states: ``origin`` and the
    twisted states ``twist_q`` (z_k = r e^{2 pi i q k / N}, r^2 = mu - 4 K sin^2(pi q/N),
    every q in (-N/2, N/2] with r^2 > 0), circles of equilibria; ``twist_0`` is the
    synchronous state, also named ``sync``. Which q are stable: :func:`twist_is_stable`
    (at the defaults N = 16, mu = K = 1: q = -1, 0, 1).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"`n` must be an integer >= 2, got {n!r}")
    if not (np.isfinite(mu) and mu > 0):
        raise ValueError(f"`mu` must be positive and finite, got {mu}")
    if not (np.isfinite(coupling) and coupling >= 0):
        raise ValueError(f"`coupling` must be non-negative and finite, got {coupling}")
    n = int(n)
    states: dict = {"origin": np.zeros(2 * n)}
    for q in range(-((n - 1) // 2), n // 2 + 1):
        if mu - 4.0 * coupling * math.sin(math.pi * q / n) ** 2 > 0:
            states[f"twist_{q}"] = twisted_state(q, n, mu, coupling)
    states["sync"] = states["twist_0"]
    return System(
        drift=_oscillator_ring_drift,
        jac=_oscillator_ring_jacobian,
        batched_drift=_oscillator_ring_batched,
        D=np.eye(2 * n),
        params=[mu, coupling],
        param_names=("mu", "K"),
        states=states,
        generators=(phase_rotation(n),),
        discrete=(ring_shift(n),),
        name="oscillator_ring",
        description=f"ring of {n} Stuart-Landau oscillators, diffusive coupling, U(1) symmetry",
    )


# --- rate network x' = -x + W phi(x) + b ----------------------------------------------
# params = (W row-major, b, phi code): code 0 is tanh, 1 the logistic 1 / (1 + e^{-u}).

_PHI = {"tanh": 0, "logistic": 1}


@nb.njit(**JIT)
def _phi(u, code):
    if code == 0:
        return math.tanh(u)
    return 1.0 / (1.0 + math.exp(-u))


@nb.njit(**JIT)
def _phi_prime(u, code):
    if code == 0:
        c = math.tanh(u)
        return 1.0 - c * c
    s = 1.0 / (1.0 + math.exp(-u))
    return s * (1.0 - s)


@drift_fn
def _rate_drift(x, t, p, out):
    d = x.shape[0]
    code = p[d * d + d]
    for j in range(d):
        out[j] = _phi(x[j], code)  # phi(x) first; each out[i] below needs all of it
    phi = out.copy()
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += p[i * d + j] * phi[j]
        out[i] = -x[i] + s + p[d * d + i]


@jac_fn
def _rate_jacobian(x, t, p, out):
    d = x.shape[0]
    code = p[d * d + d]
    for j in range(d):
        slope = _phi_prime(x[j], code)
        for i in range(d):
            out[i, j] = p[i * d + j] * slope
    for i in range(d):
        out[i, i] -= 1.0


def _rate_batched(X, t, p, out):
    """x' = -x + W phi(x) + b on a block: one matrix product phi(X) W^T over the paths."""
    d = X.shape[1]
    W = p[: d * d].reshape(d, d)
    b = p[d * d : d * d + d]
    phi = np.tanh(X) if p[d * d + d] == 0 else 1.0 / (1.0 + np.exp(-X))
    np.matmul(phi, W.T, out=out)
    out -= X
    out += b


def rate_network(W, b=None, phi: str = "tanh", D=None) -> System:
    """A rate network x' = -x + W phi(x) + b (d units), noise D (default I).

    ``W`` (d, d) and ``b`` (d,) are the user's; ``phi`` is ``"tanh"`` (default) or
    ``"logistic"`` (1 / (1 + e^{-u})). params = (W row-major, b, phi code); the batched
    drift makes the recurrent input one matrix product across paths. No symmetry is
    declared (:func:`theory.find_symmetries` looks for one).
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
        raise ValueError(f"`W` must be a square (d, d) matrix, got shape {W.shape}")
    d = W.shape[0]
    b = np.zeros(d) if b is None else np.asarray(b, dtype=float)
    if b.shape != (d,):
        raise ValueError(f"`b` must have shape ({d},), got {b.shape}")
    if phi not in _PHI:
        raise ValueError(f"`phi` must be one of {list(_PHI)}, got {phi!r}")
    names = tuple(f"W{i}_{j}" for i in range(d) for j in range(d))
    return System(
        drift=_rate_drift,
        jac=_rate_jacobian,
        batched_drift=_rate_batched,
        D=np.eye(d) if D is None else D,
        params=np.concatenate([W.ravel(), b, [_PHI[phi]]]),
        param_names=(*names, *(f"b{i}" for i in range(d)), "phi"),
        states={"origin": np.zeros(d)},
        name="rate_network",
        description=f"rate network x' = -x + W {phi}(x) + b, {d} units",
    )
