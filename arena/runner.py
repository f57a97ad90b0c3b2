"""One contender's bar loop: contender + ledger + risk vetting + audit records.

Plain Python, no Ray: the contender actor (``arena.actors``) wraps a
:class:`ContenderRunner`, and tests drive one directly. Per bar timestamp:

1. the ledger fills working orders against the bar and marks to market at its close;
2. the contender sees the bar, its past-only history and its portfolio, and may decide;
3. every order of the decision is vetted by the risk rules in this process (a
   :class:`~arena.risk.authority.GuardianReplica`, no round trip) and only approved
   (possibly scaled) orders reach the ledger, to fill on a later bar; the latch rules
   (drawdown halt, daily-loss suspension) see every bar, and arena-wide controls
   (kill switch, releases) pushed by the guardian apply from the next bar on;
4. when a verdict asks for a rollback (``SHARPE_ROLLBACK``), the contender's
   ``rollback()`` restores its previous model checkpoint.

Every decision (also one that only predicts or explains), verdict, order event,
fill, rollback and the equity at every bar close is kept as an audit record and
handed out by :meth:`ContenderRunner.drain_records`. Predictions
(``Decision.predictions``) are also kept as a ``[T, S]`` array for scoring
(:func:`arena.metrics.prediction_quality`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contenders.base import ChunkPreparer, Contender
from contenders.market import Bars, History
from contenders.portfolio import Portfolio
from contenders.signals import Signal
from ledger import ExecutionConfig, Ledger
from ledger.ledger import closes_ok
from ledger.orders import NS_PER_DAY
from ledger.types import Contribution, Decision, Fill, OrderRequest

from arena.audit_rows import (
    cancel_rejected_record,
    decision_record,
    equity_columns,
    failure_event_record,
    flatten_event_record,
    fill_records,
    order_event_records,
    result_fill_dict,
    rollback_event_record,
    trade_dict,
    verdict_record,
)
from arena.records import equity_batch, to_batch
from arena.risk import Action, PortfolioState, RiskVerdict
from arena.risk.authority import GuardianReplica
from arena.store.schema import TABLES

__all__ = ["SIGNAL_REASONS", "ContenderRunner", "DecisionTimeout", "RunnerSettings", "chunk_of", "chunk_tail"]

_FIELDS = ("open", "high", "low", "close", "volume")
SIGNAL_REASONS = 3  # explanation lines a Signal carries to a meta-model


class DecisionTimeout(RuntimeError):
    """A contender's ``on_bars`` did not answer within ``RunnerSettings.decision_timeout_s``."""


class _DecisionThread:
    """One daemon thread that runs ``fn(*args)`` on request; the caller waits with a timeout."""

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self._fn = fn
        self._jobs: queue.SimpleQueue[tuple[tuple[Any, ...], list[Any], threading.Event]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self) -> None:
        while True:
            args, box, ready = self._jobs.get()
            try:
                box.append(self._fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who halts the contender
                box.append(exc)
            ready.set()

    def call(self, *args: Any, timeout_s: float | None) -> tuple[bool, Any]:
        """``(True, result or the exception raised)``, or ``(False, None)`` after ``timeout_s`` seconds."""
        box: list[Any] = []
        ready = threading.Event()
        self._jobs.put((args, box, ready))
        if not ready.wait(timeout_s):
            return False, None
        return True, box[0]


@dataclass
class RunnerSettings:
    """How a runner trades; built by the topology from the config.

    ``artifacts_dir``: folder for the contender's files (model checkpoints), created
    and set as ``contender.artifacts_dir`` (a ``Path``) before it is fitted; None:
    the contender keeps them in memory only.
    ``emit_signals``: keep one :class:`~contenders.signals.Signal` per bar for a
    meta-model (:meth:`ContenderRunner.take_signals`).
    ``decision_timeout_s``: seconds ``on_bars`` may take on one bar; a contender that does
    not answer in time is halted with ``DecisionTimeout`` (its call goes on in a thread of
    its own, and its answer is ignored). None: no limit (and no thread).
    """

    run_id: str
    name: str
    symbols: tuple[str, ...]
    capital_usd: float
    execution: ExecutionConfig
    n_bars_hint: int = 1024
    warmup_bars: int = 0
    rebalance_drift: float | None = None
    sharpe_window_bars: int = 63
    artifacts_dir: str | None = None
    emit_signals: bool = False
    decision_timeout_s: float | None = None
    mirror: bool = False
    """Keep each approved order (sized at its decision bar's close) and each fill for the
    contender's paper mirror (:meth:`ContenderRunner.take_mirror`; config ``broker.mirror``)."""


class ContenderRunner:
    """Hosts one contender and its own ledger and runs its bar loop.

    Args:
        contender: the model instance.
        settings: run id, name, symbols (the contender's universe, array order),
            capital (USD), execution model, warm-up and drift settings.
        vetting: the risk rules to vet with, in this process; a plain
            :class:`~arena.risk.RiskGuardian` is wrapped in a replica without audit.

    Feed bars with :meth:`on_chunk` (arrays ``[T, S]`` in ``settings.symbols``
    order), collect audit rows with :meth:`drain_records`, and the contender's
    full result with :meth:`finish`.
    """

    def __init__(self, contender: Contender, settings: RunnerSettings, vetting: GuardianReplica | Any) -> None:
        self.contender = contender
        self.s = settings
        if settings.artifacts_dir is not None:
            folder = Path(settings.artifacts_dir)
            folder.mkdir(parents=True, exist_ok=True)
            contender.artifacts_dir = folder  # type: ignore[attr-defined]  # read by learned contenders
        contender.execution = settings.execution
        if not isinstance(vetting, GuardianReplica):
            vetting = GuardianReplica(vetting)
        self.vetting = vetting
        self.symbols = tuple(settings.symbols)
        self.ledger = Ledger(
            self.symbols, settings.capital_usd, settings.execution, order_id_prefix=f"{settings.name}-"
        )
        cap = max(int(settings.n_bars_hint), 16)
        s = len(self.symbols)
        self._ohlcv = np.full((len(_FIELDS), cap, s), np.nan)  # one block: a bar's five fields in one copy
        self._buf: dict[str, np.ndarray] = {f: self._ohlcv[k] for k, f in enumerate(_FIELDS)}
        self._buf["ts_ns"] = np.zeros(cap, dtype=np.int64)
        self._views()
        self._equity = np.zeros(cap)
        self._cash = np.zeros(cap)
        self._gross = np.zeros(cap)
        self._pred = np.full((cap, s), np.nan)  # Decision.predictions per bar and symbol (log return)
        self._n = 0
        self._said: Decision | None = None  # what the contender returned on the current bar
        self._signals: list[Signal] | None = [] if settings.emit_signals else None
        self._emitted = 0
        self.status = "ok"
        self.halt_reason = ""
        self._peak = settings.capital_usd
        self._day = None
        self._day_start = settings.capital_usd
        self._order_meta: dict[str, tuple[str | None, OrderRequest]] = {}
        self._targets: dict[str, float] = {}
        self._rows: dict[str, list[Any]] = {  # table → typed records (arena.records), in order
            "decisions": [],
            "orders": [],
            "fills": [],
            "risk_verdicts": [],
            "events": [],
        }
        self._fills: list[Fill] = []
        self._mirror: tuple[list[Any], list[Any]] = ([], [])  # (MirrorOrder, InternalFill) for the paper mirror
        self._halt_check = False  # the bar's vetting may have set a drawdown halt (risk.on_halt)
        self._pool: _DecisionThread | None = None  # for decision_timeout_s
        self._flattened_at: int | None = None  # ts of the halt whose positions were closed
        self.latencies_ns: list[int] = []
        self.decision_ns: list[int] = []  # per decision: from the start of its bar's step to its vetted orders
        self._bar_t0_ns: int | None = None
        self._halted_at: int | None = None  # bars processed when it was halted
        self.n_decisions = 0
        # wall seconds in on_chunk, in vetting within it, and in the contender's fit()
        self.timings_s = {"bars": 0.0, "vet": 0.0, "fit": 0.0}

    # ----------------------------------------------------------------- buffers
    def _grow(self) -> None:
        cap = len(self._equity) * 2
        old_n = self._ohlcv.shape[1]
        block = np.full((len(_FIELDS), cap, len(self.symbols)), np.nan)
        block[:, :old_n] = self._ohlcv
        self._ohlcv = block
        ts = np.zeros(cap, dtype=np.int64)
        ts[:old_n] = self._buf["ts_ns"]
        self._buf = {f: block[k] for k, f in enumerate(_FIELDS)}
        self._buf["ts_ns"] = ts
        self._views()
        for name in ("_equity", "_cash", "_gross"):
            old = getattr(self, name)
            new = np.zeros(cap)
            new[: len(old)] = old
            setattr(self, name, new)
        pred = np.full((cap, len(self.symbols)), np.nan)
        pred[: len(self._pred)] = self._pred
        self._pred = pred

    def _views(self) -> None:
        """Read-only views of the buffers, and both as tuples for the bar loop."""
        self._ro = _readonly_views(self._buf)
        self._ts_buf = self._buf["ts_ns"]
        self._ro_cols = tuple(self._ro[f] for f in _FIELDS)

    # ---------------------------------------------------------------- bar loop
    def on_chunk(self, chunk: Mapping[str, Any], signals: Sequence[Mapping[str, Signal]] | None = None) -> int:
        """Process a chunk of bars.

        Args:
            chunk: ``ts_ns`` int64 [T]; ``open``, ``high``, ``low``, ``close``,
                ``volume`` float64 [T, S] in this runner's symbol order;
                optional ``published_ns`` int64 [T] (wall-clock publication
                time, for latency measurement in paced mode).
            signals: for a contender that consumes signals (a meta-model): per
                bar of the chunk, ``{contender name: Signal}`` of the others,
                handed to ``contender.on_signals(bar_index, signals)`` before
                its ``on_bars`` of that bar.

        Returns:
            The number of bars processed so far.

        Raises:
            ValueError: if ``signals`` does not have one entry per bar.
        """
        t0 = time.perf_counter()
        ts_arr = chunk["ts_ns"]
        cols = tuple(chunk[f] for f in _FIELDS)
        published = chunk.get("published_ns")
        if signals is not None and len(signals) != len(ts_arr):
            raise ValueError(f"on_chunk: {len(signals)} signal entries for {len(ts_arr)} bars")
        checked = closes_ok(cols[3])  # one check for the chunk; else the ledger names the bad bar
        cols = np.stack(cols)  # [5, T, S]: one copy per chunk, then one per bar
        keep_signals = self._signals is not None
        written, decides = self._prepare(ts_arr, cols)
        skip, gaps = None, True  # skip: bars marked to market in one step (on_bars will not decide on them)
        if decides is not None and checked and signals is None and not keep_signals and published is None \
                and self.s.rebalance_drift is None:
            skip = ~decides
            gaps = bool(np.isnan(cols[3]).any())
        ts_list = ts_arr.tolist()
        i, t = 0, len(ts_list)
        while i < t:
            if skip is not None and skip[i] and not self.ledger.has_working_orders:
                i = self._fast_forward(ts_arr, cols, i, skip, gaps)
                if i >= t:
                    break
            ts = ts_list[i]
            if self._n == len(self._equity):
                self._grow()
            if signals is not None and self.status == "ok":
                self._guard(lambda i=i: self.contender.on_signals(self._n, signals[i]), ts)
            self._said = None
            self._step(ts, cols, i, None if published is None else int(published[i]), checked, written)
            if self._halt_check:
                self._flatten_on_halt(ts)
            if keep_signals:
                self._signals.append(self._signal())
            i += 1
        self.timings_s["bars"] += time.perf_counter() - t0
        return self._n

    def _fast_forward(self, ts_arr: np.ndarray, cols: np.ndarray, i: int, skip: np.ndarray, gaps: bool) -> int:
        """Bars ``i …`` of the chunk on which the contender will not decide and nothing is
        working: marked to market in one NumPy step (the same arithmetic as bar by bar:
        equity, peak, day start, latch check), no contender call. Stops before the bar that
        fits a warm-up, and before a bar that breaches a latch limit (that bar goes the
        full way, so the latch is set by the rules). Returns the next bar to process."""
        n0 = self._n
        j = i
        while j < len(skip) and skip[j]:
            j += 1
        warm = self.s.warmup_bars
        if warm and n0 < warm <= n0 + (j - i):  # bar n with n + 1 == warmup fits the model
            j = i + warm - 1 - n0
        if j <= i:
            return i
        ts_run = ts_arr[i:j]
        close_run = cols[3, i:j]
        led = self.ledger
        equity, gross, last = led.project_marks(ts_run, close_run, gaps=gaps)
        k = j - i
        days = ts_run // NS_PER_DAY
        d0, d1 = int(days[0]), int(days[-1])
        if d0 == d1 == self._day:  # all within the current day: its start stays
            day_start = np.full(k, self._day_start)
        else:
            prev_eq = np.empty(k)
            prev_eq[0] = self._equity[n0 - 1] if n0 else self.s.capital_usd
            prev_eq[1:] = equity[:-1]
            changed = np.empty(k, dtype=bool)
            changed[0] = self._day is not None and d0 != self._day
            changed[1:] = days[1:] != days[:-1]
            at = np.where(changed, np.arange(k), -1)
            np.maximum.accumulate(at, out=at)
            day_start = np.where(at >= 0, prev_eq[np.maximum(at, 0)], self._day_start)
        peak = np.maximum.accumulate(equity)
        np.maximum(peak, self._peak, out=peak)
        first = self.vetting.first_breach(self.s.name, ts_run, equity, peak, day_start)
        if first is not None:
            if first == 0:
                return i
            k = first
        led.commit_marks(int(ts_run[k - 1]), last[k - 1], float(equity[k - 1]))
        self.vetting.apply_pending(int(ts_run[0]))
        self._equity[n0 : n0 + k] = equity[:k]
        self._cash[n0 : n0 + k] = led.cash
        self._gross[n0 : n0 + k] = gross[:k]
        self._peak = float(peak[k - 1])
        self._day = int(days[k - 1])
        self._day_start = float(day_start[k - 1])
        self._n = n0 + k
        return i + k

    def _signal(self) -> Signal:
        said = self._said
        if said is None:
            return Signal(weights=dict(self._targets), status=self.status)
        reasons = tuple(sorted(said.explanation, key=lambda e: -abs(e.contribution))[:SIGNAL_REASONS])
        return Signal(
            weights=dict(self._targets),
            predictions=dict(said.predictions),
            confidence=said.confidence,
            reasons=reasons,
            decided=True,
            status=self.status,
        )

    def take_signals(self) -> list[Signal]:
        """The signals of the bars processed since the last call, one per bar (when the runner
        was built with ``RunnerSettings.emit_signals``; else an empty list)."""
        out = self._signals or []
        if self._signals is not None:
            self._signals = []
        return out

    def _prepare(self, ts_arr: np.ndarray, cols: np.ndarray) -> tuple[bool, np.ndarray | None]:
        """For a :class:`~contenders.base.ChunkPreparer`: write the whole chunk to the buffer
        and let the contender prepare it. Returns (the bars are written, the contender's
        mask of the bars it may decide on, or None)."""
        if not isinstance(self.contender, ChunkPreparer) or self.status != "ok":
            return False, None
        n, t = self._n, len(ts_arr)
        while n + t > len(self._equity):
            self._grow()
        self._buf["ts_ns"][n : n + t] = ts_arr
        self._ohlcv[:, n : n + t] = cols
        history = History(self._ro, n + t, self.symbols)
        said: list[Any] = []
        self._guard(lambda: said.append(self.contender.prepare_chunk(history, n)), int(ts_arr[0]))
        decides = said[0] if said else None
        if decides is not None:
            decides = np.asarray(decides, dtype=bool)
            if decides.shape != (t,):
                self._halt(int(ts_arr[0]), ValueError(
                    f"prepare_chunk must return None or one bool per bar of the chunk ({t}), got shape {decides.shape}"
                ))
                return True, None
        return True, decides

    def _step(
        self, ts: int, cols: np.ndarray, i: int, published_ns: int | None, checked: bool,
        written: bool = False,
    ) -> None:
        """One bar: bar ``i`` of the chunk's fields ``cols`` [5, T, S] (open, high, low, close, volume);
        ``written``: the chunk is in the buffer already (:meth:`_prepare`)."""
        n = self._n
        if not written:
            self._ts_buf[n] = ts
            self._ohlcv[:, n] = cols[:, i]
        self._n = n + 1
        c = self._ro_cols[3][n]
        ro = self._ro
        led = self.ledger
        vetting = self.vetting
        vetting.apply_pending(ts)
        day = ts // NS_PER_DAY
        if day != self._day:
            if self._day is not None:
                self._day_start = float(self._equity[n - 1])
            self._day = day
        if led.has_working_orders:
            r_open, r_high, r_low, _, r_volume = self._ro_cols
            fills = led.on_bar(ts, r_open[n], r_high[n], r_low[n], c, r_volume[n], checked=checked)
        else:  # nothing to fill: mark to market at the close only
            led.mark(ts, c, checked=checked)
            fills = None
        if fills:
            fill_records(self.s.run_id, self.s.name, fills, self._order_meta, self._rows["fills"])
            self._on_fills(fills)
        if led.has_events:
            order_event_records(self.s.run_id, self.s.name, led.drain_events(), self._order_meta, self._rows["orders"])
        eq = led.equity
        self._equity[n] = eq
        self._cash[n] = led.cash
        self._gross[n] = led.gross_exposure_usd
        if eq > self._peak:
            self._peak = eq
        if vetting.watch(self.s.name, ts, eq, self._peak, self._day_start):
            vetting.observe(self._state(ts, n, c))
            self._halt_check = True
        if self.status != "ok" or n + 1 < self.s.warmup_bars:
            return
        history = History(ro, n + 1, self.symbols)
        if n + 1 == self.s.warmup_bars:
            t_fit = time.perf_counter()
            self._guard(lambda: self.contender.fit(history), ts)
            self.timings_s["fit"] += time.perf_counter() - t_fit
            return
        self._bar_t0_ns = time.perf_counter_ns()
        bars = Bars.of_history(ts, n, self.symbols, history)
        try:
            if self.s.decision_timeout_s is None:
                decision = self.contender.on_bars(bars, Portfolio(led, self._equity, n + 1))
            else:
                decision = self._timed_on_bars(bars, Portfolio(led, self._equity, n + 1), n)
        except Exception as exc:  # a contender's bug halts it, not the arena
            self._halt(ts, exc)
            return
        if decision is not None and not isinstance(decision, Decision):
            self._halt(ts, TypeError(f"on_bars must return Decision or None, got {type(decision).__name__}"))
            return
        self._said = decision
        if decision is not None and decision.predictions:
            try:
                self._keep_predictions(n, decision.predictions)
            except ValueError as exc:
                self._halt(ts, exc)
                return
        if decision is None or (type(decision) is Decision and decision.is_empty):
            said = decision  # predictions and/or an explanation, no orders: recorded, not vetted
            decision = self._drift_decision()
            if decision is None:
                if said is not None and (said.predictions or said.explanation):
                    decision_id = f"{self.s.run_id}/{self.s.name}/{n}"
                    try:
                        record = decision_record(self.s.run_id, self.s.name, ts, n, said, decision_id)
                    except ValueError as exc:  # an invalid explanation halts the contender, naming the line
                        self._halt(ts, exc)
                        return
                    self._rows["decisions"].append(record)
                return
            if said is not None:  # one decision per bar: the drift orders, with what the contender said
                decision = Decision(
                    weights=decision.weights,
                    confidence=said.confidence,
                    explanation=(*said.explanation, *decision.explanation),
                    predictions=said.predictions,
                )
        self._act(ts, n, decision, c, published_ns)

    def _timed_on_bars(self, bars: Bars, portfolio: Portfolio, n: int) -> Decision | None:
        """``contender.on_bars`` on a daemon worker thread, waited for ``decision_timeout_s``.

        Raises:
            DecisionTimeout: when it has not answered in time (the runner halts the contender;
                the stuck call keeps its thread, which never holds the process open).
        """
        if self._pool is None:
            self._pool = _DecisionThread(self.contender.on_bars, f"decide-{self.s.name}")
        done, out = self._pool.call(bars, portfolio, timeout_s=self.s.decision_timeout_s)
        if not done:
            self._pool = None  # abandoned to its stuck call
            raise DecisionTimeout(
                f"on_bars did not answer within decision_timeout_s = {self.s.decision_timeout_s:g} s at bar {n}"
            )
        if isinstance(out, BaseException):
            raise out
        return out

    def _keep_predictions(self, n: int, predictions: Mapping[str, float]) -> None:
        row = self._pred[n]
        for sym, value in predictions.items():
            try:
                row[self.symbols.index(sym)] = value
            except ValueError:
                raise ValueError(
                    f"Decision.predictions names {sym!r}, which this contender does not trade "
                    f"(its symbols: {list(self.symbols)})"
                ) from None

    def _guard(self, fn: Callable[[], Any], ts: int) -> None:
        try:
            fn()
        except Exception as exc:
            self._halt(ts, exc)

    def _halt(self, ts: int, exc: BaseException) -> None:
        if self._halted_at is None:
            self._halted_at = self._n
        self.status = "halted"
        self.halt_reason = f"{type(exc).__name__}: {exc}"
        self._rows["events"].append(failure_event_record(self.s.run_id, self.s.name, ts, self.halt_reason, exc))

    def _drift_decision(self) -> Decision | None:
        thr = self.s.rebalance_drift
        if thr is None or not self._targets:
            return None
        w = self.ledger.weights()
        out, expl = {}, []
        for sym, target in self._targets.items():
            drift = float(w[self.symbols.index(sym)]) - target
            if abs(drift) > thr:
                out[sym] = target
                expl.append(Contribution("weight_drift", drift, -drift, "rule", sym))
        return Decision(weights=out, explanation=tuple(expl)) if out else None

    # ------------------------------------------------------------- decisions
    def _state(self, ts: int, n: int, close: np.ndarray) -> PortfolioState:
        led = self.ledger
        w = self.s.sharpe_window_bars
        lo = max(0, n - w)
        eq = self._equity[lo : n + 1]
        if len(eq) > 1 and self.vetting.needs_returns:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = eq[1:] / eq[:-1] - 1.0
            rets = tuple(np.where(np.isfinite(r), r, -1.0).tolist())  # equity at 0: a total loss
        else:
            rets = ()
        last = led.last_prices
        prices = last.tolist()
        syms = self.symbols
        return PortfolioState.trusted(  # the ledger's own numbers: checked where they were made
            self.s.name,
            ts,
            led.equity,
            led.cash,
            self._peak,
            self._day_start,
            {s: q for s, q in zip(syms, led.quantities.tolist()) if q != 0},
            {s: p for s, p in zip(syms, prices) if p == p},
            rets,
            self.s.execution.margin,
            bool(getattr(self.contender, "can_rollback", False)),
            n,
            led.pending_units(last) if led.has_working_orders else None,
        )

    def _flatten_on_halt(self, ts: int) -> None:
        """On the bar a ``MAX_DRAWDOWN`` halt was set, with ``on_halt: flatten``: a decision of
        the arena on the contender's behalf, target weight 0 for every symbol it holds, vetted
        (reductions pass) and recorded like any other (id ``<run>/<name>/<bar>/flatten``, its
        explanation the breach), and a ``CONTENDER_FLATTENED`` event; the orders fill at the
        next fill (``execution.fill_price``)."""
        self._halt_check = False
        guardian = self.vetting.guardian
        if guardian.limits.on_halt != "flatten":
            return
        latch = guardian.latches_of(self.s.name).get("MAX_DRAWDOWN")
        if latch is None or latch.ts_ns != ts or self._flattened_at == ts:
            return
        self._flattened_at = ts
        n = self._n - 1
        held = [sym for sym, q in zip(self.symbols, self.ledger.quantities.tolist(), strict=True) if q != 0]
        if not held:
            return
        dd = 1.0 - float(self._equity[n]) / self._peak if self._peak > 0 else 0.0
        limit = guardian.limits.max_drawdown
        decision = Decision(
            weights={sym: 0.0 for sym in held},
            explanation=(Contribution("MAX_DRAWDOWN", dd, dd - limit, "rule"),),
        )
        decision_id = f"{self.s.run_id}/{self.s.name}/{n}/flatten"
        self._act(ts, n, decision, self._ro_cols[3][n], None, decision_id=decision_id)
        self._halt_check = False
        self._rows["events"].append(flatten_event_record(self.s.run_id, self.s.name, ts, latch.reason, decision_id,
                                                         held))

    def _act(
        self, ts: int, n: int, decision: Decision, close: np.ndarray, published_ns: int | None,
        decision_id: str | None = None,
    ) -> None:
        decision_id = decision_id or f"{self.s.run_id}/{self.s.name}/{n}"
        try:
            record = decision_record(self.s.run_id, self.s.name, ts, n, decision, decision_id)
        except ValueError as exc:  # an invalid explanation halts the contender before any order
            self._halt(ts, exc)
            return
        self.n_decisions += 1
        if decision.cancel:
            self._cancel(ts, decision_id, decision.cancel)
        requests = [OrderRequest(sym, target_weight=float(w), tag=decision_id) for sym, w in decision.weights.items()]
        requests.extend(decision.orders)
        t_vet = time.perf_counter()
        verdicts = self.vetting.vet(self._state(ts, n, close), requests) if requests else []
        self._halt_check = bool(requests)
        self.timings_s["vet"] += time.perf_counter() - t_vet
        if self._bar_t0_ns is not None:
            self.decision_ns.append(time.perf_counter_ns() - self._bar_t0_ns)
            self._bar_t0_ns = None
        if published_ns is not None:
            self.latencies_ns.append(time.time_ns() - published_ns)
        self._rows["decisions"].append(record)
        rollback = self._rollback(ts, decision_id, verdicts)
        for k, v in enumerate(verdicts):
            self._rows["risk_verdicts"].append(
                verdict_record(self.s.run_id, self.s.name, decision_id, k, ts, v, rollback)
            )
            if v.approved is not None:
                oid = self.ledger.submit(v.approved, ts)
                self._order_meta[oid] = (decision_id, v.approved)
                if self.s.mirror:
                    self._mirror_order(oid, v.approved, ts, close)
                if v.approved.target_weight is not None:
                    self._targets[v.approved.symbol] = v.approved.target_weight
            if v.action is Action.DENY:
                try:
                    self.contender.on_denied(v)
                except Exception as exc:
                    self._halt(ts, exc)
        events = self.ledger.drain_events()
        if events:
            order_event_records(self.s.run_id, self.s.name, events, self._order_meta, self._rows["orders"])

    def _cancel(self, ts: int, decision_id: str, ids: Sequence[str]) -> None:
        """Cancel the decision's ``cancel`` ids (order events CANCELLED); an id that is not a
        working order of this contender is a ``CANCEL_REJECTED`` event."""
        for oid in ids:
            if not self.ledger.cancel(oid, ts):
                self._rows["events"].append(cancel_rejected_record(self.s.run_id, self.s.name, ts, decision_id, oid))

    def _rollback(self, ts: int, decision_id: str, verdicts: Sequence[RiskVerdict]) -> dict[str, Any] | None:
        """On a ``SHARPE_ROLLBACK`` verdict: ``contender.rollback()`` and a
        ``CONTENDER_ROLLED_BACK`` event; returns the details added to the flagged
        verdicts' rows (``rollback_checkpoint``: the restored checkpoint's label,
        None when the contender had none to restore), or None when no verdict asked."""
        flagged = next((v for v in verdicts if v.details.get("rollback")), None)
        if flagged is None:
            return None
        try:
            label = self.contender.rollback()  # type: ignore[attr-defined]  # learned contenders have it
        except Exception as exc:
            self._halt(ts, exc)
            return {"rollback_checkpoint": None, "rollback_error": f"{type(exc).__name__}: {exc}"}
        label = None if label is None else str(label)
        sharpe, floor = flagged.details.get("rolling_sharpe"), flagged.details.get("sharpe_floor")
        self._rows["events"].append(
            rollback_event_record(self.s.run_id, self.s.name, ts, decision_id, label, sharpe, floor)
        )
        return {"rollback_checkpoint": label}

    def _mirror_order(self, oid: str, req: OrderRequest, ts: int, close: np.ndarray) -> None:
        """Keep an approved order for the paper mirror, sized at the decision bar's close: a
        target-weight order trades ``target_weight × equity / close − position`` units (whole
        units under ``whole_shares``); one the ledger will not trade (no units) is not sent."""
        from arena.broker.types import MirrorOrder

        if not self.ledger.is_working(oid):
            return  # rejected by the ledger at submission
        i = self.symbols.index(req.symbol)
        if req.quantity is not None:
            side, qty = str(req.side.value), float(req.quantity)  # type: ignore[union-attr]
        else:
            price = float(close[i])
            if not price > 0:
                return
            delta = float(req.target_weight) * self.ledger.equity / price - float(self.ledger.quantities[i])
            side, qty = ("BUY" if delta > 0 else "SELL"), abs(delta)
            qty = float(np.floor(qty + 1e-9)) if self.s.execution.sizing == "whole_shares" else round(qty, 9)
        if qty > 0:
            self._mirror[0].append(MirrorOrder(oid, req.symbol, side, qty, req.type.value, req.time_in_force.value,
                                               ts, req.limit_price, req.stop_price))

    def take_mirror(self) -> tuple[list[Any], list[Any]]:
        """The approved orders (:class:`~arena.broker.types.MirrorOrder`) and fills
        (:class:`~arena.broker.types.InternalFill`) kept since the last call (``settings.mirror``)."""
        out, self._mirror = self._mirror, ([], [])
        return out

    def _on_fills(self, fills: Sequence[Fill]) -> None:
        """Keep the bar's fills for :meth:`finish` and hand each to ``contender.on_fill`` while
        the contender is running (a failure halts it)."""
        self._fills.extend(fills)
        if self.s.mirror:
            from arena.broker.types import InternalFill

            self._mirror[1].extend(InternalFill(f.client_order_id, float(f.quantity), float(f.price), f.ts_ns)
                                   for f in fills)
        for f in fills:
            if self.status == "ok":
                try:
                    self.contender.on_fill(f)
                except Exception as exc:
                    self._halt(f.ts_ns, exc)

    # ---------------------------------------------------------------- output
    def drain_records(self) -> dict[str, Any]:
        """Audit rows since the last drain, for in-process readers: table name → list of row
        dicts (the records' ``_asdict()``; ``*_json`` values as Python objects, ``ts`` in ns),
        and ``equity`` → columns (dict of equal-length arrays) [run_id, contender, ts,
        bar_index, equity, cash, gross_exposure]. :meth:`drain_batches` gives the same as
        Arrow batches."""
        records, (lo, hi) = self._take()
        out: dict[str, Any] = {k: [r._asdict() for r in v] for k, v in records.items()}
        if hi > lo:
            out["equity"] = equity_columns(self.s.run_id, self.s.name, lo, *self._equity_slices(lo, hi))
        return out

    def drain_batches(self) -> dict[str, Any]:
        """Audit records since the last drain as the store takes them: table name → one
        Arrow table (:func:`arena.records.to_batch`, validated here; ``equity`` by
        :func:`arena.records.equity_batch`). What the contender actor ships to the recorder."""
        records, (lo, hi) = self._take()
        out: dict[str, Any] = {k: to_batch(TABLES[k], v) for k, v in records.items()}
        if hi > lo:
            out["equity"] = equity_batch(self.s.run_id, self.s.name, lo, *self._equity_slices(lo, hi))
        return out

    def _take(self) -> tuple[dict[str, list[Any]], tuple[int, int]]:
        """The records and the bar range ``[lo, hi)`` of equity not handed out yet; resets both."""
        out = {k: v for k, v in self._rows.items() if v}
        self._rows = {k: [] for k in self._rows}
        lo, hi = self._emitted, self._n
        self._emitted = hi
        return out, (lo, hi)

    def _equity_slices(self, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        return self._buf["ts_ns"][lo:hi], self._equity[lo:hi], self._cash[lo:hi], self._gross[lo:hi]

    def finish(self) -> dict[str, Any]:
        """The contender's full result: equity/cash/gross arrays [n] (USD), bar
        timestamps, fills and closed trades as row dicts, status and halt reason,
        count of vetted decisions and measured latencies (ns: ``latencies_ns`` from publication in
        paced mode; ``decision_ns`` per decision, from the start of its bar's step in this
        process to its vetted orders), ``bars_missed`` (bars after a halt: not decided on),
        ``timings_s`` (``fit``: seconds in the contender's ``fit``); ``symbols`` (array
        column order), ``close`` float [n, S] (USD per unit, NaN where no bar),
        ``predictions`` float [n, S] (expected log return stated at each bar, NaN
        where none) and ``prediction_horizon_bars`` (the contender's
        ``horizon_bars``, 1 when it has none)."""
        n = self._n
        return {
            "name": self.s.name,
            "symbols": list(self.symbols),
            "ts_ns": self._buf["ts_ns"][:n].copy(),
            "close": self._buf["close"][:n].copy(),
            "predictions": self._pred[:n].copy(),
            "prediction_horizon_bars": getattr(self.contender, "horizon_bars", 1),
            "equity": self._equity[:n].copy(),
            "cash": self._cash[:n].copy(),
            "gross_exposure": self._gross[:n].copy(),
            "fills": [result_fill_dict(f) for f in self._fills],
            "closed_trades": [trade_dict(t) for t in self.ledger.closed_trades()],
            "status": self.status,
            "halt_reason": self.halt_reason,
            "n_decisions": self.n_decisions,
            "latencies_ns": list(self.latencies_ns),
            "decision_ns": list(self.decision_ns),
            "bars_missed": 0 if self._halted_at is None else max(n - self._halted_at, 0),
            "timings_s": dict(self.timings_s),
        }

    # ------------------------------------------------------------ recovery
    @property
    def bars(self) -> int:
        """Bars processed so far (the index of the next bar)."""
        return self._n

    _STATE = ("_n", "_emitted", "status", "halt_reason", "_peak", "_day", "_day_start", "_order_meta",
              "_targets", "_fills", "_flattened_at", "_halt_check", "latencies_ns", "n_decisions", "timings_s")

    def snapshot(self) -> dict[str, Any]:
        """The runner's state after its last bar, for a restart to go on from (see
        :meth:`restore`): the contender object itself (pickled by the caller, with its
        model), the ledger (:meth:`Ledger.snapshot`), the bar buffers and equity
        history up to ``bars`` (arrays ``[bars]`` / ``[5, bars, S]``), counters, fills
        and order metadata. Records not drained yet are not in it: take it after a drain.

        Raises:
            RuntimeError: when records or signals are waiting to be drained.
        """
        if any(self._rows.values()) or self._emitted != self._n or self._signals:
            raise RuntimeError("snapshot: drain the records (and signals) first")
        n = self._n
        return {
            "bars": n,
            "contender": self.contender,
            "ledger": self.ledger.snapshot(),
            "ohlcv": self._ohlcv[:, :n].copy(),
            "ts_ns": self._buf["ts_ns"][:n].copy(),
            "equity": self._equity[:n].copy(),
            "cash": self._cash[:n].copy(),
            "gross": self._gross[:n].copy(),
            "pred": self._pred[:n].copy(),
            "fields": {k: getattr(self, k) for k in self._STATE},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Go on from :meth:`snapshot` output: on a runner built with the same settings
        (and the snapshot's contender), bars from ``state["bars"]`` on then give the same
        decisions, fills and equity as the original runner did.

        Raises:
            ValueError: when the snapshot's symbols are not this runner's.
        """
        n = int(state["bars"])
        if state["ohlcv"].shape[2] != len(self.symbols):
            raise ValueError(f"restore: snapshot has {state['ohlcv'].shape[2]} symbols, runner {len(self.symbols)}")
        while len(self._equity) < n:
            self._grow()
        self.ledger = Ledger.restore(state["ledger"])
        self._ohlcv[:, :n] = state["ohlcv"]
        self._buf["ts_ns"][:n] = state["ts_ns"]
        for name, key in (("_equity", "equity"), ("_cash", "cash"), ("_gross", "gross"), ("_pred", "pred")):
            getattr(self, name)[:n] = state[key]
        for k, v in state["fields"].items():
            setattr(self, k, v)


def chunk_of(panel: Any) -> dict[str, Any]:
    """A panel (or a slice of one) in the chunk form :meth:`ContenderRunner.on_chunk` takes:
    ``ts_ns`` int64 [T] and ``open``, ``high``, ``low``, ``close``, ``volume`` float64 [T, S]
    (views, no copy)."""
    return {"ts_ns": panel.timestamps, **{f: getattr(panel, f) for f in _FIELDS}}


def chunk_tail(chunk: dict[str, Any], skip: int) -> dict[str, Any]:
    """A chunk without its first ``skip`` bars (each array's rows ``skip:``, views; other
    values as they are): what is left of a chunk published again after a restart."""
    return {k: v[skip:] if isinstance(v, np.ndarray) else v for k, v in chunk.items()}


def _readonly_views(buffers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Read-only views of the replay buffers: what the contender and the ledger see."""
    out = {}
    for k, a in buffers.items():
        v = a.view()
        v.flags.writeable = False
        out[k] = v
    return out
