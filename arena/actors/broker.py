"""The broker mirror actor: hosts the paper mirrors of a run's mirrored contenders."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ray

from arena.broker.keys import PaperKeys
from arena.broker.types import InternalFill, MirrorOrder

__all__ = ["BrokerMirrorActor"]


@ray.remote(num_cpus=0, max_restarts=0)
class BrokerMirrorActor:
    """One per run with ``broker:`` in its config: an
    :class:`~arena.broker.alpaca_paper.PaperMirror` per mirrored contender, each with its own
    paper account and worker thread. The contender actors send it each chunk's approved orders
    and fills (:meth:`on_activity`, which only queues); the mirrors' records (``reconciliation``
    rows, ``BROKER_*`` events) go to the recorder as they are made. A process of its own, so
    that broker trouble (slow answers, outages) never touches a contender or the recorder.

    Args:
        run_id: the run.
        broker: the config's ``broker`` section (``BrokerSettings.model_dump()``).
        keys: contender → its paper account's keys (:func:`arena.broker.read_keys`).
        recorder: the run's recorder actor.
    """

    def __init__(self, run_id: str, broker: Mapping[str, Any], keys: Mapping[str, PaperKeys], recorder: Any) -> None:
        from arena.broker.alpaca_paper import PaperMirror, paper_client
        from arena.broker.trade_updates import TradeUpdatesListener, stream_url_of

        stream_url = broker.get("stream_url") or stream_url_of(broker.get("url"))

        def listener(name: str) -> Any:
            if not broker.get("trade_updates", True):
                return None
            return lambda on_order: TradeUpdatesListener(keys[name], on_order, stream_url)

        self._recorder = recorder
        self._settle_s = float(broker["settle_s"])
        self._writes: list[Any] = []
        self._lock = threading.Lock()
        self._mirrors = {
            name: PaperMirror(
                run_id, name, paper_client(keys[name], broker.get("url")), self._sink,
                poll_every_s=float(broker["poll_every_s"]), max_backoff_s=float(broker["max_backoff_s"]),
                updates=listener(name),
            )
            for name in broker["mirror"]
        }

    def _sink(self, batch: dict[str, list[Any]]) -> None:
        from arena.records import to_batch
        from arena.store.schema import TABLES

        tables = {table: to_batch(TABLES[table], rows) for table, rows in batch.items() if rows}
        if tables:
            with self._lock:
                self._writes.append(self._recorder.append.remote(tables))

    def on_activity(self, contender: str, orders: Sequence[MirrorOrder], fills: Sequence[InternalFill]) -> None:
        """Queue a contender's new approved orders, then its new internal fills."""
        mirror = self._mirrors[contender]
        for order in orders:
            mirror.submit(order)
        mirror.on_fills(fills)

    def finish(self) -> dict[str, dict[str, Any]]:
        """Settle every mirror (at most ``broker.settle_s`` seconds for working paper orders, all
        mirrors at once), wait until their records are written, and return contender →
        :meth:`PaperMirror.close` summary (``divergence_bps``, ``rejected_orders``,
        ``unfilled_orders``, ``orders``, ``reconciled``, ``episodes``, ``submitted``)."""
        with ThreadPoolExecutor(max_workers=max(len(self._mirrors), 1)) as pool:
            futures = {name: pool.submit(m.close, self._settle_s) for name, m in self._mirrors.items()}
            out = {name: f.result() for name, f in futures.items()}
        with self._lock:
            writes, self._writes = self._writes, []
        ray.get(writes)
        return out
