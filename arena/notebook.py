"""The notebook front door: ``arena.run(...)`` and ``arena.open_run(...)`` give a :class:`Run`.

Examples:
    >>> import arena
    >>> run = arena.run("configs/local.yaml", seed=3, store="duckdb:///tmp/arena.duckdb")  # doctest: +SKIP
    >>> run.leaderboard[["contender", "sharpe", "max_drawdown"]]                         # doctest: +SKIP
    >>> run.equity.tail()                 # timestamp × contender, USD                      # doctest: +SKIP
    >>> run.why(run.decisions.decision_id.iloc[-1])["explanation"][:3]                    # doctest: +SKIP
    >>> run.plot(); run.report("report.html")                                            # doctest: +SKIP

Every figure is read back from the run's store through the store's read methods, so a
``Run`` shows the same numbers as ``arena leaderboard --json``, ``arena why`` and the HTTP API.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arena.store.schema import FINAL_RUN_STATUSES

if TYPE_CHECKING:  # heavy: imported when used
    import pandas as pd
    from matplotlib.figure import Figure

    from arena.config import ArenaConfig
    from arena.report.data import RunData
    from arena.store import Store

__all__ = ["OVERRIDABLE_KEYS", "OverrideError", "Run", "open_run", "run"]

DEFAULT_STORE = "duckdb://runs/arena.duckdb"

OVERRIDABLE_KEYS: dict[str, str] = {
    "name": "run name (str)",
    "seed": "random seed (int)",
    "capital": "USD per contender (number > 0)",
    "store": "store URL, duckdb://PATH or questdb://HOST:PORT",
    "events": "Redis URL of the live event stream, or None",
    "events_maxlen": "approximate cap on the run's live stream (int)",
    "artifacts": "folder of run artifacts (str), or None",
    "contenders": "the list of contenders (replaces the config's)",
    "data": "data source keys, merged into the config's (a new `source` replaces it)",
    "execution": "execution keys, merged into the config's",
    "risk": "risk-limit keys, merged into the config's",
    "replay": "replay keys, merged into the config's",
    "ray": "Ray keys (address, num_cpus), merged into the config's",
}
"""Keyword overrides :func:`run` accepts, and what each means. Mapping-valued sections are
merged key by key into the config's section; the others replace the config's value."""

_MERGED = ("data", "execution", "risk", "replay", "ray")
_FINAL = FINAL_RUN_STATUSES  # a run with one of these no longer changes


class OverrideError(ValueError):
    """An override :func:`run` does not accept (the message names it and the allowed keys)."""


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    for key, value in overrides.items():
        if key not in OVERRIDABLE_KEYS:
            hint = difflib.get_close_matches(key, OVERRIDABLE_KEYS, n=1)
            did = f"; did you mean {hint[0]!r}?" if hint else ""
            raise OverrideError(
                f"arena.run: unknown override {key!r}{did} (allowed: {', '.join(OVERRIDABLE_KEYS)})"
            )
        if key in _MERGED and not isinstance(value, Mapping):
            raise OverrideError(
                f"arena.run: override {key!r}: expected a mapping of {key} keys, got {type(value).__name__}"
            )


def _merged(raw: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level values to put into the raw config: sections merged, the rest replaced."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        base = raw.get(key)
        if key in _MERGED and isinstance(base, Mapping) and not (key == "data" and "source" in value):
            out[key] = {**base, **value}
        else:
            out[key] = dict(value) if isinstance(value, Mapping) else value
    return out


def _config(config_or_path: str | Path | Mapping[str, Any] | ArenaConfig, overrides: Mapping[str, Any]) -> ArenaConfig:
    import yaml

    from arena.config import ArenaConfig, ConfigError, load_config, parse_config
    from arena.live.schema import EVENTS_URL_ENV

    _check_overrides(overrides)
    if isinstance(config_or_path, ArenaConfig):
        raw: dict[str, Any] = config_or_path.to_dict()
        where, base_dir = f"<config {config_or_path.name}>", config_or_path.base_dir
        cfg = parse_config({**raw, **_merged(raw, overrides)}, where, base_dir)
    elif isinstance(config_or_path, Mapping):
        raw = dict(config_or_path)
        cfg = parse_config({**raw, **_merged(raw, overrides)}, "<config>", Path.cwd())
    else:
        path = Path(config_or_path)
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
        except yaml.YAMLError:
            raw = {}  # load_config reports the YAML error with its line
        cfg = load_config(path, _merged(raw if isinstance(raw, dict) else {}, overrides))
    if cfg.events is None and "events" not in overrides and os.environ.get(EVENTS_URL_ENV):
        # as `arena run`: the environment's event stream when the config names none
        return _config(config_or_path, {**overrides, "events": os.environ[EVENTS_URL_ENV]})
    return cfg


def run(
    config_or_path: str | Path | Mapping[str, Any] | ArenaConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
    **overrides: Any,
) -> Run:
    """Run an arena, as ``arena run`` does (the same :func:`arena.topology.run_arena` on Ray),
    and return the recorded run.

    Args:
        config_or_path: a YAML config file, a config mapping, or an ``ArenaConfig``.
        progress: called as ``progress(bars_published, total_bars)``.
        **overrides: config keys to change for this run, from :data:`OVERRIDABLE_KEYS`, e.g.
            ``seed=3, store="duckdb:///tmp/a.duckdb", data={"since": "2020-01-01"}``.

    Returns:
        The finished :class:`Run` (reading its config's store).

    Raises:
        OverrideError: an override that is not in :data:`OVERRIDABLE_KEYS`, or a section given
            as something other than a mapping.
        arena.config.ConfigError: the config (with the overrides) is invalid, naming the key.
        RuntimeError: Ray cannot be reached or lacks the CPUs the contenders ask for.
        FileNotFoundError, ValueError: the data source cannot be loaded or fails validation.
    """
    from arena.topology import run_arena

    cfg = _config(config_or_path, overrides)
    result = run_arena(cfg, progress=progress)
    return Run(result.run_id, store=cfg.store, stats=result.stats)


def open_run(run_id: str, store: str = DEFAULT_STORE) -> Run:
    """A recorded run.

    Args:
        run_id: the run (see ``arena runs`` or :meth:`Run.list`).
        store: the store URL (default ``duckdb://runs/arena.duckdb``).

    Raises:
        arena.report.data.RunNotFoundError: the store holds no such run.
        ValueError, OSError: the store cannot be opened.
    """
    found = Run(run_id, store=store)
    found.info  # noqa: B018 - fail now on an unknown run
    return found


class Run:
    """A recorded arena run, read from its store. Tables are pandas DataFrames; a finished
    run's tables are read once and kept.

    Args:
        run_id: the run.
        store: the store URL.
        stats: run-level statistics from the run itself (PBO's details), when known.
    """

    def __init__(self, run_id: str, store: str = DEFAULT_STORE, stats: Mapping[str, Any] | None = None) -> None:
        self.run_id = run_id
        self.store = store
        self.stats = dict(stats or {})
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, store={self.store!r})"

    # ------------------------------------------------------------------ plumbing

    def _open(self) -> Store:
        from arena.store import open_store

        return open_store(self.store, read_only=True)

    def _read(self, key: str, read: Callable[[Store], Any]) -> Any:
        if key in self._cache:
            return self._cache[key]
        with self._open() as st:
            row = st.get_run(self.run_id)
            if row is None:
                from arena.report.data import RunNotFoundError

                raise RunNotFoundError(self.run_id, self.store)
            value = read(st)
        if row.get("status") in _FINAL:  # a finished run no longer changes
            self._cache[key] = value
        return value

    def _data(self) -> RunData:
        from arena.report.data import load_run

        return self._read("data", lambda st: load_run(st, self.run_id))

    # ------------------------------------------------------------------ tables

    @property
    def info(self) -> dict[str, Any]:
        """The ``runs`` row: name, status, config, data_source, data_sha256, code_version, seed,
        started_at, ended_at, n_bars, symbols, periods_per_year."""
        return self._read("info", lambda st: st.get_run(self.run_id))

    @property
    def leaderboard(self) -> pd.DataFrame:
        """The leaderboard, rank 1 first: DataFrame[rank, contender, status, halt_reason,
        final_equity (USD), total_return, cagr, volatility (fractions), sharpe, sortino,
        calmar, max_drawdown (fraction), ..., psr, dsr, pbo, ic, rank_ic, icir, hit_rate];
        the rows of ``arena leaderboard --json`` and ``GET /runs/{run_id}/leaderboard``."""
        import pandas as pd

        return pd.DataFrame(self._read("leaderboard", lambda st: st.leaderboard(self.run_id)))

    @property
    def equity(self) -> pd.DataFrame:
        """Equity curves: DataFrame[timestamp (UTC) × contender], USD, one row per bar."""
        return self._data().equity

    @property
    def drawdown(self) -> pd.DataFrame:
        """Drawdown from the running peak: DataFrame[timestamp × contender], fractions ≤ 0."""
        from arena.report.data import drawdowns

        return drawdowns(self.equity)

    @property
    def trades(self) -> pd.DataFrame:
        """Closed trades rebuilt from the fills with the ledger's position book:
        DataFrame[contender, symbol, side, entry_ts, exit_ts, quantity, entry_price, exit_price,
        gross_pnl, commission, pnl, return_pct, client_order_id] (USD, fractions)."""
        return self._data().trades

    @property
    def fills(self) -> pd.DataFrame:
        """Every fill: DataFrame[contender, ts, symbol, side, quantity (units), price, commission,
        slippage (USD), decision_id, client_order_id]."""
        return self._data().fills

    @property
    def risk_verdicts(self) -> pd.DataFrame:
        """The verdicts that scaled or denied an order: DataFrame[contender, ts, decision_id,
        symbol, action, scale, reasons, details]."""
        return self._data().risk_verdicts

    @property
    def events(self) -> pd.DataFrame:
        """Arena events (halts, failures, kill switch): DataFrame[ts, contender, kind, reason, details]."""
        return self._data().events

    @property
    def decisions(self) -> pd.DataFrame:
        """Every decision, in time order: DataFrame[decision_id, run_id, contender, ts, bar_index,
        weights, orders, confidence, explanation, symbols, predictions]."""
        import pandas as pd

        def read(st: Store) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            page = 10_000
            while True:
                got = st.decisions(self.run_id, limit=page, offset=len(rows))
                rows += got
                if len(got) < page:
                    return rows

        frame = pd.DataFrame(self._read("decisions", read))
        if "ts" in frame:
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame

    # ------------------------------------------------------------------ questions and figures

    def why(self, decision_id: str, artifacts: str | None = None) -> dict[str, Any]:
        """Explain one decision, as ``arena why --json`` and ``GET /decisions/{id}/why`` do.

        Args:
            decision_id: the decision (see :attr:`decisions`).
            artifacts: artifacts root for an explanation computed on demand (default: the run's).

        Returns:
            The decision row with ``explanation`` (top contributions first: feature, value,
            contribution, method, symbol), ``predictions``, ``verdicts``, ``order_events``, ``fills``.

        Raises:
            KeyError: no such decision in the store.
            arena.explanations.ExplanationUnavailable: a deferred explanation cannot be computed.
        """
        import arena.explanations as explanations

        with self._open() as st:
            d = st.decision(decision_id)
            if d is None:
                raise KeyError(f"no decision {decision_id!r} in {self.store} (see Run.decisions)")
            d, computed = explanations.resolve(st, d, artifacts)
        if computed is not None:
            explanations.cache(self.store, computed)
        return d

    def plot(self, contenders: list[str] | None = None, *, log_scale: bool = False) -> Figure:
        """Equity and drawdown of the contenders (all by default), the benchmark dashed:
        the figure of ``arena plot``. Returns a matplotlib ``Figure`` (a notebook shows it)."""
        from arena.report.plot import equity_figure

        data = self._data()
        equity = data.equity if contenders is None else data.equity[_known(contenders, data.contenders)]
        return equity_figure(equity, data.benchmarks, title=f"{data.run.get('name')} — {self.run_id}",
                             log_scale=log_scale)

    def report(self, path: str | Path = "report.html") -> Path:
        """Write the self-contained HTML report of ``arena report`` to ``path``; returns the path."""
        from arena.report.html import render_report

        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_report(self._data()), encoding="utf-8")
        return out


def _known(names: list[str], have: list[str]) -> list[str]:
    unknown = [n for n in names if n not in have]
    if unknown:
        raise ValueError(f"contenders: {unknown} not in the run; it has {', '.join(have)}")
    return list(names)
