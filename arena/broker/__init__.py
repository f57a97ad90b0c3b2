"""Paper-account mirroring: a mirrored contender's approved orders also go to its own broker
paper account, and the paper fills are reconciled with the internal ones.

The internal ledger stays the truth; the arena never waits for the broker. Plain Python, no
Ray: :class:`~arena.broker.alpaca_paper.PaperMirror` (one per mirrored contender) submits in a
thread of its own, and :class:`~arena.broker.reconcile.Reconciler` compares the fills; the
actor that hosts them is :class:`arena.actors.broker.BrokerMirrorActor`.
"""

from arena.broker.keys import PaperKeys, read_keys
from arena.broker.types import InternalFill, MirrorOrder, broker_client_order_id

__all__ = ["InternalFill", "MirrorOrder", "PaperKeys", "broker_client_order_id", "read_keys"]
