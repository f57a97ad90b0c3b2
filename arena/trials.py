"""The trials register: every contender configuration ever run on a data set is one trial.

A *trial* is a contender class with its params (the name does not count: ``sma_a`` and
``sma_b`` with the same class and params are one trial). A *data set* is the SHA-256 of the
bars a run used together with its first and last bar. The store's ``trials`` table keeps one
row per contender per run; the deflated Sharpe ratio ``dsr_all`` of the leaderboard counts
the distinct trials recorded on the run's data set, this run's included (Bailey & López de
Prado 2014 ask for *every* trial, not only those of the last run: the honest N when a team
has tried many variants over weeks).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["trial_id", "trial_rows", "trial_sharpes"]


def trial_id(contender_class: str, params: Mapping[str, Any]) -> str:
    """The trial's id: the first 16 hex digits of the SHA-256 of the canonical JSON
    ``{"class": ..., "params": ...}`` (keys sorted, compact).

    Example: ``trial_id("sma_crossover", {"fast": 10, "slow": 30})`` is the same for
    ``{"slow": 30, "fast": 10}``.

    Raises:
        TypeError: if a param is not JSON-serializable.
    """
    text = json.dumps({"class": contender_class, "params": dict(params)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def trial_rows(
    run_id: str,
    data_sha256: str,
    first_bar_ns: int,
    last_bar_ns: int,
    started_at_ns: int,
    contenders: Iterable[tuple[str, str, Mapping[str, Any]]],
    sharpes_per_bar: Mapping[str, float | None],
) -> list[dict[str, Any]]:
    """Rows of the ``trials`` table for one run.

    Args:
        run_id: the run.
        data_sha256: SHA-256 of its bars, hex.
        first_bar_ns / last_bar_ns: its first and last bar (ns since the epoch, UTC).
        started_at_ns: when it started (ns since the epoch, UTC), the rows' ``ts``.
        contenders: ``(name, class, params)`` of every contender configured.
        sharpes_per_bar: name → per-bar Sharpe of its excess returns (None: not scored,
            e.g. it failed).

    Returns:
        One row per contender, in the given order.
    """
    return [
        {
            "data_sha256": data_sha256,
            "first_bar": int(first_bar_ns),
            "last_bar": int(last_bar_ns),
            "trial_id": trial_id(cls, params),
            "run_id": run_id,
            "contender": name,
            "contender_class": cls,
            "params_json": dict(params),
            "sharpe_per_bar": sharpes_per_bar.get(name),
            "ts": int(started_at_ns),
        }
        for name, cls, params in contenders
    ]


def trial_sharpes(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Per-bar Sharpe of each distinct trial in ``trials`` rows: trial id → the Sharpe of its
    latest scored row (rows in time order; a trial never scored is left out).

    Args:
        rows: ``trials`` rows (``Store.trials``), oldest first.

    Returns:
        ``{trial_id: sharpe_per_bar}``.
    """
    out: dict[str, float] = {}
    for row in rows:
        sharpe = row.get("sharpe_per_bar")
        if sharpe is not None:
            out[str(row["trial_id"])] = float(sharpe)
    return out
