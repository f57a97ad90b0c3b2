"""Run by ``test_recovery.py`` in a process of its own (a Ray cluster of several nodes cannot
share the test session's Ray): on a ``ray.cluster_utils.Cluster`` of a head and two worker
nodes on this machine, the same arena is run twice, once untouched and once with the node
that hosts contender ``flip`` removed mid-run; prints one JSON line comparing the two.

Usage: ``python recovery_cluster_run.py STORE_PATH``
"""

from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np
import ray
from ray.cluster_utils import Cluster

from arena.config import parse_config
from arena.control import NAMESPACE
from arena.recovery import SnapshotFolder
from arena.topology import run_arena

FAST_FAILURE = {"health_check_period_ms": 500, "health_check_failure_threshold": 3, "health_check_timeout_ms": 500}


def _config(store: str):
    return parse_config({
        "name": "t-cluster",
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "n_bars": 300, "seed": 7},
        "seed": 5,
        "execution": {"commission_bps": 1.0, "slippage_bps": 2.0},
        "risk": {"max_position_weight": 0.6},
        "contenders": [  # flip asks for a GPU: only the worker nodes have one (a logical one: it is not used)
            {"name": "flip", "class": "arena_test_contenders:FlipEveryBar", "resources": {"num_gpus": 1}},
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}},
        ],
        "replay": {"mode": "paced", "bar_interval_s": 0.02},
        "recovery": {"snapshot_every_bars": 100, "max_restarts": 2},
        "store": f"duckdb://{store}",
        "artifacts": None,
    })


def _rows(path: str, run_id: str) -> dict[str, list[tuple]]:
    """The run's audit rows, run id taken out, sorted (``tests/support/audit_rows.py``, on the
    PYTHONPATH the test gives this process)."""
    from audit_rows import run_rows

    return run_rows(path, run_id)


def _restarted_on(path: str, run_id: str) -> str | None:
    """The node of the restarted actor, as its CONTENDER_RESTARTED event records it."""
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute("SELECT details_json FROM events WHERE run_id = ? AND kind = 'CONTENDER_RESTARTED'",
                           [run_id]).fetchall()
    finally:
        con.close()
    return json.loads(rows[-1][0]).get("node_id") if rows else None


def _remove_flips_node(cluster: Cluster, run_id: str, out: dict) -> None:
    folder = SnapshotFolder.of(run_id, "flip")
    deadline = time.monotonic() + 240
    while True:
        try:
            actor = ray.get_actor(f"contender:{run_id}:flip", namespace=NAMESPACE)
            node_id = ray.get(actor.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id()))
            break
        except ValueError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    while folder.latest() is None:
        assert time.monotonic() < deadline, "no snapshot"
        time.sleep(0.05)
    time.sleep(0.5)
    node = next(n for n in cluster.worker_nodes if n.node_id == node_id)
    out["removed_node"] = node_id
    cluster.remove_node(node, allow_graceful=False)  # where Ray restarted it: the CONTENDER_RESTARTED event says


def main(store: str) -> None:
    # the head (the driver's node, where Ray places the actors that ask for no GPU) outlives the run
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4, "_system_config": FAST_FAILURE})
    # connected before the workers exist: the driver's node is the head (all nodes share this IP)
    ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False)
    for _ in range(2):
        cluster.add_node(num_cpus=1, num_gpus=1)
    cluster.wait_for_nodes()
    cfg = _config(store)
    clean = run_arena(cfg, run_id="t-cluster-clean")
    out: dict = {}
    remover = threading.Thread(target=_remove_flips_node, args=(cluster, "t-cluster-crash", out))
    remover.start()
    crashed = run_arena(cfg, run_id="t-cluster-crash")
    remover.join()
    out["head"] = cluster.head_node.node_id
    out["driver"] = ray.get_runtime_context().get_node_id()
    same = {
        name: bool(np.array_equal(clean.contenders[name]["equity"], crashed.contenders[name]["equity"])
                   and clean.contenders[name]["fills"] == crashed.contenders[name]["fills"])
        for name in ("flip", "sma")
    }
    print(json.dumps({
        "status": crashed.status,
        "restarts": crashed.restarts,
        "restored_from_bar": crashed.contenders["flip"]["restored_from_bar"],
        "same": same,
        "removed_node": out.get("removed_node"),
        "node_after": _restarted_on(store, crashed.run_id),
        "head": out["head"],
        "driver": out["driver"],
        "rejected": len(crashed.rejected),
        "audited": [clean.guardian["audited_verdicts"], crashed.guardian["audited_verdicts"]],
        "mismatches": crashed.guardian["mismatches"],
        "rows_same": _rows(store, clean.run_id) == _rows(store, crashed.run_id),
    }))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
