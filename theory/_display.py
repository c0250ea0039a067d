"""Compact text for the result types' ``__repr__``: sizes, headline numbers, status, at
most :data:`MAX_LINES` lines (arrays are summarised, never printed whole)."""

from __future__ import annotations

import numpy as np

MAX_LINES = 15


def vector(x, digits: int = 6) -> str:
    """A short vector as [a, b, ...] with ``digits`` significant digits."""
    return "[" + ", ".join(f"{float(v):.{digits}g}" for v in np.ravel(x)) + "]"


def block(header: str, rows: list[str], what: str = "more") -> str:
    """``header`` and the indented ``rows``, cut to :data:`MAX_LINES` lines in all (the last
    saying how many were left out)."""
    room = MAX_LINES - 1
    if len(rows) > room:
        rows = [*rows[: room - 1], f"... {len(rows) - room + 1} {what}"]
    return "\n".join([header, *("  " + r for r in rows)])
