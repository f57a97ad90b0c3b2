"""The one place that knows the Ray topology of an arena run.

::

    MarketDataActor ──chunks of bars (timestamp order, bounded in flight)──▶ ContenderActor × N
                                                                              │ contender + own Ledger
                                      controls (push) ───────────────────────▶│ + risk rules (replica)
                          RiskGuardianActor (named guardian:<run_id>)         │
                                      ▲ audit batches (async) ◀───────────────┤ audit rows (batched)
                                      │ guardian events                       ▼
                                      └──────────────────────────────▶ RecorderActor ──▶ Store (DuckDB)

The driver (``run_arena``) creates the actors, streams progress from the
market-data actor, collects each contender's result, computes the
leaderboard and records it. Everything else is plain Python in ``ledger/``,
``contenders/``, ``arena/risk``, ``arena/metrics`` and ``arena/runner.py``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import ray

from arena.actors import when_back
from arena.actors.contender import ContenderActor
from arena.actors.guardian import RiskGuardianActor
from arena.actors.market import MarketDataActor
from arena.actors.recorder import RecorderActor
from arena.config import ArenaConfig, auto_chunk_bars
from arena.metrics import ContenderResult, data_holes, periods_per_year
from arena import control
from arena.control import GUARDIAN_PREFIX, NAMESPACE  # the actor names operators reach
from arena.provenance import code_version
from arena.secrets import redact, redact_url
from arena.risk import RiskLimits
from arena.scoring import score_run, store_rows
from arena.runner import RunnerSettings
from ledger import ExecutionConfig

__all__ = [
    "HEAD_RESOURCE",
    "Progress",
    "RunResult",
    "check_inputs",
    "connect_ray_for_serve",
    "contender_hosts",
    "ensure_ray",
    "failed_rows",
    "fit_gpus",
    "head_pin",
    "new_run_id",
    "run_arena",
    "run_status",
    "signal_consumers",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class RunResult:
    """What a finished run returns: its id, leaderboard rows (best first), run-level
    statistics (PBO …), status, per-contender raw results (equity arrays, fills), and
    the guardian's view at the end (``guardian``: verdicts audited, mismatches, controls
    issued and applied, halts; see ``RiskGuardianActor.status``), and the batches the store
    rejected (``rejected``: ``[{table, rows, file, error}]``, kept on disk; see
    ``RecorderActor.append``)."""

    run_id: str
    leaderboard: list[dict[str, Any]]
    stats: dict[str, Any]
    status: str
    n_bars: int
    data_sha256: str
    contenders: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    timings_s: dict[str, float] = field(default_factory=dict)
    guardian: dict[str, Any] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    broker: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Mirrored contender → its paper mirror's summary (``BrokerMirrorActor.finish``); empty without ``broker:``."""
    restarts: dict[str, int] = field(default_factory=dict)
    """Contender → times its actor process was restarted after a crash (config ``recovery``); 0 for none."""
    market_restarts: int = 0
    """Times the market-data actor was restarted after a crash (a replay's, config ``recovery``)."""


def ensure_ray(cfg: ArenaConfig) -> str:
    """Connect to Ray, or start a private local one; returns where it runs.

    In order: ``cfg.ray.address`` (or ``RAY_ADDRESS``); the local head of ``arena up``
    when it is running (:mod:`arena.cluster`: no Ray start-up cost per run); else a
    private local Ray with enough logical CPUs for every contender's request, so a
    local run never waits on resources it cannot get.

    Returns:
        ``"connected"`` (already initialized or an address), ``"arena up"`` or ``"local"``.

    Raises:
        RuntimeError: when the ``arena up`` head has fewer logical CPUs than the
            contenders ask for (it would wait for them forever).
    """
    if ray.is_initialized():
        return "connected"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = cfg.ray.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=True)
        return "connected"
    need = sum(c.resources.num_cpus for c in cfg.contenders)
    from arena import cluster

    head = cluster.running()
    if head is not None:
        _token_auth()  # the head runs with token authentication
        ray.init(address=head["address"], namespace=NAMESPACE, log_to_driver=True, configure_logging=False)
        have = ray.cluster_resources().get("CPU", 0.0)
        if have < need:
            ray.shutdown()
            raise RuntimeError(
                f"the Ray head of `arena up` has {have:g} logical CPUs; the contenders ask for {need:g} "
                "(resources.num_cpus): restart it with `arena down && arena up --num-cpus N`"
            )
        return "arena up"
    cpus = cfg.ray.num_cpus or max(os.cpu_count() or 1, math.ceil(need))
    # address="local": a new private Ray, never one that happens to run on the machine
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, namespace=NAMESPACE, configure_logging=False)
    return "local"


HEAD_RESOURCE = "arena_head"
"""Custom resource of a cluster's head node (``ray_cluster.yaml``): where the store's writer runs."""


def head_pin(cluster_resources: Mapping[str, float]) -> dict[str, Any]:
    """Ray options that place the recorder (the store's only writer), the guardian and the
    market-data actor on the head node of a cluster that marks it with :data:`HEAD_RESOURCE`
    (``ray_cluster.yaml`` does): ``{"resources": {"arena_head": 0.001}}``; nothing on a Ray
    without it (a local one)."""
    if cluster_resources.get(HEAD_RESOURCE, 0.0) > 0:
        return {"resources": {HEAD_RESOURCE: 0.001}}
    return {}


def connect_ray_for_serve() -> str:
    """Connect ``arena serve`` to Ray: ``RAY_ADDRESS`` when set (a cluster's head), else the
    local head of ``arena up`` when it runs, else a private local Ray (``address="local"``):
    never a Ray that merely happens to run on the machine. Controls reach runs on other
    clusters through their registration (:mod:`arena.control`).

    Returns:
        ``"connected"``, ``"arena up"`` or ``"local"``.
    """
    if ray.is_initialized():
        return "connected"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, namespace=NAMESPACE, configure_logging=False)
        return "connected"
    from arena import cluster

    head = cluster.running()
    if head is not None:
        _token_auth()
        ray.init(address=head["address"], namespace=NAMESPACE, configure_logging=False)
        return "arena up"
    ray.init(address="local", include_dashboard=False, namespace=NAMESPACE, configure_logging=False)
    return "local"


def _token_auth() -> None:
    """Connect with Ray's token authentication, as the ``arena up`` head runs. Ray reads
    ``RAY_AUTH_MODE`` into a cached config when it is imported, so the cache is
    refreshed too (Ray's own helper; ray is pinned in uv.lock)."""
    if os.environ.get("RAY_AUTH_MODE") == "token":
        return
    os.environ["RAY_AUTH_MODE"] = "token"
    try:
        from ray._private.authentication.authentication_token_setup import _enable_token_auth
    except ImportError:  # another Ray version: the environment variable alone
        return
    _enable_token_auth()


def _execution(cfg: ArenaConfig) -> ExecutionConfig:
    return ExecutionConfig(**cfg.execution.model_dump())


def new_run_id(cfg: ArenaConfig) -> str:
    """``<name>-<UTC yyyymmddThhmmss>-<6 hex>``: unique, sortable, readable."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{cfg.name}-{stamp}-{uuid.uuid4().hex[:6]}"


def run_arena(
    cfg: ArenaConfig,
    *,
    progress: Progress | None = None,
    run_id: str | None = None,
    provenance: dict[str, Any] | None = None,
    stop: threading.Event | None = None,
    resume: str | None = None,
) -> RunResult:
    """Run an arena end to end on Ray and record it in ``cfg.store``.

    Stop and resume (:mod:`arena.resume`): once ``stop`` is set, the market-data actor stops
    publishing after the chunk being sent, every contender actor snapshots its members after
    the bars it was sent, the guardian its state, and the run is recorded ``stopped``
    (``interrupted`` when a snapshot cannot be taken) with no leaderboard yet; the result's
    ``status`` says which. ``resume=RUN_ID`` goes on with a stopped run of ``cfg.store``
    from those snapshots, under the same run id: its records continue after the stop's
    bar, and a live run's bars since the stop are backfilled.

    Args:
        cfg: a validated config.
        progress: called as ``progress(bars_decided, total_bars)``: the bars every
            contender has processed (the slowest one's count), first with 0 once the actors
            are ready, then at most every 0.1 s.
        run_id: force a run id (default: :func:`new_run_id`).
        provenance: extra keys recorded in the run's stored ``config`` (e.g.
            ``{"walkforward": {"fold": 0, ...}}`` from ``arena walkforward``).
        stop: set (from any thread, e.g. a signal handler) to stop the run as above.
        resume: the id of a stopped run to go on with (``cfg`` must be the config it ran with).

    Returns:
        The run's :class:`RunResult`.

    Raises:
        FileNotFoundError: when a data file does not exist (before Ray is started).
        arena.data errors: when the data source cannot be loaded or fails validation.
        RuntimeError: when the actors cannot be placed within ``ray.startup_timeout_s``.
        ValueError, FileNotFoundError: ``resume`` names a run that cannot be resumed with this
            config and data (:func:`arena.resume.check_resumable`); the run is left as it was.
    """
    import time

    from arena.recovery import SnapshotFolder, snapshots_root
    from arena.resume import check_resumable, guardian_file, read_stop

    t0 = time.perf_counter()
    check_inputs(cfg)
    from arena.broker import read_keys

    keys = read_keys(cfg.broker.mirror) if cfg.broker is not None else {}
    where = ensure_ray(cfg)
    gpus = fit_gpus(cfg, ray.cluster_resources().get("GPU", 0.0), fixed=where in ("local", "arena up"))
    run_id = resume or run_id or new_run_id(cfg)
    point = read_stop(run_id) if resume else None  # checked in full once the data is known
    started_at = datetime.now(timezone.utc)
    # Start every actor process at once; the contenders finish their set-up once the data is known.
    data_spec, alpaca_keys = _alpaca_inputs(cfg) if cfg.data.source == "alpaca" else (cfg.data.model_dump(), None)
    # the run's single actors live on the head of a cluster marked by ray_cluster.yaml, else on the
    # driver's node, which a run cannot outlive anyway, and where the config's paths (data files, a
    # DuckDB store) are; a contender actor may be lost with its node and restarted elsewhere
    pin = head_pin(ray.cluster_resources()) or {"scheduling_strategy": _on_driver_node()}
    rec = cfg.recovery
    recoverable = bool(rec.max_restarts)
    # a replay's market-data actor is restarted after a crash and goes on from the contenders' bars;
    # not a live feed's (its stream, the minutes it released), nor one routing signals to consumers
    # (the producers' results it kept for them are gone with it)
    market_recoverable = recoverable and cfg.replay.mode != "live" and not signal_consumers(cfg)
    market = MarketDataActor.options(
        name=f"market:{run_id}", namespace=NAMESPACE,
        max_restarts=rec.max_restarts if market_recoverable else 0, max_task_retries=0, **pin
    ).remote(data_spec, cfg.base_dir)
    recorder = RecorderActor.options(**pin).remote(cfg.store, cfg.events, cfg.events_maxlen)
    hosts = contender_hosts(cfg)
    gone = dict(point.failed) if point is not None else {}  # failed for good before the stop
    seeds = {spec.name: _seed(cfg.seed, i) for i, spec in enumerate(cfg.contenders)}
    actors: dict[str, Any] = {
        key: ContenderActor.options(
            num_cpus=max(spec.resources.num_cpus for spec in members),
            num_gpus=max(gpus[spec.name] for spec in members),
            name=f"contender:{run_id}:{key}",
            namespace=NAMESPACE,
            max_restarts=rec.max_restarts if recoverable else 0,
            max_task_retries=0,  # a call in flight at a crash fails; the market-data actor publishes again
        ).remote(
            [(spec.name, spec.class_, spec.params, seeds[spec.name]) for spec in members],
            _recovery_spec(cfg, run_id, key) if recoverable else None,
        )
        for key, members in hosts.items() if key not in gone
    }
    spawned: dict[str, Any] = {"market": market, "recorder": recorder, **actors}
    broker = None
    if cfg.broker is not None:
        from arena.actors.broker import BrokerMirrorActor

        broker = BrokerMirrorActor.options(**pin).remote(
            run_id, cfg.broker.model_dump(), keys, recorder
        )
        spawned["broker"] = broker
    created: Any = None
    keep_snapshots = False  # a stopped run's, until it is resumed
    stream_done = threading.Event()  # ends the watcher of ``stop``
    decided = point.bars if point is not None else 0  # bars every contender has processed (n_bars of a failed run)
    try:
        try:
            info = ray.get(market.info.remote())
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None
        ppy = periods_per_year(info["timestamps_ns"])
        for a, b in data_holes(info["timestamps_ns"])[:5]:
            log.warning("the bars have a hole of %.0f days, from %s to %s: no bar of any symbol in it; it is "
                        "left out of the annualization (%.1f bars per year)", (b - a) / 86_400e9,
                        pd.Timestamp(a, tz="UTC").isoformat(), pd.Timestamp(b, tz="UTC").isoformat(), ppy)
        if point is not None:  # go on with the stopped run: its row, annualization and first bar
            prior = ray.get(recorder.get_run.remote(run_id))
            point = check_resumable(run_id, prior, redact(cfg.to_dict()), info["data_sha256"], list(hosts),
                                    info["symbols"])
            started_at = pd.Timestamp(prior["started_at"]).tz_convert("UTC").to_pydatetime()
            ppy = float(prior["periods_per_year"])
            if point.mode == "live":  # the warm-up history has moved on; the run is the one it was
                info = {**info, "data_sha256": prior["data_sha256"], "first_ns": point.first_ns or info["first_ns"]}
            created = recorder.reopen_run.remote(run_id)
        else:
            created = recorder.create_run.remote(
                {
                    "run_id": run_id,
                    "name": cfg.name,
                    "config": redact({**cfg.to_dict(), **(provenance or {})}),  # no credentials in the store
                    "data_source": info["source"],
                    "data_sha256": info["data_sha256"],
                    "code_version": code_version(),
                    "seed": cfg.seed,
                    "started_at": started_at,
                    "symbols": info["symbols"],
                    "periods_per_year": ppy,
                    "status": "running",
                }
            )
        limits = RiskLimits(**cfg.risk.model_dump(), periods_per_year=ppy)
        guardian = RiskGuardianActor.options(
            name=GUARDIAN_PREFIX + run_id, namespace=NAMESPACE, max_restarts=rec.max_restarts if recoverable else 0,
            max_task_retries=0, **pin,
        ).remote(run_id, limits, recorder, str(snapshots_root(run_id)) if recoverable else None)
        spawned["guardian"] = guardian
        if point is not None:
            guardian.restore.remote(guardian_file(run_id).read_bytes())  # before the contenders register
        execution = _execution(cfg)
        ready = [created]
        consumers = signal_consumers(cfg)
        live_mode = cfg.replay.mode == "live"
        settings: dict[str, RunnerSettings] = {}
        for i, spec in enumerate(cfg.contenders):
            symbols = tuple(spec.symbols or info["symbols"])
            unknown = sorted(set(symbols) - set(info["symbols"]))
            if unknown:
                raise ValueError(f"contenders[{i}].symbols: {unknown} not in the data (has {info['symbols']})")
            settings[spec.name] = RunnerSettings(
                run_id=run_id,
                name=spec.name,
                symbols=symbols,
                capital_usd=cfg.capital,
                execution=execution,
                n_bars_hint=info["n_bars"],
                # live: the historical bars warm every contender up (observed, fitted on, not traded);
                # a resumed live run keeps its first session's warm-up
                warmup_bars=max(spec.warmup_bars, point.live_from if point is not None else info["n_bars"])
                if live_mode else spec.warmup_bars,
                rebalance_drift=spec.rebalance_drift,
                decision_timeout_s=spec.decision_timeout_s,
                sharpe_window_bars=cfg.risk.sharpe_window_bars,
                artifacts_dir=None if cfg.artifacts is None else os.path.join(cfg.artifacts, run_id, spec.name),
                emit_signals=bool(consumers) and spec.name not in consumers,
                mirror=cfg.broker is not None and spec.name in cfg.broker.mirror,
            )
        for key, actor in actors.items():
            mine = {spec.name: settings[spec.name] for spec in hosts[key]}
            ready.append(actor.setup.remote(mine, limits, info["symbols"], guardian, recorder, broker,
                                            str(SnapshotFolder.of(run_id, key).path) if point is not None else None))
        # controls reach every contender from now on
        ready.append(guardian.register.remote(actors, [spec.name for spec in cfg.contenders]))
        try:
            ray.get(ready, timeout=cfg.ray.startup_timeout_s)
        except ray.exceptions.GetTimeoutError:
            raise RuntimeError(
                "the contender actors did not all start within ray.startup_timeout_s = "
                f"{cfg.ray.startup_timeout_s:g} s: "
                f"the cluster ({_resources_text(ray.cluster_resources())}) cannot place "
                f"{_requests_text(cfg, gpus)}; add nodes or lower contenders[].resources"
            ) from None
        t_ready = time.perf_counter()
        control.register(run_id, cfg.name, ray.get_runtime_context().gcs_address)  # operators reach it now

        failed: dict[str, str] = dict(gone)
        restarts: dict[str, int] = {}
        start_bar = point.bars if point is not None else 0
        if progress is not None:
            progress(start_bar, info["n_bars"])
        if stop is not None:
            threading.Thread(target=_stop_when, args=(stop, stream_done, market), name="arena-stop",
                             daemon=True).start()
        stream_args = dict(
            recorder=recorder, run_id=run_id, consumers=tuple(k for k in hosts if hosts[k][0].name in consumers),
            live_settings=cfg.replay.model_dump() if live_mode else None,
            alpaca_keys=alpaca_keys if live_mode else None,
            restart_timeout_s=rec.restart_timeout_s if recoverable else None,
            resume_last_ns=point.last_ns if point is not None and live_mode else None,
        )
        bars_from, epoch, market_restarts, session_from = start_bar, 0, 0, start_bar
        while True:
            try:
                for update in market.stream.options(num_returns="streaming").remote(
                    {k: a for k, a in actors.items() if k not in failed}, cfg.replay.mode,
                    cfg.replay.chunk_bars or auto_chunk_bars(info["n_bars"]), cfg.replay.max_inflight_chunks,
                    cfg.replay.bar_interval_s, start_bar=start_bar, bars_from=bars_from, epoch=epoch, **stream_args,
                ):
                    state = ray.get(update)
                    failed = {**failed, **state["failed"]}
                    decided = state["decided"]
                    for k, n in state.get("restarts", {}).items():  # counts of actors' incarnations
                        restarts[k] = max(restarts.get(k, 0), n)
                    if progress is not None:
                        progress(state["decided"], max(info["n_bars"], state["bars"]))
                break
            except ray.exceptions.RayActorError as exc:  # the market-data actor died
                if not market_recoverable or market_restarts >= rec.max_restarts:
                    raise
                market_restarts += 1
                start_bar, bars_from, epoch = _market_back(
                    market, recorder, {k: a for k, a in actors.items() if k not in failed}, info,
                    rec.restart_timeout_s, run_id, market_restarts, exc, session_from)
                if stop is not None and stop.is_set():
                    market.stop.remote()  # asked before the crash: the new stream stops at once
        stream_done.set()
        if state.get("stopped"):
            stopped = _stopped(cfg, run_id, state, info, failed, actors, guardian, recorder, point, t0)
            keep_snapshots = stopped.status == "stopped"
            return stopped
        if live_mode:  # the run's length is known once the live stream ends
            info = {**info, "n_bars": state["bars"], "last_ns": state["last_ns"]}
        t_stream = time.perf_counter()

        results: dict[str, dict[str, Any]] = {}
        for key, actor in actors.items():
            if key not in failed:
                try:
                    results.update(ray.get(actor.finish.remote()))
                except ray.exceptions.RayActorError as exc:  # died after the stream: restarted, replayed?
                    why = ray.get(market.republish.remote(key, actor)) if recoverable else str(exc)
                    try:
                        if why is not None:
                            raise RuntimeError(why)
                        done = ray.get(actor.finish.remote())
                        results.update(done)
                        restarts[key] = max(int(r["restarts"]) for r in done.values())
                    except (ray.exceptions.RayError, RuntimeError) as again:
                        failed[key] = f"{type(again).__name__}: {str(again).splitlines()[0][:500]}"
                except ray.exceptions.RayError as exc:
                    failed[key] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
        failed = {spec.name: reason for key, reason in failed.items() for spec in hosts[key]}  # per contender
        restarts = {spec.name: restarts.get(key, 0) for key in hosts for spec in hosts[key]}
        back_s = rec.restart_timeout_s if recoverable else 0.0
        when_back(guardian.flush, timeout_s=back_s)  # every contender's audit is in (finish waits for it)
        gstatus = when_back(guardian.status, timeout_s=back_s)
        paper = {} if broker is None else ray.get(broker.finish.remote())  # waits at most broker.settle_s
        per_contender: dict[str, ContenderResult] = {}
        warmup = {spec.name: spec.warmup_bars for spec in cfg.contenders}
        for name, res in results.items():
            status, reason = res["status"], res["halt_reason"]
            if status == "ok" and name in gstatus["halted"]:
                status, reason = "halted", gstatus["halted"][name]
            per_contender[name] = _to_result(res, status, reason, warmup[name])
        events = [
            {
                "run_id": run_id,
                "ts": int(info["last_ns"]),
                "contender": name,
                "kind": "CONTENDER_FAILED",
                "reason": reason,
                "details_json": {},
            }
            for name, reason in failed.items()
        ]
        t_board = time.perf_counter()
        prior = ray.get(recorder.trials.remote(info["data_sha256"], info["first_ns"], info["last_ns"]))
        scored = score_run(cfg, per_contender, ppy, run_id=run_id, data_sha256=info["data_sha256"],
                           first_bar_ns=info["first_ns"], last_bar_ns=info["last_ns"], started_at=started_at,
                           prior_trials=prior, operational=results)
        leaderboard, stats = scored.leaderboard, scored.stats
        leaderboard += failed_rows(failed, len(leaderboard))
        for row in leaderboard:
            if row["contender"] in paper:
                row["paper_divergence_bps"] = paper[row["contender"]]["divergence_bps"]
        board_s = time.perf_counter() - t_board
        rejected = ray.get(recorder.rejected.remote())  # batches the store refused, kept on disk
        status = run_status(gstatus["kill_switch"], leaderboard, bool(rejected))
        batch: dict[str, Any] = {"leaderboard": store_rows(run_id, info["last_ns"], leaderboard),
                                 "trials": scored.trials}
        if events:
            batch["events"] = events
        ray.get(recorder.append.remote(batch))
        ray.get(recorder.finish_run.remote(run_id, datetime.now(timezone.utc), status, info["n_bars"]))
        ray.get(recorder.close.remote())
    except BaseException as exc:
        # the run is marked failed, or interrupted by a signal (rows already written stay), and no actor outlives it
        if created is not None:
            ended = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            try:
                ray.get(recorder.finish_run.remote(run_id, datetime.now(timezone.utc), ended, decided), timeout=30)
                ray.get(recorder.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001 - best effort: the original error is what matters
                pass
        raise
    finally:
        stream_done.set()
        control.unregister(run_id)
        for a in spawned.values():
            ray.kill(a, no_restart=True)
        if created is not None and not keep_snapshots and not rec.keep_snapshots:
            shutil.rmtree(snapshots_root(run_id), ignore_errors=True)
    t_end = time.perf_counter()
    return RunResult(
        run_id=run_id,
        leaderboard=leaderboard,
        stats=stats,
        status=status,
        n_bars=info["n_bars"],
        data_sha256=info["data_sha256"],
        contenders=results,
        timings_s={
            "startup": t_ready - t0,
            "stream": t_stream - t_ready,
            "finish": t_end - t_stream,
            "leaderboard": board_s,
            "guardian_busy": gstatus["audit_busy_s"],
        },
        guardian=gstatus,
        rejected=rejected,
        broker=paper,
        restarts=restarts,
        market_restarts=market_restarts,
    )


def _market_back(
    market: Any, recorder: Any, actors: Mapping[str, Any], info: Mapping[str, Any], timeout_s: float, run_id: str,
    restart: int, why: BaseException, recorded_from: int,
) -> tuple[int, int, int]:
    """The market-data actor died mid-stream: wait (``timeout_s``) until Ray has restarted it
    and it has loaded the same data, then say where its stream goes on from: the first bar the
    recorder has not written to ``bars`` (``recorded_from`` when it has written none this
    session), or the fewest bars a live contender actor has processed when that is earlier
    (each contender takes only the bars it lacks), and the actor's new incarnation at the
    recorder (the dead one's shipments still on their way are dropped). Records a
    ``MARKET_DATA_RESTARTED`` event.

    Returns:
        ``(start_bar, bars_from, epoch)`` for the new ``MarketDataActor.stream``.

    Raises:
        RuntimeError: it is not back in time, or its data has another sha256.
    """

    from arena.actors.market import MARKET_KEY

    try:
        again = when_back(market.info, timeout_s=timeout_s)
    except ray.exceptions.ActorUnavailableError:
        raise RuntimeError(f"the market-data actor died ({why}) and was not back within {timeout_s:g} s") from None
    except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
        raise RuntimeError(f"the market-data actor died ({why}) and did not come back ({exc})") from None
    if again["data_sha256"] != info["data_sha256"]:
        raise RuntimeError("the restarted market-data actor loaded other data "
                           f"(sha256 {again['data_sha256'][:12]}…, the run's {info['data_sha256'][:12]}…)")
    done = ray.get([a.resume_bar.remote() for a in actors.values()])
    start = min((int(d["bars"]) for d in done), default=int(info["n_bars"]))
    epoch, acked = ray.get(recorder.resume.remote(MARKET_KEY))
    bars_from = int(acked.get(MARKET_KEY, recorded_from))
    start = min(start, bars_from)
    log.warning("the market-data actor died (%s); restarted (restart %d), it goes on from bar %d", why, restart, start)
    ts = int(info["timestamps_ns"][start - 1]) if start else int(info["first_ns"])
    ray.get(recorder.append.remote({"events": [{
        "run_id": run_id, "ts": ts, "contender": None, "kind": "MARKET_DATA_RESTARTED",
        "reason": f"market-data actor restarted (restart {restart}); publishing again from bar {start}",
        "details_json": {"restart": restart, "from_bar": start, "bars_recorded_through": bars_from},
    }]}))
    return start, bars_from, epoch


def _stop_when(stop: threading.Event, ended: threading.Event, market: Any) -> None:
    """Ask the market-data actor to stop once ``stop`` is set, unless the stream ``ended`` first."""
    while not ended.is_set():
        if stop.wait(0.1):
            if not ended.is_set():
                market.stop.remote()
            return


def _stopped(
    cfg: ArenaConfig, run_id: str, state: Mapping[str, Any], info: Mapping[str, Any], failed: Mapping[str, str],
    actors: Mapping[str, Any], guardian: Any, recorder: Any, point: Any, t0: float,
) -> RunResult:
    """The stream stopped on request: snapshot every live contender actor after the bars it was
    sent and the guardian, write the stop point, record the run ``stopped`` (``interrupted``
    when a snapshot cannot be taken, with the reason logged) and return its result (no
    leaderboard: the run has not ended)."""
    import time

    from arena.recovery import SnapshotFolder
    from arena.resume import StopPoint, write_stop

    bars = int(state["bars"])
    status = "stopped"
    try:
        done = ray.get([actor.checkpoint.remote(str(SnapshotFolder.of(run_id, key).path))
                        for key, actor in actors.items() if key not in failed])
        if any(n != bars for n in done):  # every actor was sent the same bars and did them all
            raise RuntimeError(f"the contender actors stopped after {sorted(set(done))} bars, not {bars}")
        write_stop(StopPoint(
            run_id=run_id, bars=bars, last_ns=state.get("last_ns"), first_ns=int(info["first_ns"]),
            mode=cfg.replay.mode,
            live_from=(point.live_from if point is not None else int(info["n_bars"])) if cfg.replay.mode == "live"
            else 0,
            failed=dict(failed)), ray.get(guardian.snapshot.remote()))
    except (ray.exceptions.RayError, RuntimeError, OSError) as exc:
        status = "interrupted"
        log.warning("run %s could not be snapshotted at its stop (%s): it is recorded as interrupted, not resumable",
                    run_id, str(exc).splitlines()[0][:300])
    ray.get(recorder.finish_run.remote(run_id, datetime.now(timezone.utc), status, bars))
    ray.get(recorder.close.remote())
    return RunResult(run_id=run_id, leaderboard=[], stats={}, status=status, n_bars=bars,
                     data_sha256=str(info["data_sha256"]), timings_s={"total": time.perf_counter() - t0},
                     guardian=ray.get(guardian.status.remote()))


def _on_driver_node() -> Any:
    """Ray's scheduling strategy for an actor on the driver's node (they ask for no CPU, so the node
    can always host them; Ray 2.60 places such actors anywhere under a *soft* affinity)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)


def _recovery_spec(cfg: ArenaConfig, run_id: str, key: str) -> dict[str, Any] | None:
    """What contender actor ``key`` needs to snapshot itself and to restore after a restart
    (:class:`~arena.actors.contender.ContenderActor`'s ``recovery``); None without restarts."""
    rec = cfg.recovery
    if not rec.max_restarts:
        return None
    from arena.recovery import SnapshotFolder

    return {"key": key, "dir": str(SnapshotFolder.of(run_id, key).path), "every_bars": rec.snapshot_every_bars,
            "every_s": rec.snapshot_every_s, "restart_timeout_s": rec.restart_timeout_s}


def _alpaca_inputs(cfg: ArenaConfig) -> tuple[dict[str, Any], Any]:
    """An ``alpaca`` data spec with its ``end`` fixed (an open end is the last complete bar
    now), its bars in the cache (downloaded here, where the keys are: the market-data actor
    reads the cache file), and the key pair for a live feed (an argument of the actor's
    stream call, never in a config, a log line or the actor's environment)."""
    from arena.data.alpaca.keys import keys_from_env
    from arena.data.alpaca.source import source_from_alpaca_spec

    spec = cfg.data.model_dump()
    source = source_from_alpaca_spec(spec)
    spec["end"] = source.request.end.isoformat()
    source.fetch()
    return spec, keys_from_env()


def check_inputs(cfg: ArenaConfig) -> None:
    """What can be checked before Ray starts, beyond the config's own validation: the data
    source resolves (a file exists, a sample is known); the mirrored contenders' paper keys
    are set in the environment (``broker.mirror``); a DuckDB store's folder can be
    created and written; a QuestDB store's ports are numbers.

    Raises:
        FileNotFoundError: for a data file that does not exist.
        arena.data.alpaca.AlpacaAuthError: Alpaca keys missing or rejected (an ``alpaca``
            source with an ``end`` is downloaded here, into its cache, unless cached).
        ValueError, KeyError: for a data spec the source rejects, or a store location that
            cannot be written or has a bad port.
    """
    from urllib.parse import urlsplit

    from arena.data.sources import source_from_spec
    from arena.store.url import parse_store_url

    source = source_from_spec(cfg.data.model_dump(), base_dir=cfg.base_dir)
    if cfg.broker is not None:
        from arena.broker import read_keys

        read_keys(cfg.broker.mirror)  # names every key variable that is not set
    if cfg.data.source == "alpaca":
        from arena.data.alpaca.keys import keys_from_env

        keys_from_env()  # missing keys fail here, naming the variable
        if cfg.data.end is not None:
            source.fetch()  # type: ignore[attr-defined]  # fill the cache here, where the keys are
    scheme, location = parse_store_url(cfg.store)
    if scheme == "duckdb":
        import tempfile

        folder = os.path.dirname(os.path.abspath(location)) or "."
        try:  # the store would create it too; a file written and removed proves it can write there
            os.makedirs(folder, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".arena-write-check-"):
                pass
        except OSError as exc:
            raise ValueError(f"store {cfg.store!r}: cannot create or write the folder {folder!r} ({exc})") from None
        from arena.store import StoreBusyError, open_store

        try:  # DuckDB allows one writing process: a second run on the same file would fail in its recorder
            if os.path.exists(location):  # (a file that does not exist yet is nobody's; the recorder creates it)
                open_store(cfg.store, busy_timeout_s=0.5).close()
        except StoreBusyError as exc:
            raise ValueError(
                f"store {cfg.store!r} is being written by another process (another arena run?): {exc}; "
                "wait for it, or give this run another store"
            ) from None
    elif scheme == "questdb":
        try:
            urlsplit(f"questdb://{location}").port  # noqa: B018 - raises for a port that is no number
        except ValueError as exc:
            raise ValueError(f"store {redact_url(cfg.store)!r}: {exc} (expected questdb://host:port)") from None


def fit_gpus(cfg: ArenaConfig, cluster_gpus: float, *, fixed: bool) -> dict[str, float]:
    """GPUs each contender's actor asks Ray for (name → ``resources.num_gpus``), fitted to a
    cluster that cannot grow (``fixed``: a private local Ray or the head of ``arena up``):
    there a contender asking for more GPUs than the machine has runs on the CPU instead
    (learned contenders use the device Ray assigns, the CPU without one), with a warning,
    rather than waiting forever for a GPU that will never come. On a cluster that may add
    nodes the request stands (``ray.startup_timeout_s`` bounds the wait)."""
    out = {}
    for spec in cfg.contenders:
        want = spec.resources.num_gpus
        if fixed and want > cluster_gpus:
            log.warning("contender %r asks for %g GPU(s); this machine's Ray has %g: it runs on the CPU",
                        spec.name, want, cluster_gpus)
            want = 0.0
        out[spec.name] = want
    return out


def _resources_text(resources: Mapping[str, float]) -> str:
    keys = [k for k in ("CPU", "GPU", "memory") if k in resources]
    return ", ".join(f"{k} {resources[k]:g}" for k in keys) or "no resources"


def _requests_text(cfg: ArenaConfig, gpus: Mapping[str, float]) -> str:
    return "; ".join(
        f"{spec.name}: {spec.resources.num_cpus:g} CPU, {gpus[spec.name]:g} GPU" for spec in cfg.contenders
    )


def failed_rows(failed: Mapping[str, str], ranked: int) -> list[dict[str, Any]]:
    """Leaderboard rows of the contenders whose process failed (no result to rank): status
    ``failed``, the reason, ranks after the ``ranked`` others, no figures."""
    return [
        {"contender": name, "rank": ranked + i, "status": "failed", "halt_reason": reason}
        for i, (name, reason) in enumerate(sorted(failed.items()), start=1)
    ]


def run_status(killed: bool, leaderboard: Sequence[Mapping[str, Any]], rejected: bool = False) -> str:
    """A run's final status: ``killed`` when the kill switch was tripped, else
    ``finished_with_failures`` when a contender is not ``ok`` (halted or failed) or the store
    rejected records (kept on disk, see ``RunResult.rejected``), else ``finished``."""
    if killed:
        return "killed"
    failures = rejected or any(r.get("status") != "ok" for r in leaderboard)
    return "finished_with_failures" if failures else "finished"


def _seed(seed: int, index: int) -> int:
    """A per-contender seed derived from the run seed (numpy SeedSequence), stable across runs."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def contender_hosts(cfg: ArenaConfig) -> dict[str, list[Any]]:
    """The contender actors to start: key → the contender specs it hosts, in config order.

    A contender has an actor of its own (key = its name) unless it names a ``process``:
    contenders with the same ``process`` share one actor (key ``process:<name>``).
    """
    hosts: dict[str, list[Any]] = {}
    for spec in cfg.contenders:
        hosts.setdefault(spec.name if spec.process is None else f"process:{spec.process}", []).append(spec)
    return hosts


def signal_consumers(cfg: ArenaConfig) -> tuple[str, ...]:
    """Names of the contenders that consume the others' signals (``consumes_signals = True``,
    e.g. ``meta_ensemble``): the market-data actor routes every other contender's
    per-bar :class:`~contenders.signals.Signal` to them."""
    from contenders.registry import resolve

    return tuple(c.name for c in cfg.contenders if getattr(resolve(c.class_), "consumes_signals", False))


def _to_result(res: dict[str, Any], status: str, reason: str, warmup_bars: int = 0) -> ContenderResult:
    """A contender's result, scored from the close of its last warm-up bar: warm-up bars
    are never traded, so counting their flat equity would dilute its Sharpe ratio."""
    first = max(warmup_bars - 1, 0)
    if first:
        res = {
            **res,
            **{k: res[k][first:] for k in ("ts_ns", "equity", "gross_exposure")},
            **{k: res[k][first:] for k in ("predictions", "close") if res.get(k) is not None},
        }
    idx = pd.to_datetime(res["ts_ns"], utc=True)
    fills = pd.DataFrame(res["fills"], columns=["ts", "symbol", "side", "quantity", "price", "commission"])
    trades = pd.DataFrame(
        res["closed_trades"],
        columns=["symbol", "entry_ts_ns", "exit_ts_ns", "quantity", "entry_price", "exit_price", "pnl"],
    )
    trades = trades.rename(columns={"entry_ts_ns": "entry_ts", "exit_ts_ns": "exit_ts"})
    return ContenderResult(
        equity=pd.Series(res["equity"], index=idx),
        fills=fills,
        closed_trades=trades,
        gross_exposure=pd.Series(res["gross_exposure"], index=idx),
        status=status,
        halt_reason=reason,
        **_prediction_fields(res),
    )


def _prediction_fields(res: dict[str, Any]) -> dict[str, Any]:
    """``predictions``/``close``/``horizon_bars`` for a contender that predicted; none otherwise."""
    pred = res.get("predictions")
    if pred is None or not np.isfinite(pred).any():
        return {}
    return {"predictions": pred, "close": res["close"], "horizon_bars": res["prediction_horizon_bars"]}
