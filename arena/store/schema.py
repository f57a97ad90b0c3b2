"""The arena's tables, defined once.

Every store backend (the embedded DuckDB store, the QuestDB store) generates
its DDL and its append validation from :data:`TABLES`, so a column is added in
exactly one place.

Conventions:

* Timestamps are UTC instants with microsecond precision (DuckDB
  ``TIMESTAMP WITH TIME ZONE``, QuestDB ``TIMESTAMP``). Rows handed to
  ``Store.append`` give ``ts`` as int64 nanoseconds since the Unix epoch (UTC),
  the ledger's ``ts_ns``; sub-microsecond digits are floored away.
* Money columns (``equity``, ``cash``, ``gross_exposure``, ``price``,
  ``commission``, ``slippage``, ``final_equity``) are in the quote currency, USD
  for the bundled data. Returns, drawdowns and weights are fractions
  (0.05 → 5 %). Quantities are instrument units.
* ``*_json`` columns hold canonical JSON text (compact, keys sorted: :func:`arena.store.arrow.dumps`);
  rows read back carry them decoded, under the name without ``_json``
  (``weights_json`` → ``weights``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "FINAL_RUN_STATUSES",
    "KILL_SWITCH_EVENT_PREFIX",
    "RUN_STATUSES",
    "TABLES",
    "Column",
    "ColumnType",
    "Table",
    "get_table",
]


class ColumnType(StrEnum):
    """Backend-neutral column types; each backend maps them to its own SQL types."""

    STRING = "STRING"
    INT = "INT"  # 64-bit signed integer
    FLOAT = "FLOAT"  # 64-bit IEEE double
    TIMESTAMP = "TIMESTAMP"  # UTC instant, microsecond precision
    JSON = "JSON"  # JSON text; Python objects are serialized on append
    STRING_LIST = "STRING_LIST"  # list of strings


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an arena table.

    Args:
        name: column name; JSON columns end in ``_json``.
        type: backend-neutral type.
        nullable: whether rows may leave it out or give None.
        doc: meaning and unit, for the docs and for error messages.
        json_kind: for JSON columns, the top-level JSON type a value must have:
            ``object``, ``array``, or "" for any.
        low_cardinality: a string column with few distinct values (run ids,
            contender and symbol names, statuses); QuestDB stores it as ``SYMBOL``.
        internal: kept for the store's own use (ordering) and left out of the
            rows reads return; see ``seq``.
    """

    name: str
    type: ColumnType
    nullable: bool = False
    doc: str = ""
    json_kind: str = ""
    low_cardinality: bool = False
    internal: bool = False

    @property
    def read_name(self) -> str:
        """Key under which a read row carries this column (``_json`` suffix dropped)."""
        if self.type is ColumnType.JSON and self.name.endswith("_json"):
            return self.name[: -len("_json")]
        return self.name


@dataclass(frozen=True, slots=True)
class Table:
    """An arena table: ordered columns and an optional unique key.

    Args:
        name: table name.
        columns: columns in storage order.
        key: columns whose values are unique per row (empty for none); the
            DuckDB store enforces it as the primary key.
        doc: what one row is.
        timestamp: the time column rows are ordered and partitioned by (QuestDB's
            designated timestamp).
        dedup_key: columns besides ``timestamp`` that identify a row, so that
            sending the same row again replaces it instead of adding a copy
            (QuestDB ``DEDUP UPSERT KEYS``); for tables with a ``key`` it is the key.
        partition: time partition of the QuestDB table (``DAY``, ``MONTH``, ``YEAR``).
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    timestamp: str = "ts"
    dedup_key: tuple[str, ...] = ()
    partition: str = "MONTH"

    def __post_init__(self) -> None:
        names = set(self.column_names)
        wanted = (self.timestamp, *self.key, *self.dedup_key)
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise ValueError(f"table {self.name!r}: key/timestamp column(s) {unknown} are not columns")
        if self.column(self.timestamp).type is not ColumnType.TIMESTAMP:
            raise ValueError(f"table {self.name!r}: timestamp column {self.timestamp!r} is not a TIMESTAMP")
        if self.partition not in ("DAY", "MONTH", "YEAR"):
            raise ValueError(f"table {self.name!r}: partition must be DAY, MONTH or YEAR, got {self.partition!r}")
        if not self.dedup_key:
            object.__setattr__(self, "dedup_key", self.key)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in storage order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``.

        Raises:
            ValueError: if the table has no such column.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise ValueError(
            f"table {self.name!r} has no column {name!r}; columns: {', '.join(self.column_names)}"
        )


_STR, _INT, _FLOAT, _TS, _JSON, _LIST = (
    ColumnType.STRING,
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.TIMESTAMP,
    ColumnType.JSON,
    ColumnType.STRING_LIST,
)


def _c(
    name: str,
    type_: ColumnType,
    doc: str = "",
    *,
    null: bool = False,
    kind: str = "",
    sym: bool = False,
) -> Column:
    return Column(name=name, type=type_, nullable=null, doc=doc, json_kind=kind, low_cardinality=sym)


_SEQ = Column(
    name="seq",
    type=ColumnType.INT,
    nullable=True,
    doc=(
        "append order: strictly increasing per writer (assigned by the store when left out, "
        "from the wall clock in ns); orders rows with equal ts; not returned by reads"
    ),
    internal=True,
)


_LEADERBOARD_EXTRA: tuple[Column, ...] = tuple(
    _c(name, type_, doc, null=True, kind="object" if type_ is _JSON else "", sym=name == "rank_by")
    for name, type_, doc in (
        ("rank_by", _STR, "the metric the rank orders by, highest first (sharpe, sortino, dsr, ...)"),
        ("benchmark", _STR, "the benchmark contender the relative columns and tests compare with"),
        ("excess_return", _FLOAT, "total return minus the benchmark's, fraction"),
        ("alpha", _FLOAT, "Jensen's alpha against the benchmark, annualized fraction"),
        ("beta", _FLOAT, "regression slope of excess returns on the benchmark's"),
        ("tracking_error", _FLOAT, "std of returns minus the benchmark's, annualized fraction"),
        ("information_ratio", _FLOAT, "mean active return / tracking error, annualized"),
        ("up_capture", _FLOAT, "annualized return / the benchmark's, on bars the benchmark rose"),
        ("down_capture", _FLOAT, "annualized return / the benchmark's, on bars the benchmark fell"),
        ("var_95", _FLOAT, "historical 95 % value at risk, loss per bar, fraction"),
        ("cvar_95", _FLOAT, "historical 95 % conditional VaR (expected shortfall), loss per bar, fraction"),
        ("avg_trade_bars", _FLOAT, "mean bars from entry to exit of a closed trade"),
        ("expectancy", _FLOAT, "mean pnl per closed trade, USD"),
        ("spa_pvalue", _FLOAT, "Hansen's SPA p-value of the run: is the best contender better than the benchmark"),
        ("reality_check_pvalue", _FLOAT, "White's Reality Check p-value of the run"),
        ("beats_benchmark", _INT, "1 when Romano-Wolf StepM finds it better than the benchmark, 0 not, NULL untested"),
        ("in_mcs", _INT, "1 when in the 95 % Model Confidence Set (indistinguishable from the best), 0 not"),
        ("mcs_pvalue", _FLOAT, "Model Confidence Set p-value"),
        ("n_trials", _INT, "contenders of the run (the N of dsr)"),
        ("dsr_all", _FLOAT, "deflated Sharpe ratio with N = every distinct trial recorded on this data"),
        ("n_trials_all", _INT, "distinct trials (class + params) recorded on this data (the N of dsr_all)"),
        ("latency_p50_ms", _FLOAT, "median ms from a bar's arrival to its vetted orders"),
        ("latency_p99_ms", _FLOAT, "99th percentile ms from a bar's arrival to its vetted orders"),
        ("bars_missed", _INT, "bars the contender did not decide on (timed out, halted, warm-up excluded)"),
        ("halts", _INT, "times the risk guardian or the contender's own error halted it"),
        ("restarts", _INT, "times its actor process was restarted"),
        ("train_s", _FLOAT, "seconds spent fitting a learned contender"),
        ("calendar_json", _JSON, "{monthly: {YYYY-MM: return}, yearly: {YYYY: return}}, fractions"),
    )
)
"""Leaderboard columns added after the first release: nullable, at the table's end, so a
store written by an earlier version gains them (NULL in its old rows) when opened for writing."""


_TABLE_LIST: tuple[Table, ...] = (
    Table(
        "runs",
        (
            _c("run_id", _STR, "unique id of the arena run", sym=True),
            _c("name", _STR, "human-readable run name"),
            _c("config_json", _JSON, "the run's full configuration", kind="object"),
            _c(
                "data_source_json",
                _JSON,
                "where the bars came from (provider, files, range)",
                kind="object",
            ),
            _c("data_sha256", _STR, "SHA-256 of the bar data, hex"),
            _c("code_version", _STR, "git sha or package version, with '+dirty' when modified"),
            _c("seed", _INT, "random seed of the run", null=True),
            _c("started_at", _TS, "when the run started (UTC)"),
            _c("ended_at", _TS, "when the run ended (UTC); NULL while running", null=True),
            _c("status", _STR, "running | finished | finished_with_failures | failed | killed | interrupted", sym=True),
            _c("n_bars", _INT, "bars processed; NULL while running", null=True),
            _c("symbols", _LIST, "symbols traded"),
            _c("periods_per_year", _FLOAT, "bars per year used to annualize metrics (252 daily)"),
        ),
        key=("run_id",),
        doc="one row per arena run; updated once, at run end",
        timestamp="started_at",
        partition="YEAR",
    ),
    Table(
        "decisions",
        (
            _c("decision_id", _STR, "unique id of the decision"),
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, "contender name", sym=True),
            _c("ts", _TS, "bar timestamp the decision was made on (UTC)"),
            _c("bar_index", _INT, "0-based index of the bar in the run"),
            _c(
                "weights_json",
                _JSON,
                "{symbol: target weight (fraction of equity)}",
                null=True,
                kind="object",
            ),
            _c("orders_json", _JSON, "explicit order requests", null=True, kind="array"),
            _c("confidence", _FLOAT, "contender's confidence in [0, 1]", null=True),
            _c(
                "explanation_json",
                _JSON,
                "list of {feature, value, contribution, method, symbol}",
                null=True,
                kind="array",
            ),
            _c("symbols", _LIST, "symbols the decision touches (derived when left out)", null=True),
            _c(
                "predictions_json",
                _JSON,
                "{symbol: predicted forward return (fraction)}; NULL for contenders that do not predict",
                null=True,
                kind="object",
            ),
        ),
        key=("decision_id",),
        doc="one row per contender decision",
    ),
    Table(
        "orders",
        (
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, sym=True),
            _c("decision_id", _STR, "decision that caused the order; NULL for none", null=True),
            _c("client_order_id", _STR),
            _c("symbol", _STR, sym=True),
            _c("status", _STR, "NEW, ACCEPTED, PARTIALLY_FILLED, FILLED, REJECTED, ...", sym=True),
            _c("ts", _TS, "time of the lifecycle event (UTC)"),
            _c("filled_quantity", _FLOAT, "cumulative filled quantity (units)", null=True),
            _c("reason", _STR, "reason code for REJECTED / CANCELLED / EXPIRED", null=True),
            _c("side", _STR, "BUY | SELL", null=True, sym=True),
            _c("quantity", _FLOAT, "requested quantity (units)", null=True),
            _c("target_weight", _FLOAT, "requested target weight (fraction of equity)", null=True),
            _c("order_type", _STR, "MARKET | LIMIT | STOP", null=True, sym=True),
            _c("limit_price", _FLOAT, "limit price (USD)", null=True),
            _c("stop_price", _FLOAT, "stop price (USD)", null=True),
            _c("time_in_force", _STR, "DAY | GTC | IOC", null=True, sym=True),
            _SEQ,
        ),
        doc="one row per order lifecycle event",
        dedup_key=("run_id", "contender", "client_order_id", "status", "filled_quantity"),
    ),
    Table(
        "fills",
        (
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, sym=True),
            _c("decision_id", _STR, null=True),
            _c("client_order_id", _STR),
            _c("symbol", _STR, sym=True),
            _c("side", _STR, "BUY | SELL", sym=True),
            _c("quantity", _FLOAT, "filled quantity (units, > 0)"),
            _c("price", _FLOAT, "fill price after slippage (USD per unit)"),
            _c("commission", _FLOAT, "commission paid (USD)"),
            _c("slippage", _FLOAT, "cost of slippage on this fill (USD, >= 0)"),
            _c("ts", _TS, "fill time (UTC)"),
            _SEQ,
        ),
        doc="one row per fill",
        dedup_key=("run_id", "contender", "client_order_id", "quantity", "price"),
    ),
    Table(
        "risk_verdicts",
        (
            _c("verdict_id", _STR, "unique id of the verdict"),
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, sym=True),
            _c("decision_id", _STR, "decision the verdict judged", null=True),
            _c("ts", _TS),
            _c(
                "symbol",
                _STR,
                "symbol judged; NULL when it applies to the whole decision",
                null=True,
            ),
            _c("action", _STR, "ALLOW | SCALE | DENY", sym=True),
            _c("scale", _FLOAT, "factor applied to the request (fraction), for scale", null=True),
            _c("reasons_json", _JSON, "list of reason codes", kind="array"),
            _c("details_json", _JSON, "rule-specific numbers behind the verdict", null=True),
            _c("requested_json", _JSON, "what was asked (weights / orders)", null=True),
            _c("approved_json", _JSON, "what was let through", null=True),
            _SEQ,
        ),
        key=("verdict_id",),
        doc="one row per risk guardian verdict",
    ),
    Table(
        "equity",
        (
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, sym=True),
            _c("ts", _TS),
            _c("bar_index", _INT),
            _c("equity", _FLOAT, "cash + market value of positions (USD)"),
            _c("cash", _FLOAT, "cash (USD)"),
            _c("gross_exposure", _FLOAT, "sum of |position market value| (USD)"),
        ),
        doc="one row per contender per bar",
        dedup_key=("run_id", "contender"),
    ),
    Table(
        "leaderboard",
        (
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, sym=True),
            _c("rank", _INT, "1 = best"),
            _c("status", _STR, "ok | halted | failed", sym=True),
            _c("halt_reason", _STR, null=True),
            _c("final_equity", _FLOAT, "USD", null=True),
            _c("total_return", _FLOAT, "fraction", null=True),
            _c("cagr", _FLOAT, "fraction per year", null=True),
            _c("volatility", _FLOAT, "annualized, fraction", null=True),
            _c("sharpe", _FLOAT, "annualized", null=True),
            _c("sortino", _FLOAT, "annualized", null=True),
            _c("calmar", _FLOAT, null=True),
            _c(
                "max_drawdown", _FLOAT, "deepest peak-to-trough fall of equity, fraction", null=True
            ),
            _c("max_drawdown_duration_bars", _INT, "bars", null=True),
            _c("profit_factor", _FLOAT, null=True),
            _c("win_rate", _FLOAT, "fraction", null=True),
            _c("trades", _INT, null=True),
            _c("fills", _INT, null=True),
            _c("turnover", _FLOAT, "fraction of equity traded", null=True),
            _c("exposure", _FLOAT, "mean gross exposure, fraction of equity", null=True),
            _c("exposure_time", _FLOAT, "fraction of bars with a position", null=True),
            _c("psr", _FLOAT, "probabilistic Sharpe ratio", null=True),
            _c("dsr", _FLOAT, "deflated Sharpe ratio", null=True),
            _c("pbo", _FLOAT, "probability of backtest overfitting", null=True),
            _c("n_bars", _INT, null=True),
            _c(
                "metrics_json",
                _JSON,
                "the full row (derived when left out)",
                null=True,
                kind="object",
            ),
            _c(
                "ic",
                _FLOAT,
                "information coefficient: Pearson correlation of predicted and realized forward "
                "returns (Grinold & Kahn, Active Portfolio Management, ch. 6)",
                null=True,
            ),
            _c("rank_ic", _FLOAT, "Spearman rank correlation of predicted and realized forward returns", null=True),
            _c("icir", _FLOAT, "IC information ratio: mean IC / std IC over time", null=True),
            _c("hit_rate", _FLOAT, "fraction of predictions with the right sign", null=True),
            _c(
                "ts",
                _TS,
                "bar time the standings are as of (the run's last bar, UTC); NULL when not given",
                null=True,
            ),
            _c(
                "paper_divergence_bps",
                _FLOAT,
                "mirrored contenders: running divergence of the paper fills from the internal ones, bps of "
                "traded value (see table reconciliation); NULL for contenders not mirrored",
                null=True,
            ),
            *_LEADERBOARD_EXTRA,
        ),
        key=("run_id", "contender"),
        doc="one row per contender, written at run end",
        partition="YEAR",
    ),
    Table(
        "events",
        (
            _c("run_id", _STR, sym=True),
            _c("ts", _TS),
            _c("contender", _STR, "NULL for arena-wide events", null=True, sym=True),
            _c("kind", _STR, "CONTENDER_HALTED, CONTENDER_FAILED, KILL_SWITCH_TRIPPED, ...", sym=True),
            _c("reason", _STR),
            _c("details_json", _JSON, null=True),
            _SEQ,
        ),
        doc="one row per arena event",
        dedup_key=("run_id", "contender", "kind", "reason"),
    ),
    Table(
        "explanations",
        (
            _c("run_id", _STR, sym=True),
            _c("decision_id", _STR, "the decision explained (decisions.decision_id)"),
            _c("contender", _STR, "contender name", sym=True),
            _c("ts", _TS, "bar timestamp of the decision (UTC)"),
            _c(
                "explanation_json",
                _JSON,
                "list of {feature, value, contribution, method, symbol}, computed on first request",
                kind="array",
            ),
            _c("computed_at", _TS, "when it was computed (UTC)"),
        ),
        key=("decision_id",),
        doc=(
            "the explanation of a decision whose explanation was deferred (its explanation_json holds "
            "one line with method 'deferred'), computed on first request from the contender's "
            "checkpoint and recorded inputs and kept here"
        ),
    ),
    Table(
        "reconciliation",
        (
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, sym=True),
            _c("client_order_id", _STR, "the arena's order id (orders.client_order_id)"),
            _c("broker_order_id", _STR, "the paper account's order id; NULL when it never accepted one", null=True),
            _c("symbol", _STR, sym=True),
            _c("side", _STR, "BUY | SELL", sym=True),
            _c("ts", _TS, "bar time of the order's internal fill, else of its decision (UTC)"),
            _c(
                "status",
                _STR,
                "the paper order's state: FILLED, PARTIALLY_FILLED, REJECTED, CANCELLED, EXPIRED, UNFILLED",
                sym=True,
            ),
            _c("internal_quantity", _FLOAT, "units the internal ledger filled (cumulative)"),
            _c("internal_price", _FLOAT, "internal average fill price (USD per unit); NULL when unfilled", null=True),
            _c("paper_quantity", _FLOAT, "units the paper account filled (cumulative)"),
            _c("paper_price", _FLOAT, "paper average fill price (USD per unit); NULL when unfilled", null=True),
            _c("quantity_diff", _FLOAT, "paper − internal quantity (units)"),
            _c("price_diff", _FLOAT, "paper − internal average price (USD per unit); NULL unless both filled",
               null=True),
            _c("divergence_bps", _FLOAT, "|price_diff| / internal_price, bps; NULL unless both filled", null=True),
            _c(
                "running_divergence_bps",
                _FLOAT,
                "the contender's divergence so far: sum of |price_diff| × matched units over sum of "
                "internal_price × matched units, bps (0 before any match)",
            ),
            _c("rejected_orders", _INT, "the contender's orders the broker rejected so far"),
            _c("unfilled_orders", _INT, "the contender's orders the broker never filled so far (cancelled, "
               "expired, or working at the run's end)"),
            _c("reason", _STR, "the broker's message for REJECTED / CANCELLED / EXPIRED / UNFILLED", null=True),
            _c("broker_ts", _TS, "when the paper account last filled or ended the order (UTC)", null=True),
            _SEQ,
        ),
        doc="one row per change of a mirrored order's reconciliation: its paper fill against its internal fill",
        dedup_key=("run_id", "contender", "client_order_id", "status", "paper_quantity", "internal_quantity"),
    ),
    Table(
        "trials",
        (
            _c("data_sha256", _STR, "SHA-256 of the bar data the trial ran on, hex", sym=True),
            _c("first_bar", _TS, "first bar of the run (UTC)"),
            _c("last_bar", _TS, "last bar of the run (UTC)"),
            _c("trial_id", _STR, "SHA-256 (16 hex) of the canonical JSON of {class, params}: one configuration"),
            _c("run_id", _STR, sym=True),
            _c("contender", _STR, "the contender's name in that run", sym=True),
            _c("contender_class", _STR, "contender class (registry name or module:Class)"),
            _c("params_json", _JSON, "the contender's params", kind="object"),
            _c("sharpe_per_bar", _FLOAT, "per-bar (not annualized) Sharpe of its excess returns", null=True),
            _c("ts", _TS, "when the run started (UTC)"),
        ),
        doc=(
            "the trials register: one row per contender configuration per run, so the deflated Sharpe "
            "ratio can count every configuration ever tried on the same data"
        ),
        dedup_key=("run_id", "contender"),
        partition="YEAR",
    ),
    Table(
        "bars",
        (
            _c("run_id", _STR, sym=True),
            _c("symbol", _STR, sym=True),
            _c("ts", _TS, "bar timestamp (UTC), as the data source gives it"),
            _c("open", _FLOAT, "quote currency (USD for the bundled data) per unit"),
            _c("high", _FLOAT, "quote currency per unit"),
            _c("low", _FLOAT, "quote currency per unit"),
            _c("close", _FLOAT, "quote currency per unit"),
            _c("volume", _FLOAT, "units traded in the bar"),
        ),
        key=("run_id", "symbol", "ts"),
        doc="one row per symbol per bar the market-data actor published",
    ),
)

TABLES: Mapping[str, Table] = MappingProxyType({t.name: t for t in _TABLE_LIST})
"""Table name → :class:`Table`, in creation order."""

RUN_STATUSES: frozenset[str] = frozenset(
    {"running", "finished", "finished_with_failures", "failed", "killed", "interrupted", "stopped"}
)
"""Values of ``runs.status``: ``finished_with_failures`` is a run that went to its end with at
least one contender halted (by the risk rules or its own error) or failed (its process died);
``stopped`` one stopped on request (``arena stop``, SIGTERM or SIGINT) with a snapshot of every
contender and of the guardian, so that ``arena run CONFIG --resume RUN_ID`` goes on with it
(:meth:`Store.reopen_run`); ``interrupted`` one stopped by a second signal, one whose snapshot
could not be taken, or one whose driver was killed (marked by the next process that opens the
store for writing, :func:`arena.control.mark_interrupted`)."""

FINAL_RUN_STATUSES: frozenset[str] = RUN_STATUSES - {"running"}
"""Statuses ``Store.finish_run`` accepts."""

KILL_SWITCH_EVENT_PREFIX = "KILL_SWITCH"
"""``events.kind`` values starting with this are kill-switch events."""


def get_table(name: str) -> Table:
    """The table called ``name``.

    Raises:
        ValueError: naming the table and the known tables, if it is not one of them.
    """
    try:
        return TABLES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown table {name!r}; the store has tables: {', '.join(TABLES)}"
        ) from None
