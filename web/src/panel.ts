// The side panel: threat queue, engagements (approve / reject with a countdown), alerts,
// sensor health, weapons control and counters. Rows are kept by key and updated in place,
// so a button under the pointer is not replaced by the next picture.
import { trackLabel } from "./label";
import { api, ApiError } from "./api";
import type { AirMap } from "./map";
import type { Engagement, Me, Picture, SensorHealth, SensorsUpdate, Track, WeaponsControl } from "./types";

const $ = (id: string) => document.getElementById(id) as HTMLElement;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/** Make `parent`'s children match `items` in order, reusing the child with the same key. */
function syncRows<T>(parent: HTMLElement, items: T[], key: (t: T) => string,
                     create: (t: T) => HTMLElement, update: (row: HTMLElement, t: T) => void): void {
  const old = new Map<string, HTMLElement>();
  for (const c of Array.from(parent.children) as HTMLElement[]) old.set(c.dataset.key ?? "", c);
  items.forEach((t, i) => {
    const k = key(t);
    let row = old.get(k);
    if (row) old.delete(k);
    else {
      row = create(t);
      row.dataset.key = k;
    }
    update(row, t);
    if (parent.children[i] !== row) parent.insertBefore(row, parent.children[i] ?? null);
  });
  for (const row of old.values()) row.remove();
}

function fmtS(s: number): string {
  if (!Number.isFinite(s)) return "—";
  if (s >= 90) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

// What became of the effector's SAPIENT task, in words (docs/live.md, engagement "task").
function taskText(task: string, effector: string): string {
  const t: Record<string, string> = {
    sent: `task sent to ${effector}`,
    no_link: `${effector} not connected: no task sent`,
    error: `tasking ${effector} failed`,
    accepted: `task accepted by ${effector}`,
    completed: `task completed by ${effector}`,
    rejected: `task rejected by ${effector}`,
    failed: `${effector} reports the task failed`,
  };
  return t[task] ?? `task ${task} (${effector})`;
}

const ROLE_RANK = { viewer: 0, operator: 1, commander: 2 } as const;
const STATE_ORDER: Record<Engagement["state"], number> = {
  proposed: 0, approved: 1, firing: 2, assessed: 3, rejected: 4, expired: 5,
};

export class Panel {
  private readonly canDecide: boolean;
  private readonly canCommand: boolean;
  private lastPic: Picture | null = null;
  // Session-time rate against the wall clock (a feed may play at ×N) and the wall time of the
  // last picture, so countdowns move smoothly between pictures.
  private rate = 1;
  private picWall = 0;
  private pending = new Set<number>();
  private readOnly = false;
  private msgTimer: number | null = null;

  constructor(private me: Me, private map: AirMap) {
    this.canDecide = ROLE_RANK[me.role] >= ROLE_RANK.operator;
    this.canCommand = me.role === "commander";
    $("user-name").textContent = me.username;
    $("user-role").textContent = me.role;
    this.buildWeaponsControl();
    this.buildLayerToggles();
    window.setInterval(() => this.tickCountdowns(), 250);
  }

  message(text: string, kind: "error" | "info"): void {
    const m = $("message");
    m.textContent = text;
    m.dataset.kind = kind;
    m.hidden = false;
    if (this.msgTimer !== null) clearTimeout(this.msgTimer);
    this.msgTimer = window.setTimeout(() => (m.hidden = true), 10000);
  }

  link(state: string): void {
    const l = $("link");
    l.textContent = { connecting: "connecting…", live: "live", polling: "polling (WebSocket down)", offline: "offline" }[state] ?? state;
    l.dataset.state = state;
  }

  update(pic: Picture): void {
    const now = performance.now() / 1000;
    if (this.lastPic && now - this.picWall > 0.05) {
      const r = (pic.t_s - this.lastPic.t_s) / (now - this.picWall);
      if (Number.isFinite(r) && r >= 0) this.rate = Math.min(120, 0.7 * this.rate + 0.3 * r);
    }
    this.lastPic = pic;
    this.picWall = now;
    this.renderReadOnly(pic);
    $("clock").textContent = `${String(pic.time_utc ?? "").replace("T", " ").slice(0, 19)} UTC · t=${pic.t_s.toFixed(1)} s`;
    this.renderWeaponsControl(pic.weapons_control);
    this.renderThreats(pic);
    this.renderEngagements(pic.engagements);
    this.renderAlerts(pic);
    this.renderSensors(pic.sensors, pic.t_s);
    this.renderCounters(pic.counters);
  }

  /** Sensor rows and counters between pictures (a report shows as soon as it arrives). */
  sensors(s: SensorsUpdate): void {
    this.renderSensors(s.sensors, s.t_s);
    this.renderCounters(s.counters);
  }

  // A replay answers every decision with 409: say so once, plainly, and offer no buttons.
  private renderReadOnly(pic: Picture): void {
    const box = $("read-only");
    this.readOnly = !!pic.replay;
    box.hidden = !pic.replay;
    if (pic.replay) {
      box.textContent = `replay, read-only · ×${pic.replay.speed} · ${pic.replay.source}`;
      box.title = "A recorded session played back: nothing can be approved, rejected or changed";
      for (const b of Array.from($("wc").querySelectorAll("button"))) {
        b.setAttribute("aria-disabled", "true");
        b.title = "replay, read-only";
      }
    }
  }

  // ---- threats ------------------------------------------------------------------------
  private renderThreats(pic: Picture): void {
    const byId = new Map<number, Track>(pic.tracks.map((t) => [t.id, t]));
    const rows = pic.threats.map((id) => byId.get(id)).filter((t): t is Track => !!t);
    syncRows($("threats"), rows, (t) => String(t.id),
      (t) => {
        const tr = el("tr", { "data-testid": `threat-row-${t.id}`, class: "clickable", title: "Centre the map on this track" });
        for (const c of ["rank", "id", "asset", "ttg", "p"]) tr.appendChild(el("td", { class: c }));
        tr.addEventListener("click", () => this.map.centreOn(t.id));
        return tr;
      },
      (tr, t) => {
        const c = tr.children;
        c[0].textContent = String(rows.indexOf(t) + 1);
        c[1].innerHTML = "";
        c[1].appendChild(el("span", { class: `ident ident-${t.identity}` }, trackLabel(t.id)));
        c[2].textContent = t.threat?.asset ?? "—";
        c[3].textContent = t.threat ? fmtS(t.threat.ttg_s) : "—";
        c[3].setAttribute("data-testid", `threat-ttg-${t.id}`);
        c[4].textContent = t.threat ? `p ${t.threat.p_reach.toFixed(2)}` : "";
      });
    if (!rows.length) $("threats").innerHTML = `<tr class="empty"><td>No threats</td></tr>`;
  }

  // ---- engagements --------------------------------------------------------------------
  private renderEngagements(engs: Engagement[]): void {
    const sorted = [...engs].sort((a, b) =>
      STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
      (a.state === "proposed" ? (a.expires_in_s ?? 1e9) - (b.expires_in_s ?? 1e9) : b.id - a.id));
    syncRows($("engagements"), sorted.slice(0, 40), (e) => String(e.id),
      (e) => this.engagementRow(e),
      (tr, e) => this.updateEngagementRow(tr, e));
    if (!sorted.length) $("engagements").innerHTML = `<tr class="empty"><td>No engagements</td></tr>`;
  }

  private engagementRow(e: Engagement): HTMLElement {
    const tr = el("tr", { "data-testid": `engagement-row-${e.id}`, "data-track-id": String(e.track) });
    const what = el("td", { class: "what clickable", title: "Centre the map on the target" });
    what.addEventListener("click", () => this.map.centreOn(e.track));
    tr.appendChild(what);
    const sr = el("td", { class: "state-result" });
    sr.append(el("div", { class: "state", "data-testid": `engagement-state-${e.id}` }),
              el("div", { class: "result", "data-testid": `engagement-result-${e.id}` }),
              el("div", { class: "task muted", "data-testid": `engagement-task-${e.id}` }));
    tr.appendChild(sr);
    tr.appendChild(el("td", { class: "countdown", "data-testid": `engagement-countdown-${e.id}` }));
    const act = el("td", { class: "actions" });
    const tip = this.canDecide ? "" : `Your role (${this.me.role}) cannot decide: needs operator or commander`;
    for (const approve of [true, false]) {
      const b = el("button", {
        "data-testid": `${approve ? "approve" : "reject"}-${e.id}`,
        class: approve ? "approve" : "reject",
        title: tip || (approve ? "Approve this engagement" : "Reject this engagement"),
      }, approve ? "Approve" : "Reject");
      // For a viewer the buttons look disabled and say why; a click still goes to the service,
      // which is the authority and refuses it (403), and the refusal is shown.
      if (!this.canDecide) b.setAttribute("aria-disabled", "true");
      b.addEventListener("click", () => void this.decide(e.id, approve));
      act.appendChild(b);
    }
    tr.appendChild(act);
    return tr;
  }

  private updateEngagementRow(tr: HTMLElement, e: Engagement): void {
    const [what, sr, countdown, act] = Array.from(tr.children) as HTMLElement[];
    const [state, result, task] = Array.from(sr.children) as HTMLElement[];
    what.innerHTML = "";
    what.append(
      el("span", { class: "eid" }, `#${e.id}`), ` ${trackLabel(e.track)} ← ${e.effector}`,
      el("div", { class: "sub" }, `${e.kind} · pk ${(e.pk ?? 0).toFixed(2)} · $${Math.round(e.cost_usd ?? 0).toLocaleString("en")}` +
        (e.decided_by ? ` · by ${e.decided_by}` : "")),
    );
    what.title = e.reason ? `${e.reason} — click to centre on ${trackLabel(e.track)}` : `Centre on ${trackLabel(e.track)}`;
    state.textContent = e.state;
    state.dataset.state = e.state;
    state.dataset.result = e.result ?? "";
    state.title = [e.why, e.decided_by ? `decided by ${e.decided_by}` : ""].filter(Boolean).join(" · ");
    tr.dataset.state = e.state;
    // an expired or rejected engagement says why (an approved one that expired at its fire
    // time: the track was lost, left the envelope, or no fire channel was free)
    result.textContent = e.result ? e.result.replace("_", " ")
      : (e.state === "expired" || e.state === "rejected") && e.why ? e.why : "";
    result.dataset.result = e.result ?? "";
    task.textContent = e.task ? taskText(e.task, e.effector) : "";
    task.dataset.task = e.task ?? "";
    countdown.dataset.expiresIn = e.state === "proposed" && e.expires_in_s !== null ? String(e.expires_in_s) : "";
    countdown.dataset.at = String(this.picWall);
    if (!countdown.dataset.expiresIn) countdown.textContent = "";
    for (const b of Array.from(act.querySelectorAll("button"))) {
      b.hidden = e.state !== "proposed" || this.readOnly;
      b.disabled = this.pending.has(e.id);
    }
  }

  private tickCountdowns(): void {
    const now = performance.now() / 1000;
    for (const c of Array.from(document.querySelectorAll<HTMLElement>("#engagements td.countdown"))) {
      if (!c.dataset.expiresIn) continue;
      const left = Math.max(0, Number(c.dataset.expiresIn) - this.rate * (now - Number(c.dataset.at)));
      c.textContent = `${left.toFixed(1)} s`;
      c.classList.toggle("urgent", left < 10);
    }
  }

  private async decide(id: number, approve: boolean): Promise<void> {
    if (this.pending.has(id)) return;
    this.pending.add(id);
    if (this.lastPic) this.renderEngagements(this.lastPic.engagements);
    try {
      await api.decide(id, approve);
      this.message(`Engagement #${id} ${approve ? "approved" : "rejected"}`, "info");
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        this.message(`Refused (403): ${this.me.username} (${this.me.role}) may not ${approve ? "approve" : "reject"} engagement #${id}. ${err.message}`, "error");
      } else if (err instanceof ApiError) {
        this.message(`Engagement #${id}: ${err.message} (${err.status})`, "error");
      } else {
        this.message(`Engagement #${id}: the service did not answer`, "error");
      }
    } finally {
      this.pending.delete(id);
      if (this.lastPic) this.renderEngagements(this.lastPic.engagements);
    }
  }

  // ---- weapons control ----------------------------------------------------------------
  private buildWeaponsControl(): void {
    const box = $("wc");
    const tips: Record<WeaponsControl, string> = {
      hold: "Hold: no engagements proposed",
      tight: "Tight: every engagement needs a person's approval",
      free: "Free: engagements approved automatically",
    };
    for (const mode of ["hold", "tight", "free"] as WeaponsControl[]) {
      const b = el("button", {
        "data-testid": `wc-${mode}`, "data-mode": mode,
        title: this.canCommand ? tips[mode] : `${tips[mode]} — only a commander changes weapons control`,
      }, mode.toUpperCase());
      if (!this.canCommand) b.setAttribute("aria-disabled", "true");
      b.addEventListener("click", () => void this.setWc(mode));
      box.appendChild(b);
    }
  }

  private renderWeaponsControl(mode: WeaponsControl): void {
    $("wc").dataset.mode = mode;
    for (const b of Array.from($("wc").querySelectorAll("button"))) {
      b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
    }
  }

  private async setWc(mode: WeaponsControl): Promise<void> {
    try {
      await api.weaponsControl(mode);
      this.message(`Weapons control set to ${mode.toUpperCase()}`, "info");
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      this.message(status === 403
        ? `Refused (403): only a commander changes weapons control`
        : `Weapons control not changed: ${(err as Error).message}`, "error");
    }
  }

  // ---- alerts, sensors, counters, layers ----------------------------------------------
  private renderAlerts(pic: Picture): void {
    const alerts = [...pic.alerts].sort((a, b) => b.t_s - a.t_s).slice(0, 30);
    syncRows($("alerts"), alerts, (a) => String(a.id),
      (a) => {
        const li = el("li", { "data-testid": `alert-${a.id}`, "data-track-id": String(a.track), class: "clickable" });
        li.addEventListener("click", () => this.map.centreOn(a.track));
        return li;
      },
      (li, a) => { li.textContent = `t=${a.t_s.toFixed(0)} s · ${trackLabel(a.track)}: ${a.text}`; });
  }

  private renderSensors(sensors: SensorHealth[], t_s: number): void {
    syncRows($("sensors"), sensors, (s) => s.name,
      (s) => {
        const tr = el("tr", { "data-testid": `sensor-row-${s.name}` });
        tr.append(el("td", { class: "dot" }), el("td", { class: "name" }, s.name), el("td", { class: "health" }), el("td", { class: "age muted" }));
        return tr;
      },
      (tr, s) => {
        tr.dataset.health = s.health;
        tr.children[2].textContent = s.health;
        tr.children[3].textContent = s.last_report_s === null ? "no report" : `${Math.max(0, t_s - s.last_report_s).toFixed(0)} s ago`;
      });
  }

  private renderCounters(counters: Record<string, number>): void {
    syncRows($("counters"), Object.entries(counters), ([k]) => k,
      ([k]) => el("span", { "data-testid": `counter-${k}`, class: "counter" }),
      (s, [k, v]) => { s.textContent = `${k.replace("_", " ")} ${v}`; });
  }

  private buildLayerToggles(): void {
    const box = $("layers");
    for (const name of Object.keys(this.map.layers)) {
      const id = `layer-${name.replace(/\s+/g, "-")}`;
      const cb = el("input", { type: "checkbox", id, "data-testid": id });
      cb.checked = this.map.map.hasLayer(this.map.layers[name]);
      cb.addEventListener("change", () => this.map.setLayer(name, cb.checked));
      const lab = el("label", { for: id });
      lab.append(cb, ` ${name}`);
      box.appendChild(lab);
    }
  }
}
