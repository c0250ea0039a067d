"""Discovery of affine symmetry generators xi(x) = A x + b of a system.

xi is a symmetry when [xi, f] = 0, i.e. Df(x, t) (A x + b) - A f(x, t) = 0 for all x (and
t), and A D + D A^T = 0. Both conditions are linear in theta = (vec A, b): stacked at
sampled points and times they form a matrix whose (numerical) null space, from its SVD,
is the Lie algebra of affine symmetries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate import Generator

from ._display import block
from ._inputs import search_box


@dataclass(frozen=True)
class Symmetries:
    """Discovered generators with their residuals.

    Attributes
    ----------
    generators : tuple of Generator
        Exact symmetries first, then approximate ones (``exact=False``).
    residuals : numpy.ndarray
        Each generator's relative residual of [xi, f] = 0 and A D + D A^T = 0 at fresh
        test points.
    kinds : tuple of str
        'translation', 'rotation' or 'affine'.
    status : tuple of str
        'exact' or 'approximate' (with the reason in ``notes``).
    notes : tuple of str
    singular_values : numpy.ndarray
        Relative singular values of the condition matrix (smallest last).
    """

    generators: tuple
    residuals: np.ndarray
    kinds: tuple
    status: tuple
    notes: tuple
    singular_values: np.ndarray

    def __len__(self) -> int:
        return len(self.generators)

    def __repr__(self) -> str:
        n, exact = len(self.generators), sum(s == "exact" for s in self.status)
        header = (
            f"Symmetries({n} generator{'' if n == 1 else 's'}: {exact} exact,"
            f" {n - exact} approximate)"
        )
        rows = [
            f"{g.name}: {k}, {s}, residual {r:.2g}" + (f" ({n})" if n else "")
            for g, k, s, r, n in zip(
                self.generators, self.kinds, self.status, self.residuals, self.notes, strict=True
            )
        ]
        return block(header, rows, "more generators")

    def exact(self) -> list:
        """The generators that are exact symmetries."""
        return [g for g, s in zip(self.generators, self.status, strict=True) if s == "exact"]

    def to_frame(self) -> pd.DataFrame:
        """One row per generator: name, kind, status, residual, A and b flattened, note."""
        return pd.DataFrame(
            [
                {
                    "name": g.name,
                    "kind": k,
                    "status": s,
                    "residual": r,
                    "A": np.round(g.A, 12).tolist(),
                    "b": np.round(g.b, 12).tolist(),
                    "note": note,
                }
                for g, k, s, r, note in zip(
                    self.generators,
                    self.kinds,
                    self.status,
                    self.residuals,
                    self.notes,
                    strict=False,
                )
            ]
        )


def _conditions(system, X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows of the conditions [xi, f] = 0 on theta = (s, b), A = S D^{-1}.

    A D + D A^T = 0 says exactly that S = A D is antisymmetric, so A = S D^{-1} with S
    spanned by E_jm - E_mj (j < m, in ``np.triu_indices`` order) satisfies it by
    construction: d (d + 1) / 2 unknowns instead of d^2 + d, and no rows for it. With
    y = D^{-1} x and g = D^{-1} f, component r of Df (A x + b) - A f at a point is

        sum_{j<m} s_jm (J_rj y_m - J_rm y_j - delta_rj g_m + delta_rm g_j) + sum_j J_rj b_j,

    one row per (point, r), each point's rows divided by max(1, |f|, |Df|).
    """
    d = system.dim
    F = system.f(X, t)
    J = system.jacobian(X, t)
    Y = X @ system.D_inv.T
    G = F @ system.D_inv.T
    j, m = np.triu_indices(d, 1)
    pairs = np.arange(j.size)
    S = J[:, :, j] * Y[:, None, m] - J[:, :, m] * Y[:, None, j]
    S[:, j, pairs] -= G[:, m]
    S[:, m, pairs] += G[:, j]
    scale = np.maximum(1.0, np.maximum(np.abs(F).max(axis=1), np.abs(J).max(axis=(1, 2))))
    M = np.concatenate([S, J], axis=2) / scale[:, None, None]
    return M.reshape(-1, M.shape[2])


def _to_generator_vector(theta: np.ndarray, D_inv: np.ndarray) -> np.ndarray:
    """(s, b) -> (vec A row-major, b) with A = S D^{-1}."""
    d = D_inv.shape[0]
    j, m = np.triu_indices(d, 1)
    S = np.zeros((d, d))
    S[j, m] = theta[: j.size]
    S[m, j] = -theta[: j.size]
    return np.concatenate([(S @ D_inv).ravel(), theta[j.size :]])


def _residual(system, A: np.ndarray, b: np.ndarray, X: np.ndarray, t: np.ndarray) -> float:
    """RMS over test points and components of Df (A x + b) - A f (each point divided by
    max(1, |f|, |Df|)), with the norm of A D + D A^T."""
    F = system.f(X, t)
    J = system.jacobian(X, t)
    R = np.einsum("kij,kj->ki", J, X @ A.T + b) - F @ A.T
    scale = np.maximum(1.0, np.maximum(np.abs(F).max(axis=1), np.abs(J).max(axis=(1, 2))))
    bracket = np.sum((R / scale[:, None]) ** 2)
    metric = np.sum((A @ system.D + system.D @ A.T) ** 2) / max(1.0, np.abs(system.D).max()) ** 2
    return float(np.sqrt((bracket + metric) / R.size))


def _canonical(basis: np.ndarray) -> np.ndarray:
    """A readable basis of the span of ``basis`` rows (reduced row echelon form)."""
    B = basis.copy()
    r = 0
    for c in range(B.shape[1]):
        if r == B.shape[0]:
            break
        piv = r + int(np.argmax(np.abs(B[r:, c])))
        if abs(B[piv, c]) < 1e-8:
            continue
        B[[r, piv]] = B[[piv, r]]
        B[r] /= B[r, c]
        for k in range(B.shape[0]):
            if k != r:
                B[k] -= B[k, c] * B[r]
        r += 1
    B[np.abs(B) < 1e-12] = 0.0
    return B


def find_symmetries(
    system,
    bounds=None,
    *,
    n_points: int | None = None,
    times=None,
    tol: float = 1e-8,
    approximate_tol: float = 1e-3,
    seed: int = 0,
) -> Symmetries:
    """Affine generators xi(x) = A x + b with [xi, f] = 0 and A D + D A^T = 0.

    A D + D A^T = 0 holds exactly when A = S D^{-1} with S antisymmetric, so the unknowns
    are (S, b), d (d + 1) / 2 of them. The conditions Df(x, t) (A x + b) = A f(x, t) at
    ``n_points`` random points of the box ``bounds`` (and, for a non-autonomous system,
    random times in its ``t_span``) are stacked into a matrix acting on them; its right
    singular vectors with relative singular value below ``tol`` span the exact
    symmetries, those below ``approximate_tol`` approximate ones. The cost is that of
    one SVD of an (n_points d) x d (d + 1) / 2 matrix (times at d = 64 in
    ``docs/networks.md``). A discovered generator that matches a
    declared one marked ``exact=False`` (e.g. a translation broken by absorbing bounds,
    which the drift does not see) is reported as approximate. Each generator's residual
    is measured at fresh test points; each is classified as a translation (A = 0), a
    rotation (A antisymmetric, b = 0) or affine.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    bounds
        (lower, upper) of the sampling box (default: the box of the named points,
        widened by half its size, at least [-2, 2]^d).
    n_points
        Number of sample points (default max(d + 16, min(200, 4096 // d)): 200 for
        small systems, and at least twice as many conditions as unknowns).
    times
        Sample times (default: 0 for autonomous systems, else 7 times in ``t_span``).
    tol, approximate_tol
        Relative singular-value thresholds (``singular_values`` holds those of the
        reduced matrix on (S, b)).
    seed
        Seed of the sample points.

    Returns
    -------
    Symmetries
    """
    d = system.dim
    if n_points is None:
        n_points = max(d + 16, min(200, 4096 // d))
    if int(n_points) < 1:
        raise ValueError(f"`n_points` must be >= 1, got {n_points!r}")
    lo, hi = search_box(system, bounds)
    if times is None:
        if system.autonomous:
            times = [0.0]
        else:
            a, b = system.t_span if system.t_span is not None else (0.0, 1.0)
            times = np.linspace(a, b, 7)
    times = np.atleast_1d(np.asarray(times, dtype=float))
    rng = np.random.default_rng(seed)

    def sample(k):
        X = lo + (hi - lo) * rng.random((k, d))
        t = rng.choice(times, size=k)
        return X, t

    X, t = sample(int(n_points))
    M = _conditions(system, X, t)
    _, sv, Vt = np.linalg.svd(M, full_matrices=M.shape[0] < M.shape[1])
    full = np.zeros(Vt.shape[0])
    full[: sv.size] = sv
    rel = full / max(full[0], 1e-300)
    Xt, tt = sample(int(n_points))
    gens, res, kinds, status, notes = [], [], [], [], []
    for level, label in ((tol, "exact"), (approximate_tol, "approximate")):
        lower = 0.0 if label == "exact" else tol
        idx = np.where((rel < level) & (rel >= lower))[0]
        if idx.size == 0:
            continue
        basis = _canonical(np.array([_to_generator_vector(v, system.D_inv) for v in Vt[idx]]))
        for v in basis:
            v = v / np.max(np.abs(v))
            A0 = v[: d * d].reshape(d, d)
            upper = A0[np.triu_indices(d, 1)]
            lead = upper[np.abs(upper) > 1e-9]
            if (
                lead.size and lead[0] > 0
            ):  # orient rotations as simulate.rotation: L = x_i p_j - x_j p_i
                v = -v
            A, b = v[: d * d].reshape(d, d), v[d * d :]
            r = _residual(system, A, b, Xt, tt)
            g = Generator(A, b, name="", exact=label == "exact")
            state, note = label, ""
            for h in system.generators:
                hv = np.concatenate([h.A.ravel(), h.b])
                hv = hv / np.max(np.abs(hv))
                if not h.exact and (
                    np.allclose(hv, v, atol=1e-6) or np.allclose(hv, -v, atol=1e-6)
                ):
                    state, note = (
                        "approximate",
                        f"declared approximate ({h.name}): broken outside f (e.g. by bounds)",
                    )
            kind = g.kind
            k = len(gens)
            name = {"translation": "P", "rotation": "L"}.get(kind, "Q") + str(k)
            gens.append(Generator(A, b, name=name, exact=state == "exact"))
            res.append(r)
            kinds.append(kind)
            status.append(state)
            notes.append(note)
    return Symmetries(tuple(gens), np.array(res), tuple(kinds), tuple(status), tuple(notes), rel)
