"""Writing files so that a reader never sees half of one (checkpoints, study tables,
figures), with the permissions of an ordinary new file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    """The process's umask (read without changing it where /proc tells it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` with a fresh temporary file next to ``path``, then rename it
    onto ``path`` (atomic on POSIX): readers see the old file or the whole new one.

    The folder is created if needed. The file gets the permissions of an ordinary new file
    (0o666 less the umask; the temporary file's own are private), and the temporary file is
    removed on every exit path (errors, Ctrl-C, and SIGTERM under the command line, which
    turns it into an exception); :func:`clear_stale_temporaries` removes those of a killed
    process.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def clear_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the hidden ``.*.tmp`` files that an interrupted or killed run left under
    ``folder`` (call it before a resumed run starts writing); returns them."""
    stale = sorted(Path(folder).rglob(".*.tmp")) if Path(folder).is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale
