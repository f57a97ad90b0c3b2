// Sweep heat maps: a leaderboard metric (the run's ranking by default) over each sweep's two
// parameters, from GET /runs/{run_id}/sweeps; one coloured table per sweep.
import { clear, el, num } from "./util.js";

/** Background colour of a value within [lo, hi]: dark blue (low) to yellow (high). */
function colour(x, lo, hi) {
  const t = hi > lo ? (x - lo) / (hi - lo) : 0.5;
  return `hsl(${Math.round(240 - 180 * t)}, 70%, ${Math.round(30 + 40 * t)}%)`;
}

/**
 * @param {HTMLElement} box
 * @param {{group: string, metric: string, row_param: string|null, col_param: string|null,
 *          rows: any[], columns: any[], values: (number|null)[][], note: string}[]} grids
 */
export function renderSweeps(box, grids) {
  clear(box);
  box.hidden = !grids.length;
  for (const g of grids) {
    box.append(el("h3", {}, `Sweep ${g.group}: ${g.metric}`));
    if (!g.values.length) {
      box.append(el("p", { class: "muted" }, g.note));
      continue;
    }
    const flat = g.values.flat().filter((x) => x !== null);
    const lo = Math.min(...flat);
    const hi = Math.max(...flat);
    const head = el("tr", {}, el("th", {}, `${g.row_param} \\ ${g.col_param}`), g.columns.map((c) => el("th", {}, String(c))));
    const body = [...g.rows.keys()].reverse().map((i) => el("tr", {}, el("th", {}, String(g.rows[i])),
      g.values[i].map((x) => el("td", {
        class: "num heat", dataset: { value: x === null ? "" : String(x) },
        style: x === null ? "" : `background:${colour(x, lo, hi)};color:${x < (lo + hi) / 2 ? "#fff" : "#000"}`,
      }, x === null ? "–" : num(x, 2)))));
    box.append(el("table", { class: "grid sweep", id: `sweep-${g.group}` }, el("thead", {}, head), el("tbody", {}, body)));
  }
}
