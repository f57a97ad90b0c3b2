"""The contender actor: hosts one contender — or several light ones that share the
process — each with its own ledger, risk replica and records."""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import ray

from arena.actors import when_back
from arena.risk import RiskGuardian, RiskLimits
from arena.risk.authority import Control, GuardianReplica
from arena.runner import ContenderRunner, RunnerSettings, chunk_tail
from contenders.registry import resolve

__all__ = ["SHIP_EVERY_S", "ContenderActor", "merge_batches"]

log = logging.getLogger(__name__)

_FIELDS = ("open", "high", "low", "close", "volume")
SHIP_EVERY_S = 0.25  # seconds between shipments of audit rows to the recorder


@ray.remote(max_restarts=0, concurrency_groups={"control": 1})
class ContenderActor:
    """One per contender, or one per ``process`` group of contenders (config
    ``contenders[].process``: light rule contenders of a sweep may share a process;
    each keeps its own runner, i.e. its own ledger, risk replica and records, and a
    crash of the process takes all of them). Its CPU/GPU request comes from the config
    (``contenders[i].resources``; a group asks for the largest of its members'). A
    contender that raises is halted with its reason recorded; the actor keeps marking
    its ledger to market.

    Orders are vetted here, by a :class:`~arena.risk.authority.GuardianReplica` per
    contender built from the run's limits; the guardian actor pushes arena-wide
    controls to :meth:`apply_controls` (its own thread, so a push lands while a chunk
    is being processed and applies from the next bar) and receives every verdict in
    the audit batches shipped with the records.

    Crashes (config ``recovery``): started with ``recovery`` (and Ray's ``max_restarts``),
    the actor writes its set-up and, every ``every_bars`` bars (or ``every_s`` seconds), a
    snapshot of every member (:mod:`arena.recovery`) once its records are written. When Ray
    restarts it, the constructor finds them and restores the members as of the snapshot;
    the market-data actor asks :meth:`resume_bar` and publishes the bars from there again.
    Records of the replayed bars the recorder already has are dropped (the recorder fences
    off what the crashed incarnation still had in flight), the guardian skips verdicts it
    audited already, and a ``CONTENDER_RESTARTED`` event names the bar restored from.

    Args:
        members: ``(name, class_name, params, seed)`` of each hosted contender;
            ``class_name`` is a registry name or ``module:Class``.
        recovery: ``{"key": actor key, "dir": snapshot folder, "every_bars": int,
            "every_s": float | None}``; None: no snapshots (a crash is final).

    Then :meth:`setup` with each member's runner settings (run id, name, symbols,
    capital, execution), the run's risk limits, the data's symbols (to select each
    contender's columns) and the guardian and recorder handles.
    """

    def __init__(
        self, members: Sequence[tuple[str, str, dict[str, Any], int]], recovery: Mapping[str, Any] | None = None,
    ) -> None:
        # the first Arrow array a process builds imports pandas (pyarrow looks for it): about
        # 0.3 s, paid here, beside the start-up, rather than at the first shipment of records
        threading.Thread(target=_warm_arrow, name="warm-arrow", daemon=True).start()
        self._contenders = {name: resolve(cls)(seed=seed, **params) for name, cls, params, seed in members}
        self._runners: dict[str, ContenderRunner] = {}
        self._replicas: dict[str, GuardianReplica] = {}
        self._cols: dict[str, np.ndarray | None] = {}
        self._pending_write: Any = None
        self._pending_audit: list[Any] = []
        self._audit_sent: list[tuple[str, list[Any]]] = []  # what each pending audit call carries
        self._last_ship = time.monotonic()
        self._early: list[Control] = []  # controls pushed before setup
        self._lock = threading.Lock()  # setup (default thread) vs apply_controls (control thread)
        self._recovery = dict(recovery) if recovery else None
        self._epoch = 0  # restarts of this actor so far
        self._restored_from: int | None = None  # bar the latest restart went on from
        self._drop_until: dict[str, int] = {}  # member → bars whose records the recorder has (after a restart)
        self._snap_bar, self._snap_t = 0, time.monotonic()
        if self._recovery is not None and ray.get_runtime_context().was_current_actor_reconstructed:
            self._restore()

    def setup(
        self,
        settings: Mapping[str, RunnerSettings],
        limits: RiskLimits,
        data_symbols: Sequence[str],
        guardian: Any,
        recorder: Any,
        broker: Any = None,
        resume_from: str | None = None,
    ) -> int:
        """Attach each member's ledger (built from its ``settings``), risk replica (from
        ``limits``), the guardian and the recorder; with ``broker`` (a
        :class:`~arena.actors.broker.BrokerMirrorActor`), the approved orders and fills of the
        members built with ``settings.mirror`` are sent to it after each chunk, never waited for.
        With ``resume_from`` (the snapshot folder of a stopped run, see :meth:`checkpoint`),
        every member goes on from its newest snapshot there: contender and model, ledger,
        replica, runner.

        Separate from the constructor so that the topology can start every actor
        process while the market-data actor is still loading the data.

        Returns:
            The bars already processed (0, or the snapshot's bar when resuming).

        Raises:
            FileNotFoundError: ``resume_from`` holds no snapshot.
            ValueError: the snapshot's members are not this actor's."""
        if self._recovery is not None:  # what a restarted incarnation is set up with
            from arena.recovery import SnapshotFolder

            SnapshotFolder(self._recovery["dir"]).write_setup(
                ray.cloudpickle.dumps((dict(settings), limits, list(data_symbols), guardian, recorder, broker)))
        snap = None
        if resume_from is not None:
            from arena.recovery import SnapshotFolder

            snap = SnapshotFolder(resume_from).latest()
            if snap is None:
                raise FileNotFoundError(f"no snapshot to resume from in {resume_from}")
            if set(snap["members"]) != set(self._contenders):
                raise ValueError(f"the snapshot in {resume_from} holds {sorted(snap['members'])}, "
                                 f"not this actor's contenders {sorted(self._contenders)}")
            self._contenders = {name: m["runner"]["contender"] for name, m in snap["members"].items()}
            self._snap_bar = self._restored_from = int(snap["bars"])
        self._attach(settings, limits, data_symbols, guardian, recorder, broker, snap)
        return self._bars()

    def checkpoint(self, folder: str) -> int:
        """Ship and wait until every record so far is written and audited, then save every
        member's state after the bars processed so far in ``folder`` (an
        :class:`arena.recovery.SnapshotFolder`): a stopped run's snapshot, which
        :meth:`setup` with ``resume_from`` goes on from. Called after the last chunk
        published to it (calls to an actor run in order).

        Returns:
            The bars processed, i.e. the bar the snapshot is after.

        Raises:
            pickle.PicklingError, TypeError, AttributeError: a contender that cannot be pickled.
        """
        from arena.recovery import SnapshotFolder

        self._ship(wait=True)
        n = self._bars()
        members = {name: {"runner": r.snapshot(), "replica": self._replicas[name].snapshot()}
                   for name, r in self._runners.items()}
        SnapshotFolder(folder).save(n, members)
        return n

    def _attach(
        self, settings: Mapping[str, RunnerSettings], limits: RiskLimits, data_symbols: Sequence[str],
        guardian: Any, recorder: Any, broker: Any, snapshot: Mapping[str, Any] | None = None,
    ) -> None:
        """Build each member's runner and replica, fresh or as of ``snapshot`` (see :meth:`_restore`)."""
        self._guardian = guardian
        self._recorder = recorder
        self._broker = broker
        self._broker_sent: list[Any] = []
        members = {} if snapshot is None else snapshot["members"]
        replicas = {
            name: GuardianReplica.restore(members[name]["replica"], audit=True) if name in members
            else GuardianReplica(RiskGuardian(limits), audit=True)
            for name in self._contenders
        }
        with self._lock:
            for replica in replicas.values():
                replica.push(self._early)
            self._replicas = replicas
        for name, contender in self._contenders.items():
            s = settings[name]
            self._runners[name] = ContenderRunner(contender, s, replicas[name])
            if name in members:
                self._runners[name].restore(members[name]["runner"])
            idx = [list(data_symbols).index(sym) for sym in s.symbols]
            self._cols[name] = None if idx == list(range(len(data_symbols))) else np.asarray(idx)

    def _restore(self) -> None:
        """In a restarted incarnation: set up as the first was, go on from the newest snapshot
        (or from bar 0 without one), open a new incarnation at the recorder (learning which
        bars it has the records of), ask the guardian for the controls again and record a
        ``CONTENDER_RESTARTED`` event per member."""
        from arena.recovery import SnapshotFolder

        assert self._recovery is not None
        folder = SnapshotFolder(self._recovery["dir"])
        raw = folder.read_setup()
        if raw is None:
            return  # it crashed before it was set up: nothing to go on from
        settings, limits, data_symbols, guardian, recorder, broker = ray.cloudpickle.loads(raw)
        snap = folder.latest()
        if snap is not None:
            self._contenders = {name: m["runner"]["contender"] for name, m in snap["members"].items()}
        self._attach(settings, limits, data_symbols, guardian, recorder, broker, snap)
        key = self._recovery["key"]
        self._epoch, acked = ray.get(recorder.resume.remote(key))
        bars = 0 if snap is None else int(snap["bars"])
        self._snap_bar = bars
        self._restored_from = bars
        self._drop_until = {name: acked.get(name, 0) for name in self._runners}
        me = ray.get_runtime_context().current_actor
        guardian.register.remote({key: me}, list(self._runners))  # the controls issued so far, again
        ts = int(snap["members"][next(iter(snap["members"]))]["runner"]["ts_ns"][-1]) if bars else time.time_ns()
        run_id = next(iter(settings.values())).run_id
        events = [{"run_id": run_id, "ts": ts, "contender": name, "kind": "CONTENDER_RESTARTED",
                   "reason": f"process restarted (restart {self._epoch}); resumed from its snapshot after bar {bars}",
                   "details_json": {"bars_restored": bars, "restart": self._epoch, "actor": key,
                                    "records_through_bar": self._drop_until[name],
                                    "node_id": ray.get_runtime_context().get_node_id()}}
                   for name in self._runners]
        ray.get(recorder.append.remote({"events": events}))

    def resume_bar(self) -> dict[str, int]:
        """``{"bars": bars processed (the next chunk starts there), "restarts": n}``; called by the
        market-data actor after a crash, it waits until the restarted actor is back."""
        return {"bars": self._bars(), "restarts": self._epoch}

    def _bars(self) -> int:
        return min((r.bars for r in self._runners.values()), default=0)

    @ray.method(concurrency_group="control")
    def apply_controls(self, controls: list[Control]) -> None:
        """Queue arena-wide controls from the guardian; each runner applies them at the
        start of its next bar (called on the actor's control thread)."""
        with self._lock:
            if not self._replicas:
                self._early.extend(controls)
            for replica in self._replicas.values():
                replica.push(controls)

    def on_chunk(
        self, chunk: dict[str, Any], producers: list[Any] | None = None, first_bar: int | None = None,
    ) -> dict[str, Any]:
        """Process a chunk of bars (data-symbol order) through every hosted contender.
        Audit records are shipped to the recorder as Arrow batches (at least ``SHIP_EVERY_S``
        apart), one shipment in flight at a time, so neither memory nor the recorder's
        queue grows without bound.

        Args:
            chunk: the bars (see ``ContenderRunner.on_chunk``).
            producers: for a contender that consumes signals: the other contender
                actors' ``on_chunk`` results (refs) for the same chunk; their signals
                are routed to it bar by bar (a producer that failed is left out).
            first_bar: the index of the chunk's first bar in the run: a chunk whose bars were
                all processed already (sent before a restart; the market-data actor publishes
                again from :meth:`resume_bar`), or that starts after the next bar, is skipped,
                ``"skipped": True``; one that starts before the next bar and goes past it
                (published again by a restarted market-data actor) is processed from the next
                bar on.

        Returns:
            ``{"bars": bars processed so far, "signals": {name: [Signal per bar processed]},
            "first_bar": the first bar processed}`` (signals of the members built with
            ``settings.emit_signals``); a consumer whose producer's process died (with
            ``recovery``) takes nothing and says ``"awaiting": True``: the market-data actor
            publishes to it again once the producer is back.
        """
        assert self._runners, "setup() must be called first"
        done, start = 0, self._bars()
        if first_bar is not None and first_bar != self._bars():
            done = self._bars() - first_bar
            if not 0 < done < len(chunk["ts_ns"]):
                return {"bars": self._bars(), "signals": {}, "skipped": True}
        per_bar = None
        if producers is not None:
            per_bar = [{} for _ in range(len(chunk["ts_ns"]))]
            for ref in producers:
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError:
                    if self._recovery is not None:  # its process died: restarted, it decides these bars again
                        return {"bars": self._bars(), "signals": {}, "skipped": True, "awaiting": True}
                    continue  # that actor failed; the market actor records why
                except ray.exceptions.RayError:
                    continue
                # a producer that took only the chunk's later bars (published again after a restart)
                at = int(result.get("first_bar", first_bar or 0)) - (first_bar or 0)
                for name, signals in result["signals"].items():
                    for i, sig in enumerate(signals):
                        per_bar[at + i][name] = sig
            per_bar = per_bar[done:]
        if done:  # published again from an earlier bar (a restart): the bars not processed yet
            chunk = chunk_tail(chunk, done)
        n = 0
        out: dict[str, Any] = {}
        for name, runner in self._runners.items():
            cols = self._cols[name]
            mine = chunk if cols is None else {**chunk, **{f: chunk[f][:, cols] for f in _FIELDS}}
            n = runner.on_chunk(mine, per_bar)
            if runner.s.emit_signals:
                out[name] = runner.take_signals()
        if self._drop_until:  # replaying after a restart: the recorder has these bars' records
            for name, runner in self._runners.items():
                if runner.bars <= self._drop_until.get(name, 0):
                    runner.drain_batches()
        if self._broker is not None:
            self._to_broker()
        now = time.monotonic()
        if self._recovery is not None and self._snapshot_due(n, now):
            self._snapshot(n)
        elif now - self._last_ship >= SHIP_EVERY_S:
            self._ship(wait=False)
            self._last_ship = now
        return {"bars": n, "signals": out, "first_bar": start}

    def _snapshot_due(self, n: int, now: float) -> bool:
        every_s = self._recovery["every_s"]  # type: ignore[index]
        return n > self._snap_bar and (n - self._snap_bar >= self._recovery["every_bars"]  # type: ignore[index]
                                       or (every_s is not None and now - self._snap_t >= every_s))

    def _snapshot(self, n: int) -> None:
        """The periodic snapshot of crash recovery, after bar ``n`` (the bars processed): a
        :meth:`checkpoint` into the actor's recovery folder."""
        try:
            self.checkpoint(self._recovery["dir"])  # type: ignore[index]
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            # a contender that does not pickle: no more snapshots; a restart replays from the
            # last one written, or from bar 0 (slower, the same result)
            log.warning("contender actor %s: snapshot after bar %d failed (%s: %s); no more snapshots, a restart "
                        "goes on from an earlier one or from the first bar", self._recovery["key"],  # type: ignore[index]
                        n, type(exc).__name__, exc)
            self._recovery["every_bars"], self._recovery["every_s"] = 1 << 62, None  # type: ignore[index]
        self._last_ship = self._snap_t = time.monotonic()
        self._snap_bar = n

    def _to_broker(self) -> None:
        """Send the mirrored members' new approved orders and fills to the broker mirror actor
        (its calls only queue; the refs are kept to be waited for in :meth:`finish`)."""
        for name, runner in self._runners.items():
            if runner.s.mirror:
                orders, fills = runner.take_mirror()
                if orders or fills:
                    self._broker_sent.append(self._broker.on_activity.remote(name, orders, fills))
        if len(self._broker_sent) > 64:  # keep the list short: drop the refs already done
            done, self._broker_sent = ray.wait(self._broker_sent, num_returns=len(self._broker_sent), timeout=0)

    def _ship(self, wait: bool) -> None:
        """Send the members' audit rows to the recorder (one batch) and their risk audit
        items to the guardian, one shipment of each in flight. Without ``wait``, while
        the previous shipment is still in flight this one is put off to the next chance
        (the bar loop never blocks on the recorder or the guardian; the rows wait in the
        runners); with ``wait``, everything is sent and written."""
        inflight = [r for r in (self._pending_write, *self._pending_audit) if r is not None]
        if inflight and not wait:
            ready, _ = ray.wait(inflight, num_returns=len(inflight), timeout=0)
            if len(ready) < len(inflight):
                return
        if inflight:
            self._settle_shipments()  # done already unless waiting; raises a failed write here
        records = merge_batches([r.drain_batches() for r in self._runners.values()])
        items = {name: rep.drain_audit() for name, rep in self._replicas.items()}
        if records:
            key = self._recovery["key"] if self._recovery is not None else ""
            marks = {name: r.bars for name, r in self._runners.items()}
            self._pending_write = self._recorder.append.remote(records, (key, self._epoch, marks))
        self._audit_sent = [(name, it) for name, it in items.items() if it]
        self._pending_audit = [self._guardian.audit.remote(name, it) for name, it in self._audit_sent]
        if wait:
            self._settle_shipments()

    def _settle_shipments(self) -> None:
        """Wait for the shipment in flight. An audit call that failed because the guardian's
        process died is sent again once Ray has restarted it (with ``recovery``: the restarted
        guardian went on from its state after its last audit and skips what it had audited);
        without ``recovery``, or when it does not come back, the error is raised."""
        if self._pending_write is not None:
            ray.get(self._pending_write)
        for ref, (name, items) in zip(self._pending_audit, self._audit_sent, strict=True):
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError:
                if self._recovery is None:
                    raise
                self._audit_again(name, items)
        self._pending_write, self._pending_audit, self._audit_sent = None, [], []

    def _audit_again(self, name: str, items: list[Any]) -> None:
        timeout_s = float(self._recovery.get("restart_timeout_s", 120.0))  # type: ignore[union-attr]
        when_back(self._guardian.audit, name, items, timeout_s=timeout_s)

    def finish(self) -> dict[str, dict[str, Any]]:
        """Ship the last records and audit items, wait until they are written and audited,
        and return each member's result (name → ``ContenderRunner.finish()``) with the
        delays from each control's issue to its application (``control_delays_ns``) and
        the timestamps of the bars it was applied at (``control_bars_ns``)."""
        self._ship(wait=True)
        if self._broker is not None:
            self._to_broker()
            ray.get(self._broker_sent)  # the mirror has every order before the run's end settles it
        out = {}
        for name, runner in self._runners.items():
            rep = self._replicas[name]
            out[name] = {**runner.finish(), "control_delays_ns": list(rep.control_delays_ns),
                         "control_bars_ns": list(rep.control_bars_ns), "restarts": self._epoch,
                         "restored_from_bar": self._restored_from}
        return out


def _warm_arrow() -> None:
    import pyarrow as pa

    pa.array(["warm"], type=pa.string())


def merge_batches(batches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One recorder batch from several runners' ``drain_batches()``: per table, the Arrow
    tables concatenated in runner order."""
    if len(batches) == 1:
        return dict(batches[0])
    import pyarrow as pa

    parts: dict[str, list[Any]] = {}
    for batch in batches:
        for table, rows in batch.items():
            parts.setdefault(table, []).append(rows)
    return {table: rows[0] if len(rows) == 1 else pa.concat_tables(rows) for table, rows in parts.items()}
