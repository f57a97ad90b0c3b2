// The contender view: candles of a chosen symbol with the contender's fills marked, its
// weights over time, its risk verdicts and halts on a timeline, its decisions in a table.
import { candles, riskTimeline, weights } from "./charts.js";
import { ApiError, clear, el, enc, getJSON, notice, num, pct, setStatus, when } from "./util.js";
import { openWhy } from "./why.js";

const PAGE = 50;

function topLine(decision) {
  const top = (decision.explanation || [])[0];
  if (!top) return "";
  return `${top.feature}${top.symbol ? ` ${top.symbol}` : ""} ${num(top.contribution, 3)} (${top.method})`;
}

export async function renderContender(view, runId, name, symbol) {
  clear(view).append(el("p", { class: "muted" }, `Loading ${name} of ${runId}…`));
  let run;
  try {
    run = await getJSON(`/runs/${enc(runId)}`);
    notice(null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) {
      notice("The store is busy: a run is writing this DuckDB file. A contender's record can be read when the run ends; the run page shows it live meanwhile.", "warn");
      clear(view).append(el("p", {}, el("a", { href: `#/run/${enc(runId)}` }, "← the run, live")));
      return null;
    }
    throw err;
  }
  const sym = symbol && run.symbols.includes(symbol) ? symbol : run.symbols[0];
  const base = `/runs/${enc(runId)}`;
  const [status, fills, verdicts, positions] = await Promise.all([
    getJSON(`${base}/status`),
    getJSON(`${base}/fills?contender=${enc(name)}`),
    getJSON(`${base}/risk-verdicts?contender=${enc(name)}&action=SCALE&action=DENY&limit=5000`),
    getJSON(`${base}/contenders/${enc(name)}/positions?max_points=2000`),
  ]);
  const mine = status.contenders.find((c) => c.contender === name) || { status: "ok" };
  setStatus([[run.status, run.status], ...(mine.status !== "ok" ? [[`${name} ${mine.status}: ${mine.reason || ""}`, mine.status]] : [])]);
  const events = status.events.filter((e) => e.contender === name || e.contender === null);

  const select = el("select", { id: "symbol-select", onchange: () => { location.hash = `#/run/${enc(runId)}/c/${enc(name)}?symbol=${enc(select.value)}`; } },
    run.symbols.map((s) => el("option", { value: s, selected: s === sym }, s)));
  const candleBox = el("div", { id: "candles" });
  const weightBox = el("div", { id: "weights" });
  const timelineBox = el("div", { id: "timeline" });
  const decisionsBox = el("div", { id: "decisions-box" });
  const symbolFills = fills.filter((f) => f.symbol === sym);
  clear(view).append(
    el("p", {}, el("a", { href: `#/run/${enc(runId)}` }, `← ${run.name}`)),
    el("h1", {}, name, mine.status !== "ok" ? el("span", { class: `badge ${mine.status}` }, `${mine.status}: ${mine.reason || ""}`) : ""),
    el("h2", {}, "Price and fills ", select),
    el("p", { class: "small muted" }, `▲ buy, ▼ sell: ${symbolFills.length} fills of ${name} in ${sym}. Click a marker (or a fill below) for why.`),
    candleBox,
    el("h2", {}, "Positions and weights over time"),
    el("p", { class: "small muted" }, "market value of each position ÷ equity, after each bar (positions from the fills, valued at the bar's close)"),
    weightBox,
    el("h2", {}, "Risk verdicts and halts"),
    el("p", { class: "small muted" }, `${verdicts.filter((v) => v.action === "SCALE").length} scaled (orange), ${verdicts.filter((v) => v.action === "DENY").length} denied (red); dashed lines: halts, releases, failures and the kill switch. Hover for reason codes, click for why.`),
    timelineBox,
    el("h2", {}, "Fills"),
    el("table", { class: "grid", id: "fills" },
      el("thead", {}, el("tr", {}, ["time", "symbol", "side", "quantity", "price (USD)", "commission (USD)", "decision"].map((h) => el("th", {}, h)))),
      el("tbody", {}, fills.slice(-200).reverse().map((f) => el("tr", { class: "clickable", dataset: { decisionId: f.decision_id || "" }, onclick: () => f.decision_id && openWhy(f.decision_id) },
        el("td", {}, when(f.ts)), el("td", {}, f.symbol), el("td", {}, f.side), el("td", { class: "num" }, num(f.quantity, 2)), el("td", { class: "num" }, num(f.price, 4)),
        el("td", { class: "num" }, num(f.commission, 2)), el("td", { class: "mono small" }, f.decision_id || "—"))))),
    el("h2", {}, "Decisions"),
    decisionsBox,
  );

  const bars = await getJSON(`${base}/bars/${enc(sym)}?max_points=5000`);
  if (bars.length) {
    candles(candleBox, bars, symbolFills, (f) => f.decision_id && openWhy(f.decision_id));
  } else {
    candleBox.append(el("p", { class: "muted" }, `This run recorded no bars of ${sym} (runs record the bars their market-data actor publishes).`));
  }
  if (positions.length) {
    weights(weightBox, positions);
    const last = new Map();
    for (const p of positions) last.set(p.symbol, p);
    weightBox.append(el("table", { class: "grid", id: "positions" },
      el("thead", {}, el("tr", {}, ["symbol", "units held", "price (USD)", "market value (USD)", "weight", "as of"].map((h) => el("th", {}, h)))),
      el("tbody", {}, [...last.values()].map((p) => el("tr", { dataset: { symbol: p.symbol } },
        el("td", {}, p.symbol), el("td", { class: "num" }, num(p.quantity, 2)), el("td", { class: "num" }, num(p.price, 4)),
        el("td", { class: "num" }, num(p.market_value, 2)), el("td", { class: "num" }, pct(p.weight, 1)), el("td", {}, when(p.ts)))))));
  } else weightBox.append(el("p", { class: "muted" }, "No positions: this contender never traded."));
  const span = [new Date(run.started_at).getTime(), Date.now()];
  const times = [...positions.map((p) => p.ts), ...fills.map((f) => f.ts), ...verdicts.map((v) => v.ts), ...events.map((e) => e.ts)].map((t) => new Date(t).getTime());
  if (times.length) { span[0] = Math.min(...times); span[1] = Math.max(...times); }
  riskTimeline(timelineBox, verdicts, events, span, (v) => v.decision_id && openWhy(v.decision_id));

  let offset = 0;
  const loadDecisions = async () => {
    const rows = await getJSON(`${base}/decisions?contender=${enc(name)}&limit=${PAGE}&offset=${offset}`);
    clear(decisionsBox).append(
      el("table", { class: "grid", id: "decisions" },
        el("thead", {}, el("tr", {}, ["time", "bar", "target weights", "confidence", "top contribution", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows.map((d) => el("tr", { class: "clickable", dataset: { decisionId: d.decision_id }, onclick: () => openWhy(d.decision_id) },
          el("td", {}, when(d.ts)), el("td", { class: "num" }, d.bar_index),
          el("td", {}, Object.entries(d.weights || {}).map(([s, w]) => `${s} ${pct(w, 1)}`).join(", ") || "—"),
          el("td", { class: "num" }, d.confidence === null ? "—" : num(d.confidence, 3)),
          el("td", {}, topLine(d)), el("td", {}, el("button", { type: "button", class: "small" }, "why?")))))),
      el("p", {},
        el("button", { type: "button", class: "small", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); loadDecisions(); } }, "← earlier"), " ",
        `decisions ${offset + 1}–${offset + rows.length}`, " ",
        el("button", { type: "button", class: "small", id: "decisions-next", disabled: rows.length < PAGE, onclick: () => { offset += PAGE; loadDecisions(); } }, "later →")));
  };
  await loadDecisions();
  return null;
}
