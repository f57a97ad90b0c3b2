"""Arena configuration: YAML parsed strictly into frozen, typed objects.

Unknown keys and bad values fail with an error naming the file and the key
(``contenders[1].params.fsat``), with a did-you-mean hint where one fits.

Example (``configs/local.yaml``)::

    name: goog-sma
    data: {source: csv, path: goog.csv, symbol: GOOG}   # or {source: sample, name: us_equities_daily}
    capital: 10000                                      # USD per contender
    execution: {fill_price: next_open, commission_bps: 0, slippage_bps: 0, sizing: whole_shares}
    risk: {max_position_weight: 1.0, max_gross_leverage: 1.0, max_drawdown: 1.0}
    events: redis://127.0.0.1:6379/0                    # optional: live events (scripts/redis.sh start)
    contenders:
      - {name: sma, class: sma_crossover, params: {fast: 10, slow: 30}}
      - {name: bench, class: buy_and_hold}
    benchmark: bench          # default: the first buy_and_hold contender
    risk_free_rate: 0.0       # annual fraction
    rank_by: sharpe           # sortino, calmar, total_return, dsr, ... (arena.ranking.RANK_KEYS)

A contender entry may carry ``sweep: {param: [values], ...}`` to become one contender per
point (:mod:`arena.sweep`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arena.sweep import DEFAULT_MAX_CONTENDERS, SweepError, expand_sweeps

__all__ = [
    "AlpacaData",
    "ArenaConfig",
    "BrokerSettings",
    "ConfigError",
    "ContenderSpec",
    "DataConfig",
    "ExecutionSettings",
    "FileData",
    "RaySettings",
    "RecoverySettings",
    "ReplaySettings",
    "Resources",
    "RiskSettings",
    "SampleData",
    "SyntheticData",
    "auto_chunk_bars",
    "config_warnings",
    "load_config",
    "parse_config",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


class ConfigError(ValueError):
    """The config file is unreadable or invalid; the message names file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Windowed(_Strict):
    """``since``/``until``: keep only the bars with timestamps in this inclusive window
    (ISO 8601 date or timestamp, naive = UTC; None = open-ended); see ``arena.data.window``."""

    since: str | None = None
    until: str | None = None

    @model_validator(mode="after")
    def _valid_window(self) -> _Windowed:
        from arena.data.window import parse_bound

        since, until = parse_bound(self.since, "since"), parse_bound(self.until, "until")
        if since is not None and until is not None and since > until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        return self


class SampleData(_Windowed):
    """A bundled data set (``arena data list``)."""

    source: Literal["sample"]
    name: str


class FileData(_Windowed):
    """A user CSV or Parquet file of OHLCV bars; ``symbol`` when it has no symbol column.
    A relative ``path`` is looked up from the working directory, then from the config's folder."""

    source: Literal["csv", "parquet", "file"]
    path: str
    symbol: str | None = None


class SyntheticData(_Windowed):
    """Seeded synthetic GBM bars (tests, benchmarks)."""

    source: Literal["synthetic"]
    symbols: list[str] = Field(default_factory=lambda: ["SYN"], min_length=1)
    n_bars: int = Field(1000, gt=1)
    freq: str = "1D"
    seed: int = 0
    start: str = "2020-01-01"


class AlpacaData(_Windowed):
    """Alpaca's historical bars (``arena.data.alpaca``), cached as Parquet under ``cache_dir``;
    keys from ``APCA_API_KEY_ID``/``APCA_API_SECRET_KEY`` only. ``end`` None = up to the last
    complete bar (downloaded again each run; give ``end`` for an offline rerun). ``data_url`` and
    ``stream_url`` point the REST and websocket clients elsewhere (a local server, the demo).
    ``start`` may be relative to now, ``"-5D"`` or ``"-36h"`` (a pandas Timedelta after the
    minus): it is fixed to an ISO timestamp when the config is loaded, so the stored config
    says which bars the run asked for."""

    source: Literal["alpaca"]
    symbols: list[str] = Field(min_length=1)
    timeframe: Literal["1Min", "5Min", "15Min", "1Hour", "1Day"] = "1Day"
    start: str
    end: str | None = None
    feed: Literal["iex", "sip"] = "iex"
    adjustment: Literal["raw", "split", "dividend", "all"] = "raw"
    asset_class: Literal["stock", "crypto"] = "stock"
    data_url: str | None = None
    stream_url: str | None = None
    cache_dir: str = "runs/alpaca_cache"

    @field_validator("start", mode="before")
    @classmethod
    def _relative_start(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().startswith("-"):
            import pandas as pd

            try:
                back = pd.Timedelta(v.strip()[1:])
            except ValueError:
                raise ValueError(f"{v!r} is neither an ISO 8601 timestamp nor a duration back from now "
                                 "such as '-5D' or '-36h'") from None
            now = pd.Timestamp.now(tz="UTC").floor("min")
            return (now - back).isoformat()
        return v

    @model_validator(mode="after")
    def _valid_request(self) -> AlpacaData:
        from arena.data.window import parse_bound

        start, end = parse_bound(self.start, "start"), parse_bound(self.end, "end")
        if end is not None and start is not None and start > end:
            raise ValueError(f"start ({self.start}) is after end ({self.end})")
        return self


DataConfig = Annotated[SampleData | FileData | SyntheticData | AlpacaData, Field(discriminator="source")]


class ExecutionSettings(_Strict):
    """Execution simulation; see ``ledger.execution.ExecutionConfig`` for the conventions."""

    fill_price: Literal["next_open", "next_close"] = "next_open"
    slippage_bps: float = Field(0.0, ge=0)
    commission_bps: float = Field(0.0, ge=0)
    commission_per_share: float = Field(0.0, ge=0)
    max_participation: float | None = Field(None, gt=0, le=1)
    latency_bars: int = Field(0, ge=0)
    sizing: Literal["whole_shares", "fractional"] = "whole_shares"
    allow_short: bool = False
    margin: bool = False


class RiskSettings(_Strict):
    """Risk limits (fractions of equity); see ``arena.risk.RiskLimits``."""

    max_position_weight: float = Field(1.0, gt=0)
    max_gross_leverage: float = Field(1.0, gt=0)
    require_cash: bool = True
    max_drawdown: float = Field(1.0, gt=0, le=1)
    daily_loss_limit: float | None = Field(None, gt=0, le=1)
    sharpe_floor: float | None = None
    sharpe_window_bars: int = Field(63, ge=2)
    sharpe_scale: float = Field(0.5, gt=0, le=1)
    sharpe_rollback: bool = False
    estimated_cost_bps: float = Field(0.0, ge=0)
    on_halt: Literal["flatten", "freeze"] = Field(
        "flatten", description="positions of a contender halted by max_drawdown: closed (flatten) or kept (freeze)"
    )


class Resources(_Strict):
    """Ray resources of one contender actor."""

    num_cpus: float = Field(0.25, ge=0)
    num_gpus: float = Field(0.0, ge=0)


class ContenderSpec(_Strict):
    """One contender: a unique ``name``, a ``class`` (short name or ``module:Class``) and its params."""

    name: str
    class_: str = Field(alias="class")
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] | None = None
    resources: Resources = Resources()
    warmup_bars: int = Field(0, ge=0)
    rebalance_drift: float | None = Field(None, gt=0)
    decision_timeout_s: float | None = Field(
        None, gt=0, description="seconds on_bars may take on one bar; a contender that does not answer is halted"
    )
    sweep_group: str | None = None
    """Set by a sweep's expansion (:mod:`arena.sweep`): the name of the entry this contender is a
    point of; None for a contender written out by hand."""
    process: str | None = None
    """Contenders naming the same ``process`` share one actor process (each keeps its own
    ledger, risk replica and records): for sweeps of many light rule contenders. A
    crash of the process halts all of them; a signal consumer cannot share one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("process")
    @classmethod
    def _valid_process(cls, v: str | None) -> str | None:
        if v is not None and not _NAME.match(v):
            raise ValueError("must start with a letter and hold only letters, digits, '_', '-', '.' (max 64)")
        return v

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must start with a letter and hold only letters, digits, '_', '-', '.' (max 64)")
        return v


class ReplaySettings(_Strict):
    """How bars are published: ``replay`` as fast as possible, ``paced`` one bar every
    ``bar_interval_s``, or ``live``: the data's bars (an ``alpaca`` source, ``1Min``) warm every
    contender up (observed, not traded), then Alpaca's bar stream delivers each new minute
    (``arena.data.alpaca.feed``): released when every symbol's bar is in or ``grace_s`` after
    its first; a stream silent ``heartbeat_s`` while the market is open is reconnected and
    backfilled; outside ``calendar``'s sessions (None = always open; crypto always is) it idles;
    ``live_bars`` ends the run after that many live timestamps (None = until stopped)."""

    mode: Literal["replay", "paced", "live"] = "replay"
    bar_interval_s: float = Field(1.0, gt=0)
    grace_s: float = Field(5.0, gt=0)
    heartbeat_s: float = Field(90.0, gt=0)
    calendar: str | None = "XNYS"
    live_bars: int | None = Field(None, ge=1)
    chunk_bars: int | None = Field(None, ge=1)
    """Timestamps per chunk in replay mode; None: :func:`auto_chunk_bars` of the data."""
    max_inflight_chunks: int = Field(4, ge=1)


def auto_chunk_bars(n_bars: int) -> int:
    """Replay chunk size for ``n_bars`` timestamps: about 256 chunks, within [512, 8192]
    (fewer, larger chunks for long data: each chunk costs a Ray call per contender)."""
    return int(min(8192, max(512, -(-n_bars // 256))))


class RaySettings(_Strict):
    """Where to run: ``address`` of an existing cluster (``auto``) or None for a local one."""

    address: str | None = None
    num_cpus: int | None = Field(None, ge=1)
    startup_timeout_s: float = Field(
        600.0, gt=0, description="seconds to wait for every actor to start (an autoscaling cluster adding nodes)"
    )


class RecoverySettings(_Strict):
    """How a contender actor survives a crash of its process (``arena.recovery``): Ray restarts
    it up to ``max_restarts`` times; it goes on from its last snapshot, taken every
    ``snapshot_every_bars`` bars (and at least every ``snapshot_every_s`` seconds of wall clock
    when set), and the bars after it are published to it again. A snapshot waits until the
    actor's records are written (one short pause of its bar loop). ``max_restarts: 0``: a
    crashed contender is ``failed`` for the rest of the run, and no snapshot is taken.

    Example: ``recovery: {snapshot_every_bars: 500, max_restarts: 3}``.
    """

    max_restarts: int = Field(3, ge=0, description="restarts per contender actor; 0 = none (no snapshots)")
    snapshot_every_bars: int = Field(1000, ge=1, description="bars between snapshots of a contender actor")
    snapshot_every_s: float | None = Field(
        None, gt=0, description="seconds between snapshots at most; None = bars only"
    )
    restart_timeout_s: float = Field(120.0, gt=0, description="seconds to wait for a crashed actor to be back")
    keep_snapshots: bool = Field(False, description="keep $ARENA_HOME/snapshots/<run_id>/ after the run")


_ENV_PREFIX = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class BrokerSettings(_Strict):
    """Paper-account mirroring (``arena.broker``): each contender named in ``mirror`` has its
    approved orders also sent to its own Alpaca paper account, whose keys are read from the
    environment variables ``<PREFIX>_API_KEY_ID`` and ``<PREFIX>_API_SECRET_KEY`` (never from
    the config). The internal ledger stays the truth; the paper fills are reconciled with it.

    Example: ``broker: {kind: alpaca_paper, mirror: {sma: ALPACA_SMA}}`` reads
    ``ALPACA_SMA_API_KEY_ID`` and ``ALPACA_SMA_API_SECRET_KEY``.
    """

    kind: Literal["alpaca_paper"]
    mirror: dict[str, str] = Field(min_length=1, description="contender name → key environment variable prefix")
    url: str | None = Field(
        None, description="trading REST base URL; None = Alpaca's paper endpoint (https://paper-api.alpaca.markets)"
    )
    poll_every_s: float = Field(2.0, gt=0, description="seconds between polls of a working paper order")
    trade_updates: bool = Field(
        True, description="take paper fills from the account's trade-updates websocket (TradingStream) as they "
        "happen; polling stays as the fallback"
    )
    stream_url: str | None = Field(
        None, description="trade-updates websocket URL; None = <url>/stream with ws(s), as Alpaca lays them out"
    )
    settle_s: float = Field(10.0, ge=0, description="seconds the run's end waits for working paper orders to fill")
    max_backoff_s: float = Field(60.0, gt=0, description="longest wait between two retries of a broker call")

    @field_validator("mirror")
    @classmethod
    def _valid_prefixes(cls, v: dict[str, str]) -> dict[str, str]:
        for name, prefix in v.items():
            if not _ENV_PREFIX.match(prefix):
                raise ValueError(
                    f"{name}: key prefix {prefix!r} must be an environment variable name in capitals "
                    "(letters, digits, '_'; e.g. ALPACA_SMA reads ALPACA_SMA_API_KEY_ID / ALPACA_SMA_API_SECRET_KEY)"
                )
        return v

    @field_validator("url", "stream_url")
    @classmethod
    def _valid_url(cls, v: str | None, info: Any) -> str | None:
        from urllib.parse import urlsplit

        if v is None:
            return v
        schemes, label = (("http", "https"), "http(s)") if info.field_name == "url" else (("ws", "wss"), "ws(s)")
        parts = urlsplit(v)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"expected a {label}:// URL with a host, got {v!r}")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; keys come from the <PREFIX>_API_* environment variables")
        return v.rstrip("/")


class ArenaConfig(_Strict):
    """A whole arena run."""

    name: str
    data: DataConfig
    capital: float = Field(10_000.0, gt=0, description="USD per contender")
    seed: int = Field(0, ge=0, lt=2**63, description="random seed of the run (stored as a 64-bit integer)")
    execution: ExecutionSettings = ExecutionSettings()
    risk: RiskSettings = RiskSettings()
    contenders: list[ContenderSpec] = Field(min_length=1)
    replay: ReplaySettings = ReplaySettings()
    store: str = "duckdb://runs/arena.duckdb"
    events: str | None = Field(
        None,
        description="Redis URL of the live event stream (redis:// or rediss://); None = no live events",
        examples=["redis://127.0.0.1:6379/0"],
    )
    events_maxlen: int = Field(100_000, ge=1, description="approximate cap on a run's live stream (entries)")
    artifacts: str | None = Field(
        "runs/artifacts",
        description="folder of run artifacts (model checkpoints go to <artifacts>/<run_id>/<contender>/, "
        "relative to the working directory); None = keep checkpoints in memory only",
    )
    ray: RaySettings = RaySettings()
    recovery: RecoverySettings = RecoverySettings()
    broker: BrokerSettings | None = Field(None, description="paper-account mirroring; None = none")
    benchmark: str | None = Field(
        None,
        description="the contender the leaderboard's relative columns and significance tests compare with; "
        "default: the first contender of class buy_and_hold, if any",
    )
    risk_free_rate: float = Field(
        0.0, gt=-1, lt=1, description="annual risk-free rate (fraction, 0.04 = 4 %/yr) for Sharpe, Sortino, PSR, DSR"
    )
    rank_by: str = Field(
        "sharpe", description="the leaderboard's ranking, highest first: sharpe, sortino, calmar, total_return, ..."
    )
    base_dir: str = Field(".", exclude=True, description="folder of the config file (set by load_config)")

    @field_validator("name")
    @classmethod
    def _valid_run_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(
                f"run name {v!r} must start with a letter and use only letters, digits, '_', '.', '-' "
                "(at most 64): it becomes part of run ids, decision ids and folder names"
            )
        return v

    @field_validator("store")
    @classmethod
    def _valid_store_url(cls, v: str) -> str:
        from arena.store.url import parse_store_url

        parse_store_url(v)  # the scheme and its parts, checked before any process starts
        return v

    @field_validator("events")
    @classmethod
    def _valid_events_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from arena.live.schema import validate_events_url

        return validate_events_url(v)

    @field_validator("rank_by")
    @classmethod
    def _valid_rank_by(cls, v: str) -> str:
        from arena.ranking import RANK_KEYS

        if v not in RANK_KEYS:
            hint = difflib.get_close_matches(v, RANK_KEYS, n=1)
            raise ValueError(
                f"{v!r} is not a ranking; one of {', '.join(RANK_KEYS)}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
        return v

    @model_validator(mode="after")
    def _live_needs_alpaca(self) -> ArenaConfig:
        if self.replay.mode == "live":
            if self.data.source != "alpaca":
                raise ValueError(f"replay.mode live needs data.source 'alpaca' (a live feed), got {self.data.source!r}")
            if self.data.timeframe != "1Min":
                raise ValueError(f"replay.mode live streams minute bars: data.timeframe must be '1Min', "
                                 f"got {self.data.timeframe!r}")
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> ArenaConfig:
        seen: set[str] = set()
        for c in self.contenders:
            if c.name in seen:
                raise ValueError(f"contender name {c.name!r} is used twice; names must be unique")
            seen.add(c.name)
        if self.broker is not None:
            unknown = sorted(set(self.broker.mirror) - seen)
            if unknown:
                hint = difflib.get_close_matches(unknown[0], sorted(seen), n=1)
                raise ValueError(
                    f"broker.mirror names {unknown}, which are not contenders (contenders: {sorted(seen)})"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                )
        if self.benchmark is not None and self.benchmark not in seen:
            hint = difflib.get_close_matches(self.benchmark, seen, n=1)
            raise ValueError(
                f"benchmark {self.benchmark!r} is not a contender of this config"
                + (f"; did you mean {hint[0]!r}?" if hint else f"; contenders: {', '.join(sorted(seen))}")
            )
        return self

    @property
    def resolved_benchmark(self) -> str | None:
        """The benchmark contender: ``benchmark`` when given, else the first contender of class
        ``buy_and_hold``; None when there is neither. (``benchmark`` itself stays as written, so
        a config re-parsed with other contenders picks its default again.)"""
        if self.benchmark is not None:
            return self.benchmark
        return next((c.name for c in self.contenders if c.class_ == "buy_and_hold"), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the config as it will run (aliases used: ``class``)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"base_dir"})


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("sample", "csv", "parquet", "file", "synthetic", "alpaca") and out == "data":
            continue  # discriminated-union tag, not a key
        else:
            out += ("." if out else "") + str(part)
    return out


def _format_errors(exc: ValidationError, where: str, raw: dict[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        key = _loc(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            parent = err["loc"][:-1]
            model = _model_at(parent, raw)
            hint = difflib.get_close_matches(str(err["loc"][-1]), model, n=1) if model else []
            msg = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else "")
        lines.append(f"  {key}: {msg}")
    return f"{where}: invalid config\n" + "\n".join(lines)


def _model_at(loc: tuple[Any, ...], raw: dict[str, Any]) -> list[str]:
    model: Any = ArenaConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if model is ArenaConfig and part == "data":
            return ["source", "name", "path", "symbol", "symbols", "n_bars", "freq", "seed", "start", "since", "until",
                    "timeframe", "end", "feed", "adjustment", "asset_class", "data_url", "stream_url", "cache_dir"]
        field = getattr(model, "model_fields", {}).get(part) or getattr(model, "model_fields", {}).get(part + "_")
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    fields = getattr(model, "model_fields", {})
    return [f.alias or k for k, f in fields.items() if k != "base_dir"]


def parse_config(
    raw: Any, where: str = "<config>", base_dir: str | Path = ".", max_contenders: int = DEFAULT_MAX_CONTENDERS
) -> ArenaConfig:
    """Validate a config mapping, including every contender's class and params, after
    expanding the contenders' sweeps (:func:`arena.sweep.expand_sweeps`).

    Args:
        raw: the parsed YAML.
        where: the file, for messages.
        base_dir: the config's folder.
        max_contenders: most contenders the sweeps may expand to.

    Raises:
        ConfigError: naming ``where`` and each bad key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        if "contenders" in raw:
            raw = {**raw, "contenders": expand_sweeps(raw["contenders"], max_contenders)}
    except SweepError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    try:
        cfg = ArenaConfig.model_validate({**raw, "base_dir": str(base_dir)})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, where, raw)) from None
    from contenders.base import ParamError
    from contenders.registry import UnknownContenderError, resolve

    shared = [spec.process for spec in cfg.contenders if spec.process is not None]
    for i, spec in enumerate(cfg.contenders):
        try:
            cls = resolve(spec.class_)
            cls(**spec.params)
        except UnknownContenderError as exc:
            raise ConfigError(f"{where}: contenders[{i}].class: {exc}") from None
        except ParamError as exc:
            point = f" ({spec.name}, a point of sweep {spec.sweep_group!r})" if spec.sweep_group else ""
            raise ConfigError(f"{where}: contenders[{i}].params{point}: {exc}") from None
        if spec.process is not None and getattr(cls, "consumes_signals", False) and shared.count(spec.process) > 1:
            raise ConfigError(
                f"{where}: contenders[{i}].process: {spec.name!r} consumes the others' signals and cannot share "
                f"process {spec.process!r} (it waits for the others' results); give it a process of its own"
            )
    return cfg


def load_config(
    path: str | Path, overrides: dict[str, Any] | None = None, max_contenders: int = DEFAULT_MAX_CONTENDERS
) -> ArenaConfig:
    """Read and validate a YAML config file.

    Args:
        path: the YAML file.
        overrides: top-level keys to replace (e.g. ``{"store": ...}`` from the CLI).
        max_contenders: most contenders its sweeps may expand to.

    Raises:
        ConfigError: unreadable file, bad YAML (with line), or invalid content.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}:{at} bad YAML: {getattr(exc, 'problem', exc)}") from None
    if isinstance(raw, dict) and overrides:
        raw = {**raw, **overrides}
    return parse_config(raw, str(p), p.parent.resolve(), max_contenders)


def config_warnings(cfg: ArenaConfig) -> list[str]:
    """What in a valid config will not do what it says: today, a contender asked for shorts
    (``params.long_only: false`` or ``params.allow_short: true``) while ``execution.allow_short``
    is false, so the ledger cuts every sell at a flat position (``SHORT_NOT_ALLOWED``) and the
    contender's negative weights never become positions.

    Returns:
        One message per finding, naming the contender's key (``contenders[2] (lgbm)``); empty
        when there is nothing to say.
    """
    found: list[str] = []
    if cfg.execution.allow_short:
        return found
    for i, c in enumerate(cfg.contenders):
        for key, shorts in (("long_only", False), ("allow_short", True)):
            if key in c.params and c.params[key] is shorts:
                found.append(
                    f"contenders[{i}] ({c.name}): params.{key} is {str(shorts).lower()} but execution.allow_short "
                    "is false: the ledger cuts every short at a flat position (SHORT_NOT_ALLOWED), so its "
                    "negative weights are never held; set execution.allow_short: true to let it short"
                )
    return found
