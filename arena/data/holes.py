"""Holes in a bar series: stretches with no bar that are not part of the data's calendar.

Weekends, holidays and nights recur, and belong to the data (a daily equity series steps over
them every week); a month or a decade with no bar at all does not. Both the annualization
(:func:`arena.metrics.periods_per_year`) and the data-quality report
(:func:`arena.data.quality_report`) leave holes out of the calendar they infer.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HOLE_MIN_NS", "HOLE_MIN_STEPS", "data_holes"]

HOLE_MIN_NS = 30 * 86_400 * 1_000_000_000
"""A step between two bars longer than this (30 days), and than ``HOLE_MIN_STEPS`` median
steps, is a hole in the data, not part of its calendar."""
HOLE_MIN_STEPS = 20


def data_holes(timestamps_ns: np.ndarray) -> list[tuple[int, int]]:
    """The holes of a bar series: ``(from_ns, to_ns)`` of each step longer than 30 days and
    than 20 median steps (weekends, holidays and nights are the data's calendar; a year with no
    bar at all in the middle of a daily series is not). Timestamps int64 ns [n], increasing."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    if ts.size < 3:
        return []
    steps = np.diff(ts)
    limit = max(HOLE_MIN_NS, HOLE_MIN_STEPS * float(np.median(steps)))
    at = np.flatnonzero(steps > limit)
    return [(int(ts[i]), int(ts[i + 1])) for i in at]
