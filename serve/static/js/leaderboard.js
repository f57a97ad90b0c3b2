// The leaderboard table: recorded (end of run, ranked by annualized Sharpe) or live standings
// (while a run goes on, ranked by total return so far). Sortable by any column.
import { clear, el, int, num, pct, usd } from "./util.js";

export const HELP = {
  sharpe: "Sharpe ratio: mean excess return / its standard deviation, annualized with the run's bars per year.",
  sortino: "Sortino ratio: like Sharpe, with only the downside deviation in the denominator (annualized).",
  calmar: "Calmar ratio: annual growth rate (CAGR) / maximum drawdown.",
  max_drawdown: "Maximum drawdown: the deepest peak-to-trough fall of equity (fraction).",
  psr: "PSR, probabilistic Sharpe ratio (Bailey & López de Prado 2012): the probability that the true Sharpe ratio is above 0, given the track record's length, skewness and kurtosis.",
  dsr: "DSR, deflated Sharpe ratio (Bailey & López de Prado 2014): the PSR against the best Sharpe ratio expected by luck from this many contenders — the multiple-testing correction. Near 1: unlikely to be luck.",
  pbo: "PBO, probability of backtest overfitting (Bailey et al. 2017, CSCV): how often the contender best in-sample ranks below the median out-of-sample. One value per run; above 0.5 means picking the winner here is worse than a coin toss.",
  ic: "IC, information coefficient: mean correlation of predicted and realized forward returns (contenders that predict).",
  hit_rate: "Hit rate: fraction of predictions with the realized return's sign.",
  total_return: "Total return: final equity / starting capital − 1.",
};

const RECORDED = [
  ["rank", "#", int],
  ["contender", "contender", null],
  ["status", "status", null],
  ["final_equity", "final equity", usd],
  ["total_return", "return", pct],
  ["sharpe", "Sharpe", (x) => num(x, 2)],
  ["sortino", "Sortino", (x) => num(x, 2)],
  ["calmar", "Calmar", (x) => num(x, 2)],
  ["max_drawdown", "max DD", pct],
  ["trades", "trades", int],
  ["psr", "PSR", (x) => num(x, 3)],
  ["dsr", "DSR", (x) => num(x, 3)],
  ["pbo", "PBO", (x) => num(x, 3)],
  ["ic", "IC", (x) => num(x, 3)],
  ["hit_rate", "hit rate", pct],
];

const LIVE = [
  ["rank", "#", int],
  ["contender", "contender", null],
  ["status", "status", null],
  ["equity", "equity", usd],
  ["total_return", "return so far", pct],
  ["max_drawdown", "max DD so far", pct],
  ["bars", "bars", int],
];

/**
 * @param {HTMLElement} box
 * @param {object[]} rows - leaderboard rows (recorded) or live standings rows
 * @param {{live: boolean, bench: Set<string>, failed: Map<string, string>, link: (name) => string}} opts
 */
export function renderLeaderboard(box, rows, opts) {
  clear(box);
  const columns = opts.live ? LIVE : RECORDED;
  const state = box._sort || { key: "rank", dir: 1 };
  box._sort = state;
  const sorted = [...rows].sort((a, b) => {
    const x = a[state.key];
    const y = b[state.key];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * state.dir;
  });
  const head = el("tr", {}, columns.map(([key, label]) =>
    el("th", { dataset: { key }, title: HELP[key] || "click to sort", "aria-sort": state.key === key ? (state.dir > 0 ? "ascending" : "descending") : "none",
      class: HELP[key] ? "has-help sortable" : "sortable",
      onclick: () => { state.dir = state.key === key ? -state.dir : key === "rank" || key === "contender" ? 1 : -1; state.key = key; renderLeaderboard(box, rows, opts); } },
    label, state.key === key ? (state.dir > 0 ? " ▲" : " ▼") : "")));
  const body = sorted.map((row) => el("tr", { dataset: { contender: row.contender, status: row.status } },
    columns.map(([key, , fmt]) => {
      const value = row[key];
      if (key === "contender") {
        return el("td", { dataset: { key } }, el("a", { href: opts.link(row.contender) }, row.contender),
          opts.bench.has(row.contender) ? el("span", { class: "badge bench", title: "the buy-and-hold benchmark" }, "benchmark") : "");
      }
      if (key === "status") {
        const failed = opts.failed.has(row.contender) && row.status !== "failed";
        const reason = row.halt_reason || opts.failed.get(row.contender) || "";
        return el("td", { dataset: { key, value: row.status } }, el("span", { class: `badge ${row.status}` }, row.status),
          failed ? el("span", { class: "badge failed", title: "the contender raised an error and was stopped" }, "failed") : "",
          reason ? el("small", { class: "reason" }, ` ${reason}`) : "");
      }
      return el("td", { class: "num", dataset: { key, value: value === null || value === undefined ? "" : String(value) } }, fmt ? fmt(value) : value);
    })));
  box.append(
    el("p", { class: "ranked-by", id: "ranked-by" }, opts.live
      ? "Live standings, ranked by total return so far (the final leaderboard, written at the run's end, ranks by annualized Sharpe)."
      : "Ranked by annualized Sharpe ratio, best first (None last). Click a column to sort by it."),
    el("table", { class: "grid leaderboard", id: "leaderboard" }, el("thead", {}, head), el("tbody", {}, body)),
    opts.live ? "" : el("p", { class: "help", id: "stats-help" },
      el("b", {}, "PSR"), ` — ${HELP.psr.slice(5)} `, el("b", {}, "DSR"), ` — ${HELP.dsr.slice(5)} `, el("b", {}, "PBO"), ` — ${HELP.pbo.slice(5)}`),
  );
}
