"""Reports and plots of recorded runs: ``arena report`` (one self-contained HTML file),
``arena plot`` (equity and drawdown as PNG, SVG or PDF) and the figures of the notebook API.

* :mod:`arena.report.data`: a run read back from the store as DataFrames (equity, fills,
  trades rebuilt from the fills, risk verdicts, events), monthly returns, return statistics.
* :mod:`arena.report.plot`: matplotlib figures (equity + drawdown, distribution of returns).
* :mod:`arena.report.html`: the HTML report (jinja2 template, inline SVG and CSS).
* :mod:`arena.report.columns`: the leaderboard's columns and what its statistics mean.

Importing this package is light; pandas, matplotlib and jinja2 load with the submodules.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["equity_figure", "load_run", "render_report", "save_figure", "write_report"]

_LAZY = {
    "equity_figure": "arena.report.plot",
    "save_figure": "arena.report.plot",
    "load_run": "arena.report.data",
    "render_report": "arena.report.html",
    "write_report": "arena.report.html",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'arena.report' has no attribute {name!r}")
