"""Explanations on demand: resolve a decision whose explanation was deferred, for the API and the CLI.

A learned contender explains at decision time only the decisions that change its
portfolio; every other decision row carries one line ``{"feature": "explanation",
"method": "deferred", "value": <checkpoint version>}`` and the contender recorded the
inputs in its artifacts folder (:mod:`contenders.ml.deferred`). On the first request
(``GET /decisions/{id}/why``, ``arena why``) :func:`resolve` computes the explanation
from that versioned checkpoint and those inputs; :func:`cache` keeps it in the store's
``explanations`` table, where every later request finds it.

The contender's folder is ``<artifacts>/<run_id>/<contender>``, with ``<artifacts>``
the run's ``artifacts`` setting (as recorded in the run's config; relative to the
working directory, as the arena wrote it) unless the caller names another root.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arena.audit_rows import by_size, num
from arena.store import Store, StoreBusyError, open_store
from contenders.ml.deferred import DEFERRED_METHOD, explain_recorded, is_deferred
from contenders.registry import ML_INSTALL_HINT, ML_MODULES

__all__ = ["ExplanationUnavailable", "cache", "contender_folder", "is_deferred", "resolve"]

ARTIFACTS_ENV = "ARENA_ARTIFACTS"
"""Environment variable naming the artifacts root for on-demand explanations (overrides the run's config)."""


class ExplanationUnavailable(LookupError):
    """A deferred explanation cannot be computed: the run kept no artifacts, the contender's
    recorded inputs or checkpoint are gone (the message names the folder), or the model's
    libraries (the ``ml`` extra) are not installed (the message says how to install them)."""


def contender_folder(store: Store, decision: Mapping[str, Any], artifacts: str | Path | None = None) -> Path:
    """The artifacts folder of the decision's contender.

    Args:
        store: the store holding the decision's run.
        decision: a decision row (``run_id``, ``contender``).
        artifacts: the artifacts root; None = ``$ARENA_ARTIFACTS``, else the run config's ``artifacts``.

    Raises:
        ExplanationUnavailable: the run has no artifacts root.
    """
    root = artifacts or os.environ.get(ARTIFACTS_ENV)
    if root is None:
        run = store.get_run(decision["run_id"]) or {}
        root = (run.get("config") or {}).get("artifacts")
    if root is None:
        raise ExplanationUnavailable(
            f"decision {decision['decision_id']!r}: its explanation was deferred, but run {decision['run_id']!r} "
            "kept no artifacts folder (config artifacts: null)"
        )
    return Path(root) / decision["run_id"] / decision["contender"]


def resolve(
    store: Store, decision: dict[str, Any], artifacts: str | Path | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Replace a decision's deferred reference by its explanation.

    Args:
        store: the store the decision was read from (its ``explanations`` cache is read).
        decision: a decoded decision row (``Store.decision``), changed in place.
        artifacts: the artifacts root (see :func:`contender_folder`).

    Returns:
        ``(decision, row)``: the decision with ``explanation`` = its other lines (e.g. a drift
        rebalance's ``weight_drift``) plus the computed ones, sorted by |contribution|; ``row``
        is the ``explanations`` row to :func:`cache` when it was computed now, None when the
        decision was not deferred or the store had it already.

    Raises:
        ExplanationUnavailable: the recorded inputs or the checkpoint cannot be found, or
            the model's libraries (the ``ml`` extra) are not installed.
    """
    lines = decision.get("explanation") or []
    if not is_deferred(lines):
        return decision, None
    kept = [e for e in lines if e.get("method") != DEFERRED_METHOD]
    cached = store.explanation(decision["decision_id"])
    row = None
    if cached is not None:
        computed = cached["explanation"]
    else:
        folder = contender_folder(store, decision, artifacts)
        try:
            contributions = explain_recorded(folder, int(decision["bar_index"]))
        except (FileNotFoundError, KeyError) as exc:
            raise ExplanationUnavailable(
                f"decision {decision['decision_id']!r}: its explanation was deferred and cannot be computed: {exc}"
            ) from None
        except ImportError as exc:  # the model's own libraries: a core install reads a learned contender's run
            if (exc.name or "").partition(".")[0] not in ML_MODULES:
                raise
            raise ExplanationUnavailable(
                f"decision {decision['decision_id']!r}: its explanation was deferred and is computed by the "
                f"contender's model, which needs the optional ML dependencies (no module {exc.name!r}): "
                f"{ML_INSTALL_HINT}"
            ) from None
        computed = [
            {"feature": e.feature, "value": num(e.value), "contribution": num(e.contribution), "method": e.method,
             "symbol": e.symbol}
            for e in sorted(contributions, key=by_size)
        ]
        row = {
            "run_id": decision["run_id"],
            "decision_id": decision["decision_id"],
            "contender": decision["contender"],
            "ts": dt.datetime.fromisoformat(str(decision["ts"]).replace("Z", "+00:00")),
            "explanation_json": computed,
            "computed_at": dt.datetime.now(dt.UTC),
        }
    merged = kept + list(computed)
    decision["explanation"] = sorted(
        merged, key=lambda e: -abs(e["contribution"]) if e.get("contribution") is not None else float("inf")
    )
    return decision, row


def cache(store_url: str, row: Mapping[str, Any], busy_timeout_s: float = 0.0) -> bool:
    """Keep a computed explanation in the store (best effort: one try, no waiting).

    Opens the store for writing, appends the row to ``explanations`` and closes it. A DuckDB
    file held by another connection (a run writing, another request reading) or a repeated
    decision id (another request cached it first) is not an error: the next request computes
    or reads it again.

    Returns:
        True when the row was written.
    """
    try:
        store = open_store(store_url, busy_timeout_s=busy_timeout_s)
    except (StoreBusyError, PermissionError, ConnectionError, OSError):
        return False
    try:
        if store.explanation(str(row["decision_id"])) is not None:
            return False  # another request cached it meanwhile
        store.append("explanations", [dict(row)])
        store.flush()
        return True
    except ValueError:  # repeated key: cached meanwhile (the failed batch is dropped by the flush)
        return False
    finally:
        store.close()
