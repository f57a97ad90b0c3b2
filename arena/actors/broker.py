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

    Each order (by ``client_order_id``) and each internal fill (by order, bar, quantity and
    price) is taken once: a contender actor restarted after a crash replays the bars after
    its snapshot and sends their orders and fills again, which are the same (replay is
    deterministic) and are dropped here, so the paper account sees each order once and the
    reconciliation counts each fill once.

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
        self._seen_orders: dict[str, set[str]] = {name: set() for name in broker["mirror"]}
        self._seen_fills: dict[str, set[tuple[str, int, float, float]]] = {name: set() for name in broker["mirror"]}
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
        """Queue a contender's new approved orders, then its new internal fills (each once)."""
        mirror = self._mirrors[contender]
        seen_orders, seen_fills = self._seen_orders[contender], self._seen_fills[contender]
        for order in orders:
            if order.client_order_id not in seen_orders:
                seen_orders.add(order.client_order_id)
                mirror.submit(order)
        new = []
        for fill in fills:
            key = (fill.client_order_id, fill.ts_ns, fill.quantity, fill.price)
            if key not in seen_fills:
                seen_fills.add(key)
                new.append(fill)
        mirror.on_fills(new)

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
