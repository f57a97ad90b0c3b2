// The run view: every contender's equity (rebased to its capital) with drawdown, the
// leaderboard, the run's status, and — while the run goes on — live updates from its events.
import { EquityChart } from "./charts.js";
import { renderLeaderboard } from "./leaderboard.js";
import { renderSweeps } from "./sweep.js";
import { LiveFeed } from "./live.js";
import { ApiError, clear, el, enc, getJSON, notice, num, setStatus, short, when } from "./util.js";
import { openWhy } from "./why.js";

const MAX_POINTS = 2000;

/** A contender's curve; [] for one with no records yet (404 while a run starts). */
const curve = (runId, name, query) =>
  getJSON(`/runs/${enc(runId)}/contenders/${enc(name)}/equity?${query}`).catch((err) => (err.status === 404 ? [] : Promise.reject(err)));

/** The run's contenders: those configured (known from the start), then any other with records. */
function contenderNames(run) {
  const configured = (run?.config?.contenders || []).map((c) => c.name).filter(Boolean);
  return [...new Set([...configured, ...(run?.contenders || [])])];
}

function benchNames(config) {
  return new Set((config?.contenders || []).filter((c) => c.class === "buy_and_hold" || c.name === "bench").map((c) => c.name));
}

function statusParts(status, runStatus) {
  const parts = [[runStatus, runStatus === "running" ? "running" : runStatus]];
  if (status?.kill_switch_tripped) parts.push([`kill switch tripped: ${status.kill_switch_reason || ""}`, "killed"]);
  for (const c of status?.contenders || []) {
    if (c.status !== "ok") parts.push([`${c.contender} ${c.status}: ${c.reason || ""}`, c.status]);
  }
  return parts;
}

export async function renderRun(view, runId, page) {
  clear(view).append(el("p", { class: "muted" }, `Loading run ${runId}…`));
  let run = null;
  let liveOnly = false;
  try {
    run = await getJSON(`/runs/${enc(runId)}`);
    notice(null);
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 503 && err.status !== 404)) throw err;
    liveOnly = true;
    notice(err.busy
      ? "The store is busy: this run is writing its DuckDB file, which cannot be read until the run ends (a QuestDB store answers during runs). Showing the run from its live event stream: equity at each leaderboard snapshot, standings and fills; the full record appears when the run ends."
      : err.status === 404 ? "This run is not in the store (yet); showing it from its live event stream." : `The store cannot be read (${err.detail}); showing the live event stream only.`, "warn");
  }
  const state = {
    runId,
    run,
    contenders: contenderNames(run),
    capital: run?.config?.capital ?? null,
    bench: benchNames(run?.config),
    failed: new Map(),
    chart: null,
    recordedBoard: null,
    liveRows: null,
    status: null,
    fills: 0,
    feed: null,
    liveOnly,
  };
  const head = el("div", { class: "run-head" });
  const killBox = el("div", { id: "kill-switch-box" });
  const chartBox = el("section", { class: "card", id: "equity-card" });
  const boardBox = el("section", { class: "card", id: "leaderboard-card" });
  const liveBox = el("section", { class: "card", id: "live-card", hidden: true });
  const eventsBox = el("section", { class: "card", id: "events-card", hidden: true });
  const sweepBox = el("section", { class: "card", id: "sweep-card", hidden: true });
  clear(view).append(head, killBox, el("h2", {}, "Equity of every contender"), chartBox, el("h2", {}, "Leaderboard"), boardBox, sweepBox, liveBox, eventsBox);

  const drawHead = (started) => {
    clear(head);
    const r = run || started || {};
    head.append(el("h1", {}, r.name || runId), el("p", { class: "mono small", id: "run-id" }, runId));
    if (run) {
      head.append(el("p", { class: "small" },
        `${when(run.started_at)} → ${run.ended_at ? when(run.ended_at) : "…"} UTC · ${run.n_bars === null ? "running" : `${run.n_bars} bars`} · symbols ${run.symbols.join(", ")} · capital ${num(state.capital, 0)} USD per contender · seed ${run.seed ?? "—"} · code ${run.code_version} · data sha256 `,
        el("span", { class: "mono", title: run.data_sha256 }, short(run.data_sha256, 16))));
    } else if (started) {
      head.append(el("p", { class: "small" }, `started ${when(started.started_at)} UTC · symbols ${(started.symbols || []).join(", ")} · capital ${num(started.capital, 0)} USD per contender · seed ${started.seed ?? "—"}`));
    }
    head.append(el("p", {}, state.contenders.map((name) => el("a", { class: "chip", href: `#/run/${enc(runId)}/c/${enc(name)}` }, `${name} →`))));
  };

  const makeChart = () => {
    const capital = state.capital || 1;
    state.chart = new EquityChart(chartBox, state.contenders.map((name) => ({ name, capital, bench: state.bench.has(name) })));
    page.equity = state.chart;
  };

  const drawBoard = () => {
    const opts = { bench: state.bench, failed: state.failed, link: (name) => `#/run/${enc(runId)}/c/${enc(name)}` };
    if (state.recordedBoard && state.recordedBoard.length) renderLeaderboard(boardBox, state.recordedBoard, { ...opts, live: false });
    else if (state.liveRows) renderLeaderboard(boardBox, state.liveRows, { ...opts, live: true });
    else clear(boardBox).append(el("p", { class: "muted", id: "leaderboard-empty" }, "No leaderboard yet: it is written when the run ends; live standings appear while it runs."));
  };

  const drawEvents = () => {
    clear(eventsBox);
    const events = state.status?.events || [];
    eventsBox.hidden = !events.length;
    if (!events.length) return;
    eventsBox.append(el("h2", {}, "Arena events"), el("ul", { id: "arena-events" }, events.map((e) =>
      el("li", {}, `${when(e.ts)} `, el("b", {}, e.kind), e.contender ? ` ${e.contender}` : "", `: ${e.reason}`))));
  };

  const loadRecorded = async () => {
    const [board, status] = await Promise.all([
      getJSON(`/runs/${enc(runId)}/leaderboard`),
      getJSON(`/runs/${enc(runId)}/status`),
    ]);
    state.recordedBoard = board;
    state.status = status;
    for (const c of status.contenders) if (c.status === "failed") state.failed.set(c.contender, c.reason || "");
    setStatus(statusParts(status, status.status));
    const curves = await Promise.all(state.contenders.map((name) => curve(runId, name, `max_points=${MAX_POINTS}`)));
    if (!state.capital) {
      const firsts = curves.map((c) => c[0]?.equity).filter((x) => x);
      state.capital = firsts.length ? firsts[0] : 1;
    }
    makeChart();
    state.contenders.forEach((name, i) => state.chart.setCurve(name, curves[i], state.capital));
    drawBoard();
    drawEvents();
    if ((run?.config?.contenders || []).some((c) => c.sweep_group)) renderSweeps(sweepBox, await getJSON(`/runs/${enc(runId)}/sweeps`));
  };

  const drawKillSwitch = (running) => {
    clear(killBox);
    if (!page.token || !running) return;
    const reason = el("input", { type: "text", id: "kill-reason", placeholder: "reason (required)", size: 40 });
    const out = el("span", { id: "kill-result" });
    killBox.append(el("div", { class: "card danger" }, el("b", {}, "Kill switch "), "— from then on every exposure-increasing order of every contender is denied (reductions pass). ", reason, " ",
      el("button", { type: "button", id: "kill-button", class: "danger", onclick: async () => {
        if (!reason.value.trim()) { out.textContent = "give a reason"; return; }
        const answer = await fetch("/kill-switch", { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${page.token}` }, body: JSON.stringify({ reason: reason.value.trim(), run_id: runId }) });
        const body = await answer.json();
        out.textContent = answer.ok ? `tripped: ${body.tripped.join(", ")}` : `not tripped (${answer.status}): ${body.detail}`;
      } }, "trip kill switch"), " ", out));
  };

  // A store that answers during the run (QuestDB): each snapshot fetches the bars recorded since
  // the chart's last point, at full resolution; the snapshot's own point fills in when that fails.
  let refreshing = false;
  const refreshCurves = async (rows) => {
    if (refreshing) return;
    refreshing = true;
    try {
      await Promise.all(state.contenders.map(async (name) => {
        const since = state.chart.lastTime(name);
        const query = `max_points=${MAX_POINTS}${since ? `&start=${enc(since)}` : ""}`;
        const points = await curve(runId, name, query);
        for (const p of points) state.chart.addPoint(name, p.ts, p.equity, state.capital);
      }));
    } catch (_) {
      for (const row of rows) if (row.ts) state.chart.addPoint(row.contender, row.ts, row.equity, state.capital);
    } finally {
      refreshing = false;
    }
  };

  const liveFills = el("tbody");
  const liveCount = el("span", { id: "live-fill-count" }, "0");
  const liveState = el("span", { id: "live-state", class: "badge" }, "");
  const onLive = (kind, data) => {
    if (kind === "run_started" && state.liveOnly) {
      state.contenders = data.contenders || [];
      state.capital = data.capital || state.capital;
      state.bench = new Set(state.contenders.filter((n) => n === "bench"));
      drawHead(data);
      makeChart();
      drawBoard();
      setStatus([["running", "running"]]);
    } else if (kind === "leaderboard") {
      if (!state.chart) makeChart();
      if (state.liveOnly) {
        for (const row of data.rows) if (row.ts) state.chart.addPoint(row.contender, row.ts, row.equity, state.capital);
      } else refreshCurves(data.rows);
      state.liveRows = data.rows;
      if (!state.recordedBoard || !state.recordedBoard.length) drawBoard();
      const halted = data.rows.filter((r) => r.status !== "ok").map((r) => [`${r.contender} ${r.status}: ${r.halt_reason || ""}`, r.status]);
      setStatus([[data.final ? "finishing" : "running", "running"], ...halted, ...(state.killed ? [[`kill switch tripped: ${state.killed}`, "killed"]] : [])]);
    } else if (kind === "fill") {
      state.fills += 1;
      liveCount.textContent = String(state.fills);
      liveFills.prepend(el("tr", { dataset: { decisionId: data.decision_id || "" }, class: data.decision_id ? "clickable" : "", onclick: () => data.decision_id && openWhy(data.decision_id) },
        el("td", {}, when(data.ts)), el("td", {}, data.contender), el("td", {}, data.symbol), el("td", {}, data.side), el("td", { class: "num" }, num(data.quantity, 2)), el("td", { class: "num" }, num(data.price, 4))));
      while (liveFills.children.length > 25) liveFills.lastChild.remove();
    } else if (kind === "kill_switch") {
      state.killed = data.kind === "KILL_SWITCH_TRIPPED" ? data.reason : null;
      setStatus([["running", "running"], ...(state.killed ? [[`kill switch tripped: ${state.killed}`, "killed"]] : [])]);
    } else if (kind === "halt") {
      setStatus([["running", "running"], [`${data.contender} ${data.kind.replace("CONTENDER_", "").toLowerCase()}: ${data.reason}`, "halted"]]);
    } else if (kind === "run_finished") {
      if (data.leaderboard && data.leaderboard.length) state.recordedBoard = data.leaderboard;
      drawBoard();
      setStatus([[data.status, data.status]]);
      drawKillSwitch(false);
      // the run's recorder closes the store just after its last event: then the full record replaces the live view
      const reload = async (tries) => {
        try {
          run = await getJSON(`/runs/${enc(runId)}`);
          state.run = run;
          state.contenders = contenderNames(run);
          state.capital = run.config?.capital ?? state.capital;
          state.bench = benchNames(run.config);
          await loadRecorded();
          state.liveOnly = false;
          notice(null);
          drawHead();
          view.dataset.recorded = "1";
        } catch (_) {
          if (tries > 0 && !state.stopped) setTimeout(() => reload(tries - 1), 1500);
        }
      };
      setTimeout(() => reload(20), 500);
    }
  };
  const startLive = () => {
    liveBox.hidden = false;
    clear(liveBox).append(el("h2", {}, "Live "), liveState, el("p", { class: "small" }, "fills so far: ", liveCount),
      el("table", { class: "grid", id: "live-fills" }, el("thead", {}, el("tr", {}, ["time", "contender", "symbol", "side", "quantity", "price (USD)"].map((h) => el("th", {}, h)))), liveFills));
    state.feed = new LiveFeed(runId, onLive, (s, detail) => {
      liveState.textContent = s === "unavailable" ? `live events unavailable${detail ? `: ${detail}` : ""}` : s;
      liveState.className = `badge ${s}`;
    });
    page.feed = state.feed;
    state.feed.start();
  };

  drawHead();
  if (run) {
    await loadRecorded();
    drawKillSwitch(run.status === "running");
    if (run.status === "running") startLive();
  } else {
    drawBoard();
    startLive();
    drawKillSwitch(true);
  }
  return { stop: () => { state.stopped = true; if (state.feed) state.feed.stop(); } };
}
