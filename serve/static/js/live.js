// Following a run's live events (GET /runs/{id}/events, Server-Sent Events) with resume:
// after a dropped connection the page reconnects with ?last_event_id= the last id it saw, so
// exactly the events after it follow (no gap, no duplicate).
import { enc } from "./util.js";

export const KINDS = ["run_started", "fill", "risk_verdict", "leaderboard", "halt", "kill_switch", "run_finished"];

export class LiveFeed {
  /**
   * @param {string} runId
   * @param {(kind: string, data: object, id: string) => void} onEvent
   * @param {(state: string, detail?: string) => void} onState - "connecting" | "open" | "reconnecting" | "finished" | "unavailable"
   */
  constructor(runId, onEvent, onState, { from = "start", retryMs = 1000 } = {}) {
    this.runId = runId;
    this.onEvent = onEvent;
    this.onState = onState;
    this.from = from;
    this.retryMs = retryMs;
    this.lastId = null;
    this.source = null;
    this.stopped = false;
    this.reconnects = 0;
    this.received = 0;
  }

  url() {
    const base = `/runs/${enc(this.runId)}/events`;
    return this.lastId ? `${base}?last_event_id=${enc(this.lastId)}` : `${base}?from=${this.from}`;
  }

  start() {
    if (this.stopped) return;
    this.onState(this.reconnects ? "reconnecting" : "connecting");
    const source = new EventSource(this.url());
    this.source = source;
    source.onopen = () => this.onState("open");
    for (const kind of KINDS) {
      source.addEventListener(kind, (e) => {
        if (source !== this.source) return;
        this.lastId = e.lastEventId || this.lastId;
        this.received += 1;
        let data = null;
        try {
          data = JSON.parse(e.data);
        } catch (_) {
          return;
        }
        this.onEvent(kind, data, e.lastEventId);
        if (kind === "run_finished") this.stop("finished");
      });
    }
    source.onerror = () => {
      if (source !== this.source || this.stopped) return;
      source.close();
      this.reconnects += 1;
      if (this.reconnects > 1 && this.received === 0) {
        this.onState("unavailable");
        return this.probe();
      }
      setTimeout(() => this.start(), this.retryMs);
    };
  }

  /** Why the stream cannot be read (404 no stream, 503 no Redis): asked once with fetch. */
  async probe() {
    try {
      const answer = await fetch(this.url(), { headers: { Accept: "application/json" } });
      const detail = answer.ok ? "" : (await answer.json()).detail;
      if (answer.ok) setTimeout(() => this.start(), this.retryMs);
      else this.onState("unavailable", detail);
    } catch (err) {
      this.onState("unavailable", String(err));
      setTimeout(() => this.start(), this.retryMs * 5);
    }
  }

  /** Drop the connection as a network failure would (the page then resumes from the last id). */
  drop() {
    if (!this.source) return;
    this.source.close();
    this.source.onerror && this.source.onerror(new Event("error"));
  }

  stop(state = "stopped") {
    this.stopped = true;
    if (this.source) this.source.close();
    this.source = null;
    this.onState(state);
  }
}
