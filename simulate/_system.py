"""The system under study: dX = f(X, t) dt + sqrt(2 eps D(t)) dW, with D(t) = d(t) D.

A :class:`System` is a frozen, validated value that every analysis takes first. Its drift
is a numba function ``f(x, t, params, out)`` compiled for :data:`DRIFT_SIGNATURE`, so the
engine receives it as a first-class function value and one cached kernel serves every
system.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from numba import carray
from numba.core.registry import CPUDispatcher

from ._numba_types import (
    DRIFT_SIGNATURE,
    JACOBIAN_SIGNATURE,
    JIT,
    RAW_DRIFT_SIGNATURE,
    SCHEDULE_SIGNATURE,
    DriftType,
    JacobianType,
    ScheduleType,
    compiled,
)
from ._sets import StopSet


class DiscreteCheckWarning(UserWarning):
    """Some of the points at which a :class:`System` checks a declared discrete symmetry
    could be checked only in part: the drift is not finite at both x and M x there, and
    only its non-finite pattern, the signs of its infinities and its finite components
    are compared."""


@dataclass(frozen=True)
class Generator:
    """An affine vector field xi(x) = A x + b, a candidate continuous symmetry.

    It is a symmetry of dX = f dt + sqrt(2 eps D) dW when [xi, f] = 0, i.e.
    ``Df(x) xi(x) = A f(x)`` for all x, and ``A D + D A^T = 0``; then the Noether charge
    ``Q = p . xi(x)`` is conserved along every instanton. ``exact=False`` marks a
    symmetry that holds only approximately (e.g. broken by absorbing boundaries).
    """

    A: np.ndarray
    b: np.ndarray
    name: str
    exact: bool = True

    @property
    def kind(self) -> str:
        """'translation' (A = 0), 'rotation' (A antisymmetric, non-zero) or 'affine'."""
        if not np.any(self.A):
            return "translation"
        if np.allclose(self.A, -self.A.T) and not np.any(self.b):
            return "rotation"
        return "affine"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """xi(x) for a point (d,) or points (..., d)."""
        return np.asarray(x) @ self.A.T + self.b


def translation(dim: int, axis: int, name: str | None = None, exact: bool = True) -> Generator:
    """The generator of translations along coordinate ``axis``: xi = e_axis."""
    b = np.zeros(dim)
    b[axis] = 1.0
    return Generator(np.zeros((dim, dim)), b, name or f"p_{axis}", exact)


def rotation(dim: int, i: int, j: int, name: str | None = None, exact: bool = True) -> Generator:
    """The generator of rotations in the (i, j) plane; its charge is L_ij = x_i p_j - x_j p_i."""
    A = np.zeros((dim, dim))
    A[i, j] = -1.0
    A[j, i] = 1.0
    return Generator(A, np.zeros(dim), name or f"L_{i}{j}", exact)


@dataclass(frozen=True)
class DiscreteSymmetry:
    """A linear map x -> M x generating a finite (cyclic) symmetry group {M^k}.

    It is a symmetry of dX = f dt + sqrt(2 eps D) dW when f(M x, t) = M f(x, t) for all x
    and M D M^T = D; it carries no charge, but a quantity compared with a reference path
    (the tube, ``validate.tube_statistics``) may be minimised over the group. Example: the
    oscillator ring's translation z_k -> z_{k+1} (``zoo.ring_shift``), of order N.
    """

    M: np.ndarray
    name: str

    def __post_init__(self) -> None:
        M = np.asarray(self.M, dtype=float)
        if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.all(np.isfinite(M)):
            raise ValueError(f"`M` of {self.name!r} must be a finite square matrix, got {M.shape}")
        object.__setattr__(self, "M", M)

    def elements(self, max_order: int = 4096) -> tuple[np.ndarray, ...]:
        """The group {I, M, M^2, ..., M^(k-1)}, k the order of M (M^k = I to 1e-12); a
        ValueError when M^k != I for every k <= ``max_order`` (not a finite group)."""
        eye = np.eye(self.M.shape[0])
        out, P = [eye], self.M
        while not np.allclose(P, eye, rtol=0.0, atol=1e-12):
            if len(out) >= max_order:
                raise ValueError(f"{self.name!r}: M^k != I for k <= {max_order}")
            out.append(P)
            P = P @ self.M
        return tuple(out)

    @property
    def order(self) -> int:
        """The order k of the group: the least k >= 1 with M^k = I."""
        return len(self.elements())


def compile_for(fn: Callable, signature, what: str):
    """Return ``fn`` as a numba dispatcher compiled for ``signature`` (a plain Python
    function is jitted first); a ValueError naming ``what`` if it cannot be."""
    if not isinstance(fn, CPUDispatcher):
        if not callable(fn):
            raise ValueError(f"`{what}` must be a callable, got {type(fn).__name__}")
        try:
            fn = nb.njit(**JIT)(fn)
        except RuntimeError:  # no cache locator (stdin, some notebooks): compile uncached
            fn = nb.njit(**(JIT | {"cache": False}))(fn)
    if tuple(signature.args) in fn.signatures:
        return fn
    try:
        fn.compile(signature)
    except Exception as exc:  # numba raises many typing error classes
        raise ValueError(
            f"`{what}` could not be compiled for the signature {signature}: {exc}"
        ) from exc
    return fn


@functools.cache
def _raw_drift(drift, dim: int):
    """A C function ``f(x, t, params, n_params, out)`` on raw pointers calling ``drift``.

    Compiled once per drift and process (about 0.1 s); not cached on disk, because numba
    keys cached closures by their pickled variables, and a pickled dispatcher differs
    from process to process.
    """

    @nb.cfunc(RAW_DRIFT_SIGNATURE, error_model=JIT["error_model"])
    def raw(x, t, params, n_params, out):
        drift(carray(x, dim), t, carray(params, n_params), carray(out, dim))

    return raw


@nb.njit(SCHEDULE_SIGNATURE, **JIT)
def _unit_schedule(t, params):
    return 1.0


@dataclass(frozen=True, eq=False)
class System:
    """A noisy dynamical system dX = f(X, t) dt + sqrt(2 eps d(t) D) dW (Itô).

    Parameters
    ----------
    drift
        ``f(x, t, params, out)`` writing f(x, t) into ``out`` (numba-compilable; a plain
        Python function is compiled for you).
    D
        Constant symmetric positive-definite (d, d) matrix (a scalar means ``D * I``,
        only with ``dim``).
    params
        Parameter vector passed to ``drift``/``jac``; ``param_names`` names its entries.
    jac
        Optional ``jac(x, t, params, out)`` writing ``out[i, j] = d f_i / d x_j``; without
        it :meth:`jacobian` uses central finite differences.
    schedule
        Optional scalar ``d(t, params) > 0`` so that D(t) = d(t) D.
    t_span
        The system's natural time window, if it has one (e.g. the reverse-diffusion
        window), used as a default by samplers and instanton solvers.
    batched_drift
        Optional ``F(X, t, params, out)`` writing the drift of every row of an
        (n_paths, d) block ``X`` into ``out`` (plain numpy is fine: one matrix product
        across paths), for :func:`~simulate.ensemble_batched`; checked against ``drift``
        at the probe point.
    states
        Named points (arrays of shape (d,)) and sets (:class:`StopSet`).
    generators
        Declared symmetry generators.
    discrete
        Declared discrete symmetries (:class:`DiscreteSymmetry`), checked at
        construction: M D M^T = D and f(M x) = M f(x) at the probe and four points around
        it, to 1e-9 relative. A point where the drift is not finite at x and at M x (off
        its domain) is compared only where it can be (f(M x) not finite where M f(x) is
        not, infinities of the same sign, finite components to 1e-9), with a
        :class:`DiscreteCheckWarning`; not finite at one of them only is a ValueError.
    autonomous
        Whether f and D are independent of t. ``None`` (default): checked numerically,
        by evaluating the drift (and the schedule) at four times at the probe, the named
        points and four fixed points around the probe (a function that ignores t returns
        the same bits). ``True`` is refused (ValueError) when that check sees t change
        them. The quasi-energy H is conserved, and instantons are re-timed at one energy,
        only for autonomous systems.
    """

    drift: Callable
    D: np.ndarray
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    jac: Callable | None = None
    schedule: Callable | None = None
    states: Mapping[str, object] = field(default_factory=dict)
    generators: tuple[Generator, ...] = ()
    discrete: tuple[DiscreteSymmetry, ...] = ()
    autonomous: bool | None = None
    name: str = "system"
    param_names: tuple[str, ...] = ()
    dim: int | None = None
    probe: np.ndarray | None = None
    description: str = ""
    t_span: tuple[float, float] | None = None
    batched_drift: Callable | None = None

    def __post_init__(self) -> None:
        D = np.asarray(self.D, dtype=float)
        if D.ndim == 0:
            if self.dim is None:
                raise ValueError("`D` is a scalar: give `dim` too")
            D = D * np.eye(int(self.dim))
        if D.ndim != 2 or D.shape[0] != D.shape[1]:
            raise ValueError(f"`D` must be a square (d, d) matrix, got shape {D.shape}")
        dim = D.shape[0]
        if self.dim is not None and int(self.dim) != dim:
            raise ValueError(f"`dim` = {self.dim} does not match `D` of shape {D.shape}")
        if not np.all(np.isfinite(D)):
            raise ValueError(f"`D` has non-finite entries: {D}")
        if not np.allclose(D, D.T, rtol=1e-12, atol=1e-14):
            raise ValueError(f"`D` must be symmetric, got {D}")
        try:
            chol = np.linalg.cholesky(D)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"`D` must be positive definite; its eigenvalues are {np.linalg.eigvalsh(D)}"
            ) from None
        params = np.ascontiguousarray(np.atleast_1d(np.asarray(self.params, dtype=float)))
        if params.ndim != 1:
            raise ValueError(f"`params` must be a 1-D vector, got shape {params.shape}")
        if not np.all(np.isfinite(params)):
            raise ValueError(f"`params` has non-finite entries: {params}")
        if self.param_names and len(self.param_names) != params.size:
            raise ValueError(
                f"`param_names` has {len(self.param_names)} names for {params.size} params"
            )
        set_ = object.__setattr__
        set_(self, "D", D)
        set_(self, "dim", dim)
        set_(self, "params", params)
        set_(self, "param_names", tuple(self.param_names))
        set_(self, "_chol", chol)
        set_(self, "_D_inv", np.linalg.inv(D))
        set_(self, "drift", compile_for(self.drift, DRIFT_SIGNATURE, "drift"))
        if self.jac is not None:
            set_(self, "jac", compile_for(self.jac, JACOBIAN_SIGNATURE, "jac"))
        if self.schedule is not None:
            set_(self, "schedule", compile_for(self.schedule, SCHEDULE_SIGNATURE, "schedule"))
        set_(self, "states", dict(self.states))
        for key, value in self.states.items():
            if isinstance(value, StopSet):
                if value.dim != dim:
                    raise ValueError(f"`states[{key!r}]` is a set in R^{value.dim}, not R^{dim}")
            else:
                point = np.asarray(value, dtype=float)
                if point.shape != (dim,) or not np.all(np.isfinite(point)):
                    raise ValueError(
                        f"`states[{key!r}]` must be a finite point of shape ({dim},), got {value!r}"
                    )
                self.states[key] = point
        generators = tuple(self.generators)
        for g in generators:
            if g.A.shape != (dim, dim) or g.b.shape != (dim,):
                raise ValueError(
                    f"`generators`: {g.name!r} has A {g.A.shape} and b {g.b.shape}, "
                    f"expected ({dim}, {dim}) and ({dim},)"
                )
        set_(self, "generators", generators)
        probe = np.full(dim, 0.1) if self.probe is None else np.asarray(self.probe, float)
        if probe.shape != (dim,):
            raise ValueError(f"`probe` must have shape ({dim},), got {probe.shape}")
        if not np.all(np.isfinite(probe)):
            raise ValueError(f"`probe` must be finite, got {probe.tolist()}")
        set_(self, "discrete", tuple(self.discrete))
        t0 = 0.0 if self.t_span is None else float(self.t_span[0])
        _check_writes("drift", self.drift, probe, t0, params, (dim,))
        if self.jac is not None:
            _check_writes("jac", self.jac, probe, t0, params, (dim, dim))
        if self.batched_drift is not None:
            self._check_batched(probe, self.f(probe, 0.0))
        for g in self.discrete:
            self._check_discrete(g, probe, t0)
        if self.schedule is not None:
            d0 = _call_checked("schedule", self.schedule, (t0, params.copy()), dim, params)
            if not (np.isfinite(d0) and d0 > 0):
                raise ValueError(f"`schedule` must be positive and finite, d({t0:g}) = {d0}")
        # with_params re-checks a system whose autonomy was found, not declared
        set_(self, "_declared_autonomous", self.autonomous)
        reads_t = self._depends_on_time()
        if self.autonomous and reads_t:
            raise ValueError(
                "`autonomous=True`, but the drift or the schedule changes with t: give"
                " `autonomous=False` or None (checked)"
            )
        set_(self, "autonomous", not reads_t if self.autonomous is None else self.autonomous)

    def _depends_on_time(self) -> bool:
        """Whether f(x, t) or d(t) changes with t (see ``autonomous``)."""
        t0, t1 = (0.0, 1.0) if self.t_span is None else (float(v) for v in self.t_span)
        # incommensurate fractions: a drift periodic in t is not caught at its period
        times = t0 + (t1 - t0) * np.array([0.0, 1.0, 0.3819660112501051, 2.718281828459045])
        probe = np.asarray(self.probe if self.probe is not None else np.full(self.dim, 0.1))
        offsets = np.random.default_rng(0).normal(size=(4, self.dim))
        points = [probe, *(probe + offsets * max(1.0, float(np.max(np.abs(probe)))))]
        points += [v for v in self.states.values() if isinstance(v, np.ndarray)]
        X = np.asarray(points, dtype=float)
        F0 = self.f(X, times[0])
        if any(not np.array_equal(self.f(X, tk), F0, equal_nan=True) for tk in times[1:]):
            return True
        d = self.diffusion_scale(times)
        return not np.all(d == d[0])

    def _check_discrete(self, g, probe: np.ndarray, t0: float) -> None:
        """A declared discrete symmetry maps D to itself and commutes with the drift."""
        if not isinstance(g, DiscreteSymmetry):
            raise ValueError(f"`discrete` takes DiscreteSymmetry values, got {type(g).__name__}")
        M = g.M
        if M.shape != (self.dim, self.dim):
            raise ValueError(f"`discrete`: {g.name!r} has M {M.shape}, expected {self.D.shape}")
        if not np.allclose(M @ self.D @ M.T, self.D, rtol=1e-12, atol=1e-12):
            raise ValueError(f"`discrete`: {g.name!r} does not preserve D (M D M^T != D)")
        rng = np.random.default_rng(0)  # fixed points around the probe, as _depends_on_time
        X = probe + rng.normal(size=(5, self.dim)) * max(1.0, float(np.max(np.abs(probe))))
        X[0] = probe
        fmx, fx = self.f(X @ M.T, t0), self.f(X, t0)
        bad_mx, bad_x = ~np.all(np.isfinite(fmx), axis=1), ~np.all(np.isfinite(fx), axis=1)
        if np.any(bad_mx != bad_x):
            k = int(np.argmax(bad_mx != bad_x))
            raise ValueError(
                f"`discrete`: {g.name!r} is not a symmetry of the drift: at x = {X[k].tolist()}"
                f", f(M x) = {fmx[k].tolist()} and f(x) = {fx[k].tolist()}, one finite and "
                "the other not"
            )
        # a drift undefined (or infinite) at both x and M x, off its domain, can be
        # consistent with the symmetry there, but its values cannot all be compared (and an
        # infinite one would make the tolerance infinite): checked in full at the other
        # points, the probe always among them (f(probe) is finite, _check_writes); the
        # product by M only on finite rows, where 0 * inf cannot make a NaN
        if np.any(bad_x):
            warnings.warn(
                f"`discrete`: {g.name!r} checked at {int(np.sum(~bad_x))} of {len(X)} points:"
                f" the drift is not finite at x and at M x for x in {X[bad_x].tolist()}",
                DiscreteCheckWarning,
                stacklevel=4,
            )
        # at those points, what can be compared is: M f(x) component by component over M's
        # non-zero entries (0 * inf left out, and the round-off of a zero computed with
        # cos and sin), non-finite where f(M x) is, infinities of the same sign, the finite
        # components as at the other points
        nonzero = np.abs(M) > 1e-12 * np.abs(M).max()
        with np.errstate(invalid="ignore"):
            part = np.where(nonzero, fx[bad_x][:, None, :] * M, 0.0).sum(axis=-1)
        both = fmx[bad_x]
        finite = np.isfinite(part)
        clash = (finite != np.isfinite(both)) | (np.isinf(part) & np.isinf(both) & (part != both))
        if np.any(clash):
            k = int(np.argmax(np.any(clash, axis=1)))
            raise ValueError(
                f"`discrete`: {g.name!r} is not a symmetry of the drift: at x = "
                f"{X[bad_x][k].tolist()}, f(M x) = {both[k].tolist()} and M f(x) = "
                f"{part[k].tolist()}"
            )
        lhs = np.concatenate([fmx[~bad_x].ravel(), both[finite]])
        rhs = np.concatenate([(fx[~bad_x] @ M.T).ravel(), part[finite]])
        scale = max(1.0, float(np.abs(rhs).max()))
        if not np.allclose(lhs, rhs, rtol=1e-9, atol=1e-9 * scale):
            raise ValueError(
                f"`discrete`: {g.name!r} is not a symmetry of the drift: f(M x) != M f(x) "
                f"(largest difference {np.abs(lhs - rhs).max():.3g})"
            )

    def _check_batched(self, probe: np.ndarray, value: np.ndarray) -> None:
        if not callable(self.batched_drift):
            raise ValueError(
                f"`batched_drift` must be a callable, got {type(self.batched_drift).__name__}"
            )
        block = np.full((2, self.dim), np.nan)
        try:
            self.batched_drift(np.stack([probe, probe]), 0.0, self.params, block)
        except Exception as exc:
            raise ValueError(f"`batched_drift` failed on a (2, {self.dim}) block: {exc}") from exc
        scale = max(1.0, float(np.abs(value).max()))
        if not np.allclose(block, value, rtol=1e-10, atol=1e-10 * scale):
            raise ValueError(
                f"`batched_drift` disagrees with `drift` at the probe {probe}: "
                f"{block[0]} vs {value}"
            )

    # -- evaluation helpers (Python side; kernels call the numba functions directly) --

    def f(self, x: np.ndarray, t: np.ndarray | float = 0.0) -> np.ndarray:
        """Drift f(x, t) at points x (..., d); t is a scalar or broadcasts to x.shape[:-1]."""
        xs, ts = self._points_and_times(x, t)
        out = np.full_like(xs, np.nan)  # a component the drift does not write stays NaN
        _drift_many(compiled(self.drift, DRIFT_SIGNATURE), xs, ts, self.params, out)
        return out.reshape(np.shape(x))

    def jacobian(
        self, x: np.ndarray, t: np.ndarray | float = 0.0, step: float = 1e-6
    ) -> np.ndarray:
        """Jacobian Df(x, t), ``out[..., i, j] = d f_i / d x_j``, at points x (..., d).

        Analytic when the system has ``jac``; otherwise central differences with
        relative step ``step`` (tested against the analytic ones of the zoo)."""
        xs, ts = self._points_and_times(x, t)
        n, d = xs.shape
        out = np.empty((n, d, d))
        if self.jac is not None:
            _jacobian_many(compiled(self.jac, JACOBIAN_SIGNATURE), xs, ts, self.params, out)
        else:
            h = step * np.maximum(1.0, np.abs(xs))
            for j in range(d):
                shift = np.zeros_like(xs)
                shift[:, j] = h[:, j]
                out[:, :, j] = (self.f(xs + shift, ts) - self.f(xs - shift, ts)) / (
                    2 * h[:, j : j + 1]
                )
        return out.reshape(*np.shape(x)[:-1], d, d)

    def diffusion_scale(self, t: np.ndarray | float) -> np.ndarray | float:
        """d(t), the scalar schedule of D(t) = d(t) D (1 without a schedule); the shape of t."""
        ts = np.array(np.atleast_1d(np.asarray(t, dtype=float)).ravel(), order="C")
        out = np.ones_like(ts)
        if self.schedule is not None:
            _schedule_many(compiled(self.schedule, SCHEDULE_SIGNATURE), ts, self.params, out)
        return out.reshape(np.shape(t)) if np.ndim(t) else float(out[0])

    def _points_and_times(self, x, t) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=float)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"`x` must have last dimension {self.dim}, got shape {x.shape}")
        # writeable too: the kernels are compiled for writeable arrays, and pandas hands
        # out read-only views (copy-on-write)
        xs = np.require(x.reshape(-1, self.dim), requirements=["C", "W"])
        ts = np.array(np.broadcast_to(np.asarray(t, dtype=float), x.shape[:-1]), order="C")
        return xs, ts.reshape(-1)

    @functools.cached_property
    def code_key(self) -> str:
        """A digest of the drift's, Jacobian's and schedule's code and of the constants
        they use (:func:`simulate._checkpoint.code_fingerprint`): part of the key of every
        checkpoint and cache, so that editing a drift never reuses results of the old one."""
        from ._checkpoint import code_fingerprint

        return "-".join(
            "none" if fn is None else code_fingerprint(fn)[:16]
            for fn in (self.drift, self.jac, self.schedule)
        )

    @property
    def cholesky(self) -> np.ndarray:
        """Lower-triangular L with L L^T = D."""
        return self._chol

    @property
    def D_inv(self) -> np.ndarray:
        return self._D_inv

    @property
    def raw_drift(self):
        """The drift as a C function of raw pointers (:data:`RAW_DRIFT_SIGNATURE`)."""
        return _raw_drift(self.drift, self.dim)

    @property
    def schedule_function(self):
        """The schedule as a numba function (1 when the system has none)."""
        return self.schedule if self.schedule is not None else _unit_schedule

    def point(self, name_or_point) -> np.ndarray:
        """A named state (point) of the system, or a coordinate array checked for shape."""
        if isinstance(name_or_point, str):
            if name_or_point not in self.states:
                raise ValueError(
                    f"{self.name!r} has no state {name_or_point!r}; it has {list(self.states)}"
                )
            value = self.states[name_or_point]
            if isinstance(value, StopSet):
                raise ValueError(f"state {name_or_point!r} is a set, not a point")
            return value
        point = np.asarray(name_or_point, dtype=float)
        if point.shape != (self.dim,) or not np.all(np.isfinite(point)):
            raise ValueError(f"point must be finite with shape ({self.dim},), got {point!r}")
        return point

    def with_params(self, **values: float) -> System:
        """A copy with some named parameters changed."""
        params = self.params.copy()
        for key, value in values.items():
            if key not in self.param_names:
                raise ValueError(f"{self.name!r} has no parameter {key!r}: {self.param_names}")
            params[self.param_names.index(key)] = value
        return System(
            drift=self.drift,
            D=self.D,
            params=params,
            jac=self.jac,
            schedule=self.schedule,
            states=self.states,
            generators=self.generators,
            discrete=self.discrete,
            autonomous=self._declared_autonomous,
            name=self.name,
            param_names=self.param_names,
            probe=self.probe,
            description=self.description,
            t_span=self.t_span,
            batched_drift=self.batched_drift,
        )

    def __repr__(self) -> str:
        pars = ", ".join(f"{k}={v:g}" for k, v in zip(self.param_names, self.params, strict=False))
        return f"System({self.name!r}, dim={self.dim}{', ' + pars if pars else ''})"


def _call_checked(what: str, fn, args: tuple, dim: int, params: np.ndarray):
    """``fn(*args)`` in plain Python (a numba function's ``py_func``), where indexing
    outside an array raises instead of reading or writing foreign memory; the compiled
    function when the plain one cannot run (a numba-only construct)."""
    try:
        with np.errstate(all="ignore"):  # as the compiled code: 1/0 is inf, refused after
            return getattr(fn, "py_func", fn)(*args)
    except IndexError as exc:
        raise ValueError(
            f"`{what}` indexes outside its arrays ({exc}): x and out have the dimension of "
            f"`D`, {dim}, and `params` has {params.size} entries"
        ) from None
    except Exception:  # noqa: BLE001 - numba-only code: the compiled call still checks out
        return fn(*args)


def _check_writes(what: str, fn, probe: np.ndarray, t0: float, params: np.ndarray, shape):
    """Call ``fn(x, t, params, out)`` once at the probe with ``out`` filled with NaN and
    refuse components it leaves unset: the engine hands it uninitialised memory, so an
    unwritten component would be garbage that differs from run to run."""
    dim = probe.size
    out = np.full(shape, np.nan)
    _call_checked(what, fn, (probe.copy(), t0, params.copy(), out), dim, params)
    unset = [tuple(int(i) for i in k) for k in np.argwhere(np.isnan(out))]
    if unset:
        where = ", ".join(f"out[{', '.join(map(str, k))}]" for k in unset[:6])
        raise ValueError(
            f"`{what}` leaves {where} unwritten (or NaN) at the probe x = {probe.tolist()}, "
            f"t = {t0:g}: it must write every component of its {shape} output (the "
            f"dimension of `D` is {dim}; give another `probe` if NaN is right there)"
        )
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"`{what}` returns non-finite values {out.tolist()} at the probe {probe.tolist()}"
        )


_points = nb.float64[:, ::1]
_times = nb.float64[::1]


@nb.njit(nb.types.void(DriftType, _points, _times, _times, _points), **JIT)
def _drift_many(drift, xs, ts, params, out):
    for i in range(xs.shape[0]):
        drift(xs[i], ts[i], params, out[i])


@nb.njit(nb.types.void(JacobianType, _points, _times, _times, nb.float64[:, :, ::1]), **JIT)
def _jacobian_many(jac, xs, ts, params, out):
    for i in range(xs.shape[0]):
        jac(xs[i], ts[i], params, out[i])


@nb.njit(nb.types.void(ScheduleType, _times, _times, _times), **JIT)
def _schedule_many(schedule, ts, params, out):
    for i in range(ts.shape[0]):
        out[i] = schedule(ts[i], params)


def as_points(x: Sequence[float] | np.ndarray, dim: int, what: str) -> np.ndarray:
    """Validate ``x`` as one point (dim,) or points (n, dim) of finite values."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[-1] != dim:
        raise ValueError(f"`{what}` must have shape ({dim},) or (n, {dim}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{what}` has non-finite entries")
    return arr
