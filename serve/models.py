"""Response and request bodies of the arena HTTP API (documented in /openapi.json).

Field names are the store's read names (``arena.store.schema``: ``*_json``
columns without the suffix). Timestamps are ISO-8601 strings in UTC with an
explicit offset, money is USD, returns and weights are fractions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, model_validator

__all__ = [
    "LIVE_EVENTS_DOC",
    "LIVE_EVENTS_RESPONSES",
    "Bar",
    "ContenderState",
    "ContributionOut",
    "DecisionOut",
    "EquityPoint",
    "ErrorBody",
    "Event",
    "FillOut",
    "Health",
    "IsoTimestamp",
    "KillSwitchRequest",
    "KillSwitchReset",
    "KillSwitchResetResponse",
    "KillSwitchResponse",
    "LeaderboardRow",
    "LiveRun",
    "OrderEventOut",
    "PositionPoint",
    "ReconciliationOut",
    "ReleaseResponse",
    "Run",
    "RunDetail",
    "RunState",
    "RunStatus",
    "SweepGrid",
    "TrialOut",
    "Verdict",
    "Why",
]

IsoTimestamp = Annotated[
    str,
    Field(
        description="ISO-8601 instant in UTC with offset",
        examples=["2024-01-02T00:00:00+00:00"],
        json_schema_extra={"format": "date-time"},
    ),
]


RunState = Literal["running", "finished", "finished_with_failures", "failed", "killed", "interrupted", "stopped"]
"""A run's status (the values of ``arena.store.schema.RUN_STATUSES``; a test keeps them equal)."""


class ErrorBody(BaseModel):
    """An error answer: what went wrong, naming the offending id or parameter."""

    detail: str


class Health(BaseModel):
    """``GET /healthz``: the store could be opened and queried."""

    status: Literal["ok"]
    store: str = Field(description="the store URL the API reads")


class Event(BaseModel):
    """An arena event (``events`` row), e.g. a kill-switch trip or a halted contender."""

    run_id: str
    ts: IsoTimestamp
    contender: str | None = Field(description="None for arena-wide events")
    kind: str = Field(examples=["KILL_SWITCH_TRIPPED", "CONTENDER_HALTED"])
    reason: str
    details: Any = Field(None, description="event-specific JSON")


class Run(BaseModel):
    """An arena run (``runs`` row)."""

    run_id: str
    name: str
    config: dict[str, Any]
    data_source: dict[str, Any]
    data_sha256: str
    code_version: str
    seed: int | None
    started_at: IsoTimestamp
    ended_at: IsoTimestamp | None = Field(description="None while running")
    status: RunState
    n_bars: int | None = Field(description="bars processed; None while running")
    symbols: list[str]
    periods_per_year: float = Field(description="bars per year used to annualize metrics")


class RunDetail(Run):
    """A run with its contenders and kill-switch events."""

    contenders: list[str]
    kill_switch_events: list[Event]


class LeaderboardRow(BaseModel):
    """One contender's standing at run end. Fractions unless noted; None = not computable."""

    run_id: str
    contender: str
    rank: int = Field(description="1 = best")
    status: str = Field(examples=["ok", "halted", "failed"])
    halt_reason: str | None = None
    final_equity: float | None = Field(None, description="USD")
    total_return: float | None = None
    cagr: float | None = None
    volatility: float | None = Field(None, description="annualized")
    sharpe: float | None = Field(None, description="annualized")
    sortino: float | None = Field(None, description="annualized")
    calmar: float | None = None
    max_drawdown: float | None = None
    max_drawdown_duration_bars: int | None = None
    profit_factor: float | None = None
    win_rate: float | None = None
    trades: int | None = None
    fills: int | None = None
    turnover: float | None = None
    exposure: float | None = None
    exposure_time: float | None = None
    psr: float | None = Field(None, description="probabilistic Sharpe ratio")
    dsr: float | None = Field(None, description="deflated Sharpe ratio")
    pbo: float | None = Field(None, description="probability of backtest overfitting")
    ic: float | None = Field(
        None, description="information coefficient: mean correlation of predicted and realized forward returns"
    )
    rank_ic: float | None = Field(None, description="information coefficient with Spearman rank correlation")
    icir: float | None = Field(None, description="mean IC / std IC (not annualized)")
    hit_rate: float | None = Field(None, description="fraction of predictions with the realized return's sign")
    paper_divergence_bps: float | None = Field(
        None, description="mirrored contenders: divergence of the paper fills from the internal ones, bps of traded "
        "value (GET /runs/{run_id}/reconciliation); None when not mirrored"
    )
    n_bars: int | None = None
    metrics: dict[str, Any] | None = Field(None, description="every metric, including extras")


def _leaderboard_extra_fields() -> dict[str, Any]:
    """The leaderboard columns added with the benchmark, significance, trials and operational
    figures, as fields typed and described from the schema (``arena.store.schema``), so a column
    added there reaches the API without restating it here."""
    from arena.store.schema import TABLES, ColumnType

    types: dict[ColumnType, Any] = {
        ColumnType.STRING: str | None, ColumnType.INT: int | None, ColumnType.FLOAT: float | None,
        ColumnType.JSON: dict[str, Any] | None,
    }
    truth = {"beats_benchmark", "in_mcs"}  # stored 1/0: answered as true/false
    fields: dict[str, Any] = {}
    for col in TABLES["leaderboard"].columns:
        if col.read_name in LeaderboardRow.model_fields or col.read_name in ("run_id", "ts") or col.internal:
            continue
        kind = bool | None if col.name in truth else types[col.type]
        fields[col.read_name] = (kind, Field(None, description=col.doc))
    return fields


LeaderboardRow = create_model(  # type: ignore[misc]
    "LeaderboardRow", __base__=LeaderboardRow, __doc__=LeaderboardRow.__doc__, **_leaderboard_extra_fields()
)


class EquityPoint(BaseModel):
    """A contender's account on one bar (USD)."""

    run_id: str
    contender: str
    ts: IsoTimestamp
    bar_index: int
    equity: float | None
    cash: float | None
    gross_exposure: float | None


class ContributionOut(BaseModel):
    """One line of an explanation (see ``ledger.types.Contribution``)."""

    feature: str
    value: float | None = Field(description="the feature's value, in its own units")
    contribution: float = Field(description="signed contribution, in the method's units")
    method: str = Field(examples=["rule", "shap", "integrated_gradients"])
    symbol: str = Field(description="'' when it applies to all symbols")


class DecisionOut(BaseModel):
    """What a contender decided on a bar, and why."""

    decision_id: str
    run_id: str
    contender: str
    ts: IsoTimestamp
    bar_index: int
    weights: dict[str, float | None] | None = Field(
        description="target weight per symbol (fraction of equity)"
    )
    orders: list[dict[str, Any]] | None = Field(description="explicit order requests")
    confidence: float | None
    explanation: list[ContributionOut] | None = Field(description="largest |contribution| first")
    predictions: dict[str, float | None] | None = Field(
        None, description="expected log return per symbol over the contender's horizon (fraction); None if none"
    )
    symbols: list[str] | None = Field(description="symbols the decision touches")


class Verdict(BaseModel):
    """A risk guardian verdict on a decision."""

    verdict_id: str
    run_id: str
    contender: str
    decision_id: str | None
    ts: IsoTimestamp
    symbol: str | None
    action: str = Field(examples=["ALLOW", "SCALE", "DENY"])
    scale: float | None = Field(description="factor applied to the request, for scale")
    reasons: list[Any] = Field(description="reason codes")
    details: Any = Field(description="rule-specific numbers behind the verdict")
    requested: Any = Field(description="what was asked (weights / orders)")
    approved: Any = Field(description="what was let through")


class OrderEventOut(BaseModel):
    """One step of an order's lifecycle."""

    run_id: str
    contender: str
    decision_id: str | None
    client_order_id: str
    symbol: str
    status: str = Field(examples=["NEW", "ACCEPTED", "FILLED", "REJECTED"])
    ts: IsoTimestamp
    filled_quantity: float | None = Field(description="cumulative, units")
    reason: str | None
    side: str | None
    quantity: float | None = Field(description="units")
    target_weight: float | None = Field(description="fraction of equity")
    order_type: str | None
    limit_price: float | None = Field(description="USD")
    stop_price: float | None = Field(description="USD")
    time_in_force: str | None


class FillOut(BaseModel):
    """An execution."""

    run_id: str
    contender: str
    decision_id: str | None
    client_order_id: str
    symbol: str
    side: str
    quantity: float = Field(description="units")
    price: float = Field(description="fill price after slippage, USD per unit")
    commission: float = Field(description="USD")
    slippage: float = Field(description="USD")
    ts: IsoTimestamp


class ReconciliationOut(BaseModel):
    """A mirrored order's paper fill against its internal fill (table ``reconciliation``)."""

    run_id: str
    contender: str
    client_order_id: str = Field(description="the arena's order id")
    broker_order_id: str | None = Field(description="the paper account's order id")
    symbol: str
    side: str
    ts: IsoTimestamp = Field(description="bar time of the internal fill, else of the decision")
    status: str = Field(examples=["FILLED", "PARTIALLY_FILLED", "REJECTED", "CANCELLED", "EXPIRED", "UNFILLED"])
    internal_quantity: float = Field(description="units")
    internal_price: float | None = Field(description="USD per unit")
    paper_quantity: float = Field(description="units")
    paper_price: float | None = Field(description="USD per unit")
    quantity_diff: float = Field(description="paper − internal, units")
    price_diff: float | None = Field(description="paper − internal, USD per unit")
    divergence_bps: float | None = Field(description="|price_diff| / internal_price, bps")
    running_divergence_bps: float = Field(description="the contender's divergence so far, bps of traded value")
    rejected_orders: int = Field(description="the contender's orders the broker rejected so far")
    unfilled_orders: int = Field(description="the contender's orders the broker never filled so far")
    reason: str | None
    broker_ts: str | None = Field(description="when the paper account last filled or ended the order (ISO-8601 UTC)")


class Why(DecisionOut):
    """A decision explained: contributions by |contribution|, largest first, and
    the verdicts, order events and fills it led to."""

    verdicts: list[Verdict]
    order_events: list[OrderEventOut]
    fills: list[FillOut]


class _RunsTarget(BaseModel):
    """One running arena (``run_id``) or, explicitly, all of them (``all: true``)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str | None = Field(None, description="the running arena")
    all: bool = Field(False, description="every running arena registered on the API's machine")

    @model_validator(mode="after")
    def _one_target(self) -> _RunsTarget:
        if (self.run_id is None) == (not self.all):
            raise ValueError("name one run (run_id) or ask for all runs (all: true), not both or neither")
        return self


class KillSwitchRequest(_RunsTarget):
    """``POST /kill-switch`` body."""

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
    ] = Field(description="why the switch is tripped")


class KillSwitchReset(_RunsTarget):
    """``POST /kill-switch/reset`` body."""


class KillSwitchResponse(BaseModel):
    """Runs whose risk guardian was tripped."""

    tripped: list[str]


class KillSwitchResetResponse(BaseModel):
    """Runs whose kill switch was reset."""

    reset: list[str]


class ReleaseResponse(BaseModel):
    """A contender released from its latches in a running arena."""

    run_id: str
    contender: str
    latched: list[str] = Field(description="the reason codes that were latched (empty: none was)")


# ------------------------------------------------------------------ live events (SSE)
LIVE_EVENTS_DOC = """Server-Sent Events of one run, read live from its Redis Stream ``arena:events:<run_id>``.

Each SSE event has ``id`` = the Redis stream id (``<ms>-<seq>``), ``event`` = the kind and
``data`` = the JSON payload. Kinds: ``run_started`` (run id, name, symbols, contenders,
capital USD, seed), ``fill`` (a fills row: contender, symbol, side, quantity, price,
commission, slippage, ts), ``risk_verdict`` (a risk_verdicts row: action ALLOW/SCALE/DENY,
scale, reasons, details, requested, approved), ``halt`` and ``kill_switch`` (events rows),
``leaderboard`` (``{final, wall_time, rows}``: per contender equity USD, total_return,
max_drawdown, bars, status; at most once a second and once at the end) and
``run_finished`` (status, ended_at, n_bars, the recorded final ``leaderboard`` rows and
the final live ``standings``).

Without a last event id the stream starts at the run's first event (``?from=latest``: only
new ones). To resume, send the standard ``Last-Event-ID`` header (browsers' EventSource do
it on reconnect) or ``?last_event_id=``: exactly the events after that id follow. A comment
line keeps a quiet connection alive (every 15 s by default). The response ends after
``run_finished``. 404: no such run and no stream; 503: no events URL configured or Redis
unreachable.

Example: ``curl -N -H 'Last-Event-ID: 1718000000000-0' http://127.0.0.1:8000/runs/RUN_ID/events``
"""

LIVE_EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an event stream (text/event-stream), one SSE event per stream entry",
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "example": (
                    'id: 1718000000000-0\nevent: run_started\ndata: {"run_id":"demo","name":"demo",...}\n\n'
                    'id: 1718000000123-0\nevent: fill\ndata: {"contender":"sma","symbol":"AAPL",'
                    '"side":"BUY","quantity":10.0,"price":185.2,...}\n\n'
                ),
            }
        },
    },
    404: {"model": ErrorBody, "description": "unknown run, or a run recorded without live events"},
    422: {"model": ErrorBody, "description": "malformed Last-Event-ID / last_event_id"},
    503: {"model": ErrorBody, "description": "no events URL configured, Redis unreachable, or store busy"},
}
"""OpenAPI responses of ``GET /runs/{run_id}/events``."""


# ------------------------------------------------------------------ the arena page's reads
class Bar(BaseModel):
    """One OHLCV bar of a symbol as the run's market-data actor published it; with
    ``max_points``, one bucket of consecutive bars (open of the first, high/low over the
    bucket, close of the last, volume summed; ``ts`` of the first)."""

    symbol: str
    ts: IsoTimestamp
    open: float = Field(description="quote currency (USD for the bundled data) per unit")
    high: float = Field(description="quote currency per unit")
    low: float = Field(description="quote currency per unit")
    close: float = Field(description="quote currency per unit")
    volume: float = Field(description="units traded")
    n_bars: int = Field(1, description="bars merged into this one (1 unless downsampled)")


class PositionPoint(BaseModel):
    """A contender's position in one symbol after a bar: quantity from its fills, valued
    at the bar's close (or the last fill price when the run recorded no bars)."""

    ts: IsoTimestamp
    bar_index: int
    symbol: str
    quantity: float = Field(description="units held, negative when short")
    price: float | None = Field(description="valuation price, USD per unit")
    market_value: float | None = Field(description="quantity × price, USD")
    weight: float | None = Field(description="market value / equity (fraction); None when equity <= 0")


class ContenderState(BaseModel):
    """A contender's standing in the run's status: ``ok`` or the latest halt / failure."""

    contender: str
    status: Literal["ok", "halted", "suspended", "failed"]
    reason: str | None = Field(None, description="reason code or message of the halt / failure")
    ts: IsoTimestamp | None = Field(None, description="when it was halted / failed")


class RunStatus(BaseModel):
    """Where a run stands: its status, the arena-wide kill switch and each contender."""

    run_id: str
    status: RunState
    n_bars: int | None = Field(description="bars processed; None while running")
    kill_switch_tripped: bool = Field(description="the latest kill-switch event is a trip")
    kill_switch_reason: str | None = None
    contenders: list[ContenderState]
    events: list[Event] = Field(
        description="every arena event of the run (halts, failures, kill switch), in time order"
    )


class LiveRun(BaseModel):
    """A run with a live event stream in Redis (``arena:events:<run_id>``)."""

    run_id: str
    name: str | None
    started_at: IsoTimestamp | None
    contenders: list[str]
    symbols: list[str]
    capital: float | None = Field(description="starting equity per contender, USD")
    finished: bool = Field(description="the stream ends with run_finished")
    last_event_id: str = Field(description="Redis stream id of its newest event")


class TrialOut(BaseModel):
    """One row of the trials register: a contender configuration run on a data set."""

    data_sha256: str = Field(description="SHA-256 of the bars, hex")
    first_bar: IsoTimestamp
    last_bar: IsoTimestamp
    trial_id: str = Field(description="SHA-256 (16 hex) of the canonical JSON of {class, params}")
    run_id: str
    contender: str
    contender_class: str
    params: dict[str, Any]
    sharpe_per_bar: float | None = Field(description="per-bar Sharpe of its excess returns; None when not scored")
    ts: IsoTimestamp = Field(description="when its run started")


class SweepGrid(BaseModel):
    """A metric over a sweep's two parameters, for a heat map: ``values[i][j]`` is the point
    with ``row_param = rows[i]`` and ``col_param = columns[j]`` (None: no value, e.g. failed)."""

    group: str = Field(description="the sweep (its config entry's name)")
    metric: str = Field(description="the leaderboard column mapped")
    row_param: str | None
    col_param: str | None
    rows: list[Any]
    columns: list[Any]
    values: list[list[float | None]]
    note: str = Field("", description="why there is no grid (the sweep does not vary exactly two params)")
