// "Why?": one rendering of a decision's explanation for every method (shap, integrated_gradients,
// attention, variable_selection, rule, stacking, policy): the signed contributions as a bar chart,
// the model's predictions and target weights, the risk verdicts with their reason codes, the
// orders and their fills.
import { clear, el, encPath, getJSON, num, pct, when } from "./util.js";

const METHOD_UNITS = {
  shap: "SHAP value: the feature's push on the predicted log return away from the base value (log-return units)",
  integrated_gradients: "Integrated Gradients: attribution of the prediction (or the policy's action) to the input, against the training-mean baseline",
  attention: "attention weight of a time step t-k (a symbol's weights sum to 1)",
  variable_selection: "variable-selection weight of an input in the Temporal Fusion Transformer (fraction)",
  rule: "the rule's own signal terms, in their own units",
  stacking: "stacking weight × the model's standardized signal, in the meta-ensemble",
  policy: "the PPO policy: action mean and std, the critic's value estimate (weight units)",
};

function table(headers, rows, attrs = {}) {
  return el("table", { class: "grid", ...attrs },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

/** Rows of the signed bar chart: one per contribution, largest |contribution| first, as the API sorts them. */
export function contributionBars(explanation) {
  const max = Math.max(1e-12, ...explanation.map((c) => Math.abs(c.contribution)));
  return el("div", { class: "contribs", id: "contributions" },
    el("div", { class: "contrib-row head" }, el("span", {}, "feature"), el("span", {}, "value"), el("span", { class: "bar-cell" }, "− contribution +"), el("span", {}, "contribution"), el("span", {}, "method")),
    explanation.map((c) => {
      const w = (Math.abs(c.contribution) / max) * 50;
      const side = c.contribution >= 0 ? "pos" : "neg";
      return el("div", { class: "contrib-row", dataset: { feature: c.feature, symbol: c.symbol, contribution: String(c.contribution), method: c.method }, title: METHOD_UNITS[c.method] || c.method },
        el("span", { class: "feat" }, c.feature, c.symbol ? el("small", {}, ` ${c.symbol}`) : ""),
        el("span", { class: "num" }, c.value === null ? "—" : num(c.value, 4)),
        el("span", { class: "bar-cell" }, el("i", { class: `bar ${side}`, style: side === "pos" ? `left:50%;width:${w}%` : `left:${50 - w}%;width:${w}%` }), el("i", { class: "axis" })),
        el("span", { class: `num ${side}` }, num(c.contribution, 4)),
        el("span", { class: "method" }, c.method));
    }));
}

function kv(obj, fmt) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return el("span", { class: "muted" }, "none");
  return el("span", {}, entries.flatMap(([k, v], i) => [i ? ", " : "", el("b", {}, k), ` ${fmt(v)}`]));
}

/** Render the Why of a decision (the `GET /decisions/{id}/why` answer) into `box`. */
export function renderWhy(box, why, onClose) {
  clear(box);
  const methods = [...new Set((why.explanation || []).map((c) => c.method))];
  box.append(
    el("div", { class: "why-head" },
      el("h2", {}, "Why?"),
      el("button", { type: "button", class: "small", id: "why-close", onclick: onClose }, "close ✕")),
    el("p", { class: "mono", id: "why-decision" }, why.decision_id),
    el("p", {}, `${why.contender} on bar ${why.bar_index} (${when(why.ts)} UTC)`, why.confidence === null ? "" : `, confidence ${num(why.confidence, 3)}`, methods.length ? `; explained by ${methods.join(", ")}` : ""),
    el("h3", {}, "Top contributions"),
    why.explanation && why.explanation.length
      ? contributionBars(why.explanation)
      : el("p", { class: "muted" }, "This decision carries no explanation lines."),
    el("p", { class: "help" }, methods.map((m) => `${m}: ${METHOD_UNITS[m] || "method-specific units"}`).join(" · ")),
    el("h3", {}, "What it asked for"),
    el("p", {}, "target weights: ", kv(why.weights, (v) => pct(v))),
    why.predictions ? el("p", {}, "predictions (expected log return over its horizon): ", kv(why.predictions, (v) => pct(v, 3))) : "",
    why.orders && why.orders.length ? el("p", {}, `explicit orders: ${why.orders.map((o) => `${o.side} ${o.quantity ?? ""} ${o.symbol}`).join("; ")}`) : "",
    el("h3", {}, "Risk verdicts"),
    why.verdicts.length
      ? table(["action", "scale", "reason codes", "symbol", "details"], why.verdicts.map((v) =>
        el("tr", { dataset: { action: v.action } },
          el("td", {}, el("span", { class: `badge ${v.action.toLowerCase()}` }, v.action)),
          el("td", { class: "num" }, v.scale === null ? "—" : num(v.scale, 3)),
          el("td", {}, (v.reasons || []).length ? v.reasons.map((r) => el("code", { class: "chip" }, typeof r === "string" ? r : JSON.stringify(r))) : el("span", { class: "muted" }, "none")),
          el("td", {}, v.symbol ?? "all"),
          el("td", { class: "mono small" }, JSON.stringify(v.details ?? {})))), { id: "why-verdicts" })
      : el("p", { class: "muted" }, "No verdict recorded."),
    el("h3", {}, "Orders"),
    why.order_events.length
      ? table(["time", "order", "symbol", "status", "side", "qty / target", "filled", "reason"], why.order_events.map((o) =>
        el("tr", {},
          el("td", {}, when(o.ts)), el("td", { class: "mono small" }, o.client_order_id), el("td", {}, o.symbol), el("td", {}, o.status),
          el("td", {}, o.side ?? ""), el("td", { class: "num" }, o.quantity !== null ? num(o.quantity, 2) : o.target_weight !== null ? pct(o.target_weight) : ""),
          el("td", { class: "num" }, o.filled_quantity === null ? "" : num(o.filled_quantity, 2)), el("td", {}, o.reason ?? "")
        )), { id: "why-orders" })
      : el("p", { class: "muted" }, "No orders."),
    el("h3", {}, "Fills"),
    why.fills.length
      ? table(["time", "symbol", "side", "quantity", "price (USD)", "commission", "slippage"], why.fills.map((f) =>
        el("tr", {}, el("td", {}, when(f.ts)), el("td", {}, f.symbol), el("td", {}, f.side), el("td", { class: "num" }, num(f.quantity, 2)),
          el("td", { class: "num" }, num(f.price, 4)), el("td", { class: "num" }, num(f.commission, 2)), el("td", { class: "num" }, num(f.slippage, 2)))), { id: "why-fills" })
      : el("p", { class: "muted" }, "No fills."),
  );
}

/** Open the Why panel for a decision id (fetches `GET /decisions/{id}/why`). */
export async function openWhy(decisionId) {
  const box = document.getElementById("why");
  box.hidden = false;
  clear(box).append(el("p", { class: "muted" }, `Loading why of ${decisionId}…`));
  const close = () => { box.hidden = true; clear(box); };
  try {
    const why = await getJSON(`/decisions/${encPath(decisionId)}/why`);
    renderWhy(box, why, close);
  } catch (err) {
    clear(box).append(
      el("div", { class: "why-head" }, el("h2", {}, "Why?"), el("button", { type: "button", class: "small", id: "why-close", onclick: close }, "close ✕")),
      el("p", { class: "error" }, err.status === 503 && err.busy ? "The store is busy (a run is writing it): the explanation can be read when the run ends." : `Could not load the explanation: ${err.detail || err.message}`));
  }
}
