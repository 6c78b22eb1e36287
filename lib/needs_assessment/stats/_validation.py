"""Input checking shared by the statistics functions.

Every check raises a ``ValueError`` (bad values) or ``TypeError`` (wrong kind of input)
whose message names the argument (or data-frame column) and the position of the first
offending value, so that an analyst can find the bad row at once, e.g.::

    ValueError: count must be >= 0; got -26.0 at position 5 (index label '25-29')

Hand-written: there is nothing to wrap (PHStatsMethods' own validation names neither the
argument nor the row).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

__all__ = [
    "as_float_array",
    "broadcast",
    "check_confidence",
    "check_choice",
    "check_multiplier",
    "column_array",
    "fail_where",
    "first_index",
    "require_columns",
    "as_column_list",
    "wrap_like",
]


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float after checking it lies strictly inside (0, 1)."""
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise TypeError(
            f"confidence must be a number in (0, 1) such as 0.95 or 0.998; got {confidence!r}"
        )
    c = float(confidence)
    if not 0.0 < c < 1.0:  # also rejects NaN
        hint = " (give a proportion such as 0.95, not a percentage)" if 1.0 < c <= 100.0 else ""
        raise ValueError(
            f"confidence must be in (0, 1), e.g. 0.95 or 0.998; got {confidence!r}{hint}"
        )
    return c


def check_multiplier(multiplier: float, *, allow_negative: bool = False) -> float:
    """Return the multiplier as a float after checking it is a finite, non-zero number."""
    if isinstance(multiplier, bool) or not isinstance(multiplier, numbers.Real):
        raise TypeError(f"multiplier must be a number such as 100 or 100_000; got {multiplier!r}")
    m = float(multiplier)
    if not np.isfinite(m) or m == 0 or (m < 0 and not allow_negative):
        need = "a non-zero finite number" if allow_negative else "a positive finite number"
        raise ValueError(f"multiplier must be {need}; got {multiplier!r}")
    return m


def check_choice(value: str, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def as_float_array(x, name: str) -> np.ndarray:
    """Convert a scalar, sequence, numpy array or pandas Series of numbers to a float array.

    Missing values (``None``, ``NaN``, ``pd.NA``) become ``NaN``. Booleans, strings and other
    non-numeric inputs raise ``TypeError`` naming the argument.
    """
    if isinstance(x, pd.DataFrame):
        raise TypeError(f"{name} must be a single column (Series) or array, not a DataFrame")
    if isinstance(x, (pd.Series, pd.Index)):
        if is_bool_dtype(x.dtype) or not (is_numeric_dtype(x.dtype) or x.isna().all()):
            raise TypeError(f"{name} must be numeric; got dtype {x.dtype}")
        return x.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be numeric; got a boolean")
    arr = np.asarray(x)
    if arr.dtype.kind in "bUSV" or (arr.dtype.kind == "O" and _has_non_numeric(arr)):
        raise TypeError(f"{name} must be numeric; got {arr.dtype} values")
    if arr.dtype.kind == "O":
        flat = [np.nan if (v is None or v is pd.NA) else float(v) for v in arr.ravel()]
        return np.array(flat, dtype=float).reshape(arr.shape)
    return arr.astype(float)


def _has_non_numeric(arr: np.ndarray) -> bool:
    for v in arr.ravel():
        if v is None or v is pd.NA:
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            return True
    return False


def first_index(*inputs) -> pd.Index | None:
    """The index of the first pandas Series among ``inputs`` (None when there is none)."""
    for x in inputs:
        if isinstance(x, pd.Series):
            return x.index
    return None


def broadcast(named: dict[str, object]) -> tuple[list[np.ndarray], pd.Index | None, bool]:
    """Convert and broadcast several array-likes together.

    Returns the float arrays (all 1-d with a common length), the index of the first Series
    (used to label the output and the error messages) and whether every input was a scalar.
    """
    arrays = {k: as_float_array(v, k) for k, v in named.items()}
    all_scalar = all(a.ndim == 0 for a in arrays.values())
    for k, a in arrays.items():
        if a.ndim > 1:
            raise ValueError(f"{k} must be one-dimensional; got shape {a.shape}")
    try:
        out = np.broadcast_arrays(*[np.atleast_1d(a) for a in arrays.values()])
    except ValueError as exc:
        shapes = ", ".join(f"{k}: {np.shape(a)}" for k, a in arrays.items())
        raise ValueError(f"inputs have incompatible lengths ({shapes})") from exc
    index = first_index(*named.values())
    if index is not None and len(index) != len(out[0]):
        index = None
    return [np.array(a, dtype=float) for a in out], index, all_scalar


def fail_where(
    mask: np.ndarray,
    name: str,
    requirement: str,
    values: np.ndarray,
    index: pd.Index | None = None,
) -> None:
    """Raise ``ValueError`` if any element of ``mask`` is true, naming the first offender."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    positions = np.flatnonzero(mask)
    first = int(positions[0])
    label = ""
    if index is not None:
        key = index[first]
        if isinstance(key, np.generic):
            key = key.item()
        label = f" (index label {key!r})"
    more = ""
    if len(positions) > 1:
        shown = ", ".join(str(int(p)) for p in positions[1:6])
        ellipsis = ", ..." if len(positions) > 6 else ""
        more = f"; {len(positions) - 1} more at position(s) {shown}{ellipsis}"
    value = values[first]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    raise ValueError(f"{name} {requirement}; got {value!r} at position {first}{label}{more}")


def wrap_like(
    values: np.ndarray, index: pd.Index | None, all_scalar: bool, name: str | None = None
):
    """Return ``values`` as a float (scalar inputs), a Series (Series input) or an array."""
    if all_scalar:
        return float(values[0])
    if index is not None:
        return pd.Series(values, index=index, name=name)
    return values


def as_column_list(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def require_columns(data: pd.DataFrame, columns: dict[str, str | None], func: str) -> None:
    """Check ``data`` is a DataFrame holding every named column (argument -> column name)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{func}: data must be a pandas DataFrame; got {type(data).__name__}")
    missing = [
        f"{arg}={col!r}"
        for arg, col in columns.items()
        if col is not None and col not in data.columns
    ]
    if missing:
        raise ValueError(
            f"{func}: column(s) not found in data: {', '.join(missing)}; "
            f"available columns are {list(data.columns)}"
        )


def column_array(data: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as a float array, with a TypeError naming the column if it is not numeric."""
    return as_float_array(data[column], f"column {column!r}")
