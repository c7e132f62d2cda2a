// The map: site geometry (assets, no-fire zones, sensor and effector coverage) and the tracks
// with their 2525 symbols, trails, labels and engagement results.
import { trackLabel } from "./label";
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { addBasemap } from "./basemap";
import { sidc, symbolSvg } from "./symbols";
import type { Engagement, EngagementResult, Picture, Site, Track } from "./types";

const TRAIL_COLOUR: Record<Track["identity"], string> = {
  hostile: "#d32f2f", unknown: "#c7a000", friend: "#1e88e5", neutral: "#2e7d32",
};
const RESULT_TEXT: Record<EngagementResult, string> = {
  killed: "killed", forced_down: "forced down", missed: "missed", unknown: "result unknown",
};

interface TrackView {
  marker: L.Marker;
  trail: L.Polyline;
  code: string;
  label: HTMLElement | null;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function describe(t: Track, result: EngagementResult | null): string {
  const p = t.p_class.map((x) => x.toFixed(2)).join(" / ");
  const threat = t.threat
    ? `<br>threat to ${esc(t.threat.asset)}: ttg ${Math.round(t.threat.ttg_s)} s, p(reach) ${t.threat.p_reach.toFixed(2)}`
    : "";
  return `<b>${trackLabel(t.id)}</b> ${t.identity} ${t.airframe.replace("_", "-")} (${t.status})` +
    `<br>${Math.round(t.speed_mps)} m/s, course ${Math.round(t.course_deg)}°, ${Math.round(t.alt_m)} m, σ ${Math.round(t.sigma_m)} m` +
    `<br>p(drone / bird / own) ${p}${threat}${result ? `<br>result: ${RESULT_TEXT[result]}` : ""}`;
}

export class AirMap {
  readonly map: L.Map;
  readonly layers: Record<string, L.LayerGroup> = {};
  private tracks = new Map<number, TrackView>();
  private lastPos = new Map<number, L.LatLngExpression>();
  private results = new Map<number, L.Marker>();        // by engagement id
  private engagementLines = L.layerGroup();
  private effectorPos = new Map<string, L.LatLng>();

  constructor(el: HTMLElement, site: Site) {
    this.map = L.map(el, { zoomControl: true, attributionControl: true, preferCanvas: false });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution("Natural Earth");
    this.map.createPane("basemap").style.zIndex = "150";
    this.map.setView([site.origin.lat, site.origin.lon], 12);
    void addBasemap(this.map);
    L.control.scale({ imperial: false }).addTo(this.map);
    this.drawSite(site);
    this.layers["tracks"] = L.layerGroup().addTo(this.map);
    this.layers["trails"] = L.layerGroup().addTo(this.map);
    this.layers["engagements"] = this.engagementLines.addTo(this.map);
    this.layers["results"] = L.layerGroup().addTo(this.map);
  }

  private drawSite(site: Site): void {
    const g = (name: string, on: boolean) => {
      const lg = L.layerGroup();
      if (on) lg.addTo(this.map);
      this.layers[name] = lg;
      return lg;
    };
    const nfz = g("no-fire zones", true);
    for (const z of site.no_fire_zones) {
      L.polygon(z.polygon, { color: "#d32f2f", weight: 2, dashArray: "6 4", className: "nfz", fillOpacity: 1 })
        .bindTooltip(`No-fire zone: ${esc(z.name)}`)
        .addTo(nfz);
    }
    const assets = g("assets", true);
    for (const a of site.assets) {
      L.circle([a.lat, a.lon], { radius: a.radius_m, color: "#1e88e5", weight: 2, fillOpacity: 0.15 })
        .bindTooltip(`${esc(a.name)} (value ${a.value})`)
        .addTo(assets);
    }
    const sensors = g("sensor coverage", true);
    for (const s of site.sensors) {
      if (s.range_m && s.range_m > 0) {
        L.circle([s.lat, s.lon], { radius: s.range_m, color: "#6a1b9a", weight: 1, dashArray: "4 6", fill: false, interactive: false })
          .addTo(sensors);
      }
      L.circleMarker([s.lat, s.lon], { radius: 4, color: "#6a1b9a", fillOpacity: 1 })
        .bindTooltip(`${esc(s.name)} (${esc(s.kind)}${s.range_m ? `, ${(s.range_m / 1000).toFixed(1)} km` : ""})`)
        .addTo(sensors);
    }
    const effectors = g("effector coverage", true);
    for (const e of site.effectors) {
      this.effectorPos.set(e.name, L.latLng(e.lat, e.lon));
      if (e.range_m && e.range_m > 0) {
        L.circle([e.lat, e.lon], { radius: e.range_m, color: "#ef6c00", weight: 1, fill: false, interactive: false })
          .addTo(effectors);
      }
      L.marker([e.lat, e.lon], {
        icon: L.divIcon({ className: "effector", html: "&#9650;", iconSize: [14, 14], iconAnchor: [7, 7] }),
      })
        .bindTooltip(`${esc(e.name)} (${esc(e.kind)}${e.range_m ? `, ${(e.range_m / 1000).toFixed(1)} km` : ""})`)
        .addTo(effectors);
    }
    const pts: L.LatLngExpression[] = [
      ...site.assets.map((a) => [a.lat, a.lon] as [number, number]),
      ...site.no_fire_zones.flatMap((z) => z.polygon),
    ];
    if (pts.length) this.map.fitBounds(L.latLngBounds(pts).pad(0.8), { maxZoom: 14 });
  }

  setLayer(name: string, on: boolean): void {
    const lg = this.layers[name];
    if (!lg) return;
    if (on) lg.addTo(this.map);
    else lg.remove();
  }

  centreOn(trackId: number): void {
    const v = this.tracks.get(trackId);
    const p = v ? v.marker.getLatLng() : this.lastPos.get(trackId);
    if (p) this.map.setView(p, Math.max(this.map.getZoom(), 13), { animate: false });
  }

  update(pic: Picture): void {
    const resultByTrack = new Map<number, EngagementResult>();
    for (const e of pic.engagements) if (e.result) resultByTrack.set(e.track, e.result);
    const seen = new Set<number>();
    for (const t of pic.tracks) {
      seen.add(t.id);
      this.lastPos.set(t.id, [t.lat, t.lon]);
      this.drawTrack(t, resultByTrack.get(t.id) ?? null);
    }
    for (const [id, v] of this.tracks) {
      if (!seen.has(id)) {
        v.marker.remove();
        v.trail.remove();
        this.tracks.delete(id);
      }
    }
    this.drawEngagements(pic.engagements, pic.tracks);
  }

  private drawTrack(t: Track, result: EngagementResult | null): void {
    const code = sidc(t, result);
    const pos = L.latLng(t.lat, t.lon);
    let v = this.tracks.get(t.id);
    if (!v || v.code !== code) {
      const sym = symbolSvg(code);
      const html =
        `<div class="trk" data-testid="track-marker-${t.id}" data-track-id="${t.id}" data-identity="${t.identity}" ` +
        `data-sidc="${code}" data-anchor-x="${sym.anchor.x}" data-anchor-y="${sym.anchor.y}" style="width:${sym.w}px;height:${sym.h}px">${sym.svg}` +
        `<span class="trk-label" style="left:${sym.w + 2}px"></span></div>`;
      const icon = L.divIcon({ className: "trk-icon", html, iconSize: [sym.w, sym.h], iconAnchor: [sym.anchor.x, sym.anchor.y] });
      if (v) {
        v.marker.setIcon(icon);
        v.code = code;
      } else {
        const marker = L.marker(pos, { icon, riseOnHover: true, title: `track ${t.id}` });
        marker.bindTooltip("", { direction: "top", offset: [0, -sym.anchor.y] });
        const trail = L.polyline([], { color: TRAIL_COLOUR[t.identity], weight: 2, opacity: 0.7, interactive: false });
        marker.addTo(this.layers["tracks"]);
        trail.addTo(this.layers["trails"]);
        v = { marker, trail, code, label: null };
        this.tracks.set(t.id, v);
      }
      v.label = (v.marker.getElement()?.querySelector(".trk-label") as HTMLElement | null) ?? null;
    }
    v.marker.setLatLng(pos);
    v.trail.setStyle({ color: TRAIL_COLOUR[t.identity] });
    v.trail.setLatLngs([...t.history, [t.lat, t.lon]]);
    if (!v.label) v.label = (v.marker.getElement()?.querySelector(".trk-label") as HTMLElement | null) ?? null;
    v.marker.setTooltipContent(describe(t, result));
    if (v.label) {
      const res = result ? ` · ${RESULT_TEXT[result]}` : "";
      v.label.textContent = `${trackLabel(t.id)} ${Math.round(t.speed_mps)} m/s ${Math.round(t.alt_m)} m${res}`;
    }
  }

  private drawEngagements(engs: Engagement[], tracks: Track[]): void {
    this.engagementLines.clearLayers();
    const pos = new Map(tracks.map((t) => [t.id, L.latLng(t.lat, t.lon)]));
    for (const e of engs) {
      const from = this.effectorPos.get(e.effector);
      const to = pos.get(e.track);
      if (from && to && (e.state === "proposed" || e.state === "approved" || e.state === "firing")) {
        L.polyline([from, to], {
          color: e.state === "proposed" ? "#ef6c00" : "#d32f2f",
          weight: 2,
          dashArray: e.state === "proposed" ? "4 6" : undefined,
          interactive: false,
        }).addTo(this.engagementLines);
      }
      if (e.result && !this.results.has(e.id)) {
        const at = to ?? this.lastPos.get(e.track);
        if (!at) continue;
        const m = L.marker(at, {
          icon: L.divIcon({
            className: `result-icon result-${e.result}`,
            html: `<div data-testid="result-marker-${e.id}" data-track-id="${e.track}">${e.result === "missed" ? "&#9675;" : "&#10005;"}</div>`,
            iconSize: [22, 22],
            iconAnchor: [11, -16], // just below the symbol, which is itself struck through
          }),
          interactive: true,
        }).bindTooltip(`Engagement ${e.id}: track ${e.track} ${RESULT_TEXT[e.result]} (${esc(e.effector)})`);
        m.addTo(this.layers["results"]);
        this.results.set(e.id, m);
      }
    }
  }
}
