// REST calls to the service. Paths are relative so the page works under any mount point;
// the session is the HttpOnly cookie the browser sends by itself.
import type { Me, Picture, Site, WeaponsControl } from "./types";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const j = await res.json();
      if (j && typeof j.detail === "string") detail = j.detail;
    } catch {
      /* not JSON: keep the status text */
    }
    throw new ApiError(res.status, detail || `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

export const api = {
  login: (username: string, password: string) => call<Me>("POST", "api/login", { username, password }),
  logout: () => call<unknown>("POST", "api/logout"),
  me: () => call<Me>("GET", "api/me"),
  site: () => call<Site>("GET", "api/site"),
  picture: () => call<Picture>("GET", "api/picture"),
  decide: (id: number, approve: boolean) =>
    call<unknown>("POST", `api/engagements/${id}/${approve ? "approve" : "reject"}`),
  weaponsControl: (mode: WeaponsControl) => call<unknown>("POST", "api/weapons-control", { mode }),
};
