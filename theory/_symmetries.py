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
    """Rows of the linear conditions on theta = (vec A (row-major), b)."""
    d = system.dim
    F = system.f(X, t)
    J = system.jacobian(X, t)
    rows = []
    for k in range(X.shape[0]):
        # component r: sum_j J_rj (sum_l A_jl x_l + b_j) - sum_l A_rl f_l
        R = np.zeros((d, d * d + d))
        for r in range(d):
            R[r, : d * d] = np.kron(J[k, r], X[k])  # J_rj x_l at index j*d + l
            R[r, r * d : (r + 1) * d] -= F[k]
            R[r, d * d :] = J[k, r]
        scale = max(1.0, float(np.abs(F[k]).max()), float(np.abs(J[k]).max()))
        rows.append(R / scale)
    # A D + D A^T = 0: entry (i, j) = sum_l A_il D_lj + D_il A_jl
    D = system.D
    C = np.zeros((d * d, d * d + d))
    for i in range(d):
        for j in range(d):
            for l in range(d):
                C[i * d + j, i * d + l] += D[l, j]
                C[i * d + j, j * d + l] += D[i, l]
    rows.append(C / max(1.0, float(np.abs(D).max())))
    return np.vstack(rows)


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
    n_points: int = 200,
    times=None,
    tol: float = 1e-8,
    approximate_tol: float = 1e-3,
    seed: int = 0,
) -> Symmetries:
    """Affine generators xi(x) = A x + b with [xi, f] = 0 and A D + D A^T = 0.

    The conditions Df(x, t) (A x + b) = A f(x, t) at ``n_points`` random points of the
    box ``bounds`` (and, for a non-autonomous system, random times in its ``t_span``)
    and A D + D A^T = 0 are stacked into a matrix acting on (vec A, b); its right singular
    vectors with relative singular value below ``tol`` span the exact symmetries, those
    below ``approximate_tol`` approximate ones. A discovered generator that matches a
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
        Number of sample points.
    times
        Sample times (default: 0 for autonomous systems, else 7 times in ``t_span``).
    tol, approximate_tol
        Relative singular-value thresholds.
    seed
        Seed of the sample points.

    Returns
    -------
    Symmetries
    """
    d = system.dim
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
    _, sv, Vt = np.linalg.svd(M)
    full = np.zeros(Vt.shape[0])
    full[: sv.size] = sv
    rel = full / max(full[0], 1e-300)
    Xt, tt = sample(int(n_points))
    Mt = _conditions(system, Xt, tt)
    gens, res, kinds, status, notes = [], [], [], [], []
    for level, label in ((tol, "exact"), (approximate_tol, "approximate")):
        lower = 0.0 if label == "exact" else tol
        idx = np.where((rel < level) & (rel >= lower))[0]
        if idx.size == 0:
            continue
        basis = _canonical(Vt[idx])
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
            r = float(np.linalg.norm(Mt @ v) / np.sqrt(Mt.shape[0]))
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
