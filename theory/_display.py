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


def _field(value) -> str:
    """One field of a result, short: numbers as numbers, arrays and tables by their size."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return vector(value)
        return f"array {value.shape} {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "columns"):  # a pandas frame
        return f"frame {value.shape[0]} rows x {value.shape[1]} columns"
    if isinstance(value, (tuple, list)) and len(value) > 4:
        return f"{type(value).__name__} of {len(value)}"
    text = repr(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def fields_repr(obj) -> str:
    """``__repr__`` of a result dataclass: one line per field, at most :data:`MAX_LINES`
    lines (arrays and frames by their size, long text cut)."""
    from dataclasses import fields

    rows = [f"{f.name}: {_field(getattr(obj, f.name))}" for f in fields(obj) if f.repr]
    room = MAX_LINES - 2  # the header and the closing parenthesis
    if len(rows) > room:
        rows = [*rows[: room - 1], f"... {len(rows) - room + 1} more fields"]
    return "\n".join([f"{type(obj).__name__}(", *("  " + r for r in rows), ")"])
