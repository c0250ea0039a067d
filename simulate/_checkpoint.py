"""Save-as-you-go storage of finished chunks, so an interrupted run resumes.

A run's chunks depend only on (configuration, chunk start) thanks to the per-path
counter-based streams, so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
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


class ChunkStore:
    """Chunks of one run in ``folder``, keyed by their first path index."""

    def __init__(self, folder: str | Path, key: str, description: dict):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"`checkpoint` folder {str(folder)!r}: {exc.strerror}") from None
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
