# %% [markdown]
# # model-arena in a notebook
#
# Cells in the percent format (`# %%`): open this file in Jupyter (with jupytext) or VS Code,
# or run it as a script: `.venv/bin/python docs/notebook_example.py`. The test suite runs it
# (tests/arena/conftest.py), so every line here works.
#
# `ARENA_EXAMPLE_STORE` and `ARENA_EXAMPLE_OUT` choose where the run and its files go.

# %%
import os
from pathlib import Path

import arena

store = os.environ.get("ARENA_EXAMPLE_STORE", "duckdb://runs/notebook.duckdb")
out = Path(os.environ.get("ARENA_EXAMPLE_OUT", "runs/notebook_example"))
config = Path(__file__).resolve().parent.parent / "configs" / "local.yaml"

# %% [markdown]
# Run the `make run` arena on a shorter span of its data, with a tighter cap on each
# position (20 % of equity: the risk guardian scales larger orders), into our own store.
# Overrides are config keys (`arena.OVERRIDABLE_KEYS`); sections such as `data` or `risk`
# are merged into the config's.

# %%
run = arena.run(config, store=store, seed=7, name="notebook", data={"since": "2015-06-01"},
                risk={"max_position_weight": 0.2}, artifacts=str(out / "artifacts"))
print(run)

# %% [markdown]
# The leaderboard: the same rows as `arena leaderboard RUN_ID --json`, ranked by Sharpe.
# `bench` is the buy-and-hold benchmark.

# %%
board = run.leaderboard
print(board[["rank", "contender", "final_equity", "total_return", "sharpe", "max_drawdown", "psr", "dsr"]])

# %% [markdown]
# Equity curves (timestamp × contender, USD) and their drawdowns (fractions).

# %%
equity = run.equity
print(equity.tail(3).round(2))
print(run.drawdown.min().round(4))

# %% [markdown]
# Trades (rebuilt from the fills with the ledger's position book), fills and decisions.

# %%
trades = run.trades
print(trades.groupby("contender")["pnl"].agg(["count", "sum"]).round(2))
print(len(run.fills), "fills,", len(run.decisions), "decisions")

# %% [markdown]
# Why did a contender trade? Take the decision behind its last fill.

# %%
last_fill = run.fills[run.fills.contender == "sma_10_30"].iloc[-1]
why = run.why(last_fill.decision_id)
for line in why["explanation"][:3]:  # top contributions first
    print(line["feature"], line["value"], line["contribution"], line["method"])
print([v["action"] for v in why["verdicts"]], [f["side"] for f in why["fills"]])

# %% [markdown]
# A figure for slides (a matplotlib Figure: a notebook shows it), and the HTML report to send.

# %%
out.mkdir(parents=True, exist_ok=True)
fig = run.plot()
fig.savefig(out / "equity.png", dpi=100)
report = run.report(out / "report.html")
print("report:", report)

# %% [markdown]
# Later, or in another notebook: open the recorded run by its id.

# %%
again = arena.open_run(run.run_id, store=store)
assert again.leaderboard.equals(board)
