// The JSON the service sends (docs/live.md, "JSON the UI reads"). Keep in step with that page.

export type Role = "viewer" | "operator" | "commander";
export interface Me { username: string; role: Role }

export interface LatLonNamed { name: string; lat: number; lon: number }
export interface Asset extends LatLonNamed { radius_m: number; value: number }
export interface Ranged extends LatLonNamed { kind: string; range_m: number | null }
export interface Site {
  name: string;
  origin: { lat: number; lon: number; alt_m: number };
  assets: Asset[];
  no_fire_zones: { name: string; polygon: [number, number][] }[];
  sensors: Ranged[];
  effectors: Ranged[];
}

export type Identity = "hostile" | "unknown" | "friend" | "neutral";
export interface Threat { asset: string; p_reach: number; ttg_s: number; value: number }
export interface Track {
  id: number;
  lat: number; lon: number; alt_m: number;
  speed_mps: number; course_deg: number;
  identity: Identity;
  cls: "hostile_drone" | "bird" | "own_aircraft";
  p_class: number[];
  airframe: "fixed_wing" | "multirotor";
  status: "tentative" | "confirmed" | "coasting";
  history: [number, number][];
  sigma_m: number;
  threat: Threat | null;
}
export type EngagementState = "proposed" | "approved" | "rejected" | "expired" | "firing" | "assessed";
export type EngagementResult = "killed" | "forced_down" | "missed" | "unknown";
export interface Engagement {
  id: number; track: number; effector: string;
  kind: "kinetic" | "jammer";
  state: EngagementState;
  result: EngagementResult | null;
  pk: number; cost_usd: number; reason: string;
  expires_in_s: number | null;
  decided_by: string | null;
  // the effector's SAPIENT task: sent, no_link (effector not connected), error, then the
  // node's answer (accepted, rejected, completed, failed); absent in a replay
  task?: string | null;
  // the reason given with its last change of state, e.g. why an approved engagement expired
  why?: string | null;
}
export interface Alert { id: number; track: number; t_s: number; text: string }
export interface SensorHealth { name: string; health: "ok" | "degraded" | "fault" | "unknown"; last_report_s: number | null }
export interface SensorsUpdate { t_s: number; sensors: SensorHealth[]; counters: Record<string, number> }
export type WeaponsControl = "hold" | "tight" | "free";
export interface Picture {
  t_s: number;
  time_utc: string;
  weapons_control: WeaponsControl;
  tracks: Track[];
  threats: number[];
  engagements: Engagement[];
  alerts: Alert[];
  sensors: SensorHealth[];
  counters: Record<string, number>;
  // present when the picture is a recorded session played back (bastion replay): read-only
  replay?: { source: string; speed: number; t_end_s: number } | null;
}
