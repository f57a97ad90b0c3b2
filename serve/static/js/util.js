// Small helpers shared by the page's modules: fetching the API, formatting, DOM building.

export class ApiError extends Error {
  constructor(status, detail, url) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
    this.url = url;
  }
  get busy() {
    return this.status === 503 && /busy/.test(this.detail);
  }
}

/** GET a JSON endpoint; throws ApiError with the API's `detail` on a non-2xx answer. */
export async function getJSON(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" } });
  if (!answer.ok) {
    let detail = answer.statusText;
    try {
      detail = (await answer.json()).detail ?? detail;
    } catch (_) { /* not JSON */ }
    throw new ApiError(answer.status, typeof detail === "string" ? detail : JSON.stringify(detail), url);
  }
  return answer.json();
}

export const enc = encodeURIComponent;

/** A decision id in a path: each segment encoded, the slashes kept (the API takes `{decision_id:path}`). */
export const encPath = (id) => id.split("/").map(encodeURIComponent).join("/");

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const finite = (x) => typeof x === "number" && Number.isFinite(x);
export const pct = (x, digits = 2) => (finite(x) ? `${(x * 100).toFixed(digits)} %` : "—");
export const num = (x, digits = 2) => (finite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "—");
export const usd = (x) => (finite(x) ? `${x.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })} USD` : "—");
export const int = (x) => (finite(x) ? Math.round(x).toLocaleString("en-US") : "—");
export const short = (s, n = 12) => (s && s.length > n ? `${s.slice(0, n)}…` : s ?? "");

/** ISO instant → "2024-01-02 21:00" (UTC; seconds shown when not zero). */
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const s = d.toISOString();
  return s.slice(0, 10) + " " + (s.slice(17, 19) === "00" ? s.slice(11, 16) : s.slice(11, 19));
}

/** ISO instant → chart time (UTC seconds). */
export const chartTime = (iso) => Math.floor(new Date(iso).getTime() / 1000);

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function notice(text, kind = "info") {
  const box = document.getElementById("notice");
  if (!text) {
    box.hidden = true;
    clear(box);
    return;
  }
  box.hidden = false;
  box.className = `notice ${kind}`;
  box.textContent = text;
}

export const PALETTE = ["#2962ff", "#e65100", "#2e7d32", "#8e24aa", "#00838f", "#c62828", "#6d4c41", "#ad1457", "#558b2f", "#283593"];
export const BENCH_COLOR = "#5f6368";

/** The header's status badges: [[text, kind], ...] (kind: running, finished, killed, halted, failed, ...). */
export function setStatus(parts) {
  const box = clear(document.getElementById("arena-status"));
  for (const [text, kind] of parts) box.append(el("span", { class: `badge ${kind}` }, text), " ");
}
