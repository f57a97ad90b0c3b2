"""The store interface: what the arena writes and what the API reads.

Kept narrow on purpose: the embedded DuckDB store (:mod:`arena.store.duckdb_store`)
implements it today, and a QuestDB-backed store (many Ray workers writing at
once) will implement the same methods. Tables and columns are defined once, in
:mod:`arena.store.schema`.

Writes are append-only and batched: each :meth:`Store.append` call adds a batch
of rows; the only in-place change is :meth:`Store.finish_run` at run end. Reads
return JSON-ready dicts (see :func:`arena.store.decode.decode_row`), and every
value a caller supplies is a bound query parameter, never spliced into SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from arena.store.decode import utc_datetime

if TYPE_CHECKING:
    import pyarrow as pa
from arena.store.schema import FINAL_RUN_STATUSES, RUN_STATUSES

__all__ = [
    "VERDICT_ACTIONS",
    "RowsRejectedError",
    "RunRecord",
    "Store",
    "StoreBusyError",
    "check_actions",
    "check_finish",
    "check_reopen",
    "check_limit",
    "check_page",
    "time_bounds",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StoreBusyError(RuntimeError):
    """The store file is locked by another connection (DuckDB allows one writer process).

    Args:
        path: the store file.
        detail: the backend's own message.
    """

    def __init__(self, path: str, detail: str = "") -> None:
        self.path = path
        message = (
            f"store {path!r} is busy: another process holds it open for writing "
            "(a DuckDB file has one writer at a time, and read-only readers cannot "
            "open it meanwhile); retry when the run has finished"
        )
        super().__init__(f"{message} [{detail}]" if detail else message)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything recorded about an arena run when it starts.

    Args:
        run_id: unique id of the run (e.g. ``20240102-120000-ab12``).
        name: human-readable name.
        config: the run's full configuration (JSON-serializable mapping).
        data_source: where the bars came from (provider, files, date range).
        data_sha256: SHA-256 of the bar data, 64 lowercase hex digits.
        code_version: git sha or package version, with ``+dirty`` when the tree
            had uncommitted changes.
        seed: random seed, or None.
        started_at: start time, tz-aware (stored in UTC).
        symbols: symbols traded.
        periods_per_year: bars per year used to annualize metrics (252 for daily
            equity bars, 365 for daily crypto bars).
        status: ``running`` (the default), ``finished``, ``finished_with_failures``, ``failed``,
            ``killed`` or ``interrupted``.

    Raises:
        ValueError: naming the field, for an empty run_id or name, a naive
            started_at, a malformed data_sha256, no symbols, a non-positive
            periods_per_year or an unknown status.
    """

    run_id: str
    name: str
    config: Mapping[str, Any]
    data_source: Mapping[str, Any]
    data_sha256: str
    code_version: str
    seed: int | None
    started_at: dt.datetime
    symbols: tuple[str, ...]
    periods_per_year: float
    status: str = "running"

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(self.symbols))
        for name in ("run_id", "name", "code_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"RunRecord.{name}: expected a non-empty string, got {value!r}")
        if not isinstance(self.data_sha256, str) or not _SHA256.match(self.data_sha256):
            raise ValueError(
                "RunRecord.data_sha256: expected 64 lowercase hex digits (SHA-256), "
                f"got {self.data_sha256!r}"
            )
        if not isinstance(self.started_at, dt.datetime) or self.started_at.tzinfo is None:
            raise ValueError(
                f"RunRecord.started_at: expected a tz-aware datetime (UTC), got {self.started_at!r}"
            )
        if not self.symbols or not all(isinstance(s, str) and s for s in self.symbols):
            raise ValueError(
                f"RunRecord.symbols: expected one or more non-empty strings, got {self.symbols!r}"
            )
        if not isinstance(self.periods_per_year, (int, float)) or not self.periods_per_year > 0:
            raise ValueError(
                f"RunRecord.periods_per_year: expected a number > 0 (bars per year, 252 for "
                f"daily equity bars), got {self.periods_per_year!r}"
            )
        if self.status not in RUN_STATUSES:
            raise ValueError(
                f"RunRecord.status: expected one of {sorted(RUN_STATUSES)}, got {self.status!r}"
            )
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"RunRecord.seed: expected an int or None, got {self.seed!r}")

    @classmethod
    def coerce(cls, run: RunRecord | Mapping[str, Any]) -> RunRecord:
        """``run`` itself, or a RunRecord built (and validated) from a mapping of its fields.

        Raises:
            ValueError: naming unknown or missing fields, or as the constructor does.
            TypeError: if ``run`` is neither a RunRecord nor a mapping.
        """
        if isinstance(run, RunRecord):
            return run
        if not isinstance(run, Mapping):
            raise TypeError(f"expected a RunRecord or a mapping, got {type(run).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(run) - set(names))
        if unknown:
            raise ValueError(f"RunRecord: unknown field(s) {unknown}; fields: {', '.join(names)}")
        required = [f.name for f in fields(cls) if f.default is MISSING]
        missing = [name for name in required if name not in run]
        if missing:
            raise ValueError(f"RunRecord: missing field(s) {missing}")
        return cls(**run)

    def to_row(self) -> dict[str, Any]:
        """The ``runs`` table row for this record (ended_at and n_bars NULL)."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "config_json": dict(self.config),
            "data_source_json": dict(self.data_source),
            "data_sha256": self.data_sha256,
            "code_version": self.code_version,
            "seed": self.seed,
            "started_at": self.started_at,
            "ended_at": None,
            "status": self.status,
            "n_bars": None,
            "symbols": list(self.symbols),
            "periods_per_year": float(self.periods_per_year),
        }


def check_reopen(run_id: str, status: str | None) -> None:
    """Validate the run :meth:`Store.reopen_run` is asked to reopen.

    Raises:
        ValueError: ``status`` None (no such run) or not ``stopped``, naming the run.
    """
    if status is None:
        raise ValueError(f"reopen_run: unknown run_id {run_id!r}")
    if status != "stopped":
        raise ValueError(f"run {run_id!r} is {status}: only a stopped run can be resumed "
                         "(one stopped by `arena stop`, SIGTERM or Ctrl-C, with its snapshots)")


def check_finish(ended_at: dt.datetime, status: str, n_bars: int) -> dt.datetime:
    """Validate the arguments of :meth:`Store.finish_run`; returns ``ended_at`` in UTC.

    Raises:
        ValueError: naming the field, for a naive ``ended_at``, a ``status`` that is not
            final (see :data:`arena.store.schema.FINAL_RUN_STATUSES`), or ``n_bars`` not an int >= 0.
    """
    ended_utc = utc_datetime(ended_at, "ended_at")
    if status not in FINAL_RUN_STATUSES:
        raise ValueError(f"finish_run status: expected one of {sorted(FINAL_RUN_STATUSES)}, got {status!r}")
    if isinstance(n_bars, bool) or not isinstance(n_bars, int) or n_bars < 0:
        raise ValueError(f"finish_run n_bars: expected an int >= 0, got {n_bars!r}")
    return ended_utc


def time_bounds(
    where: list[str], params: list[Any], start: dt.datetime | None, end: dt.datetime | None, placeholder: str
) -> None:
    """Append ``ts >= ?`` / ``ts <= ?`` conditions and their bound values (UTC) to a query.

    Args:
        where: the query's conditions, appended to.
        params: its bound values, appended to.
        start, end: inclusive bounds, tz-aware (None = open).
        placeholder: the driver's parameter marker (``?`` for DuckDB, ``%s`` for psycopg).

    Raises:
        ValueError: for a naive datetime, or ``start`` after ``end``.
    """
    start_utc, end_utc = utc_datetime(start, "start"), utc_datetime(end, "end")
    if start_utc is not None and end_utc is not None and start_utc > end_utc:
        raise ValueError(f"start {start_utc.isoformat()} is after end {end_utc.isoformat()}")
    if start_utc is not None:
        where.append(f"ts >= {placeholder}")
        params.append(start_utc)
    if end_utc is not None:
        where.append(f"ts <= {placeholder}")
        params.append(end_utc)


_NO_LIMIT = 2**62  # a row limit no run reaches

VERDICT_ACTIONS: frozenset[str] = frozenset({"ALLOW", "SCALE", "DENY"})
"""Values of ``risk_verdicts.action``."""


def check_actions(actions: Sequence[str] | None) -> list[str] | None:
    """Validate the ``actions`` filter of :meth:`Store.risk_verdicts`; returns it as a sorted list.

    Raises:
        ValueError: naming the bad value and the allowed ones.
    """
    if actions is None:
        return None
    if isinstance(actions, str):
        actions = [actions]
    bad = [a for a in actions if a not in VERDICT_ACTIONS]
    if bad:
        raise ValueError(f"verdict actions: expected values in {sorted(VERDICT_ACTIONS)}, got {bad!r}")
    return sorted(set(actions))


def check_limit(limit: int, what: str) -> None:
    """Validate a row limit.

    Raises:
        ValueError: naming ``what``, for ``limit`` not an int >= 1.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{what} limit: expected an int >= 1, got {limit!r}")


def check_page(limit: int, offset: int) -> None:
    """Validate a page of :meth:`Store.decisions`.

    Raises:
        ValueError: naming the field, for ``limit`` not an int >= 1 or ``offset`` not an int >= 0.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"decisions limit: expected an int >= 1, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"decisions offset: expected an int >= 0, got {offset!r}")


class RowsRejectedError(ValueError):
    """Buffered rows the store refused when it wrote them; ``rows`` (Arrow) and ``table`` say which."""

    def __init__(self, table: str, rows: pa.Table, message: str) -> None:
        super().__init__(message)
        self.table = table
        self.rows = rows


class Store(ABC):
    """Where an arena run's records live. Use :func:`arena.store.open_store` to get one.

    A store opened with ``read_only=True`` raises on every write. Stores are
    context managers: ``with open_store(url) as store: ...`` closes on exit.
    """

    read_only: bool
    on_rejected: Callable[[str, pa.Table, str], None] | None = None
    """Where buffered rows go that the backend refuses only when it writes them (a key that
    clashes with a row written earlier): ``on_rejected(table, rows, error)``. The other rows of
    the buffer are written. ``None``: :meth:`flush` (or the append that triggered the write)
    raises :class:`RowsRejectedError` carrying the rows, so they are never lost unseen."""

    # ------------------------------------------------------------------ writes

    @abstractmethod
    def create_run(self, run: RunRecord | Mapping[str, Any]) -> None:
        """Record the start of a run (one ``runs`` row, status ``running``).

        Args:
            run: the record, or a mapping of :class:`RunRecord` fields
                (see :meth:`RunRecord.coerce`).

        Raises:
            ValueError: if a run with the same run_id exists.
            PermissionError: if the store is read-only.
        """

    @abstractmethod
    def finish_run(self, run_id: str, ended_at: dt.datetime, status: str, n_bars: int) -> None:
        """Record the end of a run; flushes pending appends first.

        Args:
            run_id: the run.
            ended_at: end time, tz-aware.
            status: ``finished``, ``finished_with_failures``, ``failed``, ``killed``,
                ``interrupted`` or ``stopped`` (see :data:`arena.store.schema.RUN_STATUSES`).
            n_bars: bars processed (>= 0).

        Raises:
            ValueError: for an unknown run_id, a naive ended_at, a status
                outside the three above, or a negative n_bars.
            PermissionError: if the store is read-only.
        """

    @abstractmethod
    def reopen_run(self, run_id: str) -> dict[str, Any]:
        """Mark a ``stopped`` run ``running`` again (``ended_at`` cleared): it is resumed
        (``arena run CONFIG --resume RUN_ID``). Flushes pending appends first.

        Returns:
            The run's row as it was before (its ``status`` ``stopped``, its ``n_bars`` the
            bars done when it stopped), as :meth:`get_run` gives it.

        Raises:
            ValueError: an unknown run_id, or a run whose status is not ``stopped`` (naming it).
            PermissionError: if the store is read-only.
        """

    @abstractmethod
    def append(self, table: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> None:
        """Append a batch of rows to ``table`` (one of ``schema.TABLES``, not ``runs``).

        Rows are validated at once (see :func:`arena.store.rows.to_arrow`); the
        backend may buffer them until :meth:`flush`, a read, or its batch size.

        Raises:
            ValueError: naming the table (and row, column) for an unknown table,
                an unknown or missing column, a wrong value, or a repeated key.
            PermissionError: if the store is read-only.
        """

    @abstractmethod
    def flush(self) -> None:
        """Write every buffered row to durable storage."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the store; further calls raise. Closing twice is a no-op."""

    # ------------------------------------------------------------------ reads

    @abstractmethod
    def list_runs(self) -> list[dict[str, Any]]:
        """All runs, newest ``started_at`` first (``runs`` rows, decoded)."""

    @abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """The run's ``runs`` row, decoded, or None if there is no such run."""

    @abstractmethod
    def leaderboard(self, run_id: str) -> list[dict[str, Any]]:
        """The run's leaderboard rows ordered by rank (1 first); [] before run end."""

    @abstractmethod
    def contenders(self, run_id: str) -> list[str]:
        """Sorted names of contenders with any equity, decision or leaderboard row in the run."""

    @abstractmethod
    def equity_curve(
        self,
        run_id: str,
        contender: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The contender's ``equity`` rows with start <= ts <= end, in bar order.

        Raises:
            ValueError: if start or end is naive.
        """

    @abstractmethod
    def decisions(
        self,
        run_id: str,
        contender: str | None = None,
        symbol: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """A page of the run's decisions ordered by (ts, contender, decision_id).

        Args:
            run_id: the run.
            contender: only this contender's decisions.
            symbol: only decisions touching this symbol.
            start: only decisions with ts >= start (tz-aware).
            end: only decisions with ts <= end (tz-aware).
            limit: page size, >= 1.
            offset: rows to skip, >= 0.

        Raises:
            ValueError: for a naive start/end, limit < 1 or offset < 0.
        """

    @abstractmethod
    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """One decision with its explanation and everything it caused, or None.

        Returns:
            The decoded ``decisions`` row plus ``verdicts`` (its ``risk_verdicts``
            rows), ``order_events`` (the lifecycle events of orders carrying its
            decision_id, and the other events of the same client_order_id) and
            ``fills`` (fills carrying its decision_id or one of those
            client_order_ids), each in time order.
        """

    @abstractmethod
    def explanation(self, decision_id: str) -> dict[str, Any] | None:
        """The explanation computed on demand for a decision whose explanation was deferred
        (an ``explanations`` row, decoded: ``run_id, decision_id, contender, ts, explanation
        [{feature, value, contribution, method, symbol}], computed_at``), or None when none
        was computed yet. Written with ``append("explanations", rows)``; the latest row wins."""

    @abstractmethod
    def equity_columns(
        self,
        run_id: str,
        contender: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> dict[str, np.ndarray]:
        """The contender's equity curve as columns, for long runs (no row dicts are built).

        Returns:
            ``{"ts_ns": int64[n] (ns since the epoch, UTC), "bar_index": int64[n],
            "equity": float64[n], "cash": float64[n], "gross_exposure": float64[n]}`` (USD),
            in bar order, the rows of :meth:`equity_curve` with start <= ts <= end.

        Raises:
            ValueError: if start or end is naive.
        """

    @abstractmethod
    def fills(
        self,
        run_id: str,
        contender: str | None = None,
        symbol: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The run's ``fills`` rows (of one contender / symbol when given) with
        start <= ts <= end, in time (then append) order.

        Raises:
            ValueError: if start or end is naive.
        """

    @abstractmethod
    def risk_verdicts(
        self,
        run_id: str,
        contender: str | None = None,
        actions: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """The run's ``risk_verdicts`` rows in time (then append) order: of one contender
        and with ``action`` in ``actions`` (e.g. ``("SCALE", "DENY")``) when given, the
        first ``limit``.

        Raises:
            ValueError: for limit not an int >= 1, or an action outside ALLOW | SCALE | DENY.
        """

    @abstractmethod
    def bars(
        self,
        run_id: str,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The OHLCV ``bars`` rows of ``symbol`` the run's market-data actor published,
        with start <= ts <= end, in time order (prices in the quote currency, volume in units).

        Raises:
            ValueError: if start or end is naive.
        """

    @abstractmethod
    def reconciliation(self, run_id: str, contender: str | None = None) -> list[dict[str, Any]]:
        """The run's ``reconciliation`` rows (of one contender when given): each mirrored
        order's paper fill against its internal fill, in time (then append) order; the last
        row of a contender carries its running divergence (bps) and broker counts."""

    @abstractmethod
    def kill_switch_events(self, run_id: str) -> list[dict[str, Any]]:
        """The run's ``events`` rows whose kind starts with ``KILL_SWITCH``, in time order."""

    @abstractmethod
    def events(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The run's ``events`` rows (contender failures and halts, kill switch), in time
        order; only those of ``kind`` (e.g. ``CONTENDER_FAILED``) when given."""

    @abstractmethod
    def _trial_rows(self, data_sha256: str) -> list[dict[str, Any]]:
        """Every ``trials`` row with this ``data_sha256``, ordered by (ts, run_id, contender)."""

    def trials(
        self, data_sha256: str, first_bar: dt.datetime | None = None, last_bar: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """The trials register of a data set (:mod:`arena.trials`): the ``trials`` rows of the
        runs on the bars with this SHA-256, oldest first; with ``first_bar``/``last_bar``
        (tz-aware), only the runs over exactly that bar range.

        Raises:
            ValueError: if ``first_bar`` or ``last_bar`` is naive.
        """
        for name, bound in (("first_bar", first_bar), ("last_bar", last_bar)):
            if bound is not None and bound.tzinfo is None:
                raise ValueError(f"Store.trials: {name} must be timezone-aware, got {bound!r}")
        first = None if first_bar is None else pd.Timestamp(first_bar)
        last = None if last_bar is None else pd.Timestamp(last_bar)
        return [
            r for r in self._trial_rows(data_sha256)
            if (first is None or pd.Timestamp(r["first_bar"]) == first)
            and (last is None or pd.Timestamp(r["last_bar"]) == last)
        ]

    def run_trials(self, run_id: str) -> list[dict[str, Any]]:
        """The trials register of the data set a run used (its data SHA-256 and bar range),
        every run on it included, oldest first; [] for a run that recorded no trials."""
        run = self.get_run(run_id)
        if run is None:
            return []
        rows = self._trial_rows(run["data_sha256"])
        mine = next((r for r in rows if r["run_id"] == run_id), None)
        if mine is None:
            return []
        return [r for r in rows if r["first_bar"] == mine["first_bar"] and r["last_bar"] == mine["last_bar"]]

    # ------------------------------------------------------------------ whole-run reads (reports)

    def run_fills(self, run_id: str, contender: str | None = None) -> list[dict[str, Any]]:
        """Every ``fills`` row of the run (or of one contender), decoded, ordered by
        (contender, ts, append order): the order the contender's ledger booked them
        (:meth:`fills`, grouped by contender).

        Args:
            run_id: the run.
            contender: only this contender's fills.
        """
        return sorted(self.fills(run_id, contender), key=lambda r: r["contender"])  # stable: ts order kept

    def run_verdicts(
        self, run_id: str, contender: str | None = None, actions: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every ``risk_verdicts`` row of the run (or of one contender), decoded, ordered by
        (contender, ts, append order) (:meth:`risk_verdicts` with no limit, grouped by contender).

        Args:
            run_id: the run.
            contender: only this contender's verdicts.
            actions: only verdicts whose ``action`` is one of these (``ALLOW``, ``SCALE``,
                ``DENY``); all when None.

        Raises:
            ValueError: for an action outside ALLOW | SCALE | DENY.
        """
        rows = self.risk_verdicts(run_id, contender, actions, limit=_NO_LIMIT)
        return sorted(rows, key=lambda r: r["contender"])

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
