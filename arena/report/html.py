"""``arena report``: one self-contained HTML file of a recorded run.

The page is a jinja2 template (``templates/report.html.j2``, autoescaped) with the
figures as inline SVG drawn by matplotlib (:mod:`arena.report.plot`) and its CSS inline:
no script, no font, no image and no link outside the file, so it opens offline and can
be mailed. Every number comes from the store (:mod:`arena.report.data`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from arena.report.columns import BENCHMARK_NOTE, STATISTIC_HELP, columns_for, fmt, ranked_by, significance_lines
from arena.report.data import RunData, bar_returns, load_run, monthly_returns, return_stats
from arena.report.plot import equity_figure, figure_svg, returns_figure
from arena.store import Store

__all__ = ["MAX_TABLE_ROWS", "render_report", "write_report"]

MAX_TABLE_ROWS = 2_000
"""Rows of a contender's trades or risk events printed in full; longer tables show their
first rows and say how many were left out."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("arena.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def _raw(value: Any) -> str:
    """A value for a ``data-value`` attribute: JSON text of the number, "" for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return json.dumps(value)


def _ts(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")


def _cell_class(value: float) -> str:
    if not isinstance(value, float) or math.isnan(value):
        return "na"
    return "pos" if value > 0 else "neg" if value < 0 else ""


def _monthly(data: RunData, name: str) -> dict[str, Any]:
    table = monthly_returns(data.equity[name], data.capital_usd)
    rows = []
    for year, row in table.iterrows():
        cells = [{"text": fmt(None if math.isnan(v) else v, "{:+.1%}"), "cls": _cell_class(v), "raw": _raw(v)}
                 for v in (float(row[m]) for m in range(1, 13))]
        y = float(row["year"])
        rows.append({"year": year, "cells": cells, "total": {"text": fmt(None if math.isnan(y) else y, "{:+.1%}"),
                                                             "cls": _cell_class(y), "raw": _raw(y)}})
    return {"months": _MONTHS, "rows": rows}


def _records(frame: pd.DataFrame, limit: int) -> tuple[list[dict[str, Any]], int]:
    return frame.head(limit).to_dict("records"), max(len(frame) - limit, 0)


def _contender_section(data: RunData, name: str, board: dict[str, dict[str, Any]]) -> dict[str, Any]:
    row = board.get(name, {})
    returns = bar_returns(data.equity[name])
    trades = data.trades[data.trades["contender"] == name]
    verdicts = data.risk_verdicts[data.risk_verdicts["contender"] == name]
    events = data.events[data.events["contender"] == name]
    trade_rows, trades_left = _records(trades, MAX_TABLE_ROWS)
    verdict_rows, verdicts_left = _records(verdicts, MAX_TABLE_ROWS)
    for t in trade_rows:
        t["entry"], t["exit"] = _ts(t["entry_ts"]), _ts(t["exit_ts"])
    for v in verdict_rows:
        v["when"] = _ts(v["ts"])
        v["reasons_text"] = ", ".join(v["reasons"] or [])
    fig = returns_figure(returns, name)
    return {
        "name": name,
        "anchor": f"contender-{name}",
        "benchmark": name in data.benchmarks,
        "status": row.get("status", "–"),
        "halt_reason": row.get("halt_reason") or "",
        "monthly": _monthly(data, name),
        "returns_svg": Markup(figure_svg(fig)),
        "stats": return_stats(returns),
        "trades": trade_rows,
        "trades_left": trades_left,
        "n_trades": len(trades),
        "pnl_usd": float(trades["pnl"].sum()) if len(trades) else 0.0,
        "verdicts": verdict_rows,
        "verdicts_left": verdicts_left,
        "n_verdicts": len(verdicts),
        "events": [{**e, "when": _ts(e["ts"])} for e in events.to_dict("records")],
    }


def render_report(data: RunData, *, generated_at: dt.datetime | None = None) -> str:
    """The HTML text of a run's report.

    Args:
        data: the run (:func:`arena.report.data.load_run`).
        generated_at: the time printed as "generated" (default: now, UTC).

    Returns:
        One HTML document; its only resources are inline (CSS, SVG).

    Raises:
        ValueError: when the run has no equity rows to draw.
    """
    run = data.run
    board = {str(r["contender"]): r for r in data.leaderboard}
    cols = columns_for(data.leaderboard, wide=True)
    leaderboard = [
        {
            "contender": str(r["contender"]),
            "benchmark": str(r["contender"]) in data.benchmarks,
            "halt_reason": r.get("halt_reason") or "",
            "cells": [{"key": c.key, "text": fmt(r.get(c.key), c.spec), "raw": _raw(r.get(c.key))} for c in cols],
        }
        for r in data.leaderboard
    ]
    equity_svg = figure_svg(equity_figure(data.equity, data.benchmarks, title=None))
    log_svg = figure_svg(equity_figure(data.equity, data.benchmarks, log_scale=True))
    config = run.get("config") or {}
    generated = (generated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return _env().get_template("report.html.j2").render(
        run=run,
        run_id=data.run_id,
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        first_bar=_ts(data.equity.index.min()) if len(data.equity) else "",
        last_bar=_ts(data.equity.index.max()) if len(data.equity) else "",
        columns=cols,
        leaderboard=leaderboard,
        ranked_by=ranked_by(data.leaderboard),
        significance=significance_lines(data.leaderboard)[1:],  # the PBO has its own sentence
        benchmarks=sorted(data.benchmarks),
        benchmark_note=BENCHMARK_NOTE,
        help=STATISTIC_HELP,
        pbo=fmt(data.pbo, "{:.2f}"),
        pbo_raw=_raw(data.pbo),
        n_trials=len(data.leaderboard),
        equity_svg=Markup(equity_svg),
        log_svg=Markup(log_svg),
        sections=[_contender_section(data, name, board) for name in data.contenders],
        sweeps=_sweep_maps(config, data.leaderboard),
        arena_events=[{**e, "when": _ts(e["ts"])} for e in data.events.to_dict("records") if not e["contender"]],
        config_text=json.dumps(config, indent=2, sort_keys=True, default=str),
        data_source_text=json.dumps(run.get("data_source") or {}, indent=2, sort_keys=True, default=str),
    )


def _sweep_maps(config: dict[str, Any], leaderboard: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per sweep of the run: a heat map (inline SVG) of the leaderboard's ranking metric over its
    two swept params, or a note when it sweeps another number of params."""
    from arena.report.sweep import sweep_figure, sweep_grid, sweep_groups

    metric = next((str(r["rank_by"]) for r in leaderboard if r.get("rank_by")), "sharpe")
    maps = []
    for group in sweep_groups(config):
        try:
            grid = sweep_grid(config, leaderboard, group, metric)
        except ValueError as exc:
            maps.append({"group": group, "metric": metric, "svg": "", "note": str(exc)})
            continue
        svg = figure_svg(sweep_figure(grid, metric, title=f"{group}: {metric}"))
        maps.append({"group": group, "metric": metric, "svg": Markup(svg), "note": ""})
    return maps


def write_report(store: Store, run_id: str, out: str | Path, contenders: list[str] | None = None) -> Path:
    """Write the report of ``run_id`` to ``out``.

    Args:
        store: an open store.
        run_id: the run.
        out: the HTML file to write (its folder is created).
        contenders: only these contenders' curves and sections (default: all); the
            leaderboard is always whole.

    Returns:
        The path written.

    Raises:
        arena.report.data.RunNotFoundError: no such run.
        ValueError: an unknown contender, or a run without equity rows.
    """
    html = render_report(load_run(store, run_id, contenders))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
