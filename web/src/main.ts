// bastion air picture: log in, then the map and the side panel fed by the live link.
import "./style.css";
import { api, ApiError } from "./api";
import { LiveLink } from "./live";
import { AirMap } from "./map";
import { Panel } from "./panel";
import type { Me } from "./types";

const $ = (id: string) => document.getElementById(id) as HTMLElement;

function showLogin(): void {
  $("app").hidden = true;
  $("login").hidden = false;
  ($("login-username") as HTMLInputElement).focus();
}

async function login(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const err = $("login-error");
  err.hidden = true;
  const user = ($("login-username") as HTMLInputElement).value;
  const pass = ($("login-password") as HTMLInputElement).value;
  try {
    const me = await api.login(user, pass);
    ($("login-password") as HTMLInputElement).value = "";
    await startApp(me);
  } catch (e) {
    err.textContent = e instanceof ApiError && e.status === 401
      ? `Login refused: ${e.message || "wrong user name or password"}`
      : `Login failed: ${(e as Error).message}`;
    err.hidden = false;
  }
}

async function startApp(me: Me): Promise<void> {
  const site = await api.site();
  $("login").hidden = true;
  $("app").hidden = false;
  $("site-name").textContent = site.name;
  const map = new AirMap($("map"), site);
  const panel = new Panel(me, map);
  const link = new LiveLink({
    picture: (p) => {
      map.update(p);
      panel.update(p);
    },
    sensors: (s) => panel.sensors(s),
    event: () => {
      /* decisions and results also arrive in the next picture, which is what is drawn */
    },
    link: (s) => panel.link(s),
    unauthorised: () => window.location.reload(),
  });
  link.start();
  $("logout").addEventListener("click", async () => {
    link.stop();
    try {
      await api.logout();
    } finally {
      window.location.reload(); // a clean page: the login form, no state of the last user
    }
  });
}

async function boot(): Promise<void> {
  $("login-form").addEventListener("submit", (ev) => void login(ev as SubmitEvent));
  try {
    await startApp(await api.me());
  } catch {
    showLogin();
  }
}

void boot();
