"""Save-as-you-go storage of finished chunks, so an interrupted run resumes.

A run's chunks depend only on (configuration, chunk start) thanks to the per-path
counter-based streams, so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import textwrap
import types
from pathlib import Path

import numpy as np

from ._files import atomic_write


def fingerprint(**config) -> str:
    """SHA-256 of a configuration made of scalars, strings and arrays."""
    digest = hashlib.sha256()
    for key in sorted(config):
        value = config[key]
        digest.update(key.encode())
        if isinstance(value, np.ndarray):
            digest.update(str(value.dtype).encode() + str(value.shape).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def code_fingerprint(fn) -> str:
    """SHA-256 of what a (numba or Python) function computes: its source text (its
    bytecode and constants when the source is not available, e.g. a function typed at
    the prompt), the values of its closure variables and of the module globals it reads
    (numbers, strings, arrays), and, recursively, the same of the functions it calls.

    It changes when a drift's code or a constant it uses is edited, so a checkpoint or a
    cached instanton of the old drift is not reused for the new one; the qualified name
    alone cannot tell them apart.
    """
    digest = hashlib.sha256()
    _hash_function(fn, digest, set())
    return digest.hexdigest()


def _hash_function(fn, digest, seen: set) -> None:
    fn = getattr(fn, "py_func", fn)  # a numba dispatcher: its Python function
    if id(fn) in seen:
        return
    seen.add(id(fn))
    code = getattr(fn, "__code__", None)
    if code is None:  # a builtin or a compiled object without Python code
        digest.update(repr(fn).encode())
        return
    try:
        digest.update(textwrap.dedent(inspect.getsource(fn)).encode())
    except (OSError, TypeError):
        _hash_code(code, digest)
    cells = fn.__closure__ or ()
    for name, cell in zip(code.co_freevars, cells, strict=True):
        digest.update(name.encode())
        _hash_value(cell.cell_contents, digest, seen)
    scope = fn.__globals__
    for name in _global_names(code):
        if name in scope:
            digest.update(name.encode())
            _hash_value(scope[name], digest, seen)


def _global_names(code) -> list[str]:
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.extend(_global_names(const))
    return names


def _hash_code(code, digest) -> None:
    digest.update(code.co_code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _hash_code(const, digest)
        else:
            digest.update(repr(const).encode())


def _hash_value(value, digest, seen: set) -> None:
    if isinstance(value, np.ndarray):
        digest.update(str(value.dtype).encode() + str(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (bool, int, float, complex, str, bytes, np.generic, type(None))):
        digest.update(repr(value).encode())
    elif isinstance(value, (tuple, list)):
        for item in value:
            _hash_value(item, digest, seen)
    elif callable(value) and hasattr(getattr(value, "py_func", value), "__code__"):
        _hash_function(value, digest, seen)
    # modules, classes and other objects: their identity does not vary with the results


class ChunkStore:
    """Chunks of one run in ``folder``, keyed by their first path index."""

    def __init__(self, folder: str | Path, key: str, description: dict):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"`checkpoint` folder {str(folder)!r}: {exc.strerror}") from None
        for stale in self.folder.glob(".*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)
        meta = self.folder / "run.json"
        if meta.exists():
            stored = json.loads(meta.read_text())
            if stored.get("key") != key:
                raise ValueError(
                    f"`checkpoint` folder {str(folder)!r} holds another run "
                    f"({stored.get('description')}); use a new folder or delete it"
                )
        else:
            text = json.dumps({"key": key, "description": description}, indent=1, default=str)
            atomic_write(meta, lambda p: p.write_text(text))

    def _path(self, first: int) -> Path:
        return self.folder / f"chunk_{first:012d}.npz"

    def has(self, first: int) -> bool:
        return self._path(first).exists()

    def load(self, first: int) -> tuple[np.ndarray, ...]:
        with np.load(self._path(first)) as data:
            return tuple(data[f"a{k}"] for k in range(len(data.files)))

    def save(self, first: int, arrays: tuple[np.ndarray, ...]) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{f"a{k}": a for k, a in enumerate(arrays)})

        atomic_write(self._path(first), write)
