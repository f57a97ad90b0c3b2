"""Figures of a run with matplotlib's object API: ``Figure`` objects rendered by the Agg,
SVG and PDF canvases, never through pyplot, so no display is needed and a notebook's own
backend is left as it is.

The same figures go into ``arena plot`` (PNG, SVG or PDF files for slides and papers),
``Run.plot()`` in a notebook and, as inline SVG, the HTML report of ``arena report``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from arena.report.data import drawdowns

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["FORMATS", "MAX_POINTS", "downsample", "equity_figure", "figure_svg", "returns_figure", "save_figure"]

FORMATS = ("png", "svg", "pdf")
"""File formats :func:`save_figure` writes, named by the file's suffix."""

MAX_POINTS = 4_000
"""Points drawn per line at most: a 10-inch figure is about 1,500 pixels wide at 150 dpi, so
a longer curve is downsampled (:func:`downsample`) without a visible difference."""


def downsample(series: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """The points of ``series`` that draw the same line with at most ``max_points`` points:
    the minimum and the maximum of each of ``max_points / 2`` equal-count buckets
    (tsdownsample's MinMax downsampler), plus the first and last point. Every peak and trough
    wider than a bucket stays drawn, the highest equity and the deepest drawdown exactly.

    Args:
        series: values indexed by time (NaNs are dropped first).
        max_points: points kept at most (>= 4; an odd number is rounded down).

    Returns:
        A subset of ``series`` (same index type), in time order; ``series`` itself when short.

    Raises:
        ValueError: when ``max_points`` < 4.
    """
    if max_points < 4:
        raise ValueError(f"max_points: expected an int >= 4, got {max_points!r}")
    s = series.dropna()
    if len(s) <= max_points:
        return s
    from tsdownsample import MinMaxDownsampler

    n_out = (max_points - 2) // 2 * 2  # room for the first and last point
    keep = MinMaxDownsampler().downsample(np.ascontiguousarray(s.to_numpy(dtype=np.float64)), n_out=n_out)
    return s.iloc[np.unique(np.concatenate(([0], keep, [len(s) - 1])))]

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text in an SVG (searchable, small)
    "svg.hashsalt": "model-arena",  # stable element ids: the same run gives the same file
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 9,
}
_BENCH_STYLE = {"color": "0.15", "linestyle": "--", "linewidth": 1.4, "zorder": 3}


def equity_figure(
    equity: pd.DataFrame,
    benchmarks: Iterable[str] = (),
    *,
    title: str | None = None,
    log_scale: bool = False,
    width_in: float = 10.0,
    height_in: float = 6.0,
    max_points: int = MAX_POINTS,
) -> Figure:
    """Equity of every contender over time, with the drawdown pane under it.

    Args:
        equity: DataFrame[timestamp (UTC) × contender], USD (``RunData.equity``).
        benchmarks: contenders drawn as a dashed dark line and marked "(benchmark)".
        title: the figure's title.
        log_scale: a logarithmic equity axis (equal ratios look equal).
        width_in, height_in: size in inches.
        max_points: points drawn per line at most (longer curves: :func:`downsample`; the
            drawdown is computed on every bar first).

    Returns:
        A matplotlib ``Figure`` with two axes: equity (USD) and drawdown (fraction of the peak).

    Raises:
        ValueError: when ``equity`` has no columns or no rows.
    """
    if equity.shape[1] == 0 or equity.dropna(how="all").empty:
        raise ValueError("equity: expected at least one contender with at least one bar, got none")
    bench = set(benchmarks)
    dd = drawdowns(equity)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
        for name in equity.columns:
            style = _BENCH_STYLE if name in bench else {"linewidth": 1.2}
            label = f"{name} (benchmark)" if name in bench else str(name)
            eq, down = downsample(equity[name], max_points), downsample(dd[name], max_points)
            top.plot(eq.index, eq.to_numpy(), label=label, **style)
            bottom.plot(down.index, down.to_numpy(), **style)
        if log_scale:
            top.set_yscale("log")
        top.set_ylabel("equity (USD)")
        top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        top.legend(loc="upper left", fontsize=8, frameon=False, ncols=min(3, equity.shape[1]))
        bottom.set_ylabel("drawdown")
        bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        locator = mdates.AutoDateLocator()
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def returns_figure(returns: pd.Series, name: str, *, bins: int = 50) -> Figure:
    """Histogram of one contender's per-bar returns, with its mean and 5 % quantile marked.

    Args:
        returns: per-bar simple returns, fractions (``arena.report.data.bar_returns``).
        name: the contender, for the title.
        bins: histogram bins.

    Returns:
        A small matplotlib ``Figure`` (x: return per bar, %; y: bars).
    """
    r = returns.dropna()
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(4.2, 2.4), layout="constrained")
        ax = fig.subplots()
        if r.empty:
            ax.text(0.5, 0.5, "no returns", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.hist(r, bins=bins, color="#4c72b0", alpha=0.85)
            ax.axvline(float(r.mean()), color="0.15", linewidth=1, label="mean")
            ax.axvline(float(r.quantile(0.05)), color="#c44e52", linestyle="--", linewidth=1, label="5 % quantile")
            ax.legend(fontsize=7, frameon=False)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.set_xlabel("return per bar")
        ax.set_ylabel("bars")
        ax.set_title(f"{name}: distribution of returns", fontsize=9)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path``; the format is the file's suffix (.png, .svg or .pdf).

    Returns:
        The path written.

    Raises:
        ValueError: for another suffix, naming the allowed ones.
    """
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"--out {str(path)!r}: expected a file ending in {', '.join('.' + f for f in FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_RC):
        # no creation date in the file: the same run writes the same bytes
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
        fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata)
    return out


def figure_svg(fig: Figure) -> str:
    """``fig`` as an ``<svg>`` element to inline in HTML: no XML declaration, no DOCTYPE
    (which names an external DTD), no creation date."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:]
    # the svg's metadata block names the RDF/Dublin Core vocabularies by URL: not needed inline
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
