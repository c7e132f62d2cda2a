// MIL-STD-2525D air symbols for tracks. Only the air symbol set is loaded, which keeps
// milsymbol's share of the bundle small.
import { ms, numberair } from "milsymbol-air";
import type { EngagementResult, Track } from "./types";

ms.addIcons(numberair);

// 2525D standard identity digit (SIDC position 4).
const IDENTITY: Record<Track["identity"], string> = { unknown: "1", friend: "3", neutral: "4", hostile: "6" };

/** The 6-digit 2525D air entity: UAVs for drones, manned military airframes for own aircraft,
 * none for birds (a neutral air track with no icon: 2525 has no bird). */
function entity(t: Track): string {
  if (t.cls === "bird") return "000000";
  if (t.cls === "own_aircraft") return t.airframe === "multirotor" ? "110200" : "110100";
  // 110300 unmanned aerial vehicle (fixed wing), 110400 vertical-takeoff UAV (rotary).
  return t.airframe === "multirotor" ? "110400" : "110300";
}

/** 2525D status digit: 0 present; 1 planned/anticipated (a dashed frame) for a track not yet
 * confirmed or coasting; 3 damaged (one slash) for forced down; 4 destroyed (a cross). */
function status(t: Track, result: EngagementResult | null): string {
  if (result === "killed") return "4";
  if (result === "forced_down") return "3";
  return t.status === "confirmed" ? "0" : "1";
}

export function sidc(t: Track, result: EngagementResult | null): string {
  return `100${IDENTITY[t.identity] ?? "1"}01${status(t, result)}000${entity(t)}0000`;
}

const cache = new Map<string, { svg: string; anchor: { x: number; y: number }; w: number; h: number }>();

/** The symbol as an SVG string with its anchor (the track position inside the picture). */
export function symbolSvg(code: string, size = 26): { svg: string; anchor: { x: number; y: number }; w: number; h: number } {
  const key = `${code}/${size}`;
  let hit = cache.get(key);
  if (!hit) {
    const s = new ms.Symbol(code, { size, outlineWidth: 2, outlineColor: "rgba(255,255,255,0.8)",
      // Damaged / destroyed drawn as one slash / a cross through the symbol, not a colour bar.
      simpleStatusModifier: true });
    const sz = s.getSize();
    hit = { svg: s.asSVG(), anchor: s.getAnchor(), w: sz.width, h: sz.height };
    cache.set(key, hit);
  }
  return hit;
}
