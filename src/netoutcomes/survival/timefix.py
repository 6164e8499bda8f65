"""R's ``aeqSurv`` (coxph's ``timefix = TRUE``): times equal up to rounding error are tied.

A module of its own, needing only numpy, so that light callers (``survival.groups``
for ``stats km``) need not import ``survival.cox`` and, through it, scipy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from netoutcomes.errors import InputError

FloatArray = NDArray[np.float64]

TIMEFIX_TOLERANCE = float(np.finfo(float).eps) ** 0.5  # aeqSurv(tolerance)


def tied_time_cuts(times: FloatArray) -> FloatArray | None:
    """The times R keeps when it ties times within rounding error, or None if none are.

    ``times`` are every exit and entry time (any order, repeats allowed: only the
    distinct values matter).  Among the sorted distinct times, one closer than
    ``sqrt(eps)`` (absolutely, or relative to the mean absolute time) to the previous
    one is replaced by it (``snap_times``)."""
    grid = np.unique(times[np.isfinite(times)])
    if grid.size < 2:
        return None
    gaps = np.diff(grid)
    scale = np.mean(np.abs(grid))
    tied = (gaps <= TIMEFIX_TOLERANCE) | (gaps / scale <= TIMEFIX_TOLERANCE)
    if not np.any(tied):
        return None
    return grid[np.concatenate([[True], ~tied])]


def snap_times(cuts: FloatArray, times: FloatArray) -> FloatArray:
    """Each time replaced by the kept time at or before it (``tied_time_cuts``)."""
    return cuts[np.searchsorted(cuts, times, side="right") - 1]


def r_timefix(time: FloatArray, entry: FloatArray | None) -> tuple[FloatArray, FloatArray | None]:
    """Treat times that differ only by rounding error as tied, as R's ``aeqSurv``
    (coxph's ``timefix = TRUE``; ``tied_time_cuts``).  Raises InputError if an
    (entry, time] interval collapses to length 0."""
    cuts = tied_time_cuts(time if entry is None else np.concatenate([entry, time]))
    if cuts is None:
        return time, entry
    new_time = snap_times(cuts, time)
    if entry is None:
        return new_time, None
    new_entry = snap_times(cuts, entry)
    collapsed = np.flatnonzero(new_entry >= new_time)
    if collapsed.size:
        i = int(collapsed[0])
        raise collapsed_interval(float(entry[i]), float(time[i]))
    return new_time, new_entry


def collapsed_interval(entry: float, time: float) -> InputError:
    """The error for an interval that ``r_timefix`` ties to length 0."""
    return InputError(
        f"the interval ({entry:g}, {time:g}] has length 0 once times closer "
        "than rounding error are tied (as R's aeqSurv); make entry clearly before time"
    )
