// The leaderboard table: recorded (end of run, ranked by the run's rank_by, Sharpe by default) or live standings
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
  dsr_all: "DSR all: the deflated Sharpe ratio with N = every distinct contender configuration (class + params) ever run on these bars — the honest N when many variants were tried over time (arena trials RUN_ID).",
  excess_return: "Return in excess of the benchmark's total return over the same bars.",
  alpha: "Alpha (Jensen 1968): the return left after the part explained by the benchmark (beta × its excess return), annualized.",
  beta: "Beta: slope of the regression of the contender's excess returns on the benchmark's.",
  information_ratio: "Information ratio (Grinold & Kahn): mean return in excess of the benchmark / its standard deviation (tracking error), annualized.",
  var_95: "VaR 95 %: the loss per bar not exceeded on 95 % of bars (historical).",
  beats_benchmark: "Beats the benchmark: Romano–Wolf StepM (2005) finds it better than the benchmark at 5 %, counting every contender of the run.",
  in_mcs: "In the Model Confidence Set (Hansen, Lunde & Nason 2011): at 95 %, it cannot be told apart from the best contender.",
  spa: "SPA (Hansen 2005): the p-value of 'no contender beats the benchmark', counting every contender tried; below 0.05, the best one really beats it.",
};

const RANK_NAMES = {
  sharpe: "annualized Sharpe ratio", sortino: "annualized Sortino ratio", calmar: "Calmar ratio",
  total_return: "total return", cagr: "compound annual growth rate", psr: "probabilistic Sharpe ratio",
  dsr: "deflated Sharpe ratio (N = contenders)", dsr_all: "deflated Sharpe ratio (N = every trial on this data)",
  information_ratio: "information ratio against the benchmark", alpha: "alpha against the benchmark",
  excess_return: "return in excess of the benchmark's",
};

const yesNo = (x) => (x === null || x === undefined ? "–" : x ? "yes" : "no");

/** The recorded leaderboard's ranking and significance, in words. */
function rankedBy(rows) {
  const key = (rows.find((r) => r.rank_by) || {}).rank_by || "sharpe";
  return `Ranked by ${RANK_NAMES[key] || key}, best first (None last). Click a column to sort by it.`;
}

function significance(rows) {
  const first = rows.find((r) => r.status !== "failed") || {};
  if (!first.benchmark) return "No benchmark: set benchmark in the config, or add a buy_and_hold contender.";
  if (first.spa_pvalue === null || first.spa_pvalue === undefined) return `Against ${first.benchmark}: too few bars for the significance tests.`;
  const beats = rows.filter((r) => r.beats_benchmark).map((r) => r.contender);
  const n = first.n_trials || rows.length;
  return `Does any contender beat ${first.benchmark}, all ${n} counted? SPA p-value ${num(first.spa_pvalue, 3)} (Hansen 2005); ` +
    `beat it (StepM): ${beats.length ? beats.join(", ") : "none"}. DSR counts N = ${n} contenders; DSR all counts N = ${first.n_trials_all ?? "–"} trials on these bars.`;
}

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
  ["dsr_all", "DSR all", (x) => num(x, 3)],
  ["pbo", "PBO", (x) => num(x, 3)],
  ["excess_return", "vs bench", pct],
  ["alpha", "alpha", pct],
  ["beta", "beta", (x) => num(x, 2)],
  ["information_ratio", "IR", (x) => num(x, 2)],
  ["var_95", "VaR 95", pct],
  ["beats_benchmark", "beats", yesNo],
  ["in_mcs", "MCS", yesNo],
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
      : rankedBy(rows)),
    opts.live ? "" : el("p", { class: "significance", id: "significance", title: HELP.spa }, significance(rows)),
    el("table", { class: "grid leaderboard", id: "leaderboard" }, el("thead", {}, head), el("tbody", {}, body)),
    opts.live ? "" : el("p", { class: "help", id: "stats-help" },
      el("b", {}, "PSR"), ` — ${HELP.psr.slice(5)} `, el("b", {}, "DSR"), ` — ${HELP.dsr.slice(5)} `, el("b", {}, "PBO"), ` — ${HELP.pbo.slice(5)}`),
  );
}
