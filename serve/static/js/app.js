// The arena page: a hash-routed single-page app over the arena API.
//   #/                          runs
//   #/run/<run_id>              a run: equity + drawdown of every contender, leaderboard, live updates
//   #/run/<run_id>/c/<name>     a contender: candles with its fills, weights, risk timeline, decisions
//   #/why/<decision_id>         the explanation of one decision (also opened as a panel by a click)
//   #token=<token>              give the page the kill-switch token (kept in this tab only)
import { renderContender } from "./contender.js";
import { renderRun } from "./run.js";
import { ApiError, clear, el, enc, getJSON, notice, setStatus, short, when } from "./util.js";
import { openWhy } from "./why.js";

const view = document.getElementById("view");
export const page = { current: null, token: sessionStorage.getItem("arenaKillSwitchToken") };
window.arena = page; // handles for debugging and for the page's tests

function takeToken() {
  const m = location.hash.match(/^#token=(.+)$/);
  if (!m) return;
  page.token = decodeURIComponent(m[1]);
  sessionStorage.setItem("arenaKillSwitchToken", page.token);
  history.replaceState(null, "", "#/");
}

function showTokenState() {
  const box = clear(document.getElementById("token-state"));
  if (page.token) {
    box.append(el("span", { class: "badge killable", title: "this tab holds the kill-switch token" }, "kill switch armed"), " ",
      el("button", { type: "button", class: "small", onclick: () => { sessionStorage.removeItem("arenaKillSwitchToken"); page.token = null; showTokenState(); route(); } }, "forget token"));
  }
}


async function renderRuns() {
  clear(view).append(el("h1", {}, "Runs"));
  setStatus([]);
  let live = [];
  try {
    live = await getJSON("/live/runs");
  } catch (_) { /* no events URL: no live runs */ }
  const liveIds = new Map(live.map((r) => [r.run_id, r]));
  let runs = [];
  try {
    runs = await getJSON("/runs");
    notice(null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) {
      notice(err.busy
        ? "The store is busy: a run is writing this DuckDB file, and a DuckDB file cannot be read while it is written (a QuestDB store can). Recorded runs show again when it ends; the live runs below are followed from their event stream."
        : `The store cannot be read: ${err.detail}`, "warn");
    } else throw err;
  }
  const known = new Set(runs.map((r) => r.run_id));
  const liveOnly = live.filter((r) => !known.has(r.run_id));
  const rows = [
    ...liveOnly.map((r) => el("tr", { dataset: { runId: r.run_id, live: "1" } },
      el("td", {}, el("a", { href: `#/run/${enc(r.run_id)}` }, r.name || r.run_id)),
      el("td", { class: "mono" }, r.run_id),
      el("td", {}, r.symbols.join(", ")),
      el("td", {}, when(r.started_at), " →"),
      el("td", {}, el("span", { class: `badge ${r.finished ? "finished" : "running"}` }, r.finished ? "finished (live stream)" : "live")),
      el("td", {}, r.contenders.join(", ")),
      el("td", { class: "muted" }, "from the live stream; recorded details when the store can be read"))),
    ...runs.map((r) => {
      const names = (r.config.contenders || []).map((c) => c.name);
      const streaming = liveIds.get(r.run_id);
      const src = r.data_source || {};
      const day = (t) => String(t).replace(/T00:00:00(\.0+)?(\+00:00|Z)?$/, "");
      const data = [src.source || src.provider, src.name || src.dataset || src.path, src.since && `from ${day(src.since)}`, src.until && `to ${day(src.until)}`].filter(Boolean).join(" ");
      return el("tr", { dataset: { runId: r.run_id, live: r.status === "running" ? "1" : "" } },
        el("td", {}, el("a", { href: `#/run/${enc(r.run_id)}` }, r.name)),
        el("td", { class: "mono" }, r.run_id),
        el("td", {}, data || "—", el("br"), el("small", {}, r.symbols.join(", "))),
        el("td", {}, when(r.started_at), " → ", r.ended_at ? when(r.ended_at) : "…", el("br"), el("small", {}, r.n_bars === null ? "" : `${r.n_bars} bars`)),
        el("td", {}, el("span", { class: `badge ${r.status}` }, r.status), r.status === "running" || (streaming && !streaming.finished) ? el("span", { class: "badge live" }, "live") : ""),
        el("td", {}, names.length ? names.join(", ") : "—"),
        el("td", { class: "small" }, `seed ${r.seed ?? "—"} · code ${r.code_version} · data sha256 `, el("span", { class: "mono", title: r.data_sha256 }, short(r.data_sha256, 12))));
    }),
  ];
  view.append(
    rows.length
      ? el("table", { class: "grid", id: "runs-table" },
        el("thead", {}, el("tr", {}, ["name", "run id", "data", "dates (UTC)", "status", "contenders", "provenance"].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No runs recorded yet: `arena run configs/local.yaml` records one."),
    el("p", { class: "help" }, "Newest first. A run marked live is still going (or its event stream is still in Redis); its page updates as it goes."),
  );
}

async function route() {
  takeToken();
  showTokenState();
  if (page.current && page.current.stop) page.current.stop();
  page.current = null;
  document.getElementById("why").hidden = true;
  const hash = location.hash || "#/";
  let m;
  try {
    if ((m = hash.match(/^#\/run\/([^/]+)\/c\/([^/?]+)(?:\?symbol=(.+))?$/))) {
      page.current = await renderContender(view, decodeURIComponent(m[1]), decodeURIComponent(m[2]), m[3] ? decodeURIComponent(m[3]) : null);
    } else if ((m = hash.match(/^#\/run\/([^/]+)$/))) {
      page.current = await renderRun(view, decodeURIComponent(m[1]), page);
    } else if ((m = hash.match(/^#\/why\/(.+)$/))) {
      clear(view).append(el("h1", {}, "Why?"));
      await openWhy(decodeURIComponent(m[1]));
    } else {
      await renderRuns();
    }
  } catch (err) {
    clear(view).append(el("h1", {}, "Something went wrong"), el("p", { class: "error", id: "page-error" }, err.detail || err.message));
  }
  view.dataset.ready = "1";
}

window.addEventListener("hashchange", () => { view.dataset.ready = ""; route(); });
route();
