// Charts of the arena page, drawn with TradingView's Lightweight Charts (vendored, see /static/vendor).
import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  LineSeries,
  LineStyle,
  PriceScaleMode,
  createChart,
  createSeriesMarkers,
} from "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";
import { BENCH_COLOR, PALETTE, chartTime, clear, el, num, pct } from "./util.js";

const BASE = {
  layout: { background: { type: ColorType.Solid, color: "#ffffff" }, textColor: "#202124", attributionLogo: true },
  grid: { vertLines: { color: "#f1f3f4" }, horzLines: { color: "#f1f3f4" } },
  crosshair: { mode: CrosshairMode.Normal },
  timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#dadce0" },
  rightPriceScale: { borderColor: "#dadce0" },
  autoSize: true,
};

/** Points of a series with strictly increasing times (the chart's requirement): a later point at the same time wins. */
function increasing(points) {
  const out = [];
  for (const p of points) {
    if (out.length && out[out.length - 1].time >= p.time) {
      if (out[out.length - 1].time === p.time) out[out.length - 1] = p;
      continue;
    }
    out.push(p);
  }
  return out;
}

/**
 * One chart of every contender's equity rebased to its capital (1.0 = the starting capital), with
 * a drawdown pane under it, a log/linear switch and a legend that shows every contender at the
 * hovered time. The benchmark is drawn dashed and grey.
 *
 * @param {HTMLElement} box - container (gets the chart, the legend and the switch).
 * @param {{name: string, capital: number, bench: boolean}[]} contenders
 */
export class EquityChart {
  constructor(box, contenders) {
    this.box = clear(box);
    this.contenders = contenders;
    this.legend = el("div", { class: "legend", id: "equity-legend" });
    this.scaleButton = el("button", { type: "button", id: "log-switch", class: "small", onclick: () => this.toggleLog() }, "log scale");
    const holder = el("div", { class: "chart tall", id: "equity-chart" });
    box.append(el("div", { class: "chart-tools" }, this.scaleButton, el("span", { class: "muted" }, "equity ÷ starting capital (top), drawdown from the running peak (bottom); hover for every contender")), holder, this.legend);
    this.chart = createChart(holder, BASE);
    this.series = new Map();
    this.drawdown = new Map();
    this.peaks = new Map();
    this.log = false;
    contenders.forEach((c, i) => {
      const color = c.bench ? BENCH_COLOR : PALETTE[i % PALETTE.length];
      const style = c.bench ? { lineStyle: LineStyle.Dashed, lineWidth: 3 } : { lineWidth: 2 };
      const line = this.chart.addSeries(LineSeries, { color, title: c.name, priceLineVisible: false, lastValueVisible: true, ...style,
        priceFormat: { type: "custom", formatter: (v) => `×${v.toFixed(3)}` } }, 0);
      const dd = this.chart.addSeries(LineSeries, { color, lineWidth: 1, priceLineVisible: false, lastValueVisible: false,
        lineStyle: c.bench ? LineStyle.Dashed : LineStyle.Solid, priceFormat: { type: "custom", formatter: (v) => `${(v * 100).toFixed(1)} %` } }, 1);
      this.series.set(c.name, line);
      this.drawdown.set(c.name, dd);
      this.peaks.set(c.name, -Infinity);
    });
    const panes = this.chart.panes();
    if (panes[1]) panes[1].setStretchFactor(0.35);
    this.chart.subscribeCrosshairMove((param) => this.showLegend(param));
    this.showLegend(null);
  }

  /** Draw a contender's recorded curve: [{ts, equity}] in USD. */
  setCurve(name, points, capital) {
    const line = this.series.get(name);
    if (!line) return;
    let peak = -Infinity;
    const eq = [];
    const dd = [];
    for (const p of points) {
      if (p.equity === null || p.equity === undefined) continue;
      const v = p.equity / capital;
      peak = Math.max(peak, v);
      eq.push({ time: chartTime(p.ts), value: v });
      dd.push({ time: chartTime(p.ts), value: peak > 0 ? v / peak - 1 : 0 });
    }
    line.setData(increasing(eq));
    this.drawdown.get(name).setData(increasing(dd));
    this.peaks.set(name, peak);
    this.chart.timeScale().fitContent();
    this.showLegend(null);
  }

  /** Append a live point (ts ISO, equity USD); points not later than the last one are ignored. */
  addPoint(name, ts, equity, capital) {
    const line = this.series.get(name);
    if (!line || equity === null || equity === undefined || !capital) return false;
    const time = chartTime(ts);
    const data = line.data();
    if (data.length && data[data.length - 1].time >= time) return false;
    const v = equity / capital;
    const peak = Math.max(this.peaks.get(name), v);
    this.peaks.set(name, peak);
    line.update({ time, value: v });
    this.drawdown.get(name).update({ time, value: peak > 0 ? v / peak - 1 : 0 });
    this.chart.timeScale().fitContent();
    this.showLegend(null);
    return true;
  }

  /** Time (ISO) of a contender's last point, or null. */
  lastTime(name) {
    const data = this.series.get(name)?.data() || [];
    return data.length ? new Date(data[data.length - 1].time * 1000).toISOString() : null;
  }

  toggleLog() {
    this.log = !this.log;
    this.chart.priceScale("right", 0).applyOptions({ mode: this.log ? PriceScaleMode.Logarithmic : PriceScaleMode.Normal });
    this.scaleButton.textContent = this.log ? "linear scale" : "log scale";
    this.box.dataset.scale = this.log ? "log" : "linear";
  }

  /** Series drawn and their point counts (used by the page's tests). */
  info() {
    return [...this.series.entries()].map(([name, s]) => ({ name, points: s.data().length }));
  }

  showLegend(param) {
    clear(this.legend);
    const at = param && param.time !== undefined ? param.time : null;
    this.legend.append(el("span", { class: "legend-time" }, at === null ? "latest" : new Date(at * 1000).toISOString().slice(0, 16).replace("T", " ")));
    this.contenders.forEach((c) => {
      const line = this.series.get(c.name);
      let value = null;
      let drawdown = null;
      if (at !== null) {
        value = param.seriesData.get(line)?.value ?? null;
        drawdown = param.seriesData.get(this.drawdown.get(c.name))?.value ?? null;
      } else {
        const data = line.data();
        const dd = this.drawdown.get(c.name).data();
        value = data.length ? data[data.length - 1].value : null;
        drawdown = dd.length ? dd[dd.length - 1].value : null;
      }
      const color = line.options().color;
      this.legend.append(
        el("span", { class: "legend-item", dataset: { contender: c.name } },
          el("i", { style: `background:${color}` }),
          `${c.name}${c.bench ? " (benchmark)" : ""}: `,
          el("b", {}, value === null ? "—" : `×${value.toFixed(4)}`),
          value === null ? "" : ` (${pct(value - 1)}; ${num(value * c.capital)} USD; dd ${pct(drawdown ?? 0, 1)})`),
      );
    });
  }
}

/**
 * Candles of one symbol with a contender's fills marked (▲ buy below the bar, ▼ sell above).
 * `onFill(fill)` is called when a marker is clicked.
 */
export function candles(box, bars, fills, onFill) {
  clear(box);
  const holder = el("div", { class: "chart", id: "candles-chart" });
  box.append(holder);
  const chart = createChart(holder, BASE);
  const series = chart.addSeries(CandlestickSeries, { upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false });
  series.setData(increasing(bars.map((b) => ({ time: chartTime(b.ts), open: b.open, high: b.high, low: b.low, close: b.close }))));
  const markers = fills.map((f, i) => ({
    time: chartTime(f.ts),
    position: f.side === "BUY" ? "belowBar" : "aboveBar",
    shape: f.side === "BUY" ? "arrowUp" : "arrowDown",
    color: f.side === "BUY" ? "#1b5e20" : "#b71c1c",
    text: `${f.side === "BUY" ? "B" : "S"} ${num(f.quantity, 0)}`,
    id: String(i),
  })).sort((a, b) => a.time - b.time);
  createSeriesMarkers(series, markers);
  chart.subscribeClick((param) => {
    if (param.hoveredObjectId !== undefined && param.hoveredObjectId !== null) {
      const fill = fills[Number(param.hoveredObjectId)];
      if (fill) onFill(fill);
      return;
    }
    if (param.time === undefined) return;
    const near = fills.find((f) => chartTime(f.ts) === param.time);
    if (near) onFill(near);
  });
  chart.timeScale().fitContent();
  box.dataset.markers = String(markers.length);
  return chart;
}

/** Weight (fraction of equity) of every symbol a contender held, over time. */
export function weights(box, points) {
  clear(box);
  const holder = el("div", { class: "chart short", id: "weights-chart" });
  box.append(holder);
  const chart = createChart(holder, BASE);
  const symbols = [...new Set(points.map((p) => p.symbol))];
  symbols.forEach((symbol, i) => {
    const s = chart.addSeries(LineSeries, { color: PALETTE[(i + 3) % PALETTE.length], title: symbol, lineWidth: 2,
      priceFormat: { type: "custom", formatter: (v) => `${(v * 100).toFixed(1)} %` } });
    s.setData(increasing(points.filter((p) => p.symbol === symbol && p.weight !== null).map((p) => ({ time: chartTime(p.ts), value: p.weight }))));
  });
  chart.timeScale().fitContent();
  return chart;
}

/**
 * The risk timeline: each SCALE / DENY verdict a tick (orange / red, its reason codes on hover),
 * each halt, suspension, failure or kill switch a labelled line, over the run's time span.
 * `onVerdict(verdict)` is called when a tick is clicked.
 */
export function riskTimeline(box, verdicts, events, span, onVerdict) {
  clear(box);
  const [t0, t1] = span;
  const width = 1000;
  const height = 64;
  const x = (iso) => (t1 > t0 ? ((new Date(iso).getTime() - t0) / (t1 - t0)) * (width - 20) + 10 : width / 2);
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "timeline");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("id", "risk-timeline");
  const add = (tag, attrs, title) => {
    const node = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (title) {
      const t = document.createElementNS(svgNS, "title");
      t.textContent = title;
      node.append(t);
    }
    svg.append(node);
    return node;
  };
  add("line", { x1: 10, x2: width - 10, y1: 40, y2: 40, stroke: "#bdc1c6" });
  for (const v of verdicts) {
    const color = v.action === "DENY" ? "#c62828" : "#ef6c00";
    const tick = add("rect", { x: x(v.ts) - 1.5, y: v.action === "DENY" ? 28 : 32, width: 3, height: v.action === "DENY" ? 24 : 16, fill: color, class: "tick", "data-action": v.action },
      `${v.ts} ${v.action}${v.scale !== null && v.action === "SCALE" ? ` ×${num(v.scale, 3)}` : ""}: ${(v.reasons || []).join(", ") || "no reason code"}`);
    tick.addEventListener("click", () => onVerdict(v));
  }
  for (const e of events) {
    const color = e.kind.startsWith("KILL_SWITCH") ? "#000000" : e.kind === "CONTENDER_RELEASED" ? "#2e7d32" : "#b71c1c";
    add("line", { x1: x(e.ts), x2: x(e.ts), y1: 4, y2: 60, stroke: color, "stroke-width": 2, "stroke-dasharray": "4 2", class: "event-line", "data-kind": e.kind }, `${e.ts} ${e.kind}: ${e.reason}`);
    add("text", { x: x(e.ts) + 3, y: 14, "font-size": 11, fill: color }, `${e.kind.replace("CONTENDER_", "").replace("_", " ").toLowerCase()}: ${e.reason}`).textContent =
      `${e.kind.replace("CONTENDER_", "").replaceAll("_", " ").toLowerCase()}: ${e.reason}`;
  }
  box.append(svg);
}
