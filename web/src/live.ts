// Live updates: the WebSocket `/ws` first; while it is down, poll GET api/picture once a
// second and reconnect with exponential backoff (1 s doubling to 15 s).
import { api, ApiError } from "./api";
import type { Picture, SensorsUpdate } from "./types";

export type LinkState = "connecting" | "live" | "polling" | "offline";

export interface LiveHandlers {
  picture(p: Picture): void;
  // between pictures: the sensor rows and counters, pushed as reports arrive
  sensors(s: SensorsUpdate): void;
  event(e: Record<string, unknown>): void;
  link(state: LinkState): void;
  unauthorised(): void;
}

const POLL_MS = 1000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;

export class LiveLink {
  private ws: WebSocket | null = null;
  private backoff = BACKOFF_MIN_MS;
  private pollTimer: number | null = null;
  private retryTimer: number | null = null;
  private stopped = false;

  constructor(private h: LiveHandlers) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.stopPolling();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.ws?.close();
  }

  private url(): string {
    const u = new URL("ws", window.location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.toString();
  }

  private connect(): void {
    if (this.stopped) return;
    this.h.link(this.pollTimer === null ? "connecting" : "polling");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = BACKOFF_MIN_MS;
      this.stopPolling();
      this.h.link("live");
    };
    ws.onmessage = (ev) => {
      let msg: { type?: string; data?: unknown };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return; // a malformed frame is dropped; the next picture replaces it
      }
      if (msg.type === "picture" && msg.data) this.h.picture(msg.data as Picture);
      else if (msg.type === "sensors" && msg.data) this.h.sensors(msg.data as SensorsUpdate);
      else if (msg.type === "event") this.h.event(msg as Record<string, unknown>);
    };
    ws.onclose = () => {
      if (this.ws === ws) {
        this.ws = null;
        this.dropped();
      }
    };
  }

  private dropped(): void {
    if (this.stopped) return;
    this.startPolling();
    this.retryTimer = window.setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
  }

  private startPolling(): void {
    if (this.pollTimer !== null) return;
    this.h.link("polling");
    const poll = async () => {
      try {
        const pic = await api.picture();
        if (this.pollTimer === null) return; // the socket came back while this poll was out
        this.h.picture(pic);
        this.h.link("polling");
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          this.stop();
          this.h.unauthorised();
          return;
        }
        if (this.pollTimer !== null) this.h.link("offline");
      }
    };
    void poll();
    this.pollTimer = window.setInterval(poll, POLL_MS);
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }
}
