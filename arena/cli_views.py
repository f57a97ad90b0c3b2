"""The ``arena`` commands that look at a recorded run: ``arena decisions``, ``arena report``,
``arena plot`` (``--sweep``: a heat map), ``arena trials`` and the exports
``arena equity|trades|fills RUN_ID --csv|--parquet FILE``.

They register on :data:`arena.cli.app` (imported by :mod:`arena.cli`) and read the store
through its read methods and :mod:`arena.report`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.table import Table

from arena.cli import DEFAULT_STORE, JsonOpt, StoreOpt, _fail, _fmt, _known_run, _open_store, app, err, out

__all__ = [
    "ContenderOpt",
    "ContendersOpt",
    "CsvOpt",
    "ParquetOpt",
    "decisions",
    "equity",
    "fills",
    "plot",
    "report",
    "trades",
    "trials_command",
]


@app.command()
def decisions(
    run_id: str,
    store: StoreOpt = DEFAULT_STORE,
    contender: Annotated[Optional[str], typer.Option(help="only this contender's decisions")] = None,
    symbol: Annotated[Optional[str], typer.Option(help="only decisions touching this symbol")] = None,
    limit: Annotated[int, typer.Option(min=1, help="rows to show")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="rows to skip")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """List a run's decisions (ids to ask `arena why` about), in time order."""
    st = _open_store(store)
    _known_run(st, run_id, store)
    if contender is not None and contender not in st.contenders(run_id):
        _fail(f"--contender: no contender {contender!r} in run {run_id!r}; it has {', '.join(st.contenders(run_id))}")
    rows = st.decisions(run_id, contender=contender, symbol=symbol, limit=limit, offset=offset)
    if json_out:
        print(json.dumps(rows, default=str))
        return
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("decision_id", no_wrap=True, overflow="ignore",
                     min_width=max((len(r["decision_id"]) for r in rows), default=11))
    table.add_column("ts", no_wrap=True, min_width=10)
    table.add_column("conf", justify="right", no_wrap=True, min_width=4)
    table.add_column("weights", overflow="fold", min_width=9)
    table.add_column("top reason", overflow="fold", min_width=10)
    for r in rows:
        weights = ", ".join(f"{k} {v:.2f}" for k, v in (r.get("weights") or {}).items() if v is not None)
        lines = [e for e in (r.get("explanation") or []) if isinstance(e, dict)]
        top = max(lines, key=lambda e: abs(e.get("contribution") or 0.0), default=None)
        reason = "" if top is None else f"{top.get('feature')} {_fmt(top.get('contribution'), '{:+.3g}')}"
        table.add_row(r["decision_id"], str(r["ts"])[:10], _fmt(r.get("confidence"), "{:.2f}"), weights or "–", reason)
    out.print(table)
    if not rows:
        out.print("no decisions" + (f" of {contender}" if contender else "") + (f" on {symbol}" if symbol else ""))
    elif len(rows) == limit:
        out.print(f"first {limit} from row {offset}; more with --offset {offset + limit} (or --limit N)",
                  highlight=False)


def _contender_list(value: str | None) -> list[str] | None:
    return None if value is None else [c.strip() for c in value.split(",") if c.strip()]


ContendersOpt = Annotated[
    Optional[str], typer.Option("--contenders", help="comma-separated contenders (default: all), e.g. bench,sma_10_30")
]


def _run_data(store: str, run_id: str, contenders: str | None) -> Any:
    from arena.report.data import RunNotFoundError, load_run

    st = _open_store(store)
    try:
        return load_run(st, run_id, _contender_list(contenders))
    except RunNotFoundError:
        _fail(f"no run {run_id!r} in {store} (see `arena runs`)")
    except ValueError as exc:
        _fail(f"--contenders: {exc}")
    finally:
        st.close()


@app.command()
def report(
    run_id: str,
    store: StoreOpt = DEFAULT_STORE,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write")] = Path("report.html"),
    contenders: ContendersOpt = None,
) -> None:
    """Write one self-contained HTML report of a run (opens offline; no external resources): equity and
    drawdown, the leaderboard with PSR, DSR and PBO explained, per contender its monthly returns,
    distribution of returns, trades and risk events, and the run's provenance."""
    from arena.report.html import render_report

    data = _run_data(store, run_id, contenders)
    try:
        html = render_report(data)
    except ValueError as exc:
        _fail(f"run {run_id!r}: {exc}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    out.print(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB): open it in a browser", highlight=False)


@app.command()
def plot(
    run_id: str,
    store: StoreOpt = DEFAULT_STORE,
    contenders: ContendersOpt = None,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="file to write: .png, .svg or .pdf")] = Path(
        "equity.png"
    ),
    log_scale: Annotated[bool, typer.Option("--log", help="logarithmic equity axis")] = False,
    width_in: Annotated[float, typer.Option("--width", min=2, help="inches")] = 10.0,
    height_in: Annotated[float, typer.Option("--height", min=2, help="inches")] = 6.0,
    dpi: Annotated[int, typer.Option(min=50, help="dots per inch (PNG)")] = 150,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="draw a heat map of this sweep (the entry's "
                                                 "name) instead of equity")] = None,
    metric: Annotated[str, typer.Option(help="with --sweep: the leaderboard column to map")] = "sharpe",
    x_param: Annotated[Optional[str], typer.Option("--x", help="with --sweep: the param across (default: the "
                                                   "second that varies)")] = None,
    y_param: Annotated[Optional[str], typer.Option("--y", help="with --sweep: the param up")] = None,
) -> None:
    """Draw equity and drawdown of a run's contenders (matplotlib), for slides and papers; with
    --sweep, a heat map of a metric over the sweep's two parameters."""
    from arena.report.plot import FORMATS, equity_figure, save_figure

    if out_path.suffix.lower().lstrip(".") not in FORMATS:
        _fail(f"--out {str(out_path)!r}: expected a file ending in {', '.join('.' + f for f in FORMATS)}")
    if sweep is not None:
        _plot_sweep(store, run_id, sweep, metric, x_param, y_param, out_path, dpi)
        return
    data = _run_data(store, run_id, contenders)
    try:
        fig = equity_figure(data.equity, data.benchmarks, title=f"{data.run.get('name')} — {run_id}",
                            log_scale=log_scale, width_in=width_in, height_in=height_in)
    except ValueError as exc:
        _fail(f"run {run_id!r}: {exc}")
    save_figure(fig, out_path, dpi=dpi)
    out.print(f"wrote {out_path}", highlight=False)


def _plot_sweep(store: str, run_id: str, sweep: str, metric: str, x: str | None, y: str | None,
                out_path: Path, dpi: int) -> None:
    from arena.report.plot import save_figure
    from arena.report.sweep import sweep_figure, sweep_grid

    if (x is None) != (y is None):
        _fail("--x and --y go together: name both params, or neither")
    st = _open_store(store)
    try:
        found = _known_run(st, run_id, store)
        rows = st.leaderboard(run_id)
    finally:
        st.close()
    try:
        grid = sweep_grid(found.get("config") or {}, rows, sweep, metric, None if x is None or y is None else (y, x))
    except ValueError as exc:
        _fail(f"--sweep: {exc}")
    save_figure(sweep_figure(grid, metric, title=f"{sweep}: {metric} — {run_id}"), out_path, dpi=dpi)
    out.print(f"wrote {out_path}", highlight=False)


CsvOpt = Annotated[Optional[Path], typer.Option("--csv", help="write CSV to this file ('-' for stdout)")]
ParquetOpt = Annotated[Optional[Path], typer.Option("--parquet", help="write Parquet to this file")]
ContenderOpt = Annotated[Optional[str], typer.Option("--contender", help="only this contender")]


def _export(kind: str, run_id: str, store: str, contender: str | None, csv: Path | None, parquet: Path | None) -> None:
    """Write a run's equity, trades or fills to CSV or Parquet."""
    if (csv is None) == (parquet is None):
        _fail(f"arena {kind}: give exactly one of --csv FILE or --parquet FILE")
    import pandas as pd

    from arena.report.data import fills_frame, trades_from_fills

    st = _open_store(store)
    try:
        found = _known_run(st, run_id, store)
        names = st.contenders(run_id)
        if contender is not None and contender not in names:
            _fail(f"--contender: no contender {contender!r} in run {run_id!r}; it has {', '.join(names)}")
        wanted = [contender] if contender else names
        if kind == "equity":
            frame = pd.DataFrame([row for name in wanted for row in st.equity_curve(run_id, name)],
                                 columns=["run_id", "contender", "ts", "bar_index", "equity", "cash", "gross_exposure"])
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        else:
            frame = fills_frame(st.run_fills(run_id, contender))
            if kind == "trades":
                frame = trades_from_fills(frame, tuple(found.get("symbols") or ()))
    finally:
        st.close()
    if parquet is not None:
        parquet.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(parquet, index=False)
        target = parquet
    elif str(csv) == "-":
        sys.stdout.write(frame.to_csv(index=False))
        return
    else:
        assert csv is not None
        csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(csv, index=False)
        target = csv
    err.print(f"wrote {len(frame)} {kind} rows to {target}", highlight=False)


@app.command()
def equity(run_id: str, store: StoreOpt = DEFAULT_STORE, contender: ContenderOpt = None, csv: CsvOpt = None,
           parquet: ParquetOpt = None) -> None:
    """Export the equity curves: one row per contender per bar (ts UTC; equity, cash, gross_exposure USD)."""
    _export("equity", run_id, store, contender, csv, parquet)


@app.command()
def trades(run_id: str, store: StoreOpt = DEFAULT_STORE, contender: ContenderOpt = None, csv: CsvOpt = None,
           parquet: ParquetOpt = None) -> None:
    """Export the closed trades, rebuilt from the fills with the ledger's position book (pnl USD, return fraction)."""
    _export("trades", run_id, store, contender, csv, parquet)


@app.command()
def fills(run_id: str, store: StoreOpt = DEFAULT_STORE, contender: ContenderOpt = None, csv: CsvOpt = None,
          parquet: ParquetOpt = None) -> None:
    """Export the fills (quantity units; price, commission, slippage USD)."""
    _export("fills", run_id, store, contender, csv, parquet)


@app.command("trials")
def trials_command(
    data_or_run: Annotated[str, typer.Argument(metavar="DATA_SHA|RUN_ID", help="a data set's SHA-256 (or a prefix "
                                               "of at least 8 hex digits, from `arena runs`) or a run id")],
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """List the trials register of a data set: every contender configuration (class + params) run on
    it, the runs that ran it, and the count of distinct trials the leaderboard's `DSR all` deflates by."""
    st = _open_store(store)
    try:
        rows = _trials_of(st, data_or_run, store)
    finally:
        st.close()
    if json_out:
        print(json.dumps(rows, default=str))
        return
    distinct: dict[str, dict[str, Any]] = {}
    runs: dict[str, set[str]] = {}
    for r in rows:
        distinct.setdefault(r["trial_id"], r)
        runs.setdefault(r["trial_id"], set()).add(r["run_id"])
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for col, justify in (("trial", "left"), ("class", "left"), ("params", "left"), ("runs", "right"),
                         ("Sharpe/bar", "right"), ("first seen as", "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for tid, r in distinct.items():
        latest = next((x for x in reversed(rows) if x["trial_id"] == tid), r)
        params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items()) or "–"
        table.add_row(tid, str(r["contender_class"]), params, str(len(runs[tid])),
                      _fmt(latest.get("sharpe_per_bar"), "{:+.4f}"), f"{r['contender']} ({r['run_id']})")
    out.print(table)
    if rows:
        first = rows[0]
        out.print(f"{len(distinct)} distinct trials in {len({r['run_id'] for r in rows})} runs on data "
                  f"{first['data_sha256'][:12]}, bars {str(first['first_bar'])[:10]} to {str(first['last_bar'])[:10]}",
                  highlight=False)


def _trials_of(st: Any, key: str, store: str) -> list[dict[str, Any]]:
    """The trials rows of a run's data set, or of a data SHA-256 (whole or a prefix of >= 8 hex digits)."""
    if st.get_run(key) is not None:
        rows = st.run_trials(key)
        if not rows:
            _fail(f"run {key!r} recorded no trials (a run made before the trials register, or one that failed)")
        return rows
    import re

    if not re.fullmatch(r"[0-9a-f]{8,64}", key):
        _fail(f"{key!r} is neither a run in {store} (see `arena runs`) nor a data SHA-256 (hex)")
    shas = sorted({r["data_sha256"] for r in st.list_runs() if str(r.get("data_sha256", "")).startswith(key)})
    if not shas:
        _fail(f"no run in {store} used data with SHA-256 {key}… (see `arena runs`)")
    if len(shas) > 1:
        _fail(f"the prefix {key} matches {len(shas)} data sets: {', '.join(s[:16] for s in shas)}; give more digits")
    return st.trials(shas[0])
