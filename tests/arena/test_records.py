"""Typed records and their Arrow batches: one schema, checked where they are made, the same
data as the row-dict path the stores validate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from arena.data import SampleSource, to_panel
from arena.live.feed import _records
from arena.local import replay_local
from arena.records import RECORD_TYPES, FillRecord, equity_batch, to_batch
from arena.store.arrow import arrow_schema
from arena.store.rows import to_arrow
from arena.store.schema import TABLES
from contenders import Contender, Contribution, Decision
from contenders.builtin.momentum import Momentum
from ledger import ExecutionConfig


@pytest.fixture(scope="module")
def panel():
    return to_panel(SampleSource("us_equities_daily").load())


@pytest.fixture(scope="module")
def msft10():
    frame = SampleSource("us_equities_daily").load()
    return to_panel(frame[frame["symbol"] == "MSFT"].iloc[:10])


def _runner(panel):
    """Momentum on four symbols with costs: decisions, verdicts (some scaled), orders, fills."""
    runner, _ = replay_local(Momentum(lookback=20, rebalance_bars=10), panel,
                             execution=ExecutionConfig(commission_bps=1.0, slippage_bps=2.0))
    return runner


def test_each_record_type_has_its_tables_columns_in_storage_order():
    for name, cls in RECORD_TYPES.items():
        table = TABLES[name]
        assert cls._fields == tuple(c.name for c in table.columns if not c.internal), name
        assert cls.table is table


def test_batches_equal_the_validated_row_path(panel):
    """Two identical runs: one drained as row dicts (validated by the store's per-row path), one
    as typed batches; every table is the same Arrow data."""
    rows, batches = _runner(panel).drain_records(), _runner(panel).drain_batches()
    assert set(rows) == set(batches) >= {"decisions", "risk_verdicts", "orders", "fills", "equity"}
    for name, batch in batches.items():
        table = TABLES[name]
        data = rows[name]
        expected = to_arrow(table, data if isinstance(data, list) else pd.DataFrame(dict(data)))
        assert batch.schema == arrow_schema(table)
        assert batch.equals(expected), name
        assert to_arrow(table, batch).equals(batch)


def test_the_live_feed_reads_a_batch_as_the_rows_it_was_made_from(panel):
    rows, batches = _runner(panel).drain_records(), _runner(panel).drain_batches()
    for name in ("fills", "risk_verdicts", "decisions"):
        got = _records(batches[name])
        for g, w in zip(got, rows[name], strict=True):
            w = {**w, "ts": w["ts"] // 1000 * 1000}  # stored at µs precision
            assert g.keys() == w.keys()
            for k in w:
                assert g[k] == w[k] or (isinstance(w[k], float) and math.isnan(w[k]) and math.isnan(g[k])), (name, k)


def test_a_missing_required_value_names_the_row_and_column():
    good = FillRecord("r", "c", "d", "c-1", "MSFT", "BUY", 1.0, 100.0, 0.0, 0.0, 1_700_000_000_000_000_000)
    with pytest.raises(ValueError, match=r"table 'fills', row 1, column 'price': required value is missing"):
        to_batch(TABLES["fills"], [good, good._replace(price=None)])
    with pytest.raises(ValueError, match=r"table 'fills', row 1, column 'quantity': expected double, got str"):
        to_batch(TABLES["fills"], [good, good._replace(quantity="3")])
    with pytest.raises(ValueError, match=r"table 'fills', row 0, column 'ts': expected int64 ns"):
        to_batch(TABLES["fills"], [good._replace(ts=1.5)])


def test_an_arrow_batch_is_checked_for_schema_required_values_and_key(msft10):
    table = TABLES["equity"]
    batch = equity_batch("r", "c", 0, np.array([1_000, 2_000]), np.ones(2), np.ones(2), np.zeros(2))
    assert to_arrow(table, batch).equals(batch)
    with pytest.raises(ValueError, match="must have the table's schema"):
        to_arrow(table, batch.drop_columns(["cash"]))
    nulls = batch.set_column(4, "equity", pa.array([1.0, None]))
    with pytest.raises(ValueError, match=r"table 'equity', row 1, column 'equity': required value is missing"):
        to_arrow(table, nulls)
    runner, _ = replay_local(_OneDecision(), msft10)
    rec = runner._rows["decisions"][0]
    with pytest.raises(ValueError, match=r"key \(decision_id\) = .* repeats row 0"):
        to_arrow(TABLES["decisions"], to_batch(TABLES["decisions"], [rec, rec]))


class _OneDecision(Contender):
    """All in on bar 3 with a given contribution; silent otherwise."""

    contribution: float = 1.0

    def on_bars(self, bars, portfolio):
        if bars.index == 3:
            return Decision(weights={bars.symbols[0]: 1.0},
                            explanation=[Contribution("x", 1.0, 0.5), Contribution("y", 2.0, self.contribution)])
        if bars.index == 1:
            return Decision(weights={bars.symbols[0]: 0.0}, explanation=[Contribution("z", 0.0, 0.1)])
        return None


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_contribution_halts_the_contender_at_that_decision_and_keeps_the_rest(bad, msft10):
    runner, res = replay_local(_OneDecision(contribution=bad), msft10)
    recs = runner.drain_records()
    assert res["status"] == "halted"
    assert "decision " in res["halt_reason"] and "explanation line 1 ('y'): contribution must be a finite number" \
        in res["halt_reason"]
    assert [d["bar_index"] for d in recs["decisions"]] == [1], "the decision before it is kept"
    assert [e["kind"] for e in recs["events"]] == ["CONTENDER_FAILED"]
    assert res["n_decisions"] == 1, "the bad decision is neither vetted nor sent"
