"""The ``arena`` command line.

``arena run CONFIG``, ``arena walkforward CONFIG --folds K``, ``arena serve``, ``arena runs``,
``arena leaderboard RUN_ID [--wide]``, ``arena decisions RUN_ID``, ``arena why DECISION_ID``,
``arena report RUN_ID``, ``arena plot RUN_ID``, ``arena equity|trades|fills RUN_ID --csv|--parquet FILE``
(decisions, report, plot and the exports live in :mod:`arena.cli_views`),
``arena data list``, ``arena data validate FILE``, ``arena data fetch CONFIG`` (:mod:`arena.cli_data`),
``arena kill-switch``, ``arena up`` / ``arena down`` (a local Ray head reused by
later runs). Errors in user input exit with status 2 and a message
naming the file and key; nothing prints a Python traceback for them.
``arena --version``; ``-h`` is ``--help``; ``--log-level`` (or ``-v``/``-q``) sets the level of
this program's logging and of Ray's and Serve's own.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich import box
from rich.table import Table

from arena.live.schema import EVENTS_URL_ENV
from arena.sweep import DEFAULT_MAX_CONTENDERS
from arena.secrets import redact, redact_url
from arena.report.columns import (
    BENCHMARK_CLASSES,
    BENCHMARK_NOTE,
    COLUMN_GROUPS,
    benchmark_names,
    columns_for,
    fmt,
    ranked_by,
    significance_lines,
)

__all__ = [
    "DEFAULT_STORE",
    "LOG_LEVELS",
    "JsonOpt",
    "StoreOpt",
    "app",
    "data_app",
    "data_list",
    "data_validate",
    "down",
    "err",
    "leaderboard",
    "out",
    "run",
    "runs",
    "serve",
    "up",
    "walkforward",
    "why",
]

_HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    help="model-arena: trading models compete on real market data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings=_HELP,
)
data_app = typer.Typer(help="Bundled data sets and data-quality checks.", no_args_is_help=True, context_settings=_HELP)
app.add_typer(data_app, name="data")

DEFAULT_STORE = "duckdb://runs/arena.duckdb"
StoreOpt = Annotated[
    str, typer.Option("--store", envvar="ARENA_STORE", help="store URL, e.g. duckdb://runs/arena.duckdb")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

def _fail(message: str, code: int = 2) -> None:
    # the message is plain text: "pip install 'model-arena[ml]'" must not read as markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


_fmt = fmt

LOG_LEVELS = ("debug", "info", "warning", "error")


_RAY_LOGGERS = ("ray", "ray.serve", "ray.data", "ray.tune", "ray.train")
_log_level = logging.WARNING


def _configure_logging(level: str) -> None:
    """Set this program's logging and Ray's and Serve's own to ``level``.

    Ray reads ``RAY_LOGGER_LEVEL`` when it is imported (later, by the command) and hands the
    environment to the processes of a Ray it starts; at ``warning`` and above Serve's
    processes log to their files only, not to this terminal (``RAY_SERVE_LOG_TO_STDERR=0``).
    Serve sets its driver-side logger to INFO when it is imported: :func:`_reapply_log_level`
    sets it back.
    """
    global _log_level
    _log_level = getattr(logging, level.upper())
    logging.basicConfig(level=_log_level, format="%(levelname)s %(name)s: %(message)s")  # no-op if configured
    logging.getLogger().setLevel(_log_level)
    _reapply_log_level()
    os.environ["RAY_LOGGER_LEVEL"] = level
    if _log_level >= logging.WARNING:
        os.environ["RAY_SERVE_LOG_TO_STDERR"] = "0"
    else:
        os.environ.pop("RAY_SERVE_LOG_TO_STDERR", None)


def _reapply_log_level() -> None:
    """The chosen level on Ray's and Serve's loggers again (their imports reset them)."""
    for name in _RAY_LOGGERS:
        logging.getLogger(name).setLevel(_log_level)


def _version(value: bool) -> None:
    if value:
        import arena

        out.print(f"model-arena {arena.__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    log_level: Annotated[
        Optional[str],
        typer.Option("--log-level", help=f"logging of arena, Ray and Serve: {' | '.join(LOG_LEVELS)} (default warning)",
                     case_sensitive=False),
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="errors only")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """model-arena: trading models compete on real market data."""
    if log_level is not None and log_level.lower() not in LOG_LEVELS:
        _fail(f"--log-level: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    level = (log_level or ("error" if quiet else ("debug" if verbose > 1 else "info" if verbose else "warning")))
    _configure_logging(level.lower())


def _leaderboard_tables(
    rows: list[dict[str, Any]], title: str, wide: bool = False, benchmarks: list[str] | tuple[str, ...] = ()
) -> list[Table]:
    """The leaderboard's terminal tables, one per column group with values (performance;
    against the benchmark; operational): its key columns, or (``wide``) all of them."""
    tables = []
    for group in COLUMN_GROUPS:
        cols = columns_for(rows, wide=wide, group=group)
        if group == "performance" or len(cols) > 2:
            heading = title if group == "performance" else f"{title}: {group}"
            tables.append(_leaderboard_table(rows, heading, wide, benchmarks, group=group))
    return tables


def _leaderboard_table(
    rows: list[dict[str, Any]], title: str, wide: bool = False, benchmarks: list[str] | tuple[str, ...] = (),
    group: str | None = None,
) -> Table:
    """The leaderboard as a terminal table: the key columns (about 90 characters wide for
    names up to 14 characters) or, ``wide``, all of them; the caption says what it is ranked
    by and which contender is the buy-and-hold benchmark, and why each contender that is not
    ``ok`` (halted, suspended, failed) is so."""
    cols = columns_for(rows, wide=wide, group=group)
    bench = next((r.get("benchmark") for r in rows if r.get("benchmark")), None)
    marked = [b for b in benchmarks if any(r.get("contender") == b for r in rows)]
    notes = [ranked_by(rows)] + [f"{b} {BENCHMARK_NOTE}" for b in marked]
    if bench and bench not in marked:
        notes.append(f"{bench} is the benchmark")
    if not wide:
        notes.append("--wide: all columns")
    why_not_ok = [f"{r['contender']} {r.get('status')}: {r.get('halt_reason') or 'no reason recorded'}"
                  for r in rows if r.get("status") not in (None, "ok")]
    caption = "; ".join(notes) + "".join(f"\n{line}" for line in why_not_ok)
    if group not in (None, "performance"):
        caption = f"against the benchmark {bench}" if group == "benchmark" and bench else ""
    table = Table(
        title=title, caption=caption, header_style="bold", box=box.SIMPLE_HEAD,
        caption_justify="left", pad_edge=False, padding=(0, 1), collapse_padding=True,
    )
    for c in cols:
        table.add_column(c.head, justify="left" if c.key in ("contender", "status") else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(fmt(row.get(c.key), c.spec) for c in cols))
    return table


_SIGTERM_SEEN: list[int] = []


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM while Ray starts stops the command the way Ctrl-C does (no run is recorded yet)."""
    _SIGTERM_SEEN.append(signum)
    raise KeyboardInterrupt("SIGTERM")


class _GracefulStop:
    """SIGTERM or SIGINT during a run: the first asks the arena to stop and snapshot (the run is
    then ``stopped``, resumable with ``--resume``); a second aborts it (``interrupted``)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.by: str | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        if signum == signal.SIGTERM:
            _SIGTERM_SEEN.append(signum)
        if self.event.is_set():
            raise KeyboardInterrupt(name)
        self.by = name
        self.event.set()
        err.print(f"{name}: stopping after the bars in flight and snapshotting every contender "
                  "(again to abort without a snapshot)", highlight=False)


def _look_hint(run_id: str, store: str, events: str | None = None) -> str:
    """How to look at a recorded run: the page, the report and the plot."""
    flag = "" if store == DEFAULT_STORE else f" --store {store}"
    serve_events = f" --events {events}" if events else ""
    steps = [
        (f"arena serve{flag}{serve_events}", "the arena page at http://127.0.0.1:8000/ (API docs at /docs)"),
        (f"arena report {run_id}{flag}", "report.html: one file, opens offline"),
        (f"arena plot {run_id}{flag}", "equity.png: equity and drawdown"),
        (f"arena decisions {run_id}{flag}", "decision ids, then: arena why DECISION_ID"),
    ]
    width = max(len(cmd) for cmd, _ in steps)
    return "look at it:\n" + "\n".join(f"  {cmd:<{width}}  # {what}" for cmd, what in steps)


def _open_store(url: str, read_only: bool = True):
    from arena.store import StoreBusyError, open_store

    try:
        return open_store(url, read_only=read_only)
    except StoreBusyError as exc:
        _fail(str(exc))
    except (ValueError, NotImplementedError, OSError) as exc:
        _fail(f"cannot open store {url!r}: {exc}")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="YAML config file")],
    json_out: JsonOpt = False,
    store: Annotated[
        Optional[str], typer.Option("--store", envvar="ARENA_STORE", help="override the config's store URL")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="override the config's seed")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="all leaderboard columns")] = False,
    max_contenders: Annotated[
        int, typer.Option("--max-contenders", min=1, help="most contenders the config's sweeps may expand to")
    ] = DEFAULT_MAX_CONTENDERS,
    events: Annotated[
        Optional[str],
        typer.Option(
            "--events",
            help=f"Redis URL for live events, e.g. redis://127.0.0.1:6379/0 (overrides the config's `events`; "
            f"{EVENTS_URL_ENV} is used when neither is given)",
        ),
    ] = None,
    resume: Annotated[
        Optional[str],
        typer.Option("--resume", metavar="RUN_ID",
                     help="go on with a stopped run (arena stop, SIGTERM or Ctrl-C) from its snapshots; "
                          "CONFIG must be the config it ran with"),
    ] = None,
) -> None:
    """Run an arena: every contender in its own Ray actor with its own ledger.

    SIGTERM (``arena stop RUN_ID``) or Ctrl-C stops it after the bars in flight with a snapshot
    of every contender and of the guardian (status ``stopped``); ``--resume RUN_ID`` goes on
    from there. A second signal aborts without a snapshot (status ``interrupted``)."""
    from arena.config import ConfigError, load_config

    overrides: dict[str, Any] = {}
    if store:
        overrides["store"] = store
    if seed is not None:
        overrides["seed"] = seed
    if events:
        overrides["events"] = events
    try:
        cfg = load_config(config, overrides, max_contenders)
        if cfg.events is None and os.environ.get(EVENTS_URL_ENV):
            cfg = load_config(config, {**overrides, "events": os.environ[EVENTS_URL_ENV]}, max_contenders)
    except ConfigError as exc:
        _fail(str(exc))
    from arena.config import config_warnings

    for warning in config_warnings(cfg):
        err.print(f"[bold yellow]warning:[/] {escape(f'{config}: {warning}')}", highlight=False, markup=True)
    from arena.topology import check_inputs, ensure_ray, run_arena

    try:
        check_inputs(cfg)  # before Ray starts: a bad input costs a second, not a cluster start
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as exc:  # RuntimeError: Alpaca keys
        _fail(f"{config}: {'store' if 'store ' in str(exc)[:7] else 'data'}: {exc}")
    if resume:
        from arena.resume import read_stop

        try:
            read_stop(resume)  # the rest is checked against the store and the data once they are open
        except (FileNotFoundError, ValueError) as exc:
            _fail(f"--resume {resume}: {exc}")
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)  # Ray's own handler would abort the process
    try:
        if ensure_ray(cfg) == "arena up":
            err.print("using the local Ray head of `arena up` (stop it with `arena down`)")
    except RuntimeError as exc:
        signal.signal(signal.SIGTERM, previous)
        _fail(str(exc))
    except KeyboardInterrupt:
        signal.signal(signal.SIGTERM, previous)
        err.print(f"stopped ({'SIGTERM' if _SIGTERM_SEEN else 'SIGINT'}) while Ray was starting: no run was recorded")
        raise typer.Exit(143 if _SIGTERM_SEEN else 130) from None
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("bars"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=json_out,
    )
    graceful = _GracefulStop()
    signal.signal(signal.SIGTERM, graceful)  # again: ray.init installs its own handler
    previous_int = signal.signal(signal.SIGINT, graceful)
    try:
        with progress:
            task = progress.add_task(f"{cfg.name}: starting (Ray, data, actors)", total=None)

            phase = "live (warm-up, then the stream)" if cfg.replay.mode == "live" else "replay"
            if resume:
                phase = f"resumed {resume}, " + phase

            def on_progress(done: int, total: int) -> None:  # bars decided by the slowest contender
                progress.update(task, completed=done, total=total, description=f"{cfg.name}: {phase}")

            result = run_arena(cfg, progress=on_progress, stop=graceful.event, resume=resume)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:  # a second signal: the run is marked interrupted
        by = "SIGTERM" if _SIGTERM_SEEN else "SIGINT"
        err.print(f"stopped ({by}): the run is recorded as interrupted, with every row written so far")
        raise typer.Exit(143 if _SIGTERM_SEEN else 130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    if result.status in ("stopped", "interrupted") and graceful.by is not None:
        if result.status == "stopped":
            err.print(f"stopped ({graceful.by}) after {result.n_bars} bars, every contender and the guardian "
                      f"snapshotted; go on with:\n  arena run {config} --resume {result.run_id}", highlight=False,
                      soft_wrap=True)
        else:
            err.print(f"stopped ({graceful.by}) after {result.n_bars} bars: the snapshots could not be taken "
                      "(see the warning above); the run is recorded as interrupted", highlight=False)
        raise typer.Exit(143 if graceful.by == "SIGTERM" else 130)
    if json_out:
        print(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "status": result.status,
                    "n_bars": result.n_bars,
                    "data_sha256": result.data_sha256,
                    "stats": result.stats,
                    "leaderboard": result.leaderboard,
                    "restarts": result.restarts,
                },
                default=str,
            )
        )
        return
    benches = [c.name for c in cfg.contenders if c.class_ in BENCHMARK_CLASSES]
    for table in _leaderboard_tables(
        result.leaderboard, f"{cfg.name} — run {result.run_id} ({result.n_bars} bars, {result.status})",
        wide=wide, benchmarks=benches,
    ):
        out.print(table)
    for line in significance_lines(result.leaderboard):
        out.print(line, highlight=False)
    if result.stats.get("benchmark_missing"):
        err.print(f"the benchmark {result.stats['benchmark_missing']} failed: no relative columns or tests")
    out.print(f"recorded in {redact_url(cfg.store)}", highlight=False)
    for name, n in sorted(result.restarts.items()):
        if n:
            out.print(f"{name}: its process crashed and was restarted {n} time(s); it went on from its snapshot "
                      "(events CONTENDER_RESTARTED)", highlight=False)
    for r in result.rejected:
        err.print(f"[bold red]warning:[/] the store rejected {r['rows']} {r['table']} rows: kept in {r['file']} "
                  f"({r['error']})", highlight=False)
    store_shown = redact_url(cfg.store)
    events_shown = None if cfg.events is None else redact_url(cfg.events)
    out.print(_look_hint(result.run_id, store_shown, events_shown), highlight=False, markup=False)


_WF_FOLD_COLUMNS = [
    ("rank", "#", "{}"),
    ("contender", "contender", "{}"),
    ("status", "status", "{}"),
    ("total_return", "return", "{:+.2%}"),
    ("sharpe", "Sharpe", "{:.2f}"),
    ("max_drawdown", "max DD", "{:.2%}"),
    ("trades", "trades", "{}"),
    ("ic", "IC", "{:+.3f}"),
    ("rank_ic", "rank IC", "{:+.3f}"),
    ("hit_rate", "hit", "{:.0%}"),
]
_WF_AGGREGATE_FORMATS = {"sharpe": "{:.2f}", "total_return": "{:+.2%}", "max_drawdown": "{:.2%}",
                         "ic": "{:+.3f}", "hit_rate": "{:.0%}"}


@app.command()
def walkforward(
    config: Annotated[Path, typer.Argument(help="YAML config file")],
    folds: Annotated[int, typer.Option("--folds", min=1, help="number of consecutive out-of-sample folds")] = 3,
    json_out: JsonOpt = False,
    store: Annotated[
        Optional[str], typer.Option("--store", envvar="ARENA_STORE", help="override the config's store URL")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="override the config's seed")] = None,
) -> None:
    """Walk-forward evaluation: one arena run per out-of-sample fold, each after its own warm-up;
    per-fold leaderboards and the mean ± std per contender across folds."""
    from arena.config import ConfigError, load_config

    overrides: dict[str, Any] = {}
    if store:
        overrides["store"] = store
    if seed is not None:
        overrides["seed"] = seed
    try:
        cfg = load_config(config, overrides)
    except ConfigError as exc:
        _fail(str(exc))
    from arena.walkforward import AGGREGATE_METRICS, run_walkforward

    def on_fold(k: int, n: int, fold: Any) -> None:
        if not json_out:
            err.print(f"fold {k + 1}/{n}: trades {fold.trade_since} .. {fold.until} ({fold.n_bars} bars, "
                      f"warm-up {fold.warmup_bars} bars)")

    try:
        result = run_walkforward(cfg, folds, on_fold=on_fold)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if json_out:
        print(json.dumps(result.to_dict(), default=str))
        return
    for f in result.folds:
        fold = f["fold"]
        table = Table(
            title=f"fold {fold['index']}: {fold['trade_since'][:10]} .. {fold['until'][:10]} "
            f"({fold['stop_bar'] - fold['first_bar']} bars) — run {f['run_id']}",
            header_style="bold",
        )
        for _, head, _ in _WF_FOLD_COLUMNS:
            table.add_column(head, justify="left" if head in ("contender", "status") else "right")
        for row in f["leaderboard"]:
            table.add_row(*(_fmt(row.get(key), spec) for key, _, spec in _WF_FOLD_COLUMNS))
        out.print(table)
        if f["failed"]:
            out.print(f"failed in this fold: {', '.join(f['failed'])}")
    table = Table(title=f"walk-forward {result.walkforward_id}: mean ± std across {len(result.folds)} folds",
                  header_style="bold")
    table.add_column("contender", justify="left")
    for m in AGGREGATE_METRICS:
        table.add_column(m, justify="right")
    table.add_column("won", justify="right")
    for row in result.aggregate:
        cells = []
        for m in AGGREGATE_METRICS:
            mean, std, spec = row[f"{m}_mean"], row[f"{m}_std"], _WF_AGGREGATE_FORMATS[m]
            cells.append("–" if mean is None else f"{_fmt(mean, spec)} ± {_fmt(std, spec.replace('+', ''))}")
        table.add_row(row["contender"], *cells, f"{row['folds_won']}/{len(result.folds)}")
    out.print(table)
    out.print(f"store: {cfg.store}   each fold is a run: arena leaderboard RUN_ID --store {cfg.store}")


@app.command()
def serve(
    store: StoreOpt = DEFAULT_STORE,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    events: Annotated[
        Optional[str],
        typer.Option(
            "--events",
            envvar=EVENTS_URL_ENV,
            help="Redis URL of the live event stream, for GET /runs/{run_id}/events (without it: 503)",
        ),
    ] = None,
) -> None:
    """Serve the leaderboard, "why?" and live events over HTTP (Ray Serve + FastAPI; docs at /docs)."""
    from arena.live.schema import validate_events_url

    if events:
        try:
            validate_events_url(events)
        except ValueError as exc:
            _fail(f"--events: {exc}")
    from arena.control import recover_store
    from arena.topology import connect_ray_for_serve
    from serve.deployment import run_serve

    try:  # spools of earlier writers re-sent, runs of killed drivers marked interrupted
        for run_id in recover_store(store):
            err.print(f"run {run_id} was left running by a driver that is gone: marked interrupted")
    except (OSError, ValueError) as exc:  # serve anyway: the API answers 503 for a store it cannot use
        err.print(f"[bold yellow]warning:[/] {redact_url(store)}: {exc}", highlight=False)

    connect_ray_for_serve()
    _reapply_log_level()  # importing ray.serve set its logger to INFO
    live = f"; live events from {redact_url(events)}" if events else ""
    out.print(
        f"serving {redact_url(store)}{live}: the arena page at http://{host}:{port}/  "
        f"(OpenAPI docs: http://{host}:{port}/docs; Ctrl-C stops)"
    )
    if os.environ.get("ARENA_KILL_SWITCH_TOKEN"):
        out.print(f"kill switch on the page: open http://{host}:{port}/#token=<the token> (read-only without it)")
    run_serve(store, host=host, port=port, blocking=True, events_url=events)


@app.command()
def runs(store: StoreOpt = DEFAULT_STORE, json_out: JsonOpt = False) -> None:
    """List the recorded runs, newest first (run ids are never cut: copy one from here)."""
    rows = [redact(r) for r in _open_store(store).list_runs()]
    if json_out:
        print(json.dumps(rows, default=str))
        return
    cells = [
        {
            "run_id": str(r.get("run_id")),
            "name": str(r.get("name")),
            "status": str(r.get("status")),
            "started (UTC)": str(r.get("started_at") or "")[:16].replace("T", " "),
            "bars": str(r.get("n_bars") if r.get("n_bars") is not None else "–"),
            "contenders": str(len((r.get("config") or {}).get("contenders") or [])),
            "data sha256": str(r.get("data_sha256", ""))[:12],
            "code": _short_code(str(r.get("code_version"))),
        }
        for r in rows
    ]
    columns = ["run_id", "name", "status", "started (UTC)", "bars", "contenders", "data sha256", "code"]

    def width(cols: list[str]) -> int:
        return sum(max(len(c), *(len(row[c]) for row in cells)) + 2 for c in cols)

    # the run id is never cut: the least needed columns go first when the terminal is narrow
    for drop in ("data sha256", "code", "contenders", "started (UTC)", "name"):
        if not cells or width(columns) <= out.width:
            break
        columns.remove(drop)
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in columns:
        table.add_column(col, no_wrap=True, overflow="ignore" if col == "run_id" else "ellipsis",
                         justify="right" if col in ("bars", "contenders") else "left")
    for row in cells:
        table.add_row(*(row[c] for c in columns))
    out.print(table)


def _short_code(version: str) -> str:
    """``git:<40 hex>+dirty`` → ``6d77bd4e7047+dirty``; other versions as they are."""
    if version.startswith("git:"):
        sha, _, rest = version[4:].partition("+")
        return sha[:12] + (f"+{rest}" if rest else "")
    return version


def _known_run(st: Any, run_id: str, store: str) -> dict[str, Any]:
    found = st.get_run(run_id)
    if found is None:
        _fail(f"no run {run_id!r} in {store} (see `arena runs`)")
    return found


@app.command()
def leaderboard(
    run_id: str,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
    wide: Annotated[bool, typer.Option("--wide", help="all columns (default: the key ones, fits 100 columns)")] = False,
) -> None:
    """Show a run's leaderboard, in the ranking its config chose (rank_by; Sharpe by default), with the
    benchmark-relative columns, the SPA p-value and who beats the benchmark."""
    st = _open_store(store)
    found = _known_run(st, run_id, store)
    rows = st.leaderboard(run_id)
    if json_out:
        print(json.dumps(rows, default=str))
        return
    for table in _leaderboard_tables(rows, f"run {run_id}", wide=wide, benchmarks=benchmark_names(found.get("config"))):
        out.print(table)
    for line in significance_lines(rows):
        out.print(line, highlight=False)


@app.command()
def why(
    decision_id: str,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
    top: Annotated[int, typer.Option(help="contributions to show")] = 20,
    artifacts: Annotated[
        Optional[str],
        typer.Option(help="artifacts root for explanations computed on demand (default: the run's config)"),
    ] = None,
) -> None:
    """Explain one decision: its contributions (top first), risk verdicts, orders and fills.
    A learned contender's decision that did not trade is explained now, from its checkpoint
    and recorded inputs, and the explanation kept in the store."""
    import arena.explanations as explanations

    opened = _open_store(store)
    d = opened.decision(decision_id)
    if d is None:
        _fail(f"no decision {decision_id!r} in {store}")
    try:
        d, computed = explanations.resolve(opened, d, artifacts)
    except explanations.ExplanationUnavailable as exc:
        _fail(str(exc))
    opened.close()
    if computed is not None:
        explanations.cache(store, computed)
    if json_out:
        print(json.dumps(d, default=str))
        return
    out.print(
        f"[bold]{d['decision_id']}[/]  {d['contender']}  at {d['ts']}  weights={d.get('weights')}  "
        f"confidence={_fmt(d.get('confidence'), '{:.2f}')}"
    )
    expl = sorted(d.get("explanation") or [], key=lambda e: -abs(e.get("contribution") or 0.0))[:top]
    table = Table(title="why", header_style="bold")
    for col in ("symbol", "feature", "value", "contribution", "method"):
        table.add_column(col, justify="right" if col in ("value", "contribution") else "left")
    for e in expl:
        table.add_row(
            e.get("symbol") or "",
            e["feature"],
            _fmt(e.get("value"), "{:.6g}"),
            _fmt(e.get("contribution"), "{:+.6g}"),
            e.get("method", ""),
        )
    out.print(table)
    if d.get("predictions"):
        preds = ", ".join(f"{sym} {_fmt(p, '{:+.4%}')}" for sym, p in d["predictions"].items())
        out.print(f"predicted log return over the horizon: {preds}")
    for v in d.get("verdicts", []):
        out.print(
            f"risk: {v.get('symbol')} {v.get('action')} scale={_fmt(v.get('scale'), '{:.2f}')} {v.get('reasons')}"
        )
    for f in d.get("fills", []):
        out.print(
            f"fill: {f.get('side')} {f.get('quantity')} {f.get('symbol')} "
            f"@ {_fmt(f.get('price'), '{:.4f}')} at {f.get('ts')}"
        )


@app.command()
def up(
    num_cpus: Annotated[
        Optional[int],
        typer.Option(help="logical CPUs of the head (default: 16 per core, so that many light contenders fit)"),
    ] = None,
    port: Annotated[int, typer.Option(help="GCS port")] = 6390,
) -> None:
    """Start a local Ray head that later runs reuse (no Ray start-up per run)."""
    from arena import cluster

    try:
        head = cluster.up(num_cpus=num_cpus or 16 * (os.cpu_count() or 1), port=port)
    except cluster.HeadError as exc:
        _fail(str(exc), code=1)
    out.print(f"Ray head running at {head['address']} (pid {head['pid']}); `arena run` uses it; stop: arena down")


@app.command()
def down() -> None:
    """Stop the local Ray head started by `arena up` (and only it)."""
    from arena import cluster

    try:
        stopped = cluster.down()
    except cluster.HeadError as exc:
        _fail(str(exc), code=1)
    out.print("stopped the Ray head of `arena up`" if stopped else "no Ray head of `arena up` is running")


@data_app.command("list")
def data_list(json_out: JsonOpt = False) -> None:
    """List the bundled data sets (real historical bars)."""
    from arena.data import list_samples

    samples = list_samples()
    if json_out:
        print(json.dumps(samples, default=str))
        return
    table = Table(header_style="bold")
    for col in ("name", "frequency", "symbols", "rows", "first", "last", "source"):
        table.add_column(col)
    for m in samples:
        sources = sorted({f"{src['package']} {src['version']}" for src in m["sources"]})
        table.add_row(
            m["name"],
            m["bar_frequency"],
            ", ".join(m["symbols"]),
            str(m["rows"]),
            m["first_timestamp"],
            m["last_timestamp"],
            ", ".join(sources),
        )
    out.print(table)


@data_app.command("validate")
def data_validate(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of OHLCV bars")],
    symbol: Annotated[Optional[str], typer.Option(help="symbol, when the file has no symbol column")] = None,
    calendar: Annotated[Optional[str], typer.Option(
        help="exchange calendar whose sessions decide the expected bars (XNYS, XNAS, XLON, 24/7, ...); "
             "default: the data's own weekly pattern")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a data-quality report (score, gaps, duplicates, spikes, problems) without running
    anything; exits 1 when the file would not load (a validation problem)."""
    from arena.data import quality_report_for_file

    try:
        report = quality_report_for_file(file, symbol=symbol, calendar=calendar)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    if json_out:
        print(json.dumps(report, default=str))
    else:
        from arena.data import render_quality_report

        out.print(render_quality_report(report))
    if not report["valid"]:
        raise typer.Exit(1)


# the commands that look at a recorded run (decisions, report, plot, exports), the operator
# controls of running ones (kill-switch, release) and `arena data fetch` register on `app`
from arena import cli_data, cli_ops, cli_views  # noqa: E402,F401

if __name__ == "__main__":  # `python -m arena.cli`: the app of the module the other command modules registered on
    from arena.cli import app as _registered

    _registered()
